//go:build !amd64 || noasm

package cpu

// hasF16C: no vector conversions here.
const hasF16C = false

// narrowF16Fast has no vector form here: device.FP16Bits rounds every element.
func narrowF16Fast(dst []uint16, src []float32) int { return 0 }

// narrowBF16Fast has no vector form here: device.BF16Bits rounds every element.
func narrowBF16Fast(dst []uint16, src []float32) int { return 0 }
