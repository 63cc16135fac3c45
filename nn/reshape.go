package nn

import (
	"fmt"

	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

// viewCache hands out views of batch tensors with another per-example shape, cached by
// the tensor they view, so that repeated batches allocate nothing.
type viewCache map[*tensor.Tensor]*tensor.Tensor

// view returns t, of shape (batch, …), viewed as (batch, per…).
func (c *viewCache) view(t *tensor.Tensor, per tensor.Shape) (*tensor.Tensor, error) {
	if t == nil {
		return nil, fmt.Errorf("nn: nil tensor")
	}
	if v, ok := (*c)[t]; ok && v.Shape()[1:].Equal(per) {
		return v, nil
	}
	v, err := t.Reshape(append([]int{t.Dim(0)}, per...)...)
	if err != nil {
		return nil, err
	}
	if *c == nil || len(*c) > 64 { // inputs that change every batch: keep the cache bounded
		*c = viewCache{}
	}
	(*c)[t] = v
	return v, nil
}

func init() {
	Register("flatten", func() Module { return &Flatten{} })
	Register("reshape", func() Module { return &Reshape{} })
}

// Flatten reshapes each example to one dimension: (batch, d1, d2, …) → (batch, d1*d2*…),
// PyTorch's nn.Flatten. It copies nothing.
type Flatten struct {
	in    tensor.Shape
	ctx   *Context
	views viewCache
	n     int
}

// NewFlatten returns a Flatten layer.
func NewFlatten() *Flatten { return &Flatten{} }

// Kind implements Module.
func (l *Flatten) Kind() string { return "flatten" }

// Params implements Module.
func (l *Flatten) Params() []*Param { return nil }

// Build implements Module.
func (l *Flatten) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	l.ctx, l.in, l.views = ctx, in.Clone(), nil
	return tensor.Shape{in.Len()}, nil
}

// Forward implements Module.
func (l *Flatten) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("flatten", l.ctx, x, l.in)
	if err != nil {
		return nil, err
	}
	l.n = n
	return l.views.view(x, tensor.Shape{l.in.Len()})
}

// Backward implements Module.
func (l *Flatten) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("flatten", l.n, dy, l.in); err != nil {
		return nil, err
	}
	if !needDX {
		return nil, nil
	}
	return l.views.view(dy, l.in)
}

// Reshape views each example with another shape of as many elements:
// (batch, in…) → (batch, Shape…), PyTorch's nn.Unflatten(1, Shape) for a flat input. It
// copies nothing. It turns flat rows into images, (784) → (1, 28, 28), so that a
// convolution can read them.
type Reshape struct {
	Shape []int `json:"shape"`

	in    tensor.Shape
	ctx   *Context
	views viewCache
	n     int
}

// NewReshape returns a layer viewing each example with the given shape.
func NewReshape(shape ...int) *Reshape { return &Reshape{Shape: shape} }

// Kind implements Module.
func (l *Reshape) Kind() string { return "reshape" }

// Params implements Module.
func (l *Reshape) Params() []*Param { return nil }

// Validate checks the configuration without building it.
func (l *Reshape) Validate() error {
	if len(l.Shape) == 0 {
		return fmt.Errorf("no shape")
	}
	for _, d := range l.Shape {
		if d <= 0 {
			return fmt.Errorf("shape %v has a dimension that is not positive", l.Shape)
		}
	}
	return nil
}

// Build implements Module: Shape must have positive dimensions holding in.Len() elements.
func (l *Reshape) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	out := tensor.Shape(l.Shape).Clone()
	if len(out) == 0 {
		return nil, fmt.Errorf("nn: reshape: no target shape")
	}
	if err := out.Check(); err != nil {
		return nil, fmt.Errorf("nn: reshape: %w", err)
	}
	if out.Len() != in.Len() {
		return nil, fmt.Errorf("nn: reshape: cannot view %v (%d elements) as %v (%d elements)", in, in.Len(), out, out.Len())
	}
	l.ctx, l.in, l.views = ctx, in.Clone(), nil
	return out, nil
}

// Forward implements Module.
func (l *Reshape) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("reshape", l.ctx, x, l.in)
	if err != nil {
		return nil, err
	}
	l.n = n
	return l.views.view(x, l.Shape)
}

// Backward implements Module.
func (l *Reshape) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("reshape", l.n, dy, l.Shape); err != nil {
		return nil, err
	}
	if !needDX {
		return nil, nil
	}
	return l.views.view(dy, l.in)
}

// ExportONNX implements Exporter: Flatten with axis 1 (the batch stays).
func (l *Flatten) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if l.ctx == nil {
		return "", fmt.Errorf("nn: flatten: export before Build")
	}
	return g.Node("Flatten", []string{x}, onnx.Int("axis", 1)), nil
}

// ExportONNX implements Exporter: Reshape to (batch, Shape…); the 0 in the target
// shape keeps the batch dimension.
func (l *Reshape) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if l.ctx == nil {
		return "", fmt.Errorf("nn: reshape: export before Build")
	}
	shape := []int64{0}
	for _, d := range l.Shape {
		shape = append(shape, int64(d))
	}
	return g.Node("Reshape", []string{x, g.Int64s("shape", []int{len(shape)}, shape...)}), nil
}
