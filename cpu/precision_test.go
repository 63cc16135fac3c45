package cpu

import (
	"math"
	"testing"

	"github.com/gputrain/gputrain/device"
)

// widen's table is device.FP16Float32, bit for bit, for every binary16 pattern.
func TestWidenFloat16Table(t *testing.T) {
	src := make([]uint16, 1<<16)
	for h := range src {
		src[h] = uint16(h)
	}
	dst := make([]float32, len(src))
	widen(dst, src, device.Float16)
	for h, got := range dst {
		if want := device.FP16Float32(uint16(h)); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("widen(%#04x) = %g (%#08x), want %g (%#08x)", h, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
}
