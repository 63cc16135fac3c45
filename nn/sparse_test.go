package nn_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
)

// A sparse embedding's gradient is the dense one's, its row set lists the rows the
// batches used (accumulating over Backward calls), and ZeroGrad clears exactly those
// rows and empties the set, while the dense parameters' gradients are filled with 0.
func TestSparseEmbeddingRowsAndZeroGrad(t *testing.T) {
	dev := newDev(t)
	build := func(sparse bool) *nn.Model {
		m := nn.NewModel(nn.NewSequential(&nn.Embedding{Num: 7, Dim: 3, Sparse: sparse}, nn.NewFlatten(), nn.NewDense(2, nn.Tanh)))
		require.NoError(t, m.Build(dev, tensor.Shape{2}, 3, 2))
		return m
	}
	sparse, dense := build(true), build(false)
	w := sparse.Params()[0]
	require.True(t, w.Sparse())
	assert.Equal(t, 3, w.RowLen())
	assert.False(t, dense.Params()[0].Sparse())
	dy, err := tensor.FromFloat32(dev, []float32{0.3, -1, 0.5, 2, -0.7, 0.1}, 3, 2)
	require.NoError(t, err)
	step := func(m *nn.Model, ids []int32) {
		x, err := tensor.FromInt32(dev, ids, 3, 2)
		require.NoError(t, err)
		_, err = m.Forward(x, true)
		require.NoError(t, err)
		require.NoError(t, m.Backward(dy, false))
	}
	for _, ids := range [][]int32{{5, 1, 1, 5, 0, 5}, {2, 1, 6, 6, 1, 2}} {
		step(sparse, ids)
		step(dense, ids)
	}
	for i, p := range sparse.Params() {
		assert.Equal(t, read(t, dense.Params()[i].Grad), read(t, p.Grad), "%s: the same gradient, sparse or not", p.Name)
	}
	set, err := w.Rows.Int32s()
	require.NoError(t, err)
	// rows 5, 1, 0 from the first batch, 2, 6 from the second; marks of rows 0, 1, 2, 5, 6
	assert.Equal(t, []int32{5, 5, 1, 0, 2, 6, 0, 0, 1, 1, 1, 0, 0, 1, 1}, set)
	g := read(t, w.Grad)
	for _, r := range []int{3, 4} {
		assert.Equal(t, []float32{0, 0, 0}, g[r*3:r*3+3], "row %d, used by no batch", r)
	}

	// Poison row 3 of the gradient (no batch used it): ZeroGrad must leave it, which
	// shows that it clears the set's rows only.
	g[9] = 42
	require.NoError(t, w.Grad.SetFloat32s(g))
	require.NoError(t, sparse.ZeroGrad())
	want := make([]float32, 21)
	want[9] = 42
	assert.Equal(t, want, read(t, w.Grad), "ZeroGrad clears the rows of the set")
	for _, p := range sparse.Params()[1:] {
		assert.Equal(t, make([]float32, p.Grad.Len()), read(t, p.Grad), p.Name)
	}
	set, err = w.Rows.Int32s()
	require.NoError(t, err)
	assert.Equal(t, make([]int32, device.RowSetLen(7)), set, "the set is empty after ZeroGrad")

	// A dense layer cannot share a sparse table.
	tied := nn.NewModel(nn.NewSequential(&nn.Embedding{Num: 5, Dim: 4, Sparse: true}, nn.NewFlatten(), &nn.Dense{Units: 5, TieWeight: "0.weight"}))
	assert.ErrorContains(t, tied.Build(dev, tensor.Shape{1}, 2, 1), "tie_weight 0.weight is a sparse embedding table")
}
