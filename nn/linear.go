package nn

import (
	"fmt"
	"math"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("linear", func() Module { return &LinearLayer{} })
}

// LinearLayer is PyTorch's nn.Linear: an affine map over the last axis of its input, every
// other position on its own. For x of per-example shape (…, In), with R = the product
// of the leading dimensions (the positions of a sequence):
//
//	y[r, :] = x[r, :]·Wᵀ + b      y of shape (…, Out), r over the batch's n·R rows
//
// one Gemm of n·R rows with the bias as its epilogue. W has shape (Out, In) and b
// shape (Out), as nn.Linear stores them ("weight", "bias"); NoBias leaves b out
// (bias=False). W is drawn from N(0, Std²) (GPT-2's and nanoGPT's initialisation,
// with b zero), or with Std 0 as PyTorch does, W and b from U(±1/√In). With TieWeight,
// W is the parameter of that full name of a module built earlier, of shape (Out, In):
// a language model's output head shares the token embedding's table so, and the
// gradients of both uses add up.
//
// Its three GEMMs run in the model's precision (Context.Precision) as Dense's do: in
// BF16 and FP16 on 16-bit copies of W, of the input (kept for dW) and of dy, with
// float32 outputs and bias.
//
// Dense is the same map on flat (batch, In) inputs, with an activation; LinearLayer is the
// form a sequence model's projections take.
type LinearLayer struct {
	Out       int     `json:"out"`
	NoBias    bool    `json:"no_bias,omitempty"`
	Std       float32 `json:"std,omitempty"`
	TieWeight string  `json:"tie_weight,omitempty"`

	ctx          *Context
	in, rows     int // In; positions per example
	inShape, out tensor.Shape
	w, b         *Param
	x            *tensor.Tensor
	n            int
	y, dx        *batchBuf
	db           accumulator
	half         halfGemm // the GEMMs' operands in the model's precision
}

// NewLinearLayer returns a Linear layer of out outputs with a bias and PyTorch's
// initialisation.
func NewLinearLayer(out int) *LinearLayer { return &LinearLayer{Out: out} }

// Kind implements Module.
func (l *LinearLayer) Kind() string { return "linear" }

// Params implements Module.
func (l *LinearLayer) Params() []*Param { return builtParams(l.w, l.b) }

// Weight is W, (Out, In).
func (l *LinearLayer) Weight() *Param { return l.w }

// Bias is b, (Out); nil with NoBias.
func (l *LinearLayer) Bias() *Param { return l.b }

// Validate checks the configuration without building it.
func (l *LinearLayer) Validate() error {
	if l.Out <= 0 {
		return fmt.Errorf("out must be positive, got %d", l.Out)
	}
	return checkStd(l.Std)
}

// checkStd validates an initialisation's standard deviation (0: the layer's default).
func checkStd(std float32) error {
	if !(std >= 0) || math.IsInf(float64(std), 0) {
		return fmt.Errorf("std must be a finite number not below 0, got %v", std)
	}
	return nil
}

// normal draws n values from N(0, std²).
func normal(ctx *Context, n int, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(ctx.RNG.NormFloat64() * std)
	}
	return v
}

// uniform draws n values from U(-limit, limit).
func uniform(ctx *Context, n int, limit float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((2*ctx.RNG.Float64() - 1) * limit)
	}
	return v
}

// Build implements Module: in is (…, In), of any rank from 1.
func (l *LinearLayer) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("nn: linear: %w", err)
	}
	if len(in) == 0 {
		return nil, fmt.Errorf("nn: linear: input shape %v, want (…, features)", in)
	}
	l.ctx, l.inShape = ctx, in.Clone()
	l.in = in[len(in)-1]
	l.rows = in.Len() / l.in
	limit := 1 / math.Sqrt(float64(l.in))
	var err error
	if l.TieWeight != "" {
		if l.w, err = ctx.Param(l.TieWeight); err != nil {
			return nil, fmt.Errorf("nn: linear: tie_weight: %w", err)
		}
		if want := (tensor.Shape{l.Out, l.in}); l.w.Value == nil || !l.w.Value.Shape().Equal(want) {
			return nil, fmt.Errorf("nn: linear: tie_weight %s has shape %v, want %v", l.TieWeight, shapeOf(l.w.Value), want)
		}
	} else {
		w := uniform(ctx, l.Out*l.in, limit)
		if l.Std > 0 {
			w = normal(ctx, l.Out*l.in, float64(l.Std))
		}
		if l.w, err = newParam(ctx.Dev, "weight", true, w, l.Out, l.in); err != nil {
			return nil, err
		}
	}
	l.b = nil
	if !l.NoBias {
		b := make([]float32, l.Out)
		if l.Std == 0 {
			b = uniform(ctx, l.Out, limit)
		}
		if l.b, err = newParam(ctx.Dev, "bias", true, b, l.Out); err != nil {
			return nil, err
		}
	}
	l.out = append(in[:len(in)-1].Clone(), l.Out)
	if l.y, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, l.out); err != nil {
		return nil, err
	}
	l.dx = nil // allocated on the first Backward that needs it: after an embedding none does
	if err := l.half.build(ctx, l.w, l.inShape, l.out); err != nil {
		return nil, err
	}
	return l.out.Clone(), nil
}

// Forward implements Module.
func (l *LinearLayer) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("linear", l.ctx, x, l.inShape)
	if err != nil {
		return nil, err
	}
	y, err := l.y.rows(n)
	if err != nil {
		return nil, err
	}
	l.x, l.n = x, n
	// y (n·R × Out) = x (n·R × In) · Wᵀ (In × Out) + b
	g := device.GemmArgs{TransB: true, M: n * l.rows, N: l.Out, K: l.in, Alpha: 1, C: y.Buffer()}
	if err := l.half.forward(l.ctx.Dev, &g, x, l.w, n); err != nil {
		return nil, fmt.Errorf("nn: linear forward: %w", err)
	}
	if l.b != nil {
		g.Bias = l.b.Value.Buffer()
	}
	if err := l.ctx.Dev.Gemm(g); err != nil {
		return nil, fmt.Errorf("nn: linear forward: %w", err)
	}
	return y, nil
}

// Backward implements Module: dW += dyᵀ·x, db += the sum of dy's rows, dx = dy·W.
func (l *LinearLayer) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("linear", l.n, dy, l.out); err != nil {
		return nil, err
	}
	dev, rows := l.ctx.Dev, l.n*l.rows
	// the GEMMs' operands: float32, or their 16-bit copies
	dyg, xg, wg, err := l.half.backward(dev, dy, l.x, l.w, l.n, needDX || l.w.needsGrad())
	if err != nil {
		return nil, fmt.Errorf("nn: linear backward: %w", err)
	}
	if l.w.needsGrad() {
		// dW (Out×In) += dyᵀ (Out×n·R) · x (n·R×In)
		if err := dev.Gemm(device.GemmArgs{TransA: true, M: l.Out, N: l.in, K: rows, Alpha: 1, Beta: 1,
			A: dyg, B: xg, C: l.w.Grad.Buffer(), Precision: l.half.prec}); err != nil {
			return nil, fmt.Errorf("nn: linear backward: %w", err)
		}
	}
	if l.b.needsGrad() {
		// db (Out) += Σ over the n·R rows of dy
		tmp, err := l.db.scratch(dev, l.b)
		if err != nil {
			return nil, err
		}
		if err := dev.Reduce(device.Sum, dy.Buffer(), tmp.Buffer(), device.Shape3{Outer: 1, Mid: rows, Inner: l.Out}); err != nil {
			return nil, fmt.Errorf("nn: linear backward: %w", err)
		}
		if err := l.db.add(dev, l.b); err != nil {
			return nil, fmt.Errorf("nn: linear backward: %w", err)
		}
	}
	if !needDX {
		return nil, nil
	}
	if l.dx == nil {
		var err error
		if l.dx, err = newBatchBuf(dev, device.Float32, l.ctx.MaxBatch, l.inShape); err != nil {
			return nil, err
		}
	}
	dx, err := l.dx.rows(l.n)
	if err != nil {
		return nil, err
	}
	// dx (n·R×In) = dy (n·R×Out) · W (Out×In)
	if err := dev.Gemm(device.GemmArgs{M: rows, N: l.in, K: l.Out, Alpha: 1,
		A: dyg, B: wg, C: dx.Buffer(), Precision: l.half.prec}); err != nil {
		return nil, fmt.Errorf("nn: linear backward: %w", err)
	}
	return dx, nil
}

// ExportONNX implements Exporter: MatMul(x, Wᵀ) + b over the last axis (onnx.Linear).
// A tied W is the initializer of the parameter it shares.
func (l *LinearLayer) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if l.w == nil {
		return "", fmt.Errorf("nn: linear: export before Build")
	}
	b := ""
	if l.b != nil {
		b = ExportParam(g, l.b)
	}
	return onnx.Linear(g, x, ExportParam(g, l.w), b), nil
}
