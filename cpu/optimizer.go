package cpu

import (
	"math"

	"github.com/gputrain/gputrain/device"
)

// Update implements device.Backend: one optimizer step on param from grad with Keras'
// formulas (see device.OptOp), updating the state m (Momentum, Adam, AdamW) and v (Adam,
// AdamW), and writing the new parameter's 16-bit copy into h.Half when it is set (each
// range of elements rounded right after its update, while it is in cache). Errors: those
// of device.CheckUpdate, or a buffer of another backend.
func (b *Backend) Update(op device.OptOp, h device.Hyper, param, grad, m, v device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckUpdate(op, h, param, grad, m, v); err != nil {
		return err
	}
	if err := own(param, grad, m, v, h.Half); err != nil {
		return err
	}
	t := &b.kernels.update
	*t = updateTask{vec: b.kernels.vec, op: op, h: h, p: f32(param), g: f32(grad), m: f32(m), v: f32(v)}
	if h.Half != nil {
		t.half, t.halfType = u16(h.Half), h.Half.DType()
	}
	if op == device.Adam || op == device.AdamW {
		t.alpha = h.AdamStepSize()
		t.adam = adamConsts{b1: h.Beta1, c1: 1 - h.Beta1, b2: h.Beta2, c2: 1 - h.Beta2, alpha: t.alpha, eps: h.Eps}
		if op == device.AdamW {
			t.adam.decay = -(h.LR * h.WeightDecay)
		}
	}
	if b.reference {
		updateRef(t)
	} else {
		b.pool.parallel(parts(len(t.p), grain), t)
	}
	*t = updateTask{}
	return nil
}

// updateTask holds one Update call; alpha is Adam's bias-corrected step size, adam the
// scalars of the Adam primitive (kept here so that passing them allocates nothing).
type updateTask struct {
	vec        *vecVariant
	op         device.OptOp
	h          device.Hyper
	alpha      float32
	adam       adamConsts
	p, g, m, v []float32
	half       []uint16 // Hyper.Half's elements, nil without
	halfType   device.DType
}

func sqrtf(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// updateRef is the reference step, element by element; p, g, m, v have n elements.
func updateRef(t *updateTask) {
	h := t.h
	for i := range t.p {
		g := t.g[i]
		switch t.op {
		case device.SGD:
			t.p[i] -= h.LR * g
		case device.Momentum:
			t.m[i] = h.Momentum*t.m[i] - h.LR*g
			if h.Nesterov {
				t.p[i] += h.Momentum*t.m[i] - h.LR*g
			} else {
				t.p[i] += t.m[i]
			}
		case device.Adam, device.AdamW:
			if t.op == device.AdamW {
				t.p[i] -= h.LR * h.WeightDecay * t.p[i]
			}
			t.m[i] = h.Beta1*t.m[i] + (1-h.Beta1)*g
			t.v[i] = h.Beta2*t.v[i] + (1-h.Beta2)*g*g
			t.p[i] -= t.alpha * t.m[i] / (sqrtf(t.v[i]) + h.Eps)
		}
		if t.half != nil {
			t.half[i] = device.HalfBits(t.halfType, t.p[i])
		}
	}
}

// halfChunk is how many elements the tuned update runs before it rounds them into the
// 16-bit copy (a multiple of 16, the vector primitives' width, so the chunks compute
// exactly what one call over the whole range does): 32 KiB of each array, in L1 or L2.
const halfChunk = 2048

// run updates a range of elements with the vector primitives: one pass over p, g, m, v.
func (t *updateTask) run(part, parts int) {
	lo, hi := split(len(t.p), part, parts, 16)
	if lo >= hi {
		return
	}
	if t.half != nil {
		for c := lo; c < hi; c += halfChunk {
			e := min(c+halfChunk, hi)
			t.step(c, e)
			narrow(t.half[c:e], t.p[c:e], t.halfType)
		}
		return
	}
	t.step(lo, hi)
}

// step updates the elements [lo, hi) with the vector primitives.
func (t *updateTask) step(lo, hi int) {
	p, g := t.p[lo:hi], t.g[lo:hi]
	h := t.h
	switch t.op {
	case device.SGD:
		t.vec.axpby(p, g, -h.LR, 1) // p = p - LR*g
	case device.Momentum:
		t.vec.momentum(p, g, t.m[lo:hi], h.Momentum, h.LR, h.Nesterov)
	case device.Adam, device.AdamW:
		t.vec.adam(p, g, t.m[lo:hi], t.v[lo:hi], &t.adam)
	}
}
