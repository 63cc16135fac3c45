//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// BatchNorm implements device.Backend. Training: batchnorm_forward_train_f32, one block
// per channel computing the statistics in double, the running statistics and Y.
// Inference: batchnorm_infer_f32, elementwise.
func (b *Backend) BatchNorm(a device.BatchNormArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckBatchNorm(a, false); err != nil {
		return err
	}
	if err := b.owns(a.X, a.Y, a.Gamma, a.Beta, a.RunMean, a.RunVar, a.SaveMean, a.SaveInvStd); err != nil {
		return err
	}
	n, c, inner := i64(a.N), i64(a.C), i64(a.Inner)
	if !a.Training {
		return b.elementwise(kBatchNormInfer, a.N*a.C*a.Inner, dp(a.X), dp(a.Y), dp(a.Gamma), dp(a.Beta), dp(a.RunMean), dp(a.RunVar), n, c, inner, f32(a.Eps))
	}
	return b.perRow(kBatchNormForwardTrain, a.C, a.N*a.Inner, dp(a.X), dp(a.Y), dp(a.Gamma), dp(a.Beta),
		dp(a.SaveMean), dp(a.SaveInvStd), dp(a.RunMean), dp(a.RunVar), n, c, inner, f32(a.Momentum), f32(a.Eps))
}

// BatchNormBackward implements device.Backend: batchnorm_backward_f32, one block per
// channel reducing DBeta and DGamma in double, then writing DX.
func (b *Backend) BatchNormBackward(a device.BatchNormArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckBatchNorm(a, true); err != nil {
		return err
	}
	if err := b.owns(a.X, a.DY, a.DX, a.Gamma, a.SaveMean, a.SaveInvStd, a.DGamma, a.DBeta); err != nil {
		return err
	}
	return b.perRow(kBatchNormBackward, a.C, a.N*a.Inner, dp(a.X), dp(a.DY), dp(a.DX), dp(a.Gamma), dp(a.SaveMean),
		dp(a.SaveInvStd), dp(a.DGamma), dp(a.DBeta), i64(a.N), i64(a.C), i64(a.Inner))
}
