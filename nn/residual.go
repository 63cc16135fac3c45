package nn

import (
	"fmt"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("residual", func() Module { return &Residual{} })
}

// Residual adds its input to the output of a body of modules:
//
//	y = x + Body(x)              without a shortcut
//	y = Shortcut(x) + Body(x)    with one (a projection: a 1×1 convolution with a stride
//	                             and a batch norm, or a Dense, when Body changes the shape)
//
// the building block of residual networks (He et al., 2015) and of pre-norm transformer
// blocks. Body(x) and Shortcut(x) (or x) must have the same shape. The children are
// named "body" and "shortcut", so the parameter names are "<path>.body.0.weight" and
// so on; the equivalent PyTorch module has attributes body and shortcut (see
// docs/architecture.md for an example).
//
// The backward pass gives dy to both branches and sums their input gradients:
// dx = dBody/dx + dShortcut/dx (or + dy).
type Residual struct {
	Body     Module `json:"body"`
	Shortcut Module `json:"shortcut,omitempty"`

	ctx     *Context
	in, out tensor.Shape
	n       int
	y, dx   *batchBuf
}

// NewResidual returns y = x + body(x).
func NewResidual(body Module) *Residual { return &Residual{Body: body} }

// Kind implements Module.
func (r *Residual) Kind() string { return "residual" }

// Params implements Module: a Residual has none of its own.
func (r *Residual) Params() []*Param { return nil }

// Validate checks the configuration without building it.
func (r *Residual) Validate() error {
	if r.Body == nil {
		return fmt.Errorf("no body")
	}
	return nil
}

// Build implements Module.
func (r *Residual) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("nn: residual: %w", err)
	}
	out, err := ctx.Build("body", r.Body, in)
	if err != nil {
		return nil, err
	}
	short := in
	if r.Shortcut != nil {
		if short, err = ctx.Build("shortcut", r.Shortcut, in); err != nil {
			return nil, err
		}
	}
	if !out.Equal(short) {
		if r.Shortcut == nil {
			return nil, fmt.Errorf("nn: residual: the body maps %v to %v; adding the input needs the same shape (add a shortcut projection)", in, out)
		}
		return nil, fmt.Errorf("nn: residual: the body gives %v but the shortcut %v", out, short)
	}
	r.ctx, r.in, r.out = ctx, in.Clone(), out.Clone()
	if r.y, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, out); err != nil {
		return nil, err
	}
	if r.dx, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, in); err != nil {
		return nil, err
	}
	return out.Clone(), nil
}

// Forward implements Module.
func (r *Residual) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("residual", r.ctx, x, r.in)
	if err != nil {
		return nil, err
	}
	b, err := r.Body.Forward(x, train)
	if err != nil {
		return nil, fmt.Errorf("nn: residual body: %w", err)
	}
	s := x
	if r.Shortcut != nil {
		if s, err = r.Shortcut.Forward(x, train); err != nil {
			return nil, fmt.Errorf("nn: residual shortcut: %w", err)
		}
	}
	y, err := r.y.rows(n)
	if err != nil {
		return nil, err
	}
	r.n = n
	// y = body(x) + shortcut(x)
	if err := r.ctx.Dev.Binary(device.Add, b.Buffer(), s.Buffer(), y.Buffer()); err != nil {
		return nil, fmt.Errorf("nn: residual forward: %w", err)
	}
	return y, nil
}

// Backward implements Module.
func (r *Residual) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("residual", r.n, dy, r.out); err != nil {
		return nil, err
	}
	db, err := r.Body.Backward(dy, needDX)
	if err != nil {
		return nil, fmt.Errorf("nn: residual body: %w", err)
	}
	ds := dy
	if r.Shortcut != nil {
		if ds, err = r.Shortcut.Backward(dy, needDX); err != nil {
			return nil, fmt.Errorf("nn: residual shortcut: %w", err)
		}
	}
	if !needDX {
		return nil, nil
	}
	dx, err := r.dx.rows(r.n)
	if err != nil {
		return nil, err
	}
	// dx = dBody/dx + dShortcut/dx
	if err := r.ctx.Dev.Binary(device.Add, db.Buffer(), ds.Buffer(), dx.Buffer()); err != nil {
		return nil, fmt.Errorf("nn: residual backward: %w", err)
	}
	return dx, nil
}

// ExportONNX implements Exporter: Add(Body(x), Shortcut(x) or x).
func (r *Residual) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if r.ctx == nil {
		return "", fmt.Errorf("nn: residual: export before Build")
	}
	b, err := ExportChild(g, "body", r.Body, x)
	if err != nil {
		return "", err
	}
	s := x
	if r.Shortcut != nil {
		if s, err = ExportChild(g, "shortcut", r.Shortcut, x); err != nil {
			return "", err
		}
	}
	return g.Node("Add", []string{b, s}), nil
}
