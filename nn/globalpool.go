package nn

import (
	"fmt"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("global_avgpool", func() Module { return &GlobalAvgPool{} })
}

// GlobalAvgPool averages each channel of (C, H, W) examples over its pixels, giving (C):
//
//	y[n,c] = (1/(H·W)) Σ_p x[n,c,p]
//
// PyTorch's nn.AdaptiveAvgPool2d(1) followed by nn.Flatten() (two modules in a
// Sequential's numbering), the head of residual networks.
type GlobalAvgPool struct {
	ctx     *Context
	in, out tensor.Shape
	n       int
	y, dx   *batchBuf
	g       *batchBuf // (MaxBatch, C): dy/(H·W)
	zero    *batchBuf // (MaxBatch, C, H, W) zeros, what Broadcast adds the gradient to
}

// Kind implements Module.
func (l *GlobalAvgPool) Kind() string { return "global_avgpool" }

// Modules is how many modules the layer is in PyTorch: AdaptiveAvgPool2d and Flatten.
func (l *GlobalAvgPool) Modules() int { return 2 }

// Params implements Module: none.
func (l *GlobalAvgPool) Params() []*Param { return nil }

// Build implements Module: in must be (C, H, W).
func (l *GlobalAvgPool) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("nn: global_avgpool: input shape %v, want (channels, height, width)", in)
	}
	l.ctx, l.in, l.out = ctx, in.Clone(), tensor.Shape{in[0]}
	var err error
	if l.y, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, l.out); err != nil {
		return nil, err
	}
	if l.dx, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, in); err != nil {
		return nil, err
	}
	if l.g, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, tensor.Shape{in[0]}); err != nil {
		return nil, err
	}
	if l.zero, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, in); err != nil {
		return nil, err
	}
	return tensor.Shape{in[0]}, nil
}

// Forward implements Module.
func (l *GlobalAvgPool) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("global_avgpool", l.ctx, x, l.in)
	if err != nil {
		return nil, err
	}
	y, err := l.y.rows(n)
	if err != nil {
		return nil, err
	}
	l.n = n
	// y (n·C) = mean over the H·W pixels of x (n·C, H·W)
	if err := l.ctx.Dev.Reduce(device.Mean, x.Buffer(), y.Buffer(), device.Shape3{Outer: n * l.in[0], Mid: l.in[1] * l.in[2], Inner: 1}); err != nil {
		return nil, fmt.Errorf("nn: global_avgpool forward: %w", err)
	}
	return y, nil
}

// Backward implements Module: dx[n,c,p] = dy[n,c]/(H·W).
func (l *GlobalAvgPool) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("global_avgpool", l.n, dy, l.out); err != nil {
		return nil, err
	}
	if !needDX {
		return nil, nil
	}
	dev, nc, hw := l.ctx.Dev, l.n*l.in[0], l.in[1]*l.in[2]
	dx, err := l.dx.rows(l.n)
	if err != nil {
		return nil, err
	}
	g, err := l.g.rows(l.n)
	if err != nil {
		return nil, err
	}
	zero, err := l.zero.rows(l.n)
	if err != nil {
		return nil, err
	}
	// g = dy/(H·W); dx[m, p] = 0 + g[m] over the (n·C, H·W) view
	if err := dev.Axpby(1/float32(hw), dy.Buffer(), 0, g.Buffer()); err != nil {
		return nil, fmt.Errorf("nn: global_avgpool backward: %w", err)
	}
	if err := dev.Broadcast(device.Add, zero.Buffer(), g.Buffer(), dx.Buffer(), device.Shape3{Outer: 1, Mid: nc, Inner: hw}); err != nil {
		return nil, fmt.Errorf("nn: global_avgpool backward: %w", err)
	}
	return dx, nil
}

// ExportONNX implements Exporter: GlobalAveragePool, then Flatten to (batch, C).
func (l *GlobalAvgPool) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if l.ctx == nil {
		return "", fmt.Errorf("nn: global_avgpool: export before Build")
	}
	return g.Node("Flatten", []string{g.Node("GlobalAveragePool", []string{x})}, onnx.Int("axis", 1)), nil
}
