//go:build cuda || cudaemu

package cuda

import "github.com/gputrain/gputrain/device"

// Cast implements device.Backend: one elementwise kernel of kernels/precision.cu
// (cast_f32_to_bf16, cast_bf16_to_f32, cast_f32_to_f16, cast_f16_to_f32), rounding with
// the same bit manipulations as the CPU.
func (b *Backend) Cast(dst, src device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckCast(dst, src); err != nil {
		return err
	}
	if err := b.owns(dst, src); err != nil {
		return err
	}
	var k kernelID
	switch {
	case dst.DType() == device.BFloat16:
		k = kCastF32ToBF16
	case dst.DType() == device.Float16:
		k = kCastF32ToF16
	case src.DType() == device.BFloat16:
		k = kCastBF16ToF32
	default:
		k = kCastF16ToF32
	}
	n := dst.Len()
	return b.elementwise(k, n, dp(src), dp(dst), i64(n))
}

// Unscale implements device.Backend (unscale_f32): x *= inv, and found[0] = 1 when any x
// was ±Inf or NaN; every thread that sees one stores the same 1.
func (b *Backend) Unscale(x, found device.Buffer, inv float32) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckUnscale(x, found, inv); err != nil {
		return err
	}
	if err := b.owns(x, found); err != nil {
		return err
	}
	n := x.Len()
	return b.elementwise(kUnscale, n, dp(x), dp(found), i64(n), f32(inv))
}

// halfArgs are the kernel parameters of Hyper.Half for the *_update_copy_f32 kernels:
// the copy's address and its type (0 bfloat16, 1 binary16).
func halfArgs(h device.Buffer) (uint64, uint64) {
	if h.DType() == device.Float16 {
		return dp(h), 1
	}
	return dp(h), 0
}
