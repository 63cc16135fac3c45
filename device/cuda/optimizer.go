//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// Update implements device.Backend: one optimizer step, elementwise (kernels/optimizer.cu).
// Adam's bias-corrected step size is computed on the host (Hyper.AdamStepSize), as on
// every backend; it changes each step and reaches a replayed graph as a patched kernel
// parameter.
func (b *Backend) Update(op device.OptOp, h device.Hyper, param, grad, m, v device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckUpdate(op, h, param, grad, m, v); err != nil {
		return err
	}
	if err := b.owns(param, grad, m, v); err != nil {
		return err
	}
	n := param.Len()
	switch op {
	case device.SGD:
		return b.elementwise(kSGD, n, dp(param), dp(grad), i64(n), f32(h.LR))
	case device.Momentum:
		nesterov := 0
		if h.Nesterov {
			nesterov = 1
		}
		return b.elementwise(kMomentum, n, dp(param), dp(grad), dp(m), i64(n), f32(h.LR), f32(h.Momentum), i64(nesterov))
	default:
		var decay float32
		if op == device.AdamW {
			decay = h.LR * h.WeightDecay
		}
		return b.elementwise(kAdam, n, dp(param), dp(grad), dp(m), dp(v), i64(n),
			f32(h.Beta1), f32(h.Beta2), f32(h.Eps), f32(h.AdamStepSize()), f32(decay))
	}
}
