package data

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
)

// IDX element-type codes (the third byte of the magic).
const (
	idxUint8   = 0x08
	idxInt8    = 0x09
	idxInt16   = 0x0B
	idxInt32   = 0x0C
	idxFloat32 = 0x0D
	idxFloat64 = 0x0E
)

// MaxIDXDims is the largest dimension count DecodeIDX accepts. The format allows 255;
// real data sets use 1 to 4, so a larger count means a corrupt or foreign file.
const MaxIDXDims = 8

// MaxIDXElements is the largest element count (product of the sizes) DecodeIDX accepts:
// 2^31 (or math.MaxInt where int is 32 bits). It bounds what a corrupt header can make the
// reader attempt.
const MaxIDXElements = min(1<<31, math.MaxInt)

// firstChunk is the most DecodeIDX allocates before it has read that many data bytes; the
// buffer then doubles as data arrives, so a header claiming more than the file holds costs
// at most about four times what the file really holds (buffers plus copies), never the
// claimed size.
const firstChunk = 1 << 20

// IDX is one decoded IDX file: an array of uint8 of shape Dims, row-major.
type IDX struct {
	// Name is the file name the array was read from (or the name given to DecodeIDX).
	Name string
	// Dims are the sizes, outermost first: (N, H, W) for an MNIST image file, (N) for labels.
	Dims []int
	// Data holds prod(Dims) elements in row-major order.
	Data []uint8
}

// ReadIDX reads the IDX file at path, gunzipping it if it starts with the gzip magic
// (0x1f 0x8b). See DecodeIDX for the format and the errors; an error opening the file is
// returned wrapped, with the "data: " prefix.
//
// The file's size tells how much data it holds (for a gzip file, its trailer's ISIZE
// field: the decompressed length mod 2^32): when that matches what the header claims,
// the data buffer is allocated once at its final size instead of doubling from 1 MiB, so
// that decoding the 47 MB of MNIST's training images leaves no garbage. A gzip trailer is
// believed only for claims of at most maxGzipRatio times the compressed size, so that a
// forged one cannot make the reader allocate much more than the file could hold.
func ReadIDX(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	return decodeIDX(f, path, contentSize(f))
}

// maxGzipRatio bounds the decompressed size ReadIDX believes a gzip trailer for: 64
// times the compressed size (MNIST compresses about 5:1, and deflate's limit is about
// 1032:1).
const maxGzipRatio = 64

// contentSize returns the length of f's IDX stream once decompressed, or -1 when it
// cannot tell: the file's size for a raw file, the ISIZE of a gzip file's last 4 bytes
// when it is plausible.
func contentSize(f *os.File) int64 {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return -1
	}
	size := st.Size()
	var head [2]byte
	if n, _ := f.ReadAt(head[:], 0); n < 2 || head[0] != 0x1f || head[1] != 0x8b {
		return size
	}
	var tail [4]byte
	if size < 18 { // a gzip member has a 10-byte header and an 8-byte trailer
		return -1
	}
	if n, _ := f.ReadAt(tail[:], size-4); n < 4 {
		return -1
	}
	isize := int64(binary.LittleEndian.Uint32(tail[:]))
	if isize > maxGzipRatio*size {
		return -1
	}
	return isize
}

// DecodeIDX decodes an IDX array of unsigned bytes from r; name identifies the source in
// errors. If r starts with the gzip magic (0x1f 0x8b) the stream is gunzipped first
// (concatenated gzip members are read as one stream).
//
// The layout is: 0x00 0x00, type byte, dimension count d, then d big-endian uint32 sizes,
// then prod(sizes) elements, then nothing. The data buffer starts at 1 MiB and doubles as
// bytes arrive, so a header claiming more than r holds costs a small multiple of what r
// holds (after gunzip), never the claimed size.
//
// Errors start "data: file <name>: " and report: a header cut short ("header truncated:
// got n of m bytes"); a bad magic (its four bytes in hex, "(after gunzip)" if
// decompressed); an element type other than 0x08, named ("0x0d (float32)"); a dimension
// count of 0 or above MaxIDXDims; sizes whose product overflows or exceeds
// MaxIDXElements; data cut short ("data truncated: got n of m bytes", with "(gzip stream
// cut short)" when the compressed stream itself ends early); bytes after the data, or
// after the last gzip member ("trailing garbage"); a corrupt gzip stream ("corrupt gzip",
// wrapping gzip.ErrHeader, gzip.ErrChecksum or the flate error). Read errors are wrapped.
func DecodeIDX(r io.Reader, name string) (*IDX, error) {
	return decodeIDX(r, name, -1)
}

// decodeIDX is DecodeIDX with the stream's length (header and data; -1 if unknown):
// when it equals what the header claims, the data buffer is allocated at once.
func decodeIDX(r io.Reader, name string, content int64) (*IDX, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("data: file %s: "+format, append([]any{name}, args...)...)
	}
	br := bufio.NewReaderSize(r, 64<<10)
	src := io.Reader(br)
	gz := false
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fail("corrupt gzip: %w", err)
		}
		zr.Multistream(false)
		src, gz = &gzipMembers{br: br, zr: zr}, true
	}
	// after is appended to header complaints so that a reader of a gzipped file knows the
	// bytes shown are the decompressed ones.
	after := ""
	if gz {
		after = " (after gunzip)"
	}
	// readErr turns an error from src into a message: a stream that ends early becomes
	// "<what> truncated: got n of m bytes", a gzip failure "corrupt gzip", others are wrapped.
	// readFull keeps io.EOF (a clean end of the file or of the gzip stream) apart from the
	// gzip reader's io.ErrUnexpectedEOF (the compressed stream itself is cut short).
	var trailing *gzipTrailingError
	readErr := func(what string, got, want int, err error) error {
		switch {
		case errors.Is(err, io.EOF):
			return fail("%s truncated: got %d of %d bytes", what, got, want)
		case gz && errors.Is(err, io.ErrUnexpectedEOF):
			return fail("%s truncated: got %d of %d bytes (gzip stream cut short)", what, got, want)
		case gz && errors.As(err, &trailing):
			return fail("%s truncated: got %d of %d bytes, then %v", what, got, want, err)
		case gz && isGzipError(err):
			return fail("corrupt gzip after %d of %d %s bytes: %w", got, want, what, err)
		default:
			return fail("reading %s after %d of %d bytes: %w", what, got, want, err)
		}
	}

	var magic [4]byte
	if n, err := readFull(src, magic[:]); err != nil {
		return nil, readErr("header", n, len(magic), err)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fail("bad magic % x%s: want 00 00 <type> <dims>", magic[:], after)
	}
	if typ := magic[2]; typ != idxUint8 {
		return nil, fail("unsupported element type %s: only 0x08 (unsigned byte) is supported", idxTypeName(typ))
	}
	ndim := int(magic[3])
	if ndim == 0 {
		return nil, fail("zero dimensions in the header (magic % x)", magic[:])
	}
	if ndim > MaxIDXDims {
		return nil, fail("%d dimensions in the header, more than the %d supported (magic % x)", ndim, MaxIDXDims, magic[:])
	}

	sizes := make([]byte, 4*ndim)
	if n, err := readFull(src, sizes); err != nil {
		return nil, readErr("header", len(magic)+n, len(magic)+len(sizes), err)
	}
	dims := make([]int, ndim)
	raw := make([]uint64, ndim)
	var total uint64 = 1
	overflow := false
	for i := range dims {
		raw[i] = uint64(binary.BigEndian.Uint32(sizes[4*i:]))
		hi, lo := bits.Mul64(total, raw[i])
		if hi != 0 {
			overflow = true
		}
		total = lo
	}
	switch {
	case overflow:
		return nil, fail("sizes %v overflow: their product does not fit in 64 bits", raw)
	case total > MaxIDXElements:
		return nil, fail("sizes %v hold %d elements, more than the limit of %d", raw, total, uint64(MaxIDXElements))
	}
	for i, d := range raw {
		if d > MaxIDXElements { // only possible next to a zero size
			return nil, fail("size %d of dimension %d is more than the limit of %d", d, i, uint64(MaxIDXElements))
		}
		dims[i] = int(d)
	}

	want := int(total)
	first := min(want, firstChunk)
	if content == int64(len(magic)+len(sizes))+int64(want) {
		first = want // the stream holds exactly the claimed data: no doubling
	}
	buf := make([]byte, 0, first)
	for len(buf) < want {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(want, 2*cap(buf)))
			copy(grown, buf)
			buf = grown
		}
		n, err := readFull(src, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil {
			return nil, readErr("data", len(buf), want, err)
		}
	}

	// Anything after the data is an error. For gzip this read also makes the reader check
	// the stream's CRC-32 and length, which it does only on reaching the end.
	extra, err := io.Copy(io.Discard, io.LimitReader(src, firstChunk))
	switch {
	case errors.As(err, &trailing):
		return nil, fail("%v", err)
	case err != nil && gz && (isGzipError(err) || errors.Is(err, io.ErrUnexpectedEOF)):
		// io.ErrUnexpectedEOF: the member's trailer, or the next member, is cut short.
		return nil, fail("corrupt gzip after the %d data bytes: %w", want, err)
	case err != nil:
		return nil, fail("reading after the %d data bytes: %w", want, err)
	case extra == firstChunk:
		return nil, fail("trailing garbage: %d or more bytes after the %d data bytes", extra, want)
	case extra > 0:
		return nil, fail("trailing garbage: %d bytes after the %d data bytes", extra, want)
	}
	return &IDX{Name: name, Dims: dims, Data: buf}, nil
}

// readFull reads len(buf) bytes from r like io.ReadFull, but returns r's error as it is:
// io.EOF after a partial read is not turned into io.ErrUnexpectedEOF. Like io.ReadFull it
// drops an error that comes with the last bytes needed; readers repeat it on the next
// Read (the gzip reader does, for its checksum error).
func readFull(r io.Reader, buf []byte) (int, error) {
	got := 0
	for got < len(buf) {
		n, err := r.Read(buf[got:])
		got += n
		if err != nil && got < len(buf) {
			return got, err
		}
	}
	return got, nil
}

// gzipMembers reads the members of a gzip stream one after another (gzip -c a b > c makes
// two; so do bgzip and pigz -i). After the last member it returns io.EOF if the input
// ends there, and a *gzipTrailingError if something else follows.
type gzipMembers struct {
	br *bufio.Reader
	zr *gzip.Reader // with Multistream(false): it stops at the end of each member
}

func (g *gzipMembers) Read(p []byte) (int, error) {
	for {
		n, err := g.zr.Read(p)
		if !errors.Is(err, io.EOF) {
			return n, err
		}
		if n > 0 {
			return n, nil // the gzip reader repeats io.EOF on the next Read
		}
		head, err := g.br.Peek(2)
		switch {
		case len(head) == 0 && errors.Is(err, io.EOF):
			return 0, io.EOF
		case len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b:
			if err := g.zr.Reset(g.br); err != nil {
				return 0, err
			}
			g.zr.Multistream(false)
			continue
		case err != nil && !errors.Is(err, io.EOF):
			return 0, err
		}
		extra, err := io.Copy(io.Discard, io.LimitReader(g.br, firstChunk))
		if err != nil {
			return 0, err
		}
		return 0, &gzipTrailingError{bytes: extra, more: extra == firstChunk}
	}
}

// gzipTrailingError reports bytes after the last gzip member that do not start another.
type gzipTrailingError struct {
	bytes int64 // how many were counted
	more  bool  // whether the count stopped at its limit
}

func (e *gzipTrailingError) Error() string {
	if e.more {
		return fmt.Sprintf("trailing garbage: %d or more bytes after the gzip stream", e.bytes)
	}
	return fmt.Sprintf("trailing garbage: %d bytes after the gzip stream", e.bytes)
}

// isGzipError reports whether err comes from the gzip or flate decoder rather than from
// the underlying reader.
func isGzipError(err error) bool {
	var corrupt flate.CorruptInputError
	var internal flate.InternalError
	return errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) ||
		errors.As(err, &corrupt) || errors.As(err, &internal)
}

// idxTypeName names an IDX element-type byte for error messages: "0x0d (float32)".
func idxTypeName(t byte) string {
	names := map[byte]string{
		idxUint8: "unsigned byte", idxInt8: "signed byte", idxInt16: "int16",
		idxInt32: "int32", idxFloat32: "float32", idxFloat64: "float64",
	}
	if s, ok := names[t]; ok {
		return fmt.Sprintf("0x%02x (%s)", t, s)
	}
	return fmt.Sprintf("0x%02x (not an IDX type)", t)
}

// EncodeIDX writes data, an array of shape dims in row-major order, to w as an
// uncompressed IDX file of unsigned bytes (type 0x08). It fails, writing nothing, if dims
// has 0 or more than MaxIDXDims entries, if a size is negative or above 2^32-1, or if
// len(data) is not the product of dims; write errors are wrapped.
func EncodeIDX(w io.Writer, dims []int, data []uint8) error {
	if len(dims) == 0 || len(dims) > MaxIDXDims {
		return fmt.Errorf("data: EncodeIDX: %d dimensions, want 1 to %d", len(dims), MaxIDXDims)
	}
	header := []byte{0, 0, idxUint8, byte(len(dims))}
	total := 1
	for i, d := range dims {
		if d < 0 || uint64(d) > math.MaxUint32 {
			return fmt.Errorf("data: EncodeIDX: size %d of dimension %d is outside 0..2^32-1", d, i)
		}
		if d != 0 && total > MaxIDXElements/d {
			return fmt.Errorf("data: EncodeIDX: sizes %v hold more than %d elements", dims, MaxIDXElements)
		}
		total *= d
		header = binary.BigEndian.AppendUint32(header, uint32(d))
	}
	if len(data) != total {
		return fmt.Errorf("data: EncodeIDX: sizes %v hold %d elements but data has %d", dims, total, len(data))
	}
	if _, err := w.Write(header); err != nil {
		return fmt.Errorf("data: EncodeIDX: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("data: EncodeIDX: %w", err)
	}
	return nil
}
