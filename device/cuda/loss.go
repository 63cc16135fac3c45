//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// Loss implements device.Backend: per-row losses, one block per row (kernels/loss.cu).
// Labels are not checked against Cols on the device: a label outside [0, Cols) gives a
// NaN loss.
func (b *Backend) Loss(a device.LossArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckLoss(a, false); err != nil {
		return err
	}
	if err := b.owns(a.Input, a.Labels, a.Target, a.Probs, a.Loss, a.Correct); err != nil {
		return err
	}
	rows, cols := i64(a.Rows), i64(a.Cols)
	switch a.Op {
	case device.SoftmaxCrossEntropy:
		return b.perRow(kSoftmaxCEForward, a.Rows, a.Cols, dp(a.Input), dp(a.Labels), dp(a.Probs), dp(a.Loss), dp(a.Correct), rows, cols)
	case device.CrossEntropy:
		return b.perRow(kCrossEntropyForward, a.Rows, a.Cols, dp(a.Input), dp(a.Labels), dp(a.Loss), dp(a.Correct), rows, cols, f32(device.CrossEntropyEps))
	case device.BinaryCrossEntropyWithLogits:
		return b.perRow(kBCEWithLogitsForward, a.Rows, a.Cols, dp(a.Input), dp(a.Target), dp(a.Loss), dp(a.Correct), rows, cols)
	default:
		return b.perRow(kMSEForward, a.Rows, a.Cols, dp(a.Input), dp(a.Target), dp(a.Loss), rows, cols)
	}
}

// LossBackward implements device.Backend: the gradient of Scale * sum of the per-row
// losses, elementwise.
func (b *Backend) LossBackward(a device.LossArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckLoss(a, true); err != nil {
		return err
	}
	if err := b.owns(a.Input, a.Labels, a.Target, a.Probs, a.Grad); err != nil {
		return err
	}
	n, rows, cols := a.Rows*a.Cols, i64(a.Rows), i64(a.Cols)
	switch a.Op {
	case device.SoftmaxCrossEntropy:
		return b.elementwise(kSoftmaxCEBackward, n, dp(a.Probs), dp(a.Labels), dp(a.Grad), rows, cols, f32(a.Scale))
	case device.CrossEntropy:
		return b.elementwise(kCrossEntropyBackward, n, dp(a.Input), dp(a.Labels), dp(a.Grad), rows, cols, f32(a.Scale), f32(device.CrossEntropyEps))
	case device.BinaryCrossEntropyWithLogits:
		return b.elementwise(kBCEWithLogitsBackward, n, dp(a.Input), dp(a.Target), dp(a.Grad), rows, cols, f32(a.Scale))
	default:
		return b.elementwise(kMSEBackward, n, dp(a.Input), dp(a.Target), dp(a.Grad), rows, cols, f32(a.Scale))
	}
}
