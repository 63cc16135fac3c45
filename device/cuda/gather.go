//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// Gather implements device.Backend: dst[r,:] = scale * src[idx[r],:] (gather_f32,
// gather_u8_f32 for raw image bytes, gather_i32 for labels). The device does not report
// an index outside src (that would need a wait); such a row reads NaN (float) or -1
// (int32).
func (b *Backend) Gather(dst, src, idx device.Buffer, rowLen int, scale float32) error {
	if err := device.CheckGather(dst, src, idx, rowLen); err != nil {
		return err
	}
	if err := b.owns(dst, src, idx); err != nil {
		return err
	}
	rows, srcRows := idx.Len(), src.Len()/rowLen
	n := rows * rowLen
	switch src.DType() {
	case device.Int32:
		return b.elementwise(kGatherI32, n, dp(dst), dp(src), dp(idx), i64(rows), i64(rowLen), i64(srcRows))
	case device.Uint8:
		return b.elementwise(kGatherU8F32, n, dp(dst), dp(src), dp(idx), i64(rows), i64(rowLen), i64(srcRows), f32(scale))
	default:
		return b.elementwise(kGatherF32, n, dp(dst), dp(src), dp(idx), i64(rows), i64(rowLen), i64(srcRows), f32(scale))
	}
}
