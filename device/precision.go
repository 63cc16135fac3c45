package device

import (
	"fmt"
	"math"
	"strings"
)

// Precision is the arithmetic a GEMM runs in (GemmArgs.Precision) and, for a model, the
// mixed-precision recipe its layers follow (nn's Context.Precision). FP32, the zero
// value, is plain float32 everywhere and gives the engine's results bit for bit as they
// were before precisions existed.
//
// In every other precision a GEMM rounds its operands A and B to a narrower format,
// multiplies them exactly (a product of two such values fits a float32) and accumulates
// in float32, as tensor cores do:
//
//	TF32  operands rounded to 10 mantissa bits, float32's exponent (RoundTF32); float32
//	      buffers throughout
//	BF16  operands rounded to bfloat16 (RoundBF16: 7 mantissa bits, float32's exponent);
//	      they may be BFloat16 buffers already
//	FP16  operands rounded to IEEE half precision (RoundFP16: 10 mantissa bits, 5
//	      exponent bits: values past 65504 become ±Inf, below 2^-24 zero); they may be
//	      Float16 buffers already
//
// Everything else (elementwise ops, softmax, losses, normalizations, reductions, the
// optimizer) stays float32, after PyTorch autocast's lists: the GEMMs are what
// autocast runs in the lower precision. Rounding is round-to-nearest-even throughout.
type Precision uint8

// The precisions.
const (
	FP32 Precision = iota
	TF32
	BF16
	FP16
)

// LastPrecision is the largest Precision.
const LastPrecision = FP16

func (p Precision) String() string {
	switch p {
	case FP32:
		return "fp32"
	case TF32:
		return "tf32"
	case BF16:
		return "bf16"
	case FP16:
		return "fp16"
	}
	return fmt.Sprintf("precision(%d)", uint8(p))
}

// ParsePrecision reads "fp32", "tf32", "bf16" or "fp16" (any case; "" is fp32).
func ParsePrecision(s string) (Precision, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "fp32", "float32":
		return FP32, nil
	case "tf32":
		return TF32, nil
	case "bf16", "bfloat16":
		return BF16, nil
	case "fp16", "float16", "half":
		return FP16, nil
	}
	return FP32, fmt.Errorf("device: unknown precision %q (want fp32, tf32, bf16 or fp16)", s)
}

// MarshalText implements encoding.TextMarshaler (JSON writes the name).
func (p Precision) MarshalText() ([]byte, error) {
	if p > LastPrecision {
		return nil, fmt.Errorf("device: unknown precision %d", uint8(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Precision) UnmarshalText(b []byte) error {
	v, err := ParsePrecision(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Half is the 16-bit storage type of the precision's GEMM operands: BFloat16 for BF16,
// Float16 for FP16, and Float32 for FP32 and TF32 (which keep float32 buffers).
func (p Precision) Half() DType {
	switch p {
	case BF16:
		return BFloat16
	case FP16:
		return Float16
	}
	return Float32
}

// Round rounds x to the precision's operand format, as a GEMM in precision p sees it:
// x itself for FP32.
func (p Precision) Round(x float32) float32 {
	switch p {
	case TF32:
		return RoundTF32(x)
	case BF16:
		return RoundBF16(x)
	case FP16:
		return RoundFP16(x)
	}
	return x
}

// RoundTF32 rounds x to TF32: float32's sign and exponent, the mantissa rounded to its
// upper 10 bits, to nearest with ties to even. A carry can round up to ±Inf; NaN and
// ±Inf are returned as they are.
func RoundTF32(x float32) float32 {
	b := math.Float32bits(x)
	if b&0x7f800000 == 0x7f800000 {
		return x
	}
	// add half an ulp less one, plus the kept mantissa's odd bit (ties to even), then
	// drop the 13 low bits: no branch on the data
	b += 1<<12 - 1 + (b>>13)&1
	return math.Float32frombits(b &^ (1<<13 - 1))
}

// BF16Bits is x rounded to bfloat16 (the upper 16 bits of a float32), to nearest with
// ties to even; NaN stays a (quiet) NaN of the same sign.
func BF16Bits(x float32) uint16 {
	b := math.Float32bits(x)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep it one, whatever its payload
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// BF16Float32 is the float32 value of the bfloat16 h (exact).
func BF16Float32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// RoundBF16 rounds x to the nearest bfloat16 value (ties to even).
func RoundBF16(x float32) float32 { return BF16Float32(BF16Bits(x)) }

// FP16Bits is x rounded to IEEE 754 binary16, to nearest with ties to even: magnitudes
// from 65520 up become ±Inf, those below 2^-24 become subnormals or ±0; NaN stays a
// (quiet) NaN of the same sign, keeping the top of its payload.
//
// (F. Giesen's float_to_half_fast3_rtne: a normal result rounds by adding half an ulp
// less one, plus the odd bit, to the bits; a subnormal one by a float32 addition that
// aligns the 10 bits at the bottom, which rounds to nearest even by itself.)
func FP16Bits(x float32) uint16 {
	const (
		f16max  = (127 + 16) << 23 // 2^16: Inf from here
		f32inf  = 0xff << 23
		minNorm = 113 << 23 // 2^-14, binary16's smallest normal
		magic   = ((127 - 15) + (23 - 10) + 1) << 23
	)
	b := math.Float32bits(x)
	sign := uint16(b>>16) & 0x8000
	u := b &^ 0x80000000
	if u >= f16max {
		if u > f32inf {
			return sign | 0x7e00 | uint16((u>>13)&0x3ff)
		}
		return sign | 0x7c00
	}
	// Both roundings, then a mask picks one: zeros and subnormals are common (a ReLU's
	// output, sparse gradients) and mixed with normals, so a branch between them would
	// be mispredicted often.
	f := math.Float32frombits(u) + math.Float32frombits(magic)
	sub := math.Float32bits(f) - magic // right for u < minNorm
	n := u - (127-15)<<23              // the binary16 exponent; right for u >= minNorm
	n += 0xfff + (n>>13)&1
	n >>= 13
	small := uint32(int32(u-minNorm) >> 31) // all ones for u < minNorm (u < 2^31)
	return sign | uint16(sub&small|n&^small)
}

// FP16Float32 is the float32 value of the binary16 h (exact).
func FP16Float32(h uint16) float32 {
	const shiftedExp = 0x7c00 << 13
	u := uint32(h&0x7fff) << 13
	exp := u & shiftedExp
	u += (127 - 15) << 23
	switch exp {
	case shiftedExp: // Inf, NaN
		u += (128 - 16) << 23
	case 0: // zero, subnormal: renormalize through a float32 subtraction (exact)
		u += 1 << 23
		u = math.Float32bits(math.Float32frombits(u) - math.Float32frombits(113<<23))
	}
	return math.Float32frombits(u | uint32(h&0x8000)<<16)
}

// RoundFP16 rounds x to the nearest binary16 value (ties to even).
func RoundFP16(x float32) float32 { return FP16Float32(FP16Bits(x)) }

// HalfBits is x rounded to the 16-bit type dt (BFloat16 or Float16).
func HalfBits(dt DType, x float32) uint16 {
	if dt == Float16 {
		return FP16Bits(x)
	}
	return BF16Bits(x)
}

// HalfFloat32 is the float32 value of h of the 16-bit type dt (BFloat16 or Float16).
func HalfFloat32(dt DType, h uint16) float32 {
	if dt == Float16 {
		return FP16Float32(h)
	}
	return BF16Float32(h)
}
