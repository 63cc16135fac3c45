package cpu

import (
	"math"

	"github.com/gputrain/gputrain/device"
)

// Mixed precision on the CPU is emulation (see device.Precision): a GEMM in TF32, BF16
// or FP16 rounds its float32 operands to the precision's format (or widens its 16-bit
// operands, exactly) into scratch buffers, then runs the float32 GEMM on them. Products
// of two such values are exact in float32, so the result is what a tensor core computes
// up to the order of the float32 sums. BFloat16 and Float16 buffers hold the 16-bit
// patterns (buffer.u16).

// precScratch holds the rounded operands of the GEMM in progress, grown to the largest
// seen (a training step allocates nothing after its first).
type precScratch struct {
	a, b []float32
}

// operand returns the first n elements of x (A or B of a Gemm in precision p) as
// float32 values rounded to p's operand format, in *buf.
func (s *precScratch) operand(buf *[]float32, p device.Precision, x device.Buffer, n int) []float32 {
	*buf = grow(*buf, n)
	dst := *buf
	if dt := x.DType(); dt.IsHalf() {
		widen(dst, u16(x)[:n], dt)
		return dst
	}
	src := f32(x)[:n]
	switch p {
	case device.TF32:
		for i, v := range src {
			dst[i] = device.RoundTF32(v)
		}
	case device.BF16:
		for i, v := range src {
			dst[i] = device.RoundBF16(v)
		}
	case device.FP16:
		for i, v := range src {
			dst[i] = device.RoundFP16(v)
		}
	default:
		copy(dst, src)
	}
	return dst
}

// widen writes the float32 values of the 16-bit values src (of type dt) into dst.
func widen(dst []float32, src []uint16, dt device.DType) {
	dst = dst[:len(src)]
	if dt == device.BFloat16 {
		for i, h := range src {
			dst[i] = math.Float32frombits(uint32(h) << 16)
		}
		return
	}
	for i, h := range src {
		dst[i] = fp16Values[h]
	}
}

// fp16Values is the float32 value of every binary16 bit pattern (device.FP16Float32, 256
// KiB): a load per element instead of FP16Float32's branch on zeros and subnormals,
// which the values of a ReLU network mix with normals.
var fp16Values = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for h := range t {
		t[h] = device.FP16Float32(uint16(h))
	}
	return &t
}()

// narrow writes src rounded to the 16-bit type dt into dst.
func narrow(dst []uint16, src []float32, dt device.DType) {
	dst = dst[:len(src)]
	if dt == device.BFloat16 {
		k := narrowBF16Fast(dst, src) // AVX-512 where the CPU has it: the same bits
		for i, v := range src[k:] {
			dst[k+i] = device.BF16Bits(v)
		}
		return
	}
	k := narrowF16Fast(dst, src) // F16C where the CPU has it: the same bits
	for i, v := range src[k:] {
		dst[k+i] = device.FP16Bits(v)
	}
}

// Cast implements device.Backend: float32 to BFloat16 or Float16 (round to nearest,
// ties to even) or back (exact), one plain loop (device.BF16Bits, device.FP16Bits and
// their inverses are the definitions).
func (b *Backend) Cast(dst, src device.Buffer) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckCast(dst, src); err != nil {
		return err
	}
	if err := own(dst, src); err != nil {
		return err
	}
	if dt := dst.DType(); dt.IsHalf() {
		narrow(u16(dst), f32(src), dt)
		return nil
	}
	widen(f32(dst), u16(src), src.DType())
	return nil
}

// Unscale implements device.Backend: x *= inv, and found[0] = 1 when any x was ±Inf or
// NaN before.
func (b *Backend) Unscale(x, found device.Buffer, inv float32) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckUnscale(x, found, inv); err != nil {
		return err
	}
	if err := own(x, found); err != nil {
		return err
	}
	xs := f32(x)
	bad := false
	for i, v := range xs {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			bad = true
		}
		xs[i] = v * inv
	}
	if bad {
		f32(found)[0] = 1
	}
	return nil
}
