//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// Update implements device.Backend: one optimizer step, elementwise (kernels/optimizer.cu),
// writing the parameter's 16-bit copy as well when h.Half is set.
// Adam's bias-corrected step size is computed on the host (Hyper.AdamStepSize), as on
// every backend; it changes each step and reaches a replayed graph as a patched kernel
// parameter.
func (b *Backend) Update(op device.OptOp, h device.Hyper, param, grad, m, v device.Buffer) error {
	if err := device.CheckUpdate(op, h, param, grad, m, v); err != nil {
		return err
	}
	if err := b.owns(param, grad, m, v); err != nil {
		return err
	}
	n := param.Len()
	if h.Half != nil {
		if err := b.owns(h.Half); err != nil {
			return err
		}
		// the same update, writing the 16-bit copy as it goes (*_update_copy_f32)
		hp, ht := halfArgs(h.Half)
		switch op {
		case device.SGD:
			return b.elementwise(kSGDCopy, n, dp(param), dp(grad), i64(n), f32(h.LR), hp, ht)
		case device.Momentum:
			return b.elementwise(kMomentumCopy, n, dp(param), dp(grad), dp(m), i64(n), f32(h.LR), f32(h.Momentum), i64(nesterov(h)), hp, ht)
		default:
			return b.elementwise(kAdamCopy, n, dp(param), dp(grad), dp(m), dp(v), i64(n),
				f32(h.Beta1), f32(h.Beta2), f32(h.Eps), f32(h.AdamStepSize()), f32(adamDecay(op, h)), hp, ht)
		}
	}
	switch op {
	case device.SGD:
		return b.elementwise(kSGD, n, dp(param), dp(grad), i64(n), f32(h.LR))
	case device.Momentum:
		return b.elementwise(kMomentum, n, dp(param), dp(grad), dp(m), i64(n), f32(h.LR), f32(h.Momentum), i64(nesterov(h)))
	default:
		return b.elementwise(kAdam, n, dp(param), dp(grad), dp(m), dp(v), i64(n),
			f32(h.Beta1), f32(h.Beta2), f32(h.Eps), f32(h.AdamStepSize()), f32(adamDecay(op, h)))
	}
}

func nesterov(h device.Hyper) int {
	if h.Nesterov {
		return 1
	}
	return 0
}

// adamDecay is AdamW's decoupled decay factor LR*WeightDecay (0 for Adam).
func adamDecay(op device.OptOp, h device.Hyper) float32 {
	if op == device.AdamW {
		return h.LR * h.WeightDecay
	}
	return 0
}
