package nn

import (
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

// halfGemm is what a layer of the form y = x·Wᵀ (Dense, LinearLayer) needs to run its
// three GEMMs in the model's precision (Context.Precision). In FP32 and TF32 it holds
// the precision only and the GEMMs read float32. In BF16 and FP16 they read 16-bit
// operands: W's copy (Param.Half, written by the optimizer with every update), the
// input cast once in the forward pass and kept for the weight gradient, and dy cast
// once for the two backward GEMMs. The GEMMs' outputs, the bias and everything around
// them stay float32.
type halfGemm struct {
	prec     device.Precision
	w16      *tensor.Tensor // W's 16-bit copy (BF16, FP16), nil otherwise
	x16, d16 *batchBuf      // the 16-bit copies of the input and of dy
	xh       *tensor.Tensor // the last forward's 16-bit input (a view of x16, or x itself)
}

// build sets the precision up for the weight w, inputs of per-example shape in and
// outputs of per-example shape out.
func (h *halfGemm) build(ctx *Context, w *Param, in, out tensor.Shape) error {
	*h = halfGemm{prec: ctx.Precision}
	var err error
	if h.w16, err = ctx.HalfOf(w); err != nil || h.w16 == nil {
		return err
	}
	dt := h.w16.DType()
	if h.x16, err = newBatchBuf(ctx.Dev, dt, ctx.MaxBatch, in); err != nil {
		return err
	}
	h.d16, err = newBatchBuf(ctx.Dev, dt, ctx.MaxBatch, out)
	return err
}

// forward sets g's operands A (the input) and B (the weight) for the forward GEMM of
// the batch x of n examples, with w the float32 weight, and g's precision; in 16 bits
// it casts x first (unless it already is 16-bit) and keeps the copy for backward.
func (h *halfGemm) forward(dev device.Backend, g *device.GemmArgs, x *tensor.Tensor, w *Param, n int) error {
	g.A, g.B, g.Precision = x.Buffer(), w.Value.Buffer(), h.prec
	if h.w16 == nil {
		return nil
	}
	if h.xh = x; x.DType() != h.w16.DType() {
		h.xh, _ = h.x16.rows(n) // n was checked against the batch size by the caller
		if err := dev.Cast(h.xh.Buffer(), x.Buffer()); err != nil {
			return err
		}
	}
	g.A, g.B = h.xh.Buffer(), h.w16.Buffer()
	return nil
}

// backward returns the operands of the backward GEMMs for the gradient dy of the last
// forward batch x (n examples): dy, x and W as float32, or their 16-bit copies, dy
// cast here when either GEMM will run (need).
func (h *halfGemm) backward(dev device.Backend, dy, x *tensor.Tensor, w *Param, n int, need bool) (dyg, xg, wg device.Buffer, err error) {
	dyg, xg, wg = dy.Buffer(), x.Buffer(), w.Value.Buffer()
	if h.w16 == nil || !need {
		return dyg, xg, wg, nil
	}
	d16, err := h.d16.rows(n)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := dev.Cast(d16.Buffer(), dy.Buffer()); err != nil {
		return nil, nil, nil, err
	}
	return d16.Buffer(), h.xh.Buffer(), h.w16.Buffer(), nil
}
