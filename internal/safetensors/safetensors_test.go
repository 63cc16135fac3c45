package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// file assembles a safetensors file from a header and data, as the format lays it out.
func file(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func f32bytes(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func i64bytes(v ...int64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

// A file laid out by hand from the format's description decodes to its values.
func TestDecodeHandMadeFile(t *testing.T) {
	header := `{"b":{"dtype":"I64","shape":[],"data_offsets":[24,32]},` +
		`"__metadata__":{"format":"pt","k":"v"},` +
		`"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},` +
		`"e":{"dtype":"F32","shape":[0,4],"data_offsets":[32,32]}}   `
	data := append(f32bytes(1, -2, 3.5, float32(math.Inf(1)), 0, 1e-30), i64bytes(-7)...)
	f, err := Decode(file(header, data))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"format": "pt", "k": "v"}, f.Metadata)
	require.Len(t, f.Tensors, 3)
	a, b, e := f.Tensor("a"), f.Tensor("b"), f.Tensor("e")
	require.NotNil(t, a)
	assert.Equal(t, F32, a.DType)
	assert.Equal(t, []int{2, 3}, a.Shape)
	assert.Equal(t, []float32{1, -2, 3.5, float32(math.Inf(1)), 0, 1e-30}, a.F32)
	assert.Equal(t, I64, b.DType)
	assert.Equal(t, []int{}, b.Shape)
	assert.Equal(t, []int64{-7}, b.I64)
	assert.Equal(t, []int{0, 4}, e.Shape)
	assert.Empty(t, e.F32)
	assert.Equal(t, []string{"a", "b", "e"}, names(f), "tensors come in data order")
	assert.Nil(t, f.Tensor("nope"))
}

func names(f *File) []string {
	var out []string
	for _, t := range f.Tensors {
		out = append(out, t.Name)
	}
	return out
}

// Encode lays out what Decode reads: an 8-aligned header and the data in tensor order.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	nan := float32(math.NaN())
	in := &File{
		Metadata: map[string]string{"format": "pt", "ключ": "значение \"quoted\"\n"},
		Tensors: []Tensor{
			{Name: "0.weight", DType: F32, Shape: []int{2, 2}, F32: []float32{1, 2, nan, -0.0}},
			{Name: "1.num_batches_tracked", DType: I64, Shape: []int{}, I64: []int64{math.MaxInt64}},
			{Name: "empty", DType: F32, Shape: []int{3, 0}, F32: []float32{}},
			{Name: "optimizer.0.weight.m", DType: F32, Shape: []int{4}, F32: []float32{5, 6, 7, 8}},
		},
	}
	var buf bytes.Buffer
	require.NoError(t, Encode(&buf, in))
	b := buf.Bytes()
	n := binary.LittleEndian.Uint64(b)
	assert.Zero(t, n%8, "header padded to 8 bytes")
	assert.Equal(t, byte('{'), b[8])
	assert.Equal(t, 8+int(n)+16+8+16, len(b), "header, then 4+1+0+4 values")
	assert.Equal(t, f32bytes(1, 2), b[8+n:8+n+8], "data starts with the first tensor's values")

	out, err := Decode(b)
	require.NoError(t, err)
	assert.Equal(t, in.Metadata, out.Metadata)
	require.Equal(t, names(in), names(out))
	for i := range in.Tensors {
		a, c := in.Tensors[i], out.Tensors[i]
		assert.Equal(t, a.DType, c.DType)
		assert.Equal(t, a.Shape, c.Shape)
		assert.Equal(t, a.I64, c.I64)
		require.Len(t, c.F32, len(a.F32))
		for j := range a.F32 {
			assert.Equal(t, math.Float32bits(a.F32[j]), math.Float32bits(c.F32[j]), "%s[%d] bit for bit", a.Name, j)
		}
	}
}

func TestEncodeRejectsBadTensors(t *testing.T) {
	cases := []struct {
		name string
		t    []Tensor
		want string
	}{
		{"empty name", []Tensor{{Name: "", DType: F32, Shape: []int{1}, F32: []float32{1}}}, `tensor name "" is empty or reserved`},
		{"reserved", []Tensor{{Name: "__metadata__", DType: F32, Shape: []int{1}, F32: []float32{1}}}, "reserved"},
		{"twice", []Tensor{{Name: "a", DType: F32, Shape: []int{}, F32: []float32{1}}, {Name: "a", DType: F32, Shape: []int{}, F32: []float32{1}}}, `tensor "a": name used twice`},
		{"short", []Tensor{{Name: "a", DType: F32, Shape: []int{2, 2}, F32: []float32{1}}}, `tensor "a": 1 F32 values (and 0 I64) for shape [2 2]`},
		{"dtype", []Tensor{{Name: "a", DType: "F16", Shape: []int{}}}, `dtype "F16", want F32 or I64`},
		{"negative", []Tensor{{Name: "a", DType: F32, Shape: []int{-1}}}, "negative dimension"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Encode(&buf, &File{Tensors: c.t})
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// Every violation of the format is refused with an error that names it.
func TestDecodeRejectsMalformedFiles(t *testing.T) {
	good := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	two := f32bytes(1, 2)
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "file is 0 bytes, shorter than the 8-byte header length"},
		{"short length", []byte{1, 2, 3}, "file is 3 bytes"},
		{"length past the end", file(good, two)[:30], "header length 54 exceeds the 22 bytes that follow it"},
		{"huge length", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "header length 18446744073709551615 exceeds the 0 bytes"},
		{"not json", file("hello", nil), "header does not start with '{'"},
		{"bad json", file(`{"a":{"dtype":"F32",}}`, nil), "header: tensor \"a\": invalid JSON"},
		{"cut json", file(`{"a":{"dtype":"F32"`, nil), "JSON ends too early"},
		{"array", file(`[1,2]`, nil), "does not start with '{'"},
		{"after object", file(`{} {}`, nil), "unexpected bytes after the JSON object"},
		{"bad utf8", file("{\"a\xff\":1}", nil), "not valid UTF-8"},
		{"tensor not object", file(`{"a":[1]}`, nil), `tensor "a" is "[", want a JSON object`},
		{"duplicate tensor", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, two), `tensor "a" appears twice`},
		{"duplicate field", file(`{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, two), `tensor "a": "dtype" appears twice`},
		{"duplicate metadata", file(`{"__metadata__":{},"__metadata__":{}}`, nil), `"__metadata__" appears twice`},
		{"duplicate metadata key", file(`{"__metadata__":{"k":"1","k":"2"}}`, nil), `key "k" appears twice`},
		{"metadata not string", file(`{"__metadata__":{"k":1}}`, nil), `"k" is the number 1, want a string`},
		{"unknown field", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, two), `unknown field "x"`},
		{"missing field", file(`{"a":{"dtype":"F32","shape":[2]}}`, two), `tensor "a": missing data_offsets`},
		{"f16", file(`{"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}`, two), `dtype "F16" is not supported (want F32 or I64)`},
		{"dtype number", file(`{"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}`, two), `dtype is the number 4, want a string`},
		{"negative dim", file(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, two), "shape: element 0 is -2, want a non-negative integer"},
		{"fraction dim", file(`{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}`, two), "element 0 is 2.5"},
		{"huge dim", file(`{"a":{"dtype":"F32","shape":[4294967296],"data_offsets":[0,8]}}`, two), "too large"},
		{"one offset", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8]}}`, two), "data_offsets has 1 elements, want 2"},
		{"size mismatch", file(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, two), `tensor "a": F32 shape [3] needs 12 bytes, data_offsets [0, 8] hold 8`},
		{"overflowing shape", file(`{"a":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,8]}}`, two), "needs more than 2^64 bytes"},
		{"reversed offsets", file(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}`, two), `tensor "b": data_offsets [8, 0] leave a gap after byte 0`},
		{"gap", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, two), "leave a gap after byte 0"},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, two), `tensor "b": data_offsets [4, 8] overlap the previous tensor's data, which ends at 8`},
		{"past the end", file(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, two), "run past the end of the data (8 bytes; truncated file?)"},
		{"trailing bytes", file(good, append(two, 0)), "the tensors cover 8 bytes of data, but 9 follow the header"},
		{"empty name", file(`{"":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, two), "empty name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Decode(c.b)
			require.Error(t, err)
			assert.Nil(t, f)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err := Decode(file(good, two))
	require.NoError(t, err, "the unbroken file decodes")
}

// Cutting a valid file anywhere gives an error, never a panic or a partial file.
func TestDecodeRejectsEveryTruncation(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Encode(&buf, &File{Metadata: map[string]string{"x": "y"}, Tensors: []Tensor{
		{Name: "w", DType: F32, Shape: []int{3}, F32: []float32{1, 2, 3}},
		{Name: "n", DType: I64, Shape: []int{}, I64: []int64{4}},
	}}))
	b := buf.Bytes()
	for n := 0; n < len(b); n++ {
		f, err := Decode(b[:n])
		require.Error(t, err, "cut at %d of %d bytes", n, len(b))
		require.Nil(t, f)
	}
}
