//go:build amd64 && !noasm

package cpu

import "golang.org/x/sys/cpu"

//go:noescape
func f32ToF16F16C(dst *uint16, src *float32, n int)

//go:noescape
func f32ToBF16AVX512(dst *uint16, src *float32, n int)

// hasF16C reports the F16C conversion instructions (with AVX, which they need).
var hasF16C = cpu.X86.HasF16C && cpu.X86.HasAVX

// narrowF16Fast rounds src to binary16 into dst (len(dst) >= len(src)) with F16C, 8 at a
// time, and returns how many it did (a multiple of 8; 0 without F16C): the caller
// rounds the rest with device.FP16Bits, whose results these are.
func narrowF16Fast(dst []uint16, src []float32) int {
	k := len(src) &^ 7
	if !hasF16C || k == 0 {
		return 0
	}
	f32ToF16F16C(&dst[0], &src[0], k)
	return k
}

// narrowBF16Fast rounds src to bfloat16 into dst (len(dst) >= len(src)) with AVX-512, 16
// at a time, and returns how many it did (a multiple of 16; 0 without AVX-512F): the
// caller rounds the rest with device.BF16Bits, whose results these are.
func narrowBF16Fast(dst []uint16, src []float32) int {
	k := len(src) &^ 15
	if !cpu.X86.HasAVX512F || k == 0 {
		return 0
	}
	f32ToBF16AVX512(&dst[0], &src[0], k)
	return k
}
