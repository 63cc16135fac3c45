package nn

import (
	"errors"
	"fmt"
	"math"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("conv2d", func() Module { return &Conv2D{} })
	Register("maxpool2d", func() Module { return &Pool2D{Op: device.MaxPool} })
	Register("avgpool2d", func() Module { return &Pool2D{Op: device.AvgPool} })
	Register("batchnorm", func() Module { return &BatchNorm{} })
}

// Conv2D is a 2-D convolution over (C, H, W) examples (NCHW batches):
//
//	z[n,f,i,j] = b[f] + Σ_{c,u,v} W[f,c,u,v] · xpad[n, c, i*Stride+u, j*Stride+v],  y = Act(z)
//
// with W of shape (Filters, C, Kernel, Kernel) and b of shape (Filters), as PyTorch's
// nn.Conv2d stores them, and xpad the input with Padding zeros on every side. The output
// is (Filters, OH, OW) with OH = (H + 2*Padding - Kernel)/Stride + 1. W starts
// Glorot-uniform with fan-in C·K² and fan-out Filters·K² (Keras' default), b at zero.
//
// It runs as the device's Conv and ConvBackward ops.
type Conv2D struct {
	Filters int        `json:"filters"`
	Kernel  int        `json:"kernel"`
	Stride  int        `json:"stride,omitempty"` // 0 means 1
	Padding int        `json:"padding,omitempty"`
	Act     Activation `json:"activation,omitempty"`
	Slope   float32    `json:"slope,omitempty"` // LeakyReLU's negative slope; 0 means DefaultLeakySlope

	ctx      *Context
	in, out  tensor.Shape
	g        device.ConvGeom // for MaxBatch; N is set per batch
	w, b     *Param
	x        *tensor.Tensor
	n        int
	z, y, dz *batchBuf   // (N, F, OH, OW)
	dx       *batchBuf   // (N, C, H, W)
	dw       accumulator // DW of a frozen weight: computed, not kept
}

// NewConv2D returns a convolution of filters kernel×kernel filters, stride 1, no padding.
func NewConv2D(filters, kernel int, act Activation) *Conv2D {
	return &Conv2D{Filters: filters, Kernel: kernel, Act: act}
}

// Kind implements Module.
func (l *Conv2D) Kind() string { return "conv2d" }

// Modules is how many modules the layer is in PyTorch: Conv2d, plus the activation if
// there is one.
func (l *Conv2D) Modules() int {
	if l.Act == Linear {
		return 1
	}
	return 2
}

// Params implements Module.
func (l *Conv2D) Params() []*Param {
	if l.w == nil {
		return nil
	}
	return []*Param{l.w, l.b}
}

// Validate checks the configuration without building it.
func (l *Conv2D) Validate() error {
	if l.Act == Softmax {
		return fmt.Errorf("activation softmax is not elementwise (add a flatten and a dense layer)")
	}
	return errors.Join(positive("filters", l.Filters), positive("kernel", l.Kernel),
		notNegative("stride", l.Stride), notNegative("padding", l.Padding), l.Act.validate(l.Slope))
}

func positive(name string, v int) error {
	if v <= 0 {
		return fmt.Errorf("%s must be positive, got %d", name, v)
	}
	return nil
}

func notNegative(name string, v int) error {
	if v < 0 {
		return fmt.Errorf("%s must not be negative, got %d", name, v)
	}
	return nil
}

func (l *Conv2D) stride() int {
	if l.Stride == 0 {
		return 1
	}
	return l.Stride
}

func (l *Conv2D) slope() float32 {
	if l.Slope == 0 {
		return DefaultLeakySlope
	}
	return l.Slope
}

// Build implements Module: in must be (C, H, W).
func (l *Conv2D) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("nn: conv2d: input shape %v, want (channels, height, width)", in)
	}
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("nn: conv2d: %w", err)
	}
	l.ctx, l.in = ctx, in.Clone()
	l.g = device.ConvGeom{N: ctx.MaxBatch, C: in[0], H: in[1], W: in[2], KH: l.Kernel, KW: l.Kernel,
		StrideH: l.stride(), StrideW: l.stride(), PadH: l.Padding, PadW: l.Padding}
	if err := device.CheckGeom("nn: conv2d", l.g); err != nil {
		return nil, err
	}
	ckk := l.g.ColRows()
	out := tensor.Shape{l.Filters, l.g.OutH(), l.g.OutW()}
	l.out = out
	var err error
	if l.w, err = ctx.NewParam("weight", true, GlorotFill(ctx.RNG, ckk, l.Filters*l.Kernel*l.Kernel), l.Filters, in[0], l.Kernel, l.Kernel); err != nil {
		return nil, err
	}
	if l.b, err = ctx.NewParam("bias", true, nil, l.Filters); err != nil {
		return nil, err
	}
	for _, b := range []**batchBuf{&l.z, &l.dz} {
		if *b, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, out); err != nil {
			return nil, err
		}
	}
	l.y = l.z
	if l.Act != Linear {
		if l.y, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Forward implements Module.
func (l *Conv2D) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("conv2d", l.ctx, x, l.in)
	if err != nil {
		return nil, err
	}
	z, err := l.z.rows(n)
	if err != nil {
		return nil, err
	}
	y, err := l.y.rows(n)
	if err != nil {
		return nil, err
	}
	dev, g := l.ctx.Dev, l.g
	g.N = n
	l.x, l.n = x, n
	if err := dev.Conv(device.ConvArgs{G: g, F: l.Filters, X: x.Buffer(), W: l.w.Value.Buffer(), B: l.b.Value.Buffer(), Y: z.Buffer()}); err != nil {
		return nil, fmt.Errorf("nn: conv2d forward: %w", err)
	}
	if l.Act != Linear {
		if err := l.Act.forward(dev, z, y, l.slope()); err != nil {
			return nil, fmt.Errorf("nn: conv2d forward: %w", err)
		}
	}
	return y, nil
}

// Backward implements Module.
func (l *Conv2D) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if l.ctx == nil {
		return nil, fmt.Errorf("nn: conv2d used before Build")
	}
	dev, g, n := l.ctx.Dev, l.g, l.n
	g.N = n
	if err := checkGrad("conv2d", n, dy, l.out); err != nil {
		return nil, err
	}
	dz := dy
	if l.Act != Linear {
		z, _ := l.z.rows(n) // made by Forward for n: lookups that cannot fail
		y, _ := l.y.rows(n)
		var err error
		if dz, err = l.dz.rows(n); err != nil {
			return nil, err
		}
		if err := l.Act.backward(dev, z, y, dy, dz, l.slope()); err != nil {
			return nil, fmt.Errorf("nn: conv2d backward: %w", err)
		}
	}
	if !needDX && !l.w.needsGrad() && !l.b.needsGrad() {
		return nil, nil
	}
	// The parameters' gradients accumulate (see the package comment); a frozen weight's
	// goes to a scratch buffer, zeroed first, and a frozen bias's nowhere.
	a := device.ConvArgs{G: g, F: l.Filters, X: l.x.Buffer(), W: l.w.Value.Buffer(), DY: dz.Buffer(),
		DW: l.w.Grad.Buffer(), Accumulate: true}
	if l.b.needsGrad() {
		a.DB = l.b.Grad.Buffer()
	}
	if !l.w.needsGrad() {
		tmp, err := l.dw.scratch(dev, l.w)
		if err != nil {
			return nil, err
		}
		if err := dev.Fill(tmp.Buffer(), 0); err != nil {
			return nil, fmt.Errorf("nn: conv2d backward: %w", err)
		}
		a.DW = tmp.Buffer()
	}
	var dx *tensor.Tensor
	if needDX {
		if l.dx == nil {
			var err error
			if l.dx, err = newBatchBuf(dev, device.Float32, l.ctx.MaxBatch, l.in); err != nil {
				return nil, err
			}
		}
		var err error
		if dx, err = l.dx.rows(n); err != nil {
			return nil, err
		}
		a.DX = dx.Buffer()
	}
	if err := dev.ConvBackward(a); err != nil {
		return nil, fmt.Errorf("nn: conv2d backward: %w", err)
	}
	return dx, nil
}

// Pool2D is max or average pooling over Size×Size windows every Stride pixels of
// (C, H, W) examples (PyTorch's MaxPool2d / AvgPool2d; average pooling counts padding
// as zeros).
type Pool2D struct {
	Op      device.PoolOp `json:"-"` // the kind says it: maxpool2d or avgpool2d
	Size    int           `json:"size"`
	Stride  int           `json:"stride,omitempty"` // 0 means Size
	Padding int           `json:"padding,omitempty"`

	ctx     *Context
	in, out tensor.Shape
	g       device.ConvGeom
	x       *tensor.Tensor
	n       int
	y       *batchBuf
	dx      *batchBuf
}

// NewMaxPool2D returns max pooling over size×size windows with stride size.
func NewMaxPool2D(size int) *Pool2D { return &Pool2D{Op: device.MaxPool, Size: size} }

// NewAvgPool2D returns average pooling over size×size windows with stride size.
func NewAvgPool2D(size int) *Pool2D { return &Pool2D{Op: device.AvgPool, Size: size} }

// Kind implements Module: maxpool2d or avgpool2d.
func (l *Pool2D) Kind() string {
	// Constants: Forward names the layer in its input check on every step, and a
	// concatenation would allocate there.
	switch l.Op {
	case device.MaxPool:
		return "maxpool2d"
	case device.AvgPool:
		return "avgpool2d"
	}
	return l.Op.String() + "2d"
}

// Params implements Module: pooling has none.
func (l *Pool2D) Params() []*Param { return nil }

// Validate checks the configuration without building it.
func (l *Pool2D) Validate() error {
	if l.Op > device.AvgPool {
		return fmt.Errorf("unknown pooling %d", l.Op)
	}
	return errors.Join(positive("size", l.Size), notNegative("stride", l.Stride), notNegative("padding", l.Padding))
}

// Build implements Module: in must be (C, H, W).
func (l *Pool2D) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("nn: %s: input shape %v, want (channels, height, width)", l.Kind(), in)
	}
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("nn: %s: %w", l.Kind(), err)
	}
	s := l.Stride
	if s == 0 {
		s = l.Size
	}
	l.ctx, l.in = ctx, in.Clone()
	l.g = device.ConvGeom{N: ctx.MaxBatch, C: in[0], H: in[1], W: in[2], KH: l.Size, KW: l.Size, StrideH: s, StrideW: s, PadH: l.Padding, PadW: l.Padding}
	if err := device.CheckGeom("nn: "+l.Kind(), l.g); err != nil {
		return nil, err
	}
	out := tensor.Shape{in[0], l.g.OutH(), l.g.OutW()}
	l.out = out
	var err error
	if l.y, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, out); err != nil {
		return nil, err
	}
	if l.dx, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, in); err != nil {
		return nil, err
	}
	return out, nil
}

// Forward implements Module.
func (l *Pool2D) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput(l.Kind(), l.ctx, x, l.in)
	if err != nil {
		return nil, err
	}
	y, err := l.y.rows(n)
	if err != nil {
		return nil, err
	}
	g := l.g
	g.N = n
	l.x, l.n = x, n
	if err := l.ctx.Dev.Pool(l.Op, x.Buffer(), y.Buffer(), g); err != nil {
		return nil, fmt.Errorf("nn: %s forward: %w", l.Kind(), err)
	}
	return y, nil
}

// Backward implements Module.
func (l *Pool2D) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	g := l.g
	g.N = l.n
	if err := checkGrad(l.Kind(), l.n, dy, l.out); err != nil {
		return nil, err
	}
	if !needDX {
		return nil, nil
	}
	y, _ := l.y.rows(l.n) // made by Forward for l.n: a lookup that cannot fail
	dx, err := l.dx.rows(l.n)
	if err != nil {
		return nil, err
	}
	if err := l.ctx.Dev.PoolBackward(l.Op, l.x.Buffer(), y.Buffer(), dy.Buffer(), dx.Buffer(), g); err != nil {
		return nil, fmt.Errorf("nn: %s backward: %w", l.Kind(), err)
	}
	return dx, nil
}

// BatchNorm normalises each channel over the batch (and, for (C, H, W) examples, over
// the pixels): PyTorch's BatchNorm1d on (F) examples and BatchNorm2d on (C, H, W).
// Training uses the batch statistics and updates the running ones with Momentum
// (PyTorch's convention, default 0.1; 0 keeps the running statistics as they are);
// inference uses the running statistics. Its parameters are weight (γ, ones) and bias
// (β, zeros); running_mean and running_var are state, and num_batches_tracked a counter
// (the model's training steps), as in PyTorch's state_dict.
type BatchNorm struct {
	// Momentum is the weight of the batch statistics in the running ones; nil means 0.1
	// (MomentumOf makes a pointer).
	Momentum *float32 `json:"momentum,omitempty"`
	Eps      float32  `json:"eps,omitempty"` // 0 means 1e-5

	ctx                  *Context
	in                   tensor.Shape
	c, inner             int
	gamma, beta          *Param
	runMean, runVar      *Param
	saveMean, saveInvStd *tensor.Tensor
	count                *Param
	x                    *tensor.Tensor
	n                    int
	y, dx                *batchBuf
	dgamma, dbeta        accumulator
}

// MomentumOf returns a pointer to m, for BatchNorm.Momentum.
func MomentumOf(m float32) *float32 { return &m }

// NewBatchNorm returns a batch normalisation layer with PyTorch's defaults.
func NewBatchNorm() *BatchNorm { return &BatchNorm{} }

// Kind implements Module.
func (l *BatchNorm) Kind() string { return "batchnorm" }

// Params implements Module: weight, bias, running_mean, running_var and the
// num_batches_tracked counter.
func (l *BatchNorm) Params() []*Param {
	if l.gamma == nil {
		return nil
	}
	return []*Param{l.gamma, l.beta, l.runMean, l.runVar, l.count}
}

// Validate checks the configuration without building it.
func (l *BatchNorm) Validate() error {
	if l.Momentum != nil && !(*l.Momentum >= 0 && *l.Momentum <= 1) {
		return fmt.Errorf("momentum must be in [0, 1] (left out: 0.1), got %v", *l.Momentum)
	}
	if !(l.Eps >= 0 && l.Eps <= 1) {
		return fmt.Errorf("eps must be in (0, 1] (0 or left out: 1e-5), got %v", l.Eps)
	}
	return nil
}

func (l *BatchNorm) hyper() (momentum, eps float32) {
	momentum, eps = 0.1, l.Eps
	if l.Momentum != nil {
		momentum = *l.Momentum
	}
	if eps == 0 {
		eps = 1e-5
	}
	return
}

// Build implements Module: in is (features) or (C, H, W).
func (l *BatchNorm) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	switch len(in) {
	case 1:
		l.c, l.inner = in[0], 1
	case 3:
		l.c, l.inner = in[0], in[1]*in[2]
	default:
		return nil, fmt.Errorf("nn: batchnorm: input shape %v, want (features) or (channels, height, width)", in)
	}
	if m, e := l.hyper(); !(m >= 0 && m <= 1) || !(e > 0) || math.IsInf(float64(e), 0) {
		return nil, fmt.Errorf("nn: batchnorm: momentum %v must be in [0, 1] and eps %v positive", m, e)
	}
	l.ctx, l.in = ctx, in.Clone()
	ones := func(w []float32) {
		for i := range w {
			w[i] = 1
		}
	}
	var err error
	if l.gamma, err = ctx.NewParam("weight", true, ones, l.c); err != nil {
		return nil, err
	}
	if l.beta, err = ctx.NewParam("bias", true, nil, l.c); err != nil {
		return nil, err
	}
	if l.runMean, err = ctx.NewParam("running_mean", false, nil, l.c); err != nil {
		return nil, err
	}
	if l.runVar, err = ctx.NewParam("running_var", false, ones, l.c); err != nil {
		return nil, err
	}
	l.count = &Param{Name: "num_batches_tracked", local: "num_batches_tracked", Count: func() int64 { return int64(ctx.Step) }}
	if l.saveMean, err = tensor.Zeros(ctx.Dev, l.c); err != nil {
		return nil, err
	}
	if l.saveInvStd, err = tensor.Zeros(ctx.Dev, l.c); err != nil {
		return nil, err
	}
	if l.y, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, in); err != nil {
		return nil, err
	}
	if l.dx, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, in); err != nil {
		return nil, err
	}
	return in.Clone(), nil
}

func (l *BatchNorm) args(n int, training bool) device.BatchNormArgs {
	m, e := l.hyper()
	return device.BatchNormArgs{N: n, C: l.c, Inner: l.inner, Training: training, Momentum: m, Eps: e,
		Gamma: l.gamma.Value.Buffer(), Beta: l.beta.Value.Buffer(), RunMean: l.runMean.Value.Buffer(), RunVar: l.runVar.Value.Buffer(),
		SaveMean: l.saveMean.Buffer(), SaveInvStd: l.saveInvStd.Buffer()}
}

// Forward implements Module. In training mode the batch must hold more than one value
// per channel.
func (l *BatchNorm) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("batchnorm", l.ctx, x, l.in)
	if err != nil {
		return nil, err
	}
	y, err := l.y.rows(n)
	if err != nil {
		return nil, err
	}
	l.x, l.n = x, n
	a := l.args(n, train)
	a.X, a.Y = x.Buffer(), y.Buffer()
	if err := l.ctx.Dev.BatchNorm(a); err != nil {
		return nil, fmt.Errorf("nn: batchnorm forward: %w", err)
	}
	return y, nil
}

// Backward implements Module (after a training-mode Forward).
func (l *BatchNorm) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("batchnorm", l.n, dy, l.in); err != nil {
		return nil, err
	}
	if !needDX && !l.gamma.needsGrad() && !l.beta.needsGrad() {
		return nil, nil
	}
	dev := l.ctx.Dev
	dx, err := l.dx.rows(l.n)
	if err != nil {
		return nil, err
	}
	dg, err := l.dgamma.scratch(dev, l.gamma)
	if err != nil {
		return nil, err
	}
	db, err := l.dbeta.scratch(dev, l.beta)
	if err != nil {
		return nil, err
	}
	a := l.args(l.n, true)
	a.X, a.DY, a.DX = l.x.Buffer(), dy.Buffer(), dx.Buffer()
	a.DGamma, a.DBeta = dg.Buffer(), db.Buffer()
	if err := dev.BatchNormBackward(a); err != nil {
		return nil, fmt.Errorf("nn: batchnorm backward: %w", err)
	}
	if l.gamma.needsGrad() {
		if err := l.dgamma.add(dev, l.gamma); err != nil {
			return nil, fmt.Errorf("nn: batchnorm backward: %w", err)
		}
	}
	if l.beta.needsGrad() {
		if err := l.dbeta.add(dev, l.beta); err != nil {
			return nil, fmt.Errorf("nn: batchnorm backward: %w", err)
		}
	}
	if !needDX {
		return nil, nil
	}
	return dx, nil
}

// ExportONNX implements Exporter: Conv (weights (Filters, C, K, K), bias, the same
// strides and zero padding on every side), then the activation.
func (l *Conv2D) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if l.w == nil {
		return "", fmt.Errorf("nn: conv2d: export before Build")
	}
	y := g.Node("Conv", []string{x, ExportParam(g, l.w), ExportParam(g, l.b)},
		onnx.Ints("kernel_shape", l.Kernel, l.Kernel), onnx.Ints("strides", l.stride(), l.stride()),
		onnx.Ints("pads", l.Padding, l.Padding, l.Padding, l.Padding))
	return l.Act.exportONNX(g, y, l.slope()), nil
}

// ExportONNX implements Exporter: MaxPool, or AveragePool with count_include_pad=1 (the
// padding counts as zeros and every window is divided by Size², as Pool does), with
// the same windows (floor mode). The padding, at most half the window (device.CheckPool),
// is smaller than the window, as runtimes require.
func (l *Pool2D) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if l.ctx == nil {
		return "", fmt.Errorf("nn: %s: export before Build", l.Kind())
	}
	s, p := l.g.StrideH, l.Padding
	attrs := []onnx.Attr{onnx.Ints("kernel_shape", l.Size, l.Size), onnx.Ints("strides", s, s), onnx.Ints("pads", p, p, p, p)}
	if l.Op == device.MaxPool {
		return g.Node("MaxPool", []string{x}, attrs...), nil
	}
	return g.Node("AveragePool", []string{x}, append(attrs, onnx.Int("count_include_pad", 1))...), nil
}

// ExportONNX implements Exporter: BatchNormalization in inference form, (x -
// running_mean)/√(running_var + eps)·weight + bias per channel.
func (l *BatchNorm) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if l.gamma == nil {
		return "", fmt.Errorf("nn: batchnorm: export before Build")
	}
	_, eps := l.hyper()
	return onnx.BatchNorm(g, x, ExportParam(g, l.gamma), ExportParam(g, l.beta),
		ExportParam(g, l.runMean), ExportParam(g, l.runVar), eps), nil
}
