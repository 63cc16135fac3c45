//go:build cuda

package cuda

import "github.com/gputrain/gputrain/device"

// BatchNorm implements device.Backend. Training: batchnorm_stats_f32 (one block per
// channel: mean, biased variance, running statistics) then batchnorm_forward_f32
// (elementwise); inference: batchnorm_infer_f32.
func (b *Backend) BatchNorm(a device.BatchNormArgs) error {
	if err := device.CheckBatchNorm(a, false); err != nil {
		return err
	}
	if err := b.owns(a.X, a.Y, a.Gamma, a.Beta, a.RunMean, a.RunVar, a.SaveMean, a.SaveInvStd); err != nil {
		return err
	}
	n, c, inner := i64(a.N), i64(a.C), i64(a.Inner)
	total := a.N * a.C * a.Inner
	if !a.Training {
		return b.elementwise(kBatchNormInfer, total, dp(a.X), dp(a.Y), dp(a.Gamma), dp(a.Beta), dp(a.RunMean), dp(a.RunVar), n, c, inner, f32(a.Eps))
	}
	if err := b.perRow(kBatchNormStats, a.C, a.N*a.Inner, dp(a.X), dp(a.SaveMean), dp(a.SaveInvStd), dp(a.RunMean), dp(a.RunVar), n, c, inner, f32(a.Momentum), f32(a.Eps)); err != nil {
		return err
	}
	return b.elementwise(kBatchNormForward, total, dp(a.X), dp(a.Y), dp(a.Gamma), dp(a.Beta), dp(a.SaveMean), dp(a.SaveInvStd), n, c, inner)
}

// BatchNormBackward implements device.Backend: batchnorm_backward_reduce_f32 (DGamma,
// DBeta per channel) then batchnorm_backward_f32 (DX elementwise).
func (b *Backend) BatchNormBackward(a device.BatchNormArgs) error {
	if err := device.CheckBatchNorm(a, true); err != nil {
		return err
	}
	if err := b.owns(a.X, a.DY, a.DX, a.Gamma, a.SaveMean, a.SaveInvStd, a.DGamma, a.DBeta); err != nil {
		return err
	}
	n, c, inner := i64(a.N), i64(a.C), i64(a.Inner)
	if err := b.perRow(kBatchNormBackwardReduce, a.C, a.N*a.Inner, dp(a.X), dp(a.DY), dp(a.SaveMean), dp(a.SaveInvStd), dp(a.DGamma), dp(a.DBeta), n, c, inner); err != nil {
		return err
	}
	return b.elementwise(kBatchNormBackward, a.N*a.C*a.Inner, dp(a.X), dp(a.DY), dp(a.DX), dp(a.Gamma), dp(a.SaveMean), dp(a.SaveInvStd), dp(a.DGamma), dp(a.DBeta), n, c, inner)
}
