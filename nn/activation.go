package nn

import (
	"fmt"
	"strings"

	"github.com/gputrain/gputrain/device"
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
)

// DefaultLeakySlope is LeakyReLU's negative slope when none is given (PyTorch's default).
const DefaultLeakySlope = 0.01

var activationNames = []string{"linear", "relu", "leaky_relu", "sigmoid", "tanh", "gelu", "softmax"}

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

// softmaxHead is a layer whose output is softmax(z). A cross-entropy loss on its output
// works from z directly (Keras does the same): the loss is more accurate and the softmax
// backward pass disappears.
type softmaxHead interface {
	// logits is z of the last Forward.
	logits() *tensor.Tensor
	// backwardLogits is Backward given dL/dz instead of dL/dy.
	backwardLogits(dz *tensor.Tensor, needDX bool) (*tensor.Tensor, error)
}

// ActivationLayer applies an activation to every element of its input (Softmax: over
// the last dimension).
type ActivationLayer struct {
	Fn    Activation
	Slope float32 // LeakyReLU's negative slope; 0 means DefaultLeakySlope

	ctx   *Context
	in    tensor.Shape
	x     *tensor.Tensor
	y, dx *batchBuf
	nrows int
}

// NewActivation returns a layer applying fn.
func NewActivation(fn Activation) *ActivationLayer { return &ActivationLayer{Fn: fn} }

// Kind implements Layer.
func (l *ActivationLayer) Kind() string { return l.Fn.String() }

// Modules implements Layer.
func (l *ActivationLayer) Modules() int { return 1 }

// Params implements Layer: an activation has none.
func (l *ActivationLayer) Params() []*Param { return nil }

func (l *ActivationLayer) slope() float32 {
	if l.Slope == 0 {
		return DefaultLeakySlope
	}
	return l.Slope
}

// Build implements Layer.
func (l *ActivationLayer) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if l.Fn > Softmax {
		return nil, fmt.Errorf("nn: unknown activation %d", l.Fn)
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

// Forward implements Layer.
func (l *ActivationLayer) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput(l.Kind(), x, l.in, l.ctx.MaxBatch)
	if err != nil {
		return nil, err
	}
	if l.Fn == Linear {
		l.x = x
		return x, nil
	}
	y, err := l.y.rows(n)
	if err != nil {
		return nil, err
	}
	l.x, l.nrows = x, n
	if err := l.Fn.forward(l.ctx.Dev, x, y, l.slope()); err != nil {
		return nil, fmt.Errorf("nn: %s forward: %w", l.Kind(), err)
	}
	return y, nil
}

// Backward implements Layer.
func (l *ActivationLayer) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
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
		return nil, fmt.Errorf("nn: %s backward: %w", l.Kind(), err)
	}
	return dx, nil
}

func (l *ActivationLayer) logits() *tensor.Tensor { return l.x }

func (l *ActivationLayer) backwardLogits(dz *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if !needDX {
		return nil, nil
	}
	return dz, nil
}
