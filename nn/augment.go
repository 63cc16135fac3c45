package nn

import (
	"fmt"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("random_shift", func() Module { return &RandomShift{} })
}

// RandomShift augments images while training: each example (C, H, W) moves by a random
// whole number of pixels dx, dy in [-MaxShift, MaxShift] (vacated pixels become 0) and,
// with FlipH, is first mirrored left-right with probability 1/2:
//
//	y[n,c,r,col] = x[n,c,r-dy,fx(col-dx)], or 0 where r-dy or col-dx falls outside the image
//
// with fx(j) = W-1-j when mirrored, else j (device.Backend.Augment, device.AugmentArgs).
// At inference it is the identity. Mirroring suits data whose mirror image is an example
// of the same class (clothes, photographs); it does not suit digits or letters, whose
// mirror images are not digits or letters.
//
// The draws come from the backend's Philox stream keyed by the model seed plus the
// layer's index, at offset Context.Step*MaxBatch (one counter per example): every
// backend draws the same shifts for the same step, and a resumed run draws what an
// uninterrupted one would.
//
// RandomShift transforms the input; it has no input gradient, so it must come before
// every layer with trainable parameters (Sequential.Build checks). It is no module of
// the equivalent PyTorch model (augmentation lives in the data pipeline there), so it
// does not shift the numbering of parameter names.
type RandomShift struct {
	MaxShift int  `json:"max_shift,omitempty"`
	FlipH    bool `json:"flip_h,omitempty"`

	ctx   *Context
	seed  uint64
	in    tensor.Shape
	y     *batchBuf
	train bool
}

// NewRandomShift returns a layer shifting images by up to maxShift pixels, mirroring
// them left-right at random when flipH.
func NewRandomShift(maxShift int, flipH bool) *RandomShift {
	return &RandomShift{MaxShift: maxShift, FlipH: flipH}
}

// Kind implements Module.
func (l *RandomShift) Kind() string { return "random_shift" }

// Modules is how many modules the layer is in PyTorch: none, see RandomShift.
func (l *RandomShift) Modules() int { return 0 }

// Params implements Module: none.
func (l *RandomShift) Params() []*Param { return nil }

// Validate checks the configuration without building it.
func (l *RandomShift) Validate() error { return notNegative("max_shift", l.MaxShift) }

// inputOnly marks RandomShift as a layer without an input gradient.
func (l *RandomShift) inputOnly() {}

// Build implements Module: in must be (C, H, W) with MaxShift < min(H, W).
func (l *RandomShift) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("nn: random_shift: input shape %v, want images (channels, height, width)", in)
	}
	if l.MaxShift < 0 || l.MaxShift >= in[1] || l.MaxShift >= in[2] {
		return nil, fmt.Errorf("nn: random_shift: max shift %d must be in [0, %d) for %d×%d images", l.MaxShift, min(in[1], in[2]), in[1], in[2])
	}
	l.ctx, l.in = ctx, in.Clone()
	l.seed = ctx.Seed + uint64(ctx.Layer)
	var err error
	if l.y, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, in); err != nil {
		return nil, err
	}
	return in.Clone(), nil
}

// Forward implements Module: shifted (and mirrored) copies in training, x itself at
// inference or when there is nothing to do (MaxShift 0, no FlipH).
func (l *RandomShift) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("random_shift", l.ctx, x, l.in)
	if err != nil {
		return nil, err
	}
	l.train = train && (l.MaxShift > 0 || l.FlipH)
	if !l.train {
		return x, nil
	}
	y, err := l.y.rows(n)
	if err != nil {
		return nil, err
	}
	a := device.AugmentArgs{N: n, C: l.in[0], H: l.in[1], W: l.in[2], MaxShift: l.MaxShift, FlipH: l.FlipH,
		Seed: l.seed, Offset: l.ctx.Step * uint64(l.ctx.MaxBatch)}
	if err := l.ctx.Dev.Augment(x.Buffer(), y.Buffer(), a); err != nil {
		return nil, fmt.Errorf("nn: random_shift forward: %w", err)
	}
	return y, nil
}

// Backward implements Module. There is nothing to compute: the layer has no parameters,
// and its input gradient is not implemented (a model asks for none, see RandomShift).
func (l *RandomShift) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if l.ctx == nil {
		return nil, fmt.Errorf("nn: random_shift used before Build")
	}
	if needDX && l.train {
		return nil, fmt.Errorf("nn: random_shift: no input gradient (put the layer before every layer with weights)")
	}
	if needDX {
		return dy, nil
	}
	return nil, nil
}

// ExportONNX implements Exporter: augmentation happens in training only, so the
// inference graph has none; it adds nothing.
func (l *RandomShift) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if l.ctx == nil {
		return "", fmt.Errorf("nn: random_shift: export before Build")
	}
	return x, nil
}
