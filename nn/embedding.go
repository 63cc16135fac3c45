package nn

import (
	"fmt"
	"math"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("embedding", func() Module { return &Embedding{} })
}

// Embedding maps integer ids to learned vectors: for int32 ids x of per-example shape
// (in…), y[…, :] = W[x[…], :], of shape (in…, Dim), with W of shape (Num, Dim) as
// PyTorch's nn.Embedding stores it ("weight"), drawn from N(0, Std²) (Std 0 means 1,
// PyTorch's default).
//
// The backward pass scatter-adds dy into W's gradient (device.Backend.ScatterAdd): the
// rows a batch used receive the sum of their gradients, in the same order on every
// backend and for any thread count. An embedding has no input gradient (ids are not
// differentiable), so it comes first in its model or branch. Ids outside [0, Num) are an
// error on the cpu backend; on other devices the caller validates them (the data
// readers do).
//
// With Sparse (PyTorch's nn.Embedding(sparse=True)), the table is a sparse parameter:
// the backward pass also adds the batch's ids to the table's row set (Param.Rows), and
// the optimizer then steps only those rows, lazily (see device.Backend.UpdateRows: the
// moments of rows a batch did not use do not decay, as in PyTorch's SparseAdam), and
// zeroing the gradient clears only them: a step costs what the batch's rows cost, not
// the table. A sparse table cannot be tied to a dense layer's weight.
type Embedding struct {
	Num    int     `json:"num"`
	Dim    int     `json:"dim"`
	Std    float32 `json:"std,omitempty"`
	Sparse bool    `json:"sparse,omitempty"`

	ctx     *Context
	in, out tensor.Shape
	w       *Param
	ids     *tensor.Tensor
	n       int
	y       *batchBuf
}

// NewEmbedding returns an embedding of num ids into dim values.
func NewEmbedding(num, dim int) *Embedding { return &Embedding{Num: num, Dim: dim} }

// Kind implements Module.
func (l *Embedding) Kind() string { return "embedding" }

// Params implements Module.
func (l *Embedding) Params() []*Param {
	if l.w == nil {
		return nil
	}
	return []*Param{l.w}
}

// Weight is the table W, (Num, Dim).
func (l *Embedding) Weight() *Param { return l.w }

// Validate checks the configuration without building it.
func (l *Embedding) Validate() error {
	if l.Num <= 0 || l.Dim <= 0 {
		return fmt.Errorf("num %d and dim %d must be positive", l.Num, l.Dim)
	}
	if !(l.Std >= 0) || math.IsInf(float64(l.Std), 0) {
		return fmt.Errorf("std must be a finite number not below 0, got %v", l.Std)
	}
	return nil
}

// inputOnly marks an embedding as a module without an input gradient.
func (l *Embedding) inputOnly() {}

// Build implements Module: in is the shape of each example's ids.
func (l *Embedding) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("nn: embedding: %w", err)
	}
	std := float64(l.Std)
	if std == 0 {
		std = 1
	}
	normal := func(w []float32) {
		for i := range w {
			w[i] = float32(ctx.RNG.NormFloat64() * std)
		}
	}
	var err error
	if l.w, err = ctx.NewParam("weight", true, normal, l.Num, l.Dim); err != nil {
		return nil, err
	}
	if l.Sparse {
		if l.w.Rows, err = tensor.New(ctx.Dev, device.Int32, device.RowSetLen(l.Num)); err != nil {
			return nil, err
		}
	}
	l.ctx, l.in = ctx, in.Clone()
	l.out = append(in.Clone(), l.Dim)
	if l.y, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, l.out); err != nil {
		return nil, err
	}
	return l.out.Clone(), nil
}

// Forward implements Module: x holds int32 ids.
func (l *Embedding) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("embedding", l.ctx, x, l.in)
	if err != nil {
		return nil, err
	}
	if x.DType() != device.Int32 {
		return nil, fmt.Errorf("nn: embedding: ids must be int32, got %s", x.DType())
	}
	y, err := l.y.rows(n)
	if err != nil {
		return nil, err
	}
	l.ids, l.n = x, n
	// y[r, :] = W[ids[r], :] for every id r of the batch
	if err := l.ctx.Dev.Gather(y.Buffer(), l.w.Value.Buffer(), x.Buffer(), l.Dim, 1); err != nil {
		return nil, fmt.Errorf("nn: embedding forward: %w", err)
	}
	return y, nil
}

// Backward implements Module: dW[ids[r], :] += dy[r, :]. There is no input gradient.
func (l *Embedding) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("embedding", l.n, dy, l.out); err != nil {
		return nil, err
	}
	if needDX {
		return nil, fmt.Errorf("nn: embedding: ids have no gradient (an embedding must come first in its model or branch)")
	}
	if !l.w.needsGrad() {
		return nil, nil
	}
	if err := l.ctx.Dev.ScatterAdd(l.w.Grad.Buffer(), dy.Buffer(), l.ids.Buffer(), l.Dim); err != nil {
		return nil, fmt.Errorf("nn: embedding backward: %w", err)
	}
	if l.w.Rows != nil {
		if err := l.ctx.Dev.AddRows(l.w.Rows.Buffer(), l.ids.Buffer()); err != nil {
			return nil, fmt.Errorf("nn: embedding backward: %w", err)
		}
	}
	return nil, nil
}

// readsIDs marks a model that starts with an embedding as one that takes ids.
func (l *Embedding) readsIDs() {}

// ExportONNX implements Exporter: Gather(W, ids, axis 0), of shape (batch, in…, Dim);
// the ids are int32 or int64 (a model that starts with an embedding takes int64 ids).
func (l *Embedding) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if l.w == nil {
		return "", fmt.Errorf("nn: embedding: export before Build")
	}
	return onnx.Embedding(g, ExportParam(g, l.w), x), nil
}
