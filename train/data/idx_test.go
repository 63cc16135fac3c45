package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// idxFile assembles an IDX file by hand (independently of EncodeIDX): the magic with
// element type typ and len(dims) dimensions, the sizes, then data.
func idxFile(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

// gzipped compresses b into one gzip member.
func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// writeTemp writes b to a file called name in a fresh temporary directory and returns
// its path.
func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, b, 0o644))
	return path
}

// seq returns n bytes 1, 2, 3, ... (mod 256).
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i + 1)
	}
	return b
}

func TestReadIDXHandWritten(t *testing.T) {
	// 2×3 array 1..6: magic 00 00 08 02, sizes 2 and 3, then the six bytes.
	raw := []byte{0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6}
	for _, form := range []struct {
		name string
		b    []byte
	}{{"a.idx", raw}, {"a.idx.gz", gzipped(t, raw)}, {"gzip-without-suffix", gzipped(t, raw)}} {
		t.Run(form.name, func(t *testing.T) {
			path := writeTemp(t, form.name, form.b)
			m, err := ReadIDX(path)
			require.NoError(t, err)
			assert.Equal(t, path, m.Name)
			assert.Equal(t, []int{2, 3}, m.Dims)
			assert.Equal(t, []uint8{1, 2, 3, 4, 5, 6}, m.Data)
		})
	}
}

func TestReadIDXZeroSize(t *testing.T) {
	// A zero size is a valid, empty array.
	m, err := DecodeIDX(bytes.NewReader(idxFile(8, []uint32{0, 5}, nil)), "empty")
	require.NoError(t, err)
	assert.Equal(t, []int{0, 5}, m.Dims)
	assert.Empty(t, m.Data)
}

func TestIDXRoundTrip(t *testing.T) {
	// 3×1000×700 crosses the reader's first 1 MiB chunk, so the buffer has to grow.
	cases := []struct {
		name string
		dims []int
	}{{"labels", []int{7}}, {"images", []int{4, 5, 6}}, {"large", []int{3, 1000, 700}}, {"4-D", []int{2, 1, 3, 2}}}
	for _, c := range cases {
		n := 1
		for _, d := range c.dims {
			n *= d
		}
		data := seq(n)
		var buf bytes.Buffer
		require.NoError(t, EncodeIDX(&buf, c.dims, data))
		for _, gz := range []bool{false, true} {
			b := buf.Bytes()
			if gz {
				b = gzipped(t, b)
			}
			path := writeTemp(t, c.name, b)
			m, err := ReadIDX(path)
			require.NoError(t, err, "%s gzip=%v", c.name, gz)
			assert.Equal(t, c.dims, m.Dims, "%s gzip=%v", c.name, gz)
			assert.True(t, bytes.Equal(data, m.Data), "%s gzip=%v: data differ", c.name, gz)
		}
	}
}

func TestEncodeIDXErrors(t *testing.T) {
	cases := []struct {
		name string
		dims []int
		data []uint8
		want string
	}{
		{"no dims", nil, nil, "data: EncodeIDX: 0 dimensions, want 1 to 8"},
		{"nine dims", []int{1, 1, 1, 1, 1, 1, 1, 1, 1}, []uint8{0}, "9 dimensions"},
		{"negative", []int{2, -1}, nil, "size -1 of dimension 1"},
		{"too big", []int{1 << 32}, nil, "size 4294967296 of dimension 0"},
		{"too many elements", []int{1 << 20, 1 << 20}, nil, "hold more than 2147483648 elements"},
		{"short data", []int{2, 3}, seq(5), "sizes [2 3] hold 6 elements but data has 5"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		err := EncodeIDX(&buf, c.dims, c.data)
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
		assert.Zero(t, buf.Len(), "%s: wrote bytes before failing", c.name)
	}
}

// TestReadIDXErrors covers every malformed-content error, each on a raw and a gzipped
// file: the error must name the file and the problem.
func TestReadIDXErrors(t *testing.T) {
	max32 := uint32(0xFFFFFFFF)
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "header truncated: got 0 of 4 bytes"},
		{"short magic", []byte{0, 0, 8}, "header truncated: got 3 of 4 bytes"},
		{"bad magic", []byte{1, 2, 8, 1, 0, 0, 0, 0}, "bad magic 01 02 08 01"},
		{"text", []byte("hello, world"), "bad magic 68 65 6c 6c"},
		{"float32", idxFile(0x0D, []uint32{1}, make([]byte, 4)), "unsupported element type 0x0d (float32): only 0x08 (unsigned byte)"},
		{"int32", idxFile(0x0C, []uint32{1}, make([]byte, 4)), "unsupported element type 0x0c (int32)"},
		{"signed byte", idxFile(0x09, []uint32{1}, []byte{1}), "unsupported element type 0x09 (signed byte)"},
		{"unknown type", idxFile(0x07, []uint32{1}, []byte{1}), "unsupported element type 0x07 (not an IDX type)"},
		{"zero dims", idxFile(8, nil, []byte{1}), "zero dimensions"},
		{"nine dims", idxFile(8, []uint32{1, 1, 1, 1, 1, 1, 1, 1, 1}, []byte{1}), "9 dimensions in the header, more than the 8 supported"},
		{"255 dims", []byte{0, 0, 8, 255}, "255 dimensions in the header"},
		{"short sizes", idxFile(8, []uint32{60000, 28, 28}, nil)[:12], "header truncated: got 12 of 16 bytes"},
		{"cut size", append([]byte{0, 0, 8, 3}, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0), "header truncated: got 14 of 16 bytes"},
		{"overflow", idxFile(8, []uint32{max32, max32, max32, max32}, nil), "sizes [4294967295 4294967295 4294967295 4294967295] overflow"},
		{"over cap", idxFile(8, []uint32{65536, 65536}, nil), "sizes [65536 65536] hold 4294967296 elements, more than the limit of 2147483648"},
		{"cap plus one", idxFile(8, []uint32{1<<31 + 1}, nil), "hold 2147483649 elements, more than the limit"},
		{"huge next to zero", idxFile(8, []uint32{0, max32}, nil), "size 4294967295 of dimension 1 is more than the limit"},
		{"no data", idxFile(8, []uint32{2, 3}, nil), "data truncated: got 0 of 6 bytes"},
		{"short data", idxFile(8, []uint32{2, 3}, seq(4)), "data truncated: got 4 of 6 bytes"},
		{"mnist-sized short", idxFile(8, []uint32{60000, 28, 28}, seq(1000)), "data truncated: got 1000 of 47040000 bytes"},
		{"trailing", idxFile(8, []uint32{2, 3}, seq(8)), "trailing garbage: 2 bytes after the 6 data bytes"},
		{"long trailing", idxFile(8, []uint32{1}, seq(3<<20)), "trailing garbage: 1048576 or more bytes after the 1 data bytes"},
	}
	for _, c := range cases {
		for _, gz := range []bool{false, true} {
			name, b := c.name+".idx", c.b
			if gz {
				name, b = c.name+".idx.gz", gzipped(t, c.b)
			}
			path := writeTemp(t, name, b)
			m, err := ReadIDX(path)
			require.Error(t, err, name)
			assert.Nil(t, m, name)
			assert.Contains(t, err.Error(), "data: file "+path+": ", name)
			assert.Contains(t, err.Error(), c.want, name)
			if gz && strings.HasPrefix(c.want, "bad magic") {
				// The bytes shown are the decompressed ones, and the message says so.
				assert.Contains(t, err.Error(), "(after gunzip)", name)
			}
		}
	}
}

// TestReadIDXCorruptGzip covers damage to the compressed stream itself.
func TestReadIDXCorruptGzip(t *testing.T) {
	valid := gzipped(t, idxFile(8, []uint32{100, 10}, seq(1000)))
	// A gzip member ends with the CRC-32 and the length of the data, 4 bytes each.
	badCRC := bytes.Clone(valid)
	badCRC[len(badCRC)-8] ^= 0xFF
	badBody := bytes.Clone(valid[:10])
	badBody = append(badBody, bytes.Repeat([]byte{0xFF}, 40)...) // not a deflate stream
	cases := []struct {
		name string
		b    []byte
		want []string
	}{
		{"magic only", []byte{0x1f, 0x8b}, []string{"corrupt gzip: unexpected EOF"}},
		{"bad header", []byte{0x1f, 0x8b, 0x07, 0, 0, 0, 0, 0, 0, 0, 0, 0}, []string{"corrupt gzip: gzip: invalid header"}},
		{"bad deflate", badBody, []string{"corrupt gzip after 0 of 4 header bytes", "flate: corrupt input"}},
		{"bad checksum", badCRC, []string{"corrupt gzip after the 1000 data bytes", "gzip: invalid checksum"}},
		{"cut in header", valid[:10], []string{"header truncated: got 0 of 4 bytes (gzip stream cut short)"}},
		{"cut in data", valid[:len(valid)/2], []string{"data truncated: got", "of 1000 bytes (gzip stream cut short)"}},
		{"cut in trailer", valid[:len(valid)-3], []string{"corrupt gzip after the 1000 data bytes", "unexpected EOF"}},
		{"short member then garbage", append(gzipped(t, idxFile(8, []uint32{10}, seq(4))), "xyz"...), []string{"data truncated: got 4 of 10 bytes, then trailing garbage: 3 bytes after the gzip stream"}},
		{"cut second member", append(bytes.Clone(valid), valid[:5]...), []string{"corrupt gzip after the 1000 data bytes", "unexpected EOF"}},
		{"garbage after", append(bytes.Clone(valid), "garbage after the stream"...), []string{"trailing garbage: 24 bytes after the gzip stream"}},
		{"short garbage after", append(bytes.Clone(valid), 1, 2, 3), []string{"trailing garbage: 3 bytes after the gzip stream"}},
	}
	for _, c := range cases {
		path := writeTemp(t, c.name+".gz", c.b)
		_, err := ReadIDX(path)
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), "data: file "+path+": ", c.name)
		for _, w := range c.want {
			assert.Contains(t, err.Error(), w, c.name)
		}
	}

	// The gzip sentinel errors stay reachable through the wrapping.
	_, err := ReadIDX(writeTemp(t, "crc.gz", badCRC))
	assert.True(t, errors.Is(err, gzip.ErrChecksum), "%v", err)

	// Concatenated members (gzip -c a b > c) are one valid stream.
	raw := idxFile(8, []uint32{2, 3}, seq(6))
	two := append(gzipped(t, raw[:7]), gzipped(t, raw[7:])...)
	m, err := ReadIDX(writeTemp(t, "two-members.gz", two))
	require.NoError(t, err)
	assert.Equal(t, []int{2, 3}, m.Dims)
	assert.Equal(t, seq(6), m.Data)
}

func TestReadIDXMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope-idx3-ubyte")
	_, err := ReadIDX(path)
	require.Error(t, err)
	assert.True(t, errors.Is(err, fs.ErrNotExist), "%v", err)
	assert.Contains(t, err.Error(), "data: ")
	assert.Contains(t, err.Error(), path)
}

func TestReadIDXDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := ReadIDX(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "data: file "+dir+": reading header after 0 of 4 bytes")
}

// TestDecodeIDXDoesNotAllocateClaimedSize checks that a header claiming 2^31 elements
// over a file that holds a few bytes costs about what the file holds, not 2 GiB.
func TestDecodeIDXDoesNotAllocateClaimedSize(t *testing.T) {
	b := idxFile(8, []uint32{1 << 31}, seq(100))
	for _, gz := range []bool{false, true} {
		in := b
		if gz {
			in = gzipped(t, b)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := DecodeIDX(bytes.NewReader(in), "claims-2GiB")
		runtime.ReadMemStats(&after)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "data: file claims-2GiB: data truncated: got 100 of 2147483648 bytes")
		allocated := after.TotalAlloc - before.TotalAlloc
		assert.Less(t, allocated, uint64(8<<20), "gzip=%v: allocated %d bytes", gz, allocated)
	}
}

// allocated is the heap allocated while fn runs, in bytes.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// ReadIDX sizes its buffer from the file (raw: its length; gzip: its ISIZE trailer) and
// allocates the data once; DecodeIDX on a plain reader doubles from 1 MiB, allocating
// about twice the data. A gzip trailer claiming more than maxGzipRatio times the file is
// not believed, and a trailer that disagrees with the header changes nothing but the
// allocation.
func TestReadIDXAllocatesOnce(t *testing.T) {
	const n = 6 << 20 // 6 MiB of data: 1+2+4+6 MiB of buffers when doubling
	data := make([]byte, n)
	x := uint32(1)
	for i := range data { // pseudo-random bytes, half of them 0 (as images): 2:1 under gzip
		x = x*1664525 + 1013904223
		if x>>31 == 0 {
			data[i] = byte(x >> 23)
		}
	}
	file := idxFile(idxUint8, []uint32{n / 1024, 1024}, data)
	for _, c := range []struct {
		name string
		b    []byte
	}{{"raw", file}, {"gzip", gzipped(t, file)}} {
		path := writeTemp(t, "x-"+c.name, c.b)
		var got *IDX
		var err error
		bytesRead := allocated(func() { got, err = ReadIDX(path) })
		require.NoError(t, err, c.name)
		require.Equal(t, data, got.Data, c.name)
		assert.Less(t, bytesRead, uint64(n+n/4), "%s: ReadIDX allocated %d bytes for %d of data", c.name, bytesRead, n)
		decoded := allocated(func() { got, err = DecodeIDX(bytes.NewReader(c.b), "r") })
		require.NoError(t, err, c.name)
		assert.Greater(t, decoded, uint64(2*n), "%s: DecodeIDX without a size doubles its buffer", c.name)
	}

	// A forged trailer: ISIZE claims far more than 64 times the compressed size.
	gz := gzipped(t, file)
	binary.LittleEndian.PutUint32(gz[len(gz)-4:], uint32(maxGzipRatio*len(gz)+1))
	f, err := os.Open(writeTemp(t, "forged.gz", gz))
	require.NoError(t, err)
	defer f.Close()
	assert.Equal(t, int64(-1), contentSize(f))
	// A trailer that disagrees with the header: the doubling path, and the gzip reader's
	// own length check reports the corruption.
	_, err = ReadIDX(writeTemp(t, "bad-isize.gz", gz))
	assert.ErrorContains(t, err, "corrupt gzip")
}
