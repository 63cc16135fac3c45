package devicetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
)

// dropoutHost is DropoutMask computed on the host from its documented rule.
func dropoutHost(n int, rate float32, seed, offset uint64) []float32 {
	mask := make([]float32, n)
	th, scale := device.DropThreshold(rate), device.DropScale(rate)
	for i := range mask {
		if device.PhiloxUint32(seed, offset, i)>>8 >= th {
			mask[i] = scale
		}
	}
	return mask
}

// augmentHost is Augment computed on the host from device.AugmentArgs' rule.
func augmentHost(x []float32, a device.AugmentArgs) []float32 {
	y := make([]float32, len(x))
	span := uint32(2*a.MaxShift + 1)
	for n := range a.N {
		w := device.PhiloxBlock(a.Seed, a.Offset+uint64(n))
		dx, dy := int(w[0]%span)-a.MaxShift, int(w[1]%span)-a.MaxShift
		flip := a.FlipH && w[2]&1 == 1
		for c := range a.C {
			for r := range a.H {
				for col := range a.W {
					sr, sc := r-dy, col-dx
					if sr < 0 || sr >= a.H || sc < 0 || sc >= a.W {
						continue
					}
					if flip {
						sc = a.W - 1 - sc
					}
					y[((n*a.C+c)*a.H+r)*a.W+col] = x[((n*a.C+c)*a.H+sr)*a.W+sc]
				}
			}
		}
	}
	return y
}

func randomOps(t *testing.T, b device.Backend) {
	t.Run("dropout", func(t *testing.T) {
		d := dev{t, b}
		for _, c := range []struct {
			n            int
			rate         float32
			seed, offset uint64
		}{
			{1, 0.5, 0, 0}, {3, 0.5, 42, 0}, {4, 0.1, 42, 1}, {5, 0.9, 7, 5}, {17, 0.5, 1 << 40, 1 << 33},
			{1001, 0.25, 123456789, 77}, {40003, 0.3, 99, 12345}, {64, 0, 1, 0}, {65537, 0.5, 0xdead_beef_cafe, 3},
		} {
			mask := d.f32(nans(c.n)...)
			require.NoError(t, b.DropoutMask(mask, c.rate, c.seed, c.offset))
			got, want := d.read(mask), dropoutHost(c.n, c.rate, c.seed, c.offset)
			AssertClose(t, fmt.Sprintf("dropout rate %v seed %#x offset %d", c.rate, c.seed, c.offset), fmt.Sprintf("[%d]", c.n), want, got, 0, 0)
		}
		// The kept fraction is 1-rate, and the mask's mean stays 1.
		const n = 100000
		for _, rate := range []float32{0.2, 0.5} {
			mask := d.alloc(device.Float32, n)
			require.NoError(t, b.DropoutMask(mask, rate, 2024, 0))
			kept, sum := 0, 0.0
			for _, v := range d.read(mask) {
				if v != 0 {
					kept++
				}
				sum += float64(v)
			}
			assert.InDelta(t, 1-rate, float64(kept)/n, 0.01, "kept fraction at rate %v", rate)
			assert.InDelta(t, 1, sum/n, 0.02, "mask mean at rate %v", rate)
		}
	})

	t.Run("augment", func(t *testing.T) {
		d, rng := dev{t, b}, newRand(21)
		for _, a := range []device.AugmentArgs{
			{N: 5, C: 2, H: 6, W: 7, MaxShift: 2, FlipH: true, Seed: 1, Offset: 0},
			{N: 3, C: 1, H: 5, W: 4, MaxShift: 3, FlipH: false, Seed: 99, Offset: 1 << 20},
			{N: 40, C: 3, H: 9, W: 8, MaxShift: 1, FlipH: true, Seed: 0xfeed, Offset: 7},
			{N: 64, C: 1, H: 28, W: 28, MaxShift: 2, FlipH: true, Seed: 5, Offset: 11},
		} {
			x := uniform(rng, a.N*a.C*a.H*a.W, -1, 1)
			y := d.f32(nans(len(x))...)
			require.NoError(t, b.Augment(d.f32(x...), y, a))
			AssertClose(t, fmt.Sprintf("augment shift %d flip %v seed %d offset %d", a.MaxShift, a.FlipH, a.Seed, a.Offset),
				fmt.Sprintf("(%d,%d,%d,%d)", a.N, a.C, a.H, a.W), augmentHost(x, a), d.read(y), 0, 0)
		}
	})
}
