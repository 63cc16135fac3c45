//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// Gather implements device.Backend: dst[r,:] = scale * src[idx[r],:] (gather_f32,
// gather_u8_f32 for raw image bytes, gather_i32 for labels). The device does not report
// an index outside src (that would need a wait); such a row reads NaN (float) or -1
// (int32).
func (b *Backend) Gather(dst, src, idx device.Buffer, rowLen int, scale float32) error {
	if b.closed {
		return device.ErrClosed
	}
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

// scatterRanges bounds the row ranges of ScatterAdd's table: each block walks the whole
// index list, so more ranges than this repeat that walk more than they spread the adds.
const scatterRanges = 1024

// ScatterAdd implements device.Backend: dst[idx[r],:] += src[r,:] (scatter_add_f32).
// Each block owns a range of dst's rows and adds, in increasing r, the src rows that land
// there: no atomics, and the same sums in the same order as the CPU, so the results are
// the CPU's bit for bit. The device does not report an index outside dst (that would
// need a wait): such rows are skipped.
func (b *Backend) ScatterAdd(dst, src, idx device.Buffer, rowLen int) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckScatterAdd(dst, src, idx, rowLen); err != nil {
		return err
	}
	if err := b.owns(dst, src, idx); err != nil {
		return err
	}
	n, dstRows := idx.Len(), dst.Len()/rowLen
	if n == 0 {
		return nil
	}
	ranges := min(dstRows, scatterRanges)
	defer b.bind()()
	return b.launch(kScatterAdd, min(ranges, b.maxGrid*4), rowBlock(rowLen), dp(dst), dp(src), dp(idx),
		i64(n), i64(rowLen), i64(dstRows), i64(ranges))
}
