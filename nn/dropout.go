package nn

import (
	"fmt"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("dropout", func() Module { return &Dropout{} })
}

// Dropout zeroes each input element with probability Rate during training and scales the
// others by 1/(1-Rate) (inverted dropout); at inference it is the identity.
//
// Its mask comes from the backend's Philox stream keyed by the model seed plus the
// module's index (Context.Layer), at an offset derived from the model's step counter: every backend draws
// the same mask for the same step, and a resumed run draws what an uninterrupted one would.
type Dropout struct {
	Rate float32 `json:"rate,omitempty"`

	ctx      *Context
	seed     uint64
	in       tensor.Shape
	perStep  uint64
	mask, y  *batchBuf
	dx       *batchBuf
	n        int
	training bool
}

// NewDropout returns a dropout layer.
func NewDropout(rate float32) *Dropout { return &Dropout{Rate: rate} }

// Kind implements Module.
func (l *Dropout) Kind() string { return "dropout" }

// Params implements Module: dropout has none.
func (l *Dropout) Params() []*Param { return nil }

// Validate checks the configuration without building it.
func (l *Dropout) Validate() error {
	if !(l.Rate >= 0 && l.Rate < 1) {
		return fmt.Errorf("rate must be in [0, 1), got %v", l.Rate)
	}
	return nil
}

// Build implements Module.
func (l *Dropout) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("nn: dropout: %w", err)
	}
	l.ctx, l.in = ctx, in.Clone()
	l.seed = ctx.Seed + uint64(ctx.Layer)
	l.perStep = device.PhiloxBlocks(ctx.MaxBatch * in.Len())
	var err error
	for _, p := range []**batchBuf{&l.mask, &l.y, &l.dx} {
		if *p, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, in); err != nil {
			return nil, err
		}
	}
	return in.Clone(), nil
}

// Forward implements Module.
func (l *Dropout) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("dropout", l.ctx, x, l.in)
	if err != nil {
		return nil, err
	}
	l.n, l.training = n, train && l.Rate > 0
	if !l.training {
		return x, nil
	}
	mask, err := l.mask.rows(n)
	if err != nil {
		return nil, err
	}
	y, err := l.y.rows(n)
	if err != nil {
		return nil, err
	}
	dev := l.ctx.Dev
	if err := dev.DropoutMask(mask.Buffer(), l.Rate, l.seed, l.ctx.Step*l.perStep); err != nil {
		return nil, fmt.Errorf("nn: dropout forward: %w", err)
	}
	if err := dev.Binary(device.Mul, x.Buffer(), mask.Buffer(), y.Buffer()); err != nil {
		return nil, fmt.Errorf("nn: dropout forward: %w", err)
	}
	return y, nil
}

// Backward implements Module: dx = dy * mask.
func (l *Dropout) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("dropout", l.n, dy, l.in); err != nil {
		return nil, err
	}
	if !needDX {
		return nil, nil
	}
	if !l.training {
		return dy, nil
	}
	mask, _ := l.mask.rows(l.n) // made by Forward for l.n: a lookup that cannot fail
	dx, err := l.dx.rows(l.n)
	if err != nil {
		return nil, err
	}
	if err := l.ctx.Dev.Binary(device.Mul, dy.Buffer(), mask.Buffer(), dx.Buffer()); err != nil {
		return nil, fmt.Errorf("nn: dropout backward: %w", err)
	}
	return dx, nil
}

// ExportONNX implements Exporter: dropout is the identity at inference; it adds nothing.
func (l *Dropout) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if l.ctx == nil {
		return "", fmt.Errorf("nn: dropout: export before Build")
	}
	return x, nil
}
