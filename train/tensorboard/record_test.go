package tensorboard

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// CRC-32C known answers: the plain CRCs are RFC 3720's (B.4) and the classic check
// value of "123456789"; the masked ones were computed with TensorBoard's own
// implementation (tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c,
// tensorboard 2.21.0).
func TestMaskedCRC(t *testing.T) {
	le := func(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }
	ascending := make([]byte, 32)
	for i := range ascending {
		ascending[i] = byte(i)
	}
	cases := []struct {
		name        string
		data        []byte
		crc, masked uint32
	}{
		{"empty", nil, 0, 0xa282ead8},
		{"a", []byte("a"), 0xc1d04330, 0x28e46e78},
		{"check value", []byte("123456789"), 0xe3069283, 0xc78ab0e5},
		{"32 zeros", make([]byte, 32), 0x8a9136aa, 0x0fd7fffa},
		{"32 ones", bytes.Repeat([]byte{0xff}, 32), 0x62a8ab43, 0xf909b029},
		{"32 ascending", ascending, 0x46dd794e, 0x951f7892},
		{"length 0", le(0), 0x8c28b28a, 0x07980329},
		{"length 5", le(5), 0xe4094dc0, 0x3e04b2ea},
	}
	for _, c := range cases {
		assert.Equal(t, c.crc, crc32.Checksum(c.data, castagnoli), "CRC-32C of %s", c.name)
		assert.Equal(t, c.masked, MaskedCRC(c.data), "masked CRC-32C of %s", c.name)
	}
}

// A record is the length, its masked CRC, the data and its masked CRC, little-endian
// (masked CRCs from TensorBoard's implementation, as above).
func TestRecordFraming(t *testing.T) {
	want, _ := hex.DecodeString("0500000000000000" + "eab2043e" + hex.EncodeToString([]byte("hello")) + "bb1f1c19")
	got := appendRecord(nil, []byte("hello"))
	assert.Equal(t, want, got)

	rr := NewRecordReader(bytes.NewReader(append(got, appendRecord(nil, nil)...)))
	data, err := rr.Next()
	require.NoError(t, err)
	assert.Equal(t, "hello", string(data))
	data, err = rr.Next()
	require.NoError(t, err)
	assert.Empty(t, data)
	_, err = rr.Next()
	assert.Equal(t, io.EOF, err)
}

// The events encode to the bytes protobuf's Python runtime serializes for the same
// messages (tensorboard.compat.proto's event_pb2 and friends, protobuf 7.36.2):
//
//	Event(wall_time=1.5, file_version="brain.Event:2")
//	Event(wall_time=2.25, step=7, summary=Summary(value=[Value(tag="loss", simple_value=0.125)]))
//	Event(wall_time=3.0, step=8, summary=Summary(value=[Value(tag="w", histo=HistogramProto(
//	    min=-1, max=2, num=3, sum=1.5, sum_squares=5.25, bucket_limit=[-0.9, 1e-12, 2.1], bucket=[1, 0, 2]))]))
//	Event(wall_time=4.0, step=9, summary=Summary(value=[Value(tag="notes",
//	    metadata=SummaryMetadata(plugin_data=PluginData(plugin_name="text",
//	        content=TextPluginData(version=0).SerializeToString()), data_class=DATA_CLASS_TENSOR),
//	    tensor=TensorProto(dtype=DT_STRING, tensor_shape=TensorShapeProto(), string_val=[b"# hi"]))]))
func TestEventEncodingMatchesProtobuf(t *testing.T) {
	summary := func(v []byte) []byte { return appendBytesField(nil, summaryValue, v) }
	h := &Histogram{Min: -1, Max: 2, Num: 3, Sum: 1.5, SumSquares: 5.25, BucketLimit: []float64{-0.9, 1e-12, 2.1}, Bucket: []float64{1, 0, 2}}
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"file version", appendFileVersionEvent(nil, 1.5), "09000000000000f83f1a0d627261696e2e4576656e743a32"},
		{"scalar", appendEvent(nil, 2.25, 7, summary(appendScalarValue(nil, "loss", 0.125))),
			"09000000000000024010072a0d0a0b0a046c6f7373150000003e"},
		{"histogram", appendEvent(nil, 3, 8, summary(appendHistogramValue(nil, "w", h))),
			"09000000000000084010082a680a660a01772a6109000000000000f0bf11000000000000004019000000000000084021000000000000f83f" +
				"2900000000000015403218cdccccccccccecbf11ea2d819997713dcdcccccccccc00403a18000000000000f03f00000000000000000000000000000040"},
		{"text", appendEvent(nil, 4, 9, summary(appendTextValue(nil, "notes", "# hi"))),
			"09000000000000104010092a210a1f0a056e6f746573420a080712004204232068694a0a0a060a04746578742002"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, hex.EncodeToString(c.got), c.name)
		ev, err := decodeEvent(c.got)
		require.NoError(t, err, c.name)
		if c.name == "histogram" {
			require.Len(t, ev.Values, 1)
			assert.Equal(t, h, ev.Values[0].Histogram)
		}
	}
}

// clock is a fake clock that advances by a quarter second per reading.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { c.t = c.t.Add(250 * time.Millisecond); return c.t }

func TestWriterReadBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs", "run") // created by NewWriter
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	w, err := NewWriter(dir, WriterOptions{Now: clk.now, Suffix: ".v2"})
	require.NoError(t, err)
	assert.Regexp(t, regexp.MustCompile(`^events\.out\.tfevents\.1700000000\.[^/]+\.\d+\.\d+\.v2$`), filepath.Base(w.Path()))
	assert.Equal(t, dir, filepath.Dir(w.Path()))

	losses := []float64{2.302585092994046, 1.5, 0.1 + 0.2, 1e-30, -7}
	for i, l := range losses {
		require.NoError(t, w.Scalar("batch_loss", int64(10*(i+1)), l))
	}
	require.NoError(t, w.HistogramOf("weights/0.weight", 50, []float32{0, 0, 1}))
	require.NoError(t, w.Text("model", 0, "| a | b |\n|---|---|\n| 1 | 2 |"))
	require.NoError(t, w.Close())
	require.NoError(t, w.Close(), "a second Close")
	assert.ErrorContains(t, w.Scalar("x", 1, 1), "write after Close")

	evs, err := ReadFile(w.Path())
	require.NoError(t, err)
	require.Len(t, evs, 1+len(losses)+2)
	assert.Equal(t, fileVersion, evs[0].FileVersion)
	assert.Equal(t, 1_700_000_000.25, evs[0].WallTime)
	for i, l := range losses {
		ev := evs[1+i]
		assert.Equal(t, int64(10*(i+1)), ev.Step)
		require.Len(t, ev.Values, 1)
		v := ev.Values[0]
		assert.Equal(t, "batch_loss", v.Tag)
		assert.True(t, v.HasScalar)
		assert.Equal(t, float32(l), v.Scalar, "scalar %d", i)
		assert.Greater(t, ev.WallTime, evs[i].WallTime, "wall times increase")
	}
	hv := evs[1+len(losses)].Values[0]
	assert.Equal(t, "weights/0.weight", hv.Tag)
	require.NotNil(t, hv.Histogram)
	assert.Equal(t, 3.0, hv.Histogram.Num)
	tv := evs[2+len(losses)].Values[0]
	assert.Equal(t, "model", tv.Tag)
	assert.Equal(t, textPlugin, tv.Plugin)
	assert.Equal(t, []string{"| a | b |\n|---|---|\n| 1 | 2 |"}, tv.Strings)
}

// Every flipped bit and every truncation inside a record is caught; a file cut at a
// record boundary reads as its whole records.
func TestReaderDetectsCorruption(t *testing.T) {
	var file []byte
	file = appendRecord(file, appendFileVersionEvent(nil, 1))
	bounds := map[int]int{len(file): 1}
	file = appendRecord(file, appendEvent(nil, 2, 3, appendBytesField(nil, summaryValue, appendScalarValue(nil, "loss", 0.5))))
	bounds[len(file)] = 2
	for i := range len(file) * 8 {
		bad := bytes.Clone(file)
		bad[i/8] ^= 1 << (i % 8)
		evs, err := ReadEvents(bytes.NewReader(bad))
		require.Error(t, err, "bit %d of byte %d flipped", i%8, i/8)
		assert.True(t, errors.Is(err, ErrCorrupt), "bit %d of byte %d: %v", i%8, i/8, err)
		assert.Less(t, len(evs), 2)
	}
	for n := 0; n < len(file); n++ {
		evs, err := ReadEvents(bytes.NewReader(file[:n]))
		if k, ok := bounds[n]; ok || n == 0 {
			require.NoError(t, err, "cut at %d", n)
			assert.Len(t, evs, k)
			continue
		}
		require.ErrorIs(t, err, ErrCorrupt, "cut at %d", n)
		assert.Contains(t, err.Error(), "truncated")
	}
	_, err := ReadFile(filepath.Join(t.TempDir(), "missing"))
	assert.ErrorContains(t, err, "missing")
}

func TestDefaultBucketLimits(t *testing.T) {
	l := DefaultBucketLimits()
	require.Len(t, l, 1551)
	assert.Equal(t, -math.MaxFloat64, l[0])
	assert.Equal(t, math.MaxFloat64, l[len(l)-1])
	mid := len(l) / 2
	assert.Equal(t, 0.0, l[mid])
	assert.Equal(t, 1e-12, l[mid+1])
	for i := 1; i < len(l); i++ {
		require.Less(t, l[i-1], l[i], "limits increase at %d", i)
		assert.Equal(t, -l[len(l)-1-i], l[i], "limits are symmetric at %d", i)
	}
	assert.Less(t, l[len(l)-2], 1e20)
	assert.GreaterOrEqual(t, l[len(l)-2]*1.1, 1e20)
}

func TestHistogram(t *testing.T) {
	l := DefaultBucketLimits()
	mid := len(l) / 2 // the 0 limit
	// The bucket of 1: the first limit above 1.
	j := mid + 1
	for l[j] <= 1 {
		j++
	}
	h, err := NewHistogram([]float32{0, 1, 0})
	require.NoError(t, err)
	assert.Equal(t, &Histogram{Min: 0, Max: 1, Num: 3, Sum: 1, SumSquares: 1,
		// Every bucket below [0, 1e-12) collapses into one ending at 0, then the two
		// zeros, the empty run up to the bucket of 1, the 1, the empty rest.
		BucketLimit: []float64{0, 1e-12, l[j-1], l[j], math.MaxFloat64},
		Bucket:      []float64{0, 2, 0, 1, 0}}, h)

	// Buckets found by a plain scan: i with l[i-1] <= v < l[i].
	bucket := func(v float64) int {
		i := 0
		for l[i] <= v {
			i++
		}
		return i
	}
	a, b := bucket(-1.5), bucket(2)
	require.True(t, a < mid && b > mid+1)
	h, err = NewHistogram([]float32{2, -1.5})
	require.NoError(t, err)
	assert.Equal(t, []float64{l[a-1], l[a], l[b-1], l[b], math.MaxFloat64}, h.BucketLimit)
	assert.Equal(t, []float64{0, 1, 0, 1, 0}, h.Bucket)
	assert.Equal(t, []float64{-1.5, 2, 2, 0.5, 6.25}, []float64{h.Min, h.Max, h.Num, h.Sum, h.SumSquares})

	h, err = NewHistogram(nil)
	require.NoError(t, err)
	assert.Equal(t, &Histogram{Min: math.MaxFloat64, Max: -math.MaxFloat64, BucketLimit: []float64{math.MaxFloat64}, Bucket: []float64{0}}, h)

	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
		_, err = NewHistogram([]float32{1, bad})
		assert.ErrorContains(t, err, "value 1 of 2 is", "%v", bad)
	}
}

func TestWriterErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err := NewWriter(file, WriterOptions{})
	assert.ErrorContains(t, err, file)
	_, err = NewWriter(filepath.Join(file, "sub"), WriterOptions{})
	assert.ErrorContains(t, err, file)
	_, err = NewCallback(dir, Options{Histograms: -1})
	assert.ErrorContains(t, err, "-1")
}

// Logging a scalar, what the callback does every few steps, allocates nothing once the
// writer's buffers have grown.
func TestScalarAllocatesNothing(t *testing.T) {
	w, err := NewWriter(t.TempDir(), WriterOptions{FlushEvery: time.Hour})
	require.NoError(t, err)
	defer w.Close()
	step := int64(0)
	allocs := testing.AllocsPerRun(100, func() {
		step++
		if err := w.Scalar(TagBatchLoss, step, 0.5); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// ReadEvents never panics on a file that is not an event file, and reads back what
// the writer framed.
func FuzzReadEvents(f *testing.F) {
	var file []byte
	file = appendRecord(file, appendFileVersionEvent(nil, 1))
	file = appendRecord(file, appendEvent(nil, 2, 3, appendBytesField(nil, summaryValue, appendScalarValue(nil, "loss", 0.5))))
	h, _ := NewHistogram([]float32{1, -2})
	file = appendRecord(file, appendEvent(nil, 2, 3, appendBytesField(nil, summaryValue, appendHistogramValue(nil, "w", h))))
	file = appendRecord(file, appendEvent(nil, 2, 3, appendBytesField(nil, summaryValue, appendTextValue(nil, "t", "x"))))
	f.Add(file)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := ReadEvents(bytes.NewReader(data))
		if err == nil {
			// Re-framing the records gives the same bytes.
			rr := NewRecordReader(bytes.NewReader(data))
			var again []byte
			for range evs {
				rec, err := rr.Next()
				if err != nil {
					t.Fatal(err)
				}
				again = appendRecord(again, rec)
			}
			if !bytes.Equal(again, data) {
				t.Fatalf("re-framed %d records differ from the input", len(evs))
			}
		}
		// Record payloads that are not protocol buffers must give errors, not panics:
		// decode the data as an event directly too.
		_, _ = decodeEvent(data)
	})
}
