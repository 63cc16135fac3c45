package nn

import (
	"fmt"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("position_embedding", func() Module { return &PositionEmbedding{} })
}

// PositionEmbedding adds a learned vector per position to a sequence: for x of
// per-example shape (T, C) and a table W of shape (Num, C) ("weight"), T <= Num,
//
//	y[t, :] = x[t, :] + W[t, :]
//
// GPT's learned positional embedding (nanoGPT's wpe, an nn.Embedding(block_size,
// n_embd) looked up at positions 0…T-1 and added to the token embeddings). W is drawn
// from N(0, Std²) (Std 0 means 1, nn.Embedding's default). The forward pass is one
// Broadcast over the batch; the backward pass adds the sum of dy over the batch into
// W's first T rows, and passes dy on as dx.
type PositionEmbedding struct {
	Num int     `json:"num"`
	Std float32 `json:"std,omitempty"`

	ctx     *Context
	in      tensor.Shape
	seq     int // T
	w       *Param
	wRows   *tensor.Tensor // W's first T rows
	gRows   *tensor.Tensor // and their gradient
	n       int
	y       *batchBuf
	scratch accumulator
}

// Kind implements Module.
func (l *PositionEmbedding) Kind() string { return "position_embedding" }

// Params implements Module.
func (l *PositionEmbedding) Params() []*Param {
	if l.w == nil {
		return nil
	}
	return []*Param{l.w}
}

// Weight is the table W, (Num, C).
func (l *PositionEmbedding) Weight() *Param { return l.w }

// Validate checks the configuration without building it.
func (l *PositionEmbedding) Validate() error {
	if l.Num <= 0 {
		return fmt.Errorf("num (the most positions) must be positive, got %d", l.Num)
	}
	return checkStd(l.Std)
}

// Build implements Module: in is (T, C) with T <= Num.
func (l *PositionEmbedding) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("nn: position_embedding: %w", err)
	}
	if len(in) != 2 {
		return nil, fmt.Errorf("nn: position_embedding: input shape %v, want (positions, features)", in)
	}
	if in[0] > l.Num {
		return nil, fmt.Errorf("nn: position_embedding: %d positions, but the table has %d (num)", in[0], l.Num)
	}
	std := float64(l.Std)
	if std == 0 {
		std = 1
	}
	l.ctx, l.in, l.seq = ctx, in.Clone(), in[0]
	c := in[1]
	var err error
	if l.w, err = newParam(ctx.Dev, "weight", true, normal(ctx, l.Num*c, std), l.Num, c); err != nil {
		return nil, err
	}
	if l.y, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, in); err != nil {
		return nil, err
	}
	return in.Clone(), nil
}

// rowsOf returns t's first T rows as a flat view.
func (l *PositionEmbedding) rowsOf(t *tensor.Tensor) (*tensor.Tensor, error) {
	return t.View(0, l.in.Len())
}

// Forward implements Module.
func (l *PositionEmbedding) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("position_embedding", l.ctx, x, l.in)
	if err != nil {
		return nil, err
	}
	y, err := l.y.rows(n)
	if err != nil {
		return nil, err
	}
	if l.wRows == nil {
		if l.wRows, err = l.rowsOf(l.w.Value); err != nil {
			return nil, err
		}
	}
	l.n = n
	// y[b, t·C + c] = x[b, t·C + c] + W[t, c]
	if err := l.ctx.Dev.Broadcast(device.Add, x.Buffer(), l.wRows.Buffer(), y.Buffer(),
		device.Shape3{Outer: n, Mid: l.in.Len(), Inner: 1}); err != nil {
		return nil, fmt.Errorf("nn: position_embedding forward: %w", err)
	}
	return y, nil
}

// Backward implements Module: dW[t, :] += Σ_b dy[b, t, :]; dx = dy.
func (l *PositionEmbedding) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("position_embedding", l.n, dy, l.in); err != nil {
		return nil, err
	}
	if l.w.needsGrad() {
		dev := l.ctx.Dev
		if l.gRows == nil {
			var err error
			if l.gRows, err = l.rowsOf(l.w.Grad); err != nil {
				return nil, err
			}
		}
		if l.scratch.tmp == nil {
			t, err := tensor.Zeros(dev, l.in.Len())
			if err != nil {
				return nil, err
			}
			l.scratch.tmp = t
		}
		tmp := l.scratch.tmp
		if err := dev.Reduce(device.Sum, dy.Buffer(), tmp.Buffer(), device.Shape3{Outer: 1, Mid: l.n, Inner: l.in.Len()}); err != nil {
			return nil, fmt.Errorf("nn: position_embedding backward: %w", err)
		}
		if err := dev.Axpby(1, tmp.Buffer(), 1, l.gRows.Buffer()); err != nil {
			return nil, fmt.Errorf("nn: position_embedding backward: %w", err)
		}
	}
	if !needDX {
		return nil, nil
	}
	return dy, nil
}

// ExportONNX implements Exporter: x + Slice(W, rows 0…T-1), so that the initializer is
// the checkpoint's whole table.
func (l *PositionEmbedding) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if l.w == nil {
		return "", fmt.Errorf("nn: position_embedding: export before Build")
	}
	w := ExportParam(g, l.w)
	rows := g.Node("Slice", []string{w, g.Int64s("start", []int{1}, 0), g.Int64s("end", []int{1}, int64(l.seq))})
	return g.Node("Add", []string{x, rows}), nil
}
