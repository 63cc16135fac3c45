package checkpoint

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The codec's own tests are in internal/safetensors; here, that this package's Encode
// and Decode round-trip and name themselves in their errors.
func TestEncodeDecodeThroughCheckpoint(t *testing.T) {
	in := &File{Metadata: map[string]string{"format": "pt"}, Tensors: []Tensor{
		{Name: "0.weight", DType: F32, Shape: []int{2}, F32: []float32{1, -2}},
		{Name: "1.num_batches_tracked", DType: I64, Shape: []int{}, I64: []int64{7}},
	}}
	var buf bytes.Buffer
	require.NoError(t, Encode(&buf, in))
	out, err := Decode(buf.Bytes())
	require.NoError(t, err)
	assert.Equal(t, in, out)

	err = Encode(&buf, &File{Tensors: []Tensor{{Name: "a", DType: "F16", Shape: []int{}}}})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), `checkpoint: tensor "a": dtype "F16"`), err.Error())
	_, err = Decode([]byte{1, 2, 3})
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "checkpoint: file is 3 bytes"), err.Error())
}

// names lists f's tensor names in data order.
func names(f *File) []string {
	var out []string
	for _, t := range f.Tensors {
		out = append(out, t.Name)
	}
	return out
}
