package nn

import (
	"fmt"

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

// Flatten reshapes each example to one dimension: (batch, d1, d2, …) → (batch, d1*d2*…),
// PyTorch's nn.Flatten. It copies nothing.
type Flatten struct {
	in    tensor.Shape
	ctx   *Context
	views viewCache
}

// NewFlatten returns a Flatten layer.
func NewFlatten() *Flatten { return &Flatten{} }

// Kind implements Layer.
func (l *Flatten) Kind() string { return "flatten" }

// Modules implements Layer.
func (l *Flatten) Modules() int { return 1 }

// Params implements Layer.
func (l *Flatten) Params() []*Param { return nil }

// Build implements Layer.
func (l *Flatten) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	l.ctx, l.in, l.views = ctx, in.Clone(), nil
	return tensor.Shape{in.Len()}, nil
}

// Forward implements Layer.
func (l *Flatten) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if _, err := checkInput("flatten", x, l.in, l.ctx.MaxBatch); err != nil {
		return nil, err
	}
	return l.views.view(x, tensor.Shape{l.in.Len()})
}

// Backward implements Layer.
func (l *Flatten) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
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
	Shape []int

	in    tensor.Shape
	ctx   *Context
	views viewCache
}

// NewReshape returns a layer viewing each example with the given shape.
func NewReshape(shape ...int) *Reshape { return &Reshape{Shape: shape} }

// Kind implements Layer.
func (l *Reshape) Kind() string { return "reshape" }

// Modules implements Layer.
func (l *Reshape) Modules() int { return 1 }

// Params implements Layer.
func (l *Reshape) Params() []*Param { return nil }

// Build implements Layer: Shape must have positive dimensions holding in.Len() elements.
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

// Forward implements Layer.
func (l *Reshape) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if _, err := checkInput("reshape", x, l.in, l.ctx.MaxBatch); err != nil {
		return nil, err
	}
	return l.views.view(x, l.Shape)
}

// Backward implements Layer.
func (l *Reshape) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if !needDX {
		return nil, nil
	}
	return l.views.view(dy, l.in)
}
