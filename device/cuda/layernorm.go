//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// layerNormParamsThreads is LN_LANES*LN_GROUPS in kernels/layernorm.cu.
const layerNormParamsThreads = 256

// LayerNorm implements device.Backend: layernorm_forward_f32, one block per row computing
// the mean and the variance in two passes, then Y.
func (b *Backend) LayerNorm(a device.LayerNormArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckLayerNorm(a, false); err != nil {
		return err
	}
	if err := b.owns(a.X, a.Y, a.Gamma, a.Beta, a.Mean, a.RStd); err != nil {
		return err
	}
	return b.perRow(kLayerNormForward, a.Rows, a.Cols, dp(a.X), dp(a.Y), dp(a.Gamma), dp(a.Beta), dp(a.Mean), dp(a.RStd),
		i64(a.Rows), i64(a.Cols), f32(a.Eps))
}

// LayerNormBackward implements device.Backend: layernorm_params_backward_f32 adds the
// column sums into DGamma and DBeta (one block per 32 columns, a fixed reduction order),
// then layernorm_backward_f32 writes DX (one block per row). DY is read by the first
// before the second writes DX, which may alias it.
func (b *Backend) LayerNormBackward(a device.LayerNormArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckLayerNorm(a, true); err != nil {
		return err
	}
	if err := b.owns(a.X, a.Gamma, a.Mean, a.RStd, a.DY, a.DX, a.DGamma, a.DBeta); err != nil {
		return err
	}
	rows, cols := i64(a.Rows), i64(a.Cols)
	tiles := (a.Cols + 31) / 32
	err := func() error {
		defer b.bind()()
		return b.launch(kLayerNormParamsBackward, min(tiles, b.maxGrid*4), layerNormParamsThreads,
			dp(a.X), dp(a.DY), dp(a.Mean), dp(a.RStd), dp(a.DGamma), dp(a.DBeta), rows, cols)
	}()
	if err != nil {
		return err
	}
	return b.perRow(kLayerNormBackward, a.Rows, a.Cols, dp(a.X), dp(a.DY), dp(a.DX), dp(a.Gamma), dp(a.Mean), dp(a.RStd), rows, cols)
}
