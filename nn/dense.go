package nn

import (
	"fmt"
	"math"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("dense", func() Module { return &Dense{} })
}

// Dense is a fully connected layer on (batch, In) inputs:
//
//	z = x·Wᵀ + b,  y = Act(z)
//
// computed by one Gemm whose epilogue adds b and, for ReLU, LeakyReLU, Sigmoid and Tanh,
// applies Act (only y is kept; their derivatives are taken from y).
//
// W has shape (Units, In) and b shape (Units), as PyTorch's nn.Linear stores them. W
// starts Glorot-uniform (U(±√(6/(In+Units))), Keras' default) and b at zero. With
// NoBias there is no b (nn.Linear(bias=False)). With TieWeight, W is the parameter of
// that full name of a module built earlier, of the same shape (Units, In): a language
// model's output head shares the token embedding's table this way, and the gradients
// of both uses add up.
//
// Its three GEMMs run in the model's precision (Context.Precision). In BF16 and FP16
// they read 16-bit operands: W's copy (Param.Half, written by the optimizer), the input
// cast once in the forward pass and kept for the weight gradient, and dz cast once for
// the two backward GEMMs; the bias, the activation, its derivative and the bias
// gradient stay float32, and so do the GEMMs' outputs.
type Dense struct {
	Units     int        `json:"units"`
	Act       Activation `json:"activation,omitempty"`
	Slope     float32    `json:"slope,omitempty"` // LeakyReLU's negative slope; 0 means DefaultLeakySlope
	NoBias    bool       `json:"no_bias,omitempty"`
	TieWeight string     `json:"tie_weight,omitempty"`

	ctx          *Context
	in           int
	inShape, out tensor.Shape
	w, b         *Param
	x            *tensor.Tensor
	n            int
	z, y, dz, dx *batchBuf
	db           accumulator

	half halfGemm // the GEMMs' operands in the model's precision
}

// NewDense returns a Dense layer of units outputs followed by act.
func NewDense(units int, act Activation) *Dense { return &Dense{Units: units, Act: act} }

// Kind implements Module.
func (d *Dense) Kind() string { return "dense" }

// Modules is how many modules the layer is in PyTorch: Linear, plus the activation if
// there is one.
func (d *Dense) Modules() int {
	if d.Act == Linear {
		return 1
	}
	return 2
}

// Params implements Module.
func (d *Dense) Params() []*Param { return builtParams(d.w, d.b) }

// Validate checks the configuration without building it.
func (d *Dense) Validate() error {
	if d.Units <= 0 {
		return fmt.Errorf("units must be positive, got %d", d.Units)
	}
	return d.Act.validate(d.Slope)
}

// Weight is W, of shape (Units, In).
func (d *Dense) Weight() *Param { return d.w }

// Bias is b, of shape (Units); nil with NoBias.
func (d *Dense) Bias() *Param { return d.b }

func (d *Dense) slope() float32 {
	if d.Slope == 0 {
		return DefaultLeakySlope
	}
	return d.Slope
}

// Build implements Module: in must be one-dimensional (In).
func (d *Dense) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("nn: dense: input shape %v, want one dimension (add a Flatten layer)", in)
	}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("nn: dense: %w", err)
	}
	d.ctx, d.in, d.inShape = ctx, in[0], in.Clone()
	var err error
	if d.TieWeight != "" {
		if d.w, err = ctx.Param(d.TieWeight); err != nil {
			return nil, fmt.Errorf("nn: dense: tie_weight: %w", err)
		}
		if want := (tensor.Shape{d.Units, d.in}); d.w.Value == nil || !d.w.Value.Shape().Equal(want) {
			return nil, fmt.Errorf("nn: dense: tie_weight %s has shape %v, want %v", d.TieWeight, shapeOf(d.w.Value), want)
		}
		if d.w.Sparse() {
			return nil, fmt.Errorf("nn: dense: tie_weight %s is a sparse embedding table (a dense layer's gradient touches every row): build the embedding without sparse", d.TieWeight)
		}
	} else {
		if d.w, err = ctx.NewParam("weight", true, GlorotFill(ctx.RNG, d.in, d.Units), d.Units, d.in); err != nil {
			return nil, err
		}
	}
	d.b = nil
	if !d.NoBias {
		if d.b, err = ctx.NewParam("bias", true, nil, d.Units); err != nil {
			return nil, err
		}
	}
	out := tensor.Shape{d.Units}
	d.out = out
	if d.dz, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, out); err != nil {
		return nil, err
	}
	// z is kept where the activation's derivative or the loss needs it; a fused
	// activation's Gemm writes y only.
	d.z, d.y = nil, nil
	if !d.fused() {
		if d.z, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, out); err != nil {
			return nil, err
		}
		d.y = d.z
	}
	if d.Act != Linear {
		if d.y, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, out); err != nil {
			return nil, err
		}
	}
	d.dx = nil // allocated on the first Backward that needs it: a first layer never does
	if err := d.half.build(ctx, d.w, d.inShape, out); err != nil {
		return nil, err
	}
	return out, nil
}

// fused reports whether the forward pass is one Gemm with the bias and the activation
// as its epilogue: for the activations whose derivative can be taken from y alone
// (device.UnaryOp.DerivativeFromOutput), so that z need not be kept. GELU keeps z (its
// derivative needs it), Softmax too (the loss reads the logits); both still get the
// bias from the Gemm.
func (d *Dense) fused() bool {
	switch d.Act {
	case ReLU, LeakyReLU, Sigmoid, Tanh:
		return d.Act.unaryOp().DerivativeFromOutput(d.slope())
	}
	return false
}

// Forward implements Module.
func (d *Dense) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("dense", d.ctx, x, d.inShape)
	if err != nil {
		return nil, err
	}
	y, err := d.y.rows(n)
	if err != nil {
		return nil, err
	}
	dev := d.ctx.Dev
	d.x, d.n = x, n
	g := device.GemmArgs{TransB: true, M: n, N: d.Units, K: d.in, Alpha: 1}
	if err := d.half.forward(dev, &g, x, d.w, n); err != nil {
		return nil, fmt.Errorf("nn: dense forward: %w", err)
	}
	if d.b != nil {
		g.Bias = d.b.Value.Buffer()
	}
	if d.fused() {
		// y (n×Units) = Act(x (n×In) · Wᵀ (In×Units) + b), in one call
		g.C, g.ActOn, g.Act, g.ActParam = y.Buffer(), true, d.Act.unaryOp(), d.slope()
		if err := dev.Gemm(g); err != nil {
			return nil, fmt.Errorf("nn: dense forward: %w", err)
		}
		return y, nil
	}
	z, err := d.z.rows(n)
	if err != nil {
		return nil, err
	}
	// z (n×Units) = x (n×In) · Wᵀ (In×Units) + b
	g.C = z.Buffer()
	if err := dev.Gemm(g); err != nil {
		return nil, fmt.Errorf("nn: dense forward: %w", err)
	}
	if d.Act != Linear {
		if err := d.Act.forward(dev, z, y, d.slope()); err != nil {
			return nil, fmt.Errorf("nn: dense forward: %w", err)
		}
	}
	return y, nil
}

// Backward implements Module.
func (d *Dense) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("dense", d.n, dy, d.out); err != nil {
		return nil, err
	}
	if d.Act == Linear {
		return d.backwardLogits(dy, needDX)
	}
	// Forward made these views for d.n: the lookups cannot fail.
	y, _ := d.y.rows(d.n)
	z := y // a fused activation's derivative is taken from y
	if !d.fused() {
		z, _ = d.z.rows(d.n)
	}
	dz, err := d.dz.rows(d.n)
	if err != nil {
		return nil, err
	}
	if err := d.Act.backward(d.ctx.Dev, z, y, dy, dz, d.slope()); err != nil {
		return nil, fmt.Errorf("nn: dense backward: %w", err)
	}
	return d.backwardLogits(dz, needDX)
}

// head makes a softmax Dense a softmax head (see Model.Logits).
func (d *Dense) head() (softmaxHead, bool) { return d, d.Act == Softmax }

func (d *Dense) logits() *tensor.Tensor {
	z, _ := d.z.rows(d.n) // made by Forward for d.n: a lookup that cannot fail
	return z
}

// backwardLogits is the backward pass from dz = dL/dz.
func (d *Dense) backwardLogits(dz *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("dense", d.n, dz, d.out); err != nil {
		return nil, err
	}
	dev := d.ctx.Dev
	// the GEMMs' operands: float32, or their 16-bit copies
	dzg, xg, wg, err := d.half.backward(dev, dz, d.x, d.w, d.n, needDX || d.w.needsGrad())
	if err != nil {
		return nil, fmt.Errorf("nn: dense backward: %w", err)
	}
	if d.w.needsGrad() {
		// dW (Units×In) += dzᵀ (Units×n) · x (n×In)
		if err := dev.Gemm(device.GemmArgs{TransA: true, M: d.Units, N: d.in, K: d.n, Alpha: 1, Beta: 1,
			A: dzg, B: xg, C: d.w.Grad.Buffer(), Precision: d.half.prec}); err != nil {
			return nil, fmt.Errorf("nn: dense backward: %w", err)
		}
	}
	if d.b.needsGrad() {
		// db (Units) += sum over the batch of dz
		tmp, err := d.db.scratch(dev, d.b)
		if err != nil {
			return nil, err
		}
		if err := dev.Reduce(device.Sum, dz.Buffer(), tmp.Buffer(), device.Shape3{Outer: 1, Mid: d.n, Inner: d.Units}); err != nil {
			return nil, fmt.Errorf("nn: dense backward: %w", err)
		}
		if err := d.db.add(dev, d.b); err != nil {
			return nil, fmt.Errorf("nn: dense backward: %w", err)
		}
	}
	if !needDX {
		return nil, nil
	}
	if d.dx == nil {
		var err error
		if d.dx, err = newBatchBuf(dev, device.Float32, d.ctx.MaxBatch, tensor.Shape{d.in}); err != nil {
			return nil, err
		}
	}
	dx, err := d.dx.rows(d.n)
	if err != nil {
		return nil, err
	}
	// dx (n×In) = dz (n×Units) · W (Units×In)
	if err := dev.Gemm(device.GemmArgs{M: d.n, N: d.in, K: d.Units, Alpha: 1,
		A: dzg, B: wg, C: dx.Buffer(), Precision: d.half.prec}); err != nil {
		return nil, fmt.Errorf("nn: dense backward: %w", err)
	}
	return dx, nil
}

func shapeOf(t *tensor.Tensor) tensor.Shape {
	if t == nil {
		return nil
	}
	return t.Shape()
}

// GlorotUniform draws n weights from U(-l, l) with l = √(6/(fanIn+fanOut)).
func GlorotUniform(rng interface{ Float64() float64 }, fanIn, fanOut, n int) []float32 {
	w := make([]float32, n)
	GlorotFill(rng, fanIn, fanOut)(w)
	return w
}

// GlorotFill is GlorotUniform as an initializer for Context.NewParam: it fills w in
// order from rng.
func GlorotFill(rng interface{ Float64() float64 }, fanIn, fanOut int) func(w []float32) {
	return func(w []float32) {
		limit := math.Sqrt(6 / float64(fanIn+fanOut))
		for i := range w {
			w[i] = float32((2*rng.Float64() - 1) * limit)
		}
	}
}

// ExportONNX implements Exporter: Gemm(x, W, b, transB=1) = x·Wᵀ + b, then the
// activation. A tied W is the initializer of the parameter it shares, not a copy.
func (d *Dense) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if d.w == nil {
		return "", fmt.Errorf("nn: dense: export before Build")
	}
	w, b := ExportParam(g, d.w), ""
	if d.b != nil {
		b = ExportParam(g, d.b)
	}
	y := onnx.Dense(g, x, w, b)
	return d.Act.exportONNX(g, y, d.slope()), nil
}
