package cpu

import (
	"math"
	"math/rand/v2"
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

// narrow's F16C path (where the CPU has it) gives device.FP16Bits's bits: random float32
// patterns of every kind (NaNs with payloads, infinities, subnormals, values rounding
// to 65504 or to Inf, ties of both formats), at a length that leaves a tail for the Go
// loop.
func TestNarrowFloat16MatchesFP16Bits(t *testing.T) { narrowMatches(t, device.Float16) }

// narrow's AVX-512 bfloat16 path gives device.BF16Bits's bits, on the same patterns.
func TestNarrowBFloat16MatchesBF16Bits(t *testing.T) { narrowMatches(t, device.BFloat16) }

// narrowMatches checks narrow into dt against device.HalfBits on random patterns.
func narrowMatches(t *testing.T, dt device.DType) {
	rng := rand.New(rand.NewPCG(3, 4))
	src := make([]float32, 1<<20+5)
	for i := range src {
		switch i % 4 {
		case 0: // any pattern
			src[i] = math.Float32frombits(rng.Uint32())
		case 1: // binary16's range, ties included (13 low bits 0x1000)
			src[i] = math.Float32frombits(uint32(rng.IntN(0x4780_0000))&^0x1fff | 0x1000 | rng.Uint32()&0x8000_0000)
		case 2: // bfloat16 ties (16 low bits 0x8000), any exponent
			src[i] = math.Float32frombits(rng.Uint32()&^0xffff | 0x8000)
		default: // near binary16's range
			src[i] = float32(math.Ldexp(rng.Float64()*2-1, rng.IntN(50)-30))
		}
	}
	got := make([]uint16, len(src))
	narrow(got, src, dt)
	for i, v := range src {
		if want := device.HalfBits(dt, v); got[i] != want {
			t.Fatalf("narrow to %s (%g = %#08x) = %#04x, want %#04x", dt, v, math.Float32bits(v), got[i], want)
		}
	}
}
