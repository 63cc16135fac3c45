package nn

import (
	"fmt"
	"math"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("layer_norm", func() Module { return &LayerNorm{} })
}

// DefaultLayerNormEps is LayerNorm's ε when none is given (PyTorch's default).
const DefaultLayerNormEps = 1e-5

// LayerNorm is PyTorch's nn.LayerNorm over the last axis: for x of per-example shape
// (…, C), each position's C values are normalised to mean 0 and variance 1, then
// scaled and shifted:
//
//	y[r, c] = (x[r, c] - mean_r) / √(var_r + Eps) · weight[c] + bias[c]
//
// with the biased variance (device.LayerNormArgs has the backward formulas). weight
// starts at 1 and bias at 0, of shape (C), named "weight" and "bias" as PyTorch names
// them; NoBias leaves the bias out (nn.LayerNorm(bias=False), nanoGPT's LayerNorm with
// bias=False). Eps 0 means DefaultLayerNormEps.
type LayerNorm struct {
	Eps    float32 `json:"eps,omitempty"`
	NoBias bool    `json:"no_bias,omitempty"`

	ctx         *Context
	in          tensor.Shape
	cols, rows  int // C; positions per example
	gamma, beta *Param
	x           *tensor.Tensor
	n           int
	y, dx       *batchBuf
	mean, rstd  *batchBuf
	scratch     [2]*tensor.Tensor // the gradients of frozen parameters land here
}

// NewLayerNorm returns a layer norm with a bias and ε 1e-5.
func NewLayerNorm() *LayerNorm { return &LayerNorm{} }

// Kind implements Module.
func (l *LayerNorm) Kind() string { return "layer_norm" }

// Params implements Module.
func (l *LayerNorm) Params() []*Param { return builtParams(l.gamma, l.beta) }

// Validate checks the configuration without building it.
func (l *LayerNorm) Validate() error {
	if !(l.Eps >= 0) || math.IsInf(float64(l.Eps), 0) {
		return fmt.Errorf("eps must be a finite number not below 0, got %v", l.Eps)
	}
	return nil
}

func (l *LayerNorm) eps() float32 {
	if l.Eps == 0 {
		return DefaultLayerNormEps
	}
	return l.Eps
}

// Build implements Module: in is (…, C).
func (l *LayerNorm) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("nn: layer_norm: %w", err)
	}
	if len(in) == 0 {
		return nil, fmt.Errorf("nn: layer_norm: input shape %v, want (…, features)", in)
	}
	l.ctx, l.in = ctx, in.Clone()
	l.cols = in[len(in)-1]
	l.rows = in.Len() / l.cols
	ones := make([]float32, l.cols)
	for i := range ones {
		ones[i] = 1
	}
	var err error
	if l.gamma, err = newParam(ctx.Dev, "weight", true, ones, l.cols); err != nil {
		return nil, err
	}
	l.beta = nil
	if !l.NoBias {
		if l.beta, err = newParam(ctx.Dev, "bias", true, make([]float32, l.cols), l.cols); err != nil {
			return nil, err
		}
	}
	for _, b := range []struct {
		p   **batchBuf
		per tensor.Shape
	}{{&l.y, in}, {&l.dx, in}, {&l.mean, tensor.Shape{l.rows}}, {&l.rstd, tensor.Shape{l.rows}}} {
		if *b.p, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, b.per); err != nil {
			return nil, err
		}
	}
	return in.Clone(), nil
}

// args are the device arguments for the batch of the last Forward.
func (l *LayerNorm) args() device.LayerNormArgs {
	mean, _ := l.mean.rows(l.n)
	rstd, _ := l.rstd.rows(l.n)
	a := device.LayerNormArgs{Rows: l.n * l.rows, Cols: l.cols, Eps: l.eps(), X: l.x.Buffer(),
		Gamma: l.gamma.Value.Buffer(), Mean: mean.Buffer(), RStd: rstd.Buffer()}
	if l.beta != nil {
		a.Beta = l.beta.Value.Buffer()
	}
	return a
}

// Forward implements Module.
func (l *LayerNorm) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("layer_norm", l.ctx, x, l.in)
	if err != nil {
		return nil, err
	}
	y, err := l.y.rows(n)
	if err != nil {
		return nil, err
	}
	l.x, l.n = x, n
	a := l.args()
	a.Y = y.Buffer()
	if err := l.ctx.Dev.LayerNorm(a); err != nil {
		return nil, fmt.Errorf("nn: layer_norm forward: %w", err)
	}
	return y, nil
}

// Backward implements Module: dx, and weight and bias gradients added into their Grad.
func (l *LayerNorm) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("layer_norm", l.n, dy, l.in); err != nil {
		return nil, err
	}
	if !needDX && !l.gamma.needsGrad() && !l.beta.needsGrad() {
		return nil, nil
	}
	dx, err := l.dx.rows(l.n)
	if err != nil {
		return nil, err
	}
	a := l.args()
	a.DY, a.DX = dy.Buffer(), dx.Buffer()
	// The op always writes the weight's (and bias') gradient: a frozen one's goes to a
	// scratch buffer, so that its Grad stays zero.
	if a.DGamma = l.gamma.Grad.Buffer(); !l.gamma.needsGrad() {
		if a.DGamma, err = l.scratchBuf(0); err != nil {
			return nil, err
		}
	}
	if l.beta != nil {
		if a.DBeta = l.beta.Grad.Buffer(); !l.beta.needsGrad() {
			if a.DBeta, err = l.scratchBuf(1); err != nil {
				return nil, err
			}
		}
	}
	if err := l.ctx.Dev.LayerNormBackward(a); err != nil {
		return nil, fmt.Errorf("nn: layer_norm backward: %w", err)
	}
	if !needDX {
		return nil, nil
	}
	return dx, nil
}

// scratchBuf is scratch gradient buffer i (0: the weight's, 1: the bias').
func (l *LayerNorm) scratchBuf(i int) (device.Buffer, error) {
	if l.scratch[i] == nil {
		var err error
		if l.scratch[i], err = tensor.Zeros(l.ctx.Dev, l.cols); err != nil {
			return nil, err
		}
	}
	return l.scratch[i].Buffer(), nil
}

// ExportONNX implements Exporter: LayerNormalization over the last axis (a zero bias
// without a bias: onnxruntime 1.2x crashes on an omitted one).
func (l *LayerNorm) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if l.gamma == nil {
		return "", fmt.Errorf("nn: layer_norm: export before Build")
	}
	var b string
	if l.beta != nil {
		b = ExportParam(g, l.beta)
	} else {
		b = g.Const("zero_bias", []int{l.cols}, make([]float32, l.cols)...)
	}
	return onnx.LayerNorm(g, x, ExportParam(g, l.gamma), b, l.eps()), nil
}
