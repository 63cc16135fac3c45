package cpu

import (
	"math"

	"github.com/gputrain/gputrain/device"
)

// Update implements device.Backend: one optimizer step on param from grad with Keras'
// formulas (see device.OptOp), updating the state m (Momentum, Adam, AdamW) and v (Adam,
// AdamW). Errors: those of device.CheckUpdate, or a buffer of another backend.
func (b *Backend) Update(op device.OptOp, h device.Hyper, param, grad, m, v device.Buffer) error {
	if err := device.CheckUpdate(op, h, param, grad, m, v); err != nil {
		return err
	}
	if err := own(param, grad, m, v); err != nil {
		return err
	}
	t := &b.kernels.update
	*t = updateTask{op: op, h: h, p: f32(param), g: f32(grad), m: f32(m), v: f32(v)}
	if op == device.Adam || op == device.AdamW {
		t.alpha = h.AdamStepSize()
	}
	if b.reference {
		updateRef(t)
	} else {
		b.pool.parallel(parts(len(t.p)), t)
	}
	*t = updateTask{}
	return nil
}

// updateTask holds one Update call; alpha is Adam's bias-corrected step size.
type updateTask struct {
	op         device.OptOp
	h          device.Hyper
	alpha      float32
	p, g, m, v []float32
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
	}
}

// run updates a range of elements: one pass over p, g, m, v with the hyper-parameters in
// locals and the op chosen outside the loop.
func (t *updateTask) run(part, parts int) {
	lo, hi := split(len(t.p), part, parts, 16)
	p, g := t.p[lo:hi], t.g[lo:hi]
	h := t.h
	lr := h.LR
	switch t.op {
	case device.SGD:
		for i, gi := range g {
			p[i] -= lr * gi
		}
	case device.Momentum:
		m := t.m[lo:hi]
		mu := h.Momentum
		for i, gi := range g {
			mi := mu*m[i] - lr*gi
			m[i] = mi
			if h.Nesterov {
				p[i] += mu*mi - lr*gi
			} else {
				p[i] += mi
			}
		}
	case device.Adam, device.AdamW:
		m, v := t.m[lo:hi], t.v[lo:hi]
		b1, b2, c1, c2 := h.Beta1, h.Beta2, 1-h.Beta1, 1-h.Beta2
		alpha, eps := t.alpha, h.Eps
		lrwd := lr * h.WeightDecay
		decay := t.op == device.AdamW
		for i, gi := range g {
			pi := p[i]
			if decay {
				pi -= lrwd * pi
			}
			mi := b1*m[i] + c1*gi
			vi := b2*v[i] + c2*gi*gi
			m[i], v[i] = mi, vi
			p[i] = pi - alpha*mi/(sqrtf(vi)+eps)
		}
	}
}
