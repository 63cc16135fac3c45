package tensor_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

func TestShape(t *testing.T) {
	s := tensor.Shape{2, 3, 4}
	assert.Equal(t, 24, s.Len())
	assert.Equal(t, 1, tensor.Shape{}.Len())
	assert.Equal(t, "(2, 3, 4)", s.String())
	assert.True(t, s.Equal(tensor.Shape{2, 3, 4}))
	assert.False(t, s.Equal(tensor.Shape{2, 3}))
	c := s.Clone()
	c[0] = 9
	assert.Equal(t, 2, s[0], "Clone copies")
	assert.ErrorContains(t, tensor.Shape{2, 0}.Check(), "not positive")
}

func TestRoundTripAndViews(t *testing.T) {
	dev := cpu.New(cpu.Options{})
	x, err := tensor.FromFloat32(dev, []float32{1, 2, 3, 4, 5, 6}, 3, 2)
	require.NoError(t, err)
	assert.Equal(t, tensor.Shape{3, 2}, x.Shape())
	rows, err := x.Rows(1, 3)
	require.NoError(t, err)
	v, err := rows.Float32s()
	require.NoError(t, err)
	assert.Equal(t, []float32{3, 4, 5, 6}, v)
	require.NoError(t, rows.SetFloat32s([]float32{0, 0, 0, -1}))
	all, _ := x.Float32s()
	assert.Equal(t, []float32{1, 2, 0, 0, 0, -1}, all, "a view writes through to its parent")
	r, err := x.Reshape(6)
	require.NoError(t, err)
	assert.Equal(t, tensor.Shape{6}, r.Shape())
	r.Free() // freeing a view leaves the parent alone
	all, _ = x.Float32s()
	assert.Len(t, all, 6)

	_, err = x.Rows(2, 4)
	assert.ErrorContains(t, err, "rows [2, 4) outside (3, 2)")
	_, err = x.Reshape(4)
	assert.ErrorContains(t, err, "cannot reshape (3, 2)")
	_, err = tensor.FromFloat32(dev, []float32{1, 2}, 3)
	assert.ErrorContains(t, err, "2 values do not fill shape (3)")
	assert.ErrorContains(t, x.SetFloat32s([]float32{1}), "1 values for a tensor of shape (3, 2)")
	_, err = tensor.Zeros(dev, 2, -1)
	assert.Error(t, err)
}

func TestDenseConversions(t *testing.T) {
	dev := cpu.New(cpu.Options{})
	f64 := gt.New(gt.WithShape(2, 2), gt.WithBacking([]float64{1.5, -2, 3, 4}))
	x, err := tensor.FromDense(dev, f64)
	require.NoError(t, err)
	assert.Equal(t, device.Float32, x.DType())
	d, err := x.Dense()
	require.NoError(t, err)
	assert.Equal(t, []float32{1.5, -2, 3, 4}, d.Data())
	assert.Equal(t, []int{2, 2}, []int(d.Shape()))

	ints := gt.New(gt.WithShape(3), gt.WithBacking([]int{0, 7, 9}))
	l, err := tensor.FromDense(dev, ints)
	require.NoError(t, err)
	assert.Equal(t, device.Int32, l.DType())
	v, _ := l.Int32s()
	assert.Equal(t, []int32{0, 7, 9}, v)

	big := gt.New(gt.WithShape(1), gt.WithBacking([]int64{1 << 40}))
	_, err = tensor.FromDense(dev, big)
	assert.ErrorContains(t, err, "does not fit in int32")

	b := gt.New(gt.WithShape(2), gt.WithBacking([]uint8{1, 255}))
	u, err := tensor.FromDense(dev, b)
	require.NoError(t, err)
	assert.Equal(t, device.Uint8, u.DType())
	_, err = u.Dense()
	assert.ErrorContains(t, err, "cannot read uint8 tensors back")

	// A transposed view is materialised in row-major order.
	m := gt.New(gt.WithShape(2, 3), gt.WithBacking([]float32{1, 2, 3, 4, 5, 6}))
	require.NoError(t, m.T())
	tt, err := tensor.FromDense(dev, m)
	require.NoError(t, err)
	assert.Equal(t, tensor.Shape{3, 2}, tt.Shape())
	got, _ := tt.Float32s()
	assert.Equal(t, []float32{1, 4, 2, 5, 3, 6}, got)

	_, err = tensor.FromDense(dev, nil)
	assert.ErrorContains(t, err, "nil array")
	_, err = tensor.FromDense(dev, gt.New(gt.WithShape(2), gt.WithBacking([]bool{true, false})))
	assert.ErrorContains(t, err, "unsupported element type")
}
