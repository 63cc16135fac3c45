package nn

import (
	"fmt"
	"strings"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

// Activation is an elementwise (or, for Softmax, row-wise) nonlinearity.
type Activation uint8

// The activations. Linear is the identity.
const (
	Linear Activation = iota
	ReLU
	LeakyReLU
	Sigmoid
	Tanh
	GELU
	Softmax
	// GELUTanh is GELU's tanh approximation (GPT-2's; PyTorch's approximate='tanh').
	GELUTanh
)

// DefaultLeakySlope is LeakyReLU's negative slope when none is given (PyTorch's default).
const DefaultLeakySlope = 0.01

var activationNames = []string{"linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax", "gelu_tanh"}

func (a Activation) String() string {
	if int(a) < len(activationNames) {
		return activationNames[a]
	}
	return fmt.Sprintf("activation(%d)", a)
}

// ParseActivation reads an activation name as String writes it ("relu", "softmax"…);
// "" and "none" are Linear.
func ParseActivation(s string) (Activation, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "none" {
		return Linear, nil
	}
	for i, n := range activationNames {
		if s == n {
			return Activation(i), nil
		}
	}
	return 0, fmt.Errorf("nn: unknown activation %q (want one of %s)", s, strings.Join(activationNames, ", "))
}

// MarshalText writes the activation's name, as in a model description.
func (a Activation) MarshalText() ([]byte, error) {
	if int(a) >= len(activationNames) {
		return nil, fmt.Errorf("nn: unknown activation %d", a)
	}
	return []byte(activationNames[a]), nil
}

// UnmarshalText reads an activation's name (ParseActivation).
func (a *Activation) UnmarshalText(b []byte) error {
	v, err := ParseActivation(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// validate checks a layer's activation and slope.
func (a Activation) validate(slope float32) error {
	if int(a) >= len(activationNames) {
		return fmt.Errorf("unknown activation %d", a)
	}
	if !(slope >= 0) {
		return fmt.Errorf("slope must not be negative, got %v", slope)
	}
	return nil
}

func (a Activation) unaryOp() device.UnaryOp {
	switch a {
	case ReLU:
		return device.ReLU
	case LeakyReLU:
		return device.LeakyReLU
	case Sigmoid:
		return device.Sigmoid
	case Tanh:
		return device.Tanh
	case GELUTanh:
		return device.GELUTanh
	}
	return device.GELU
}

// forward computes y = a(z) for z of shape (rows, cols); Softmax runs over each row.
func (a Activation) forward(dev device.Backend, z, y *tensor.Tensor, slope float32) error {
	switch a {
	case Linear:
		if z.Buffer() == y.Buffer() {
			return nil
		}
		return dev.Copy(y.Buffer(), z.Buffer())
	case Softmax:
		cols := z.Shape()[len(z.Shape())-1]
		return dev.Softmax(z.Buffer(), y.Buffer(), z.Len()/cols, cols)
	}
	return dev.Unary(a.unaryOp(), z.Buffer(), y.Buffer(), slope)
}

// backward computes dz = dL/dz from dy = dL/dy, z and y = a(z).
func (a Activation) backward(dev device.Backend, z, y, dy, dz *tensor.Tensor, slope float32) error {
	switch a {
	case Linear:
		if dy.Buffer() == dz.Buffer() {
			return nil
		}
		return dev.Copy(dz.Buffer(), dy.Buffer())
	case Softmax:
		cols := z.Shape()[len(z.Shape())-1]
		return dev.SoftmaxBackward(y.Buffer(), dy.Buffer(), dz.Buffer(), z.Len()/cols, cols)
	}
	return dev.UnaryBackward(a.unaryOp(), z.Buffer(), y.Buffer(), dy.Buffer(), dz.Buffer(), slope)
}

func init() {
	Register("activation", func() Module { return &ActivationLayer{Fn: noActivation} })
}

// noActivation marks an ActivationLayer whose description gave no activation.
const noActivation Activation = 255

// ActivationLayer applies an activation to every element of its input (Softmax: over
// the last dimension).
type ActivationLayer struct {
	Fn    Activation `json:"activation"`
	Slope float32    `json:"slope,omitempty"` // LeakyReLU's negative slope; 0 means DefaultLeakySlope

	ctx   *Context
	in    tensor.Shape
	x     *tensor.Tensor
	y, dx *batchBuf
	nrows int
}

// NewActivation returns a layer applying fn.
func NewActivation(fn Activation) *ActivationLayer { return &ActivationLayer{Fn: fn} }

// Kind implements Module.
func (l *ActivationLayer) Kind() string { return "activation" }

// Params implements Module: an activation has none.
func (l *ActivationLayer) Params() []*Param { return nil }

// Validate checks the configuration without building it.
func (l *ActivationLayer) Validate() error {
	if l.Fn == noActivation {
		return fmt.Errorf("no activation")
	}
	return l.Fn.validate(l.Slope)
}

func (l *ActivationLayer) slope() float32 {
	if l.Slope == 0 {
		return DefaultLeakySlope
	}
	return l.Slope
}

// Build implements Module.
func (l *ActivationLayer) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("nn: activation: %w", err)
	}
	l.ctx, l.in = ctx, in.Clone()
	var err error
	if l.y, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, in); err != nil {
		return nil, err
	}
	if l.dx, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, in); err != nil {
		return nil, err
	}
	return in.Clone(), nil
}

// Forward implements Module.
func (l *ActivationLayer) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("activation", l.ctx, x, l.in)
	if err != nil {
		return nil, err
	}
	l.x, l.nrows = x, n
	if l.Fn == Linear {
		return x, nil
	}
	y, err := l.y.rows(n)
	if err != nil {
		return nil, err
	}
	if err := l.Fn.forward(l.ctx.Dev, x, y, l.slope()); err != nil {
		return nil, fmt.Errorf("nn: %s forward: %w", l.Fn, err)
	}
	return y, nil
}

// Backward implements Module.
func (l *ActivationLayer) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("activation", l.nrows, dy, l.in); err != nil {
		return nil, err
	}
	if !needDX {
		return nil, nil
	}
	if l.Fn == Linear {
		return dy, nil
	}
	y, err := l.y.rows(l.nrows)
	if err != nil {
		return nil, err
	}
	dx, err := l.dx.rows(l.nrows)
	if err != nil {
		return nil, err
	}
	if err := l.Fn.backward(l.ctx.Dev, l.x, y, dy, dx, l.slope()); err != nil {
		return nil, fmt.Errorf("nn: %s backward: %w", l.Fn, err)
	}
	return dx, nil
}

// head makes a softmax layer a softmax head (see Model.Logits).
func (l *ActivationLayer) head() (softmaxHead, bool) { return l, l.Fn == Softmax }

func (l *ActivationLayer) logits() *tensor.Tensor { return l.x }

func (l *ActivationLayer) backwardLogits(dz *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if !needDX {
		return nil, nil
	}
	return dz, nil
}

// ExportONNX implements Exporter: the activation's ONNX op (Softmax over the last axis).
func (l *ActivationLayer) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if l.ctx == nil {
		return "", fmt.Errorf("nn: activation: export before Build")
	}
	return l.Fn.exportONNX(g, x, l.slope()), nil
}
