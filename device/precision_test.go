package device_test

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
)

// Hand-worked cases at the edges of each format: ties (to even), overflow, subnormals,
// signed zeros, NaN.
func TestRoundingKnownAnswers(t *testing.T) {
	p2 := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	inf := float32(math.Inf(1))
	for _, c := range []struct {
		name    string
		round   func(float32) float32
		x, want float32
	}{
		// bfloat16: 8 significant bits, float32's exponent
		{"bf16 exact", device.RoundBF16, 1.5, 1.5},
		{"bf16 tie down to even", device.RoundBF16, 1 + p2(-8), 1},
		{"bf16 tie up to even", device.RoundBF16, 1 + 3*p2(-8), 1 + p2(-6)},
		{"bf16 above the tie", device.RoundBF16, 1 + p2(-8) + p2(-20), 1 + p2(-7)},
		{"bf16 negative", device.RoundBF16, -(1 + 3*p2(-8)), -(1 + p2(-6))},
		{"bf16 max float32 rounds to inf", device.RoundBF16, math.MaxFloat32, inf},
		{"bf16 largest finite", device.RoundBF16, math.Float32frombits(0x7f7f7fff), math.Float32frombits(0x7f7f0000)},
		{"bf16 subnormal kept", device.RoundBF16, p2(-130) + p2(-133), p2(-130) + p2(-133)},
		{"bf16 below the subnormal spacing", device.RoundBF16, p2(-140), 0},
		{"bf16 -0", device.RoundBF16, float32(math.Copysign(0, -1)), float32(math.Copysign(0, -1))},
		// binary16: 11 significant bits, exponents -14..15
		{"fp16 exact", device.RoundFP16, 0.1875, 0.1875},
		{"fp16 tie down to even", device.RoundFP16, 1 + p2(-11), 1},
		{"fp16 tie up to even", device.RoundFP16, 1 + 3*p2(-11), 1 + p2(-9)},
		{"fp16 max", device.RoundFP16, 65504, 65504},
		{"fp16 below the overflow tie", device.RoundFP16, 65519.996, 65504},
		{"fp16 overflow tie", device.RoundFP16, 65520, inf},
		{"fp16 overflow", device.RoundFP16, 1e6, inf},
		{"fp16 negative overflow", device.RoundFP16, -70000, -inf},
		{"fp16 smallest normal", device.RoundFP16, p2(-14), p2(-14)},
		{"fp16 smallest subnormal", device.RoundFP16, p2(-24), p2(-24)},
		{"fp16 subnormal rounding", device.RoundFP16, 3*p2(-25) + p2(-40), 2 * p2(-24)},
		{"fp16 half the smallest subnormal ties to 0", device.RoundFP16, p2(-25), 0},
		{"fp16 1.5 smallest subnormal ties to 2", device.RoundFP16, 3 * p2(-25), 2 * p2(-24)},
		{"fp16 just above half the smallest", device.RoundFP16, p2(-25) + p2(-40), p2(-24)},
		{"fp16 underflow", device.RoundFP16, 1e-9, 0},
		{"fp16 largest subnormal to smallest normal", device.RoundFP16, p2(-14) - p2(-26), p2(-14)},
		{"fp16 -0", device.RoundFP16, float32(math.Copysign(0, -1)), float32(math.Copysign(0, -1))},
		// TF32: 11 significant bits, float32's exponent
		{"tf32 tie down to even", device.RoundTF32, 1 + p2(-11), 1},
		{"tf32 tie up to even", device.RoundTF32, 1 + 3*p2(-11), 1 + p2(-9)},
		{"tf32 large values stay finite", device.RoundTF32, 1e30, roundNearestRef(1e30, 11, -136, true)},
		{"tf32 max float32 rounds to inf", device.RoundTF32, math.MaxFloat32, inf},
	} {
		got := c.round(c.x)
		assert.Equal(t, math.Float32bits(c.want), math.Float32bits(got), "%s: round(%g) = %g, want %g", c.name, c.x, got, c.want)
	}
	for _, r := range []func(float32) float32{device.RoundBF16, device.RoundFP16, device.RoundTF32} {
		assert.True(t, math.IsNaN(float64(r(float32(math.NaN())))))
		assert.True(t, math.IsInf(float64(r(inf)), 1))
		assert.True(t, math.IsInf(float64(r(-inf)), -1))
	}
	// a NaN whose payload lies only in the dropped bits stays a NaN
	nan := math.Float32frombits(0x7f800001)
	assert.True(t, math.IsNaN(float64(device.RoundBF16(nan))))
	assert.True(t, math.IsNaN(float64(device.RoundFP16(nan))))
	assert.Equal(t, uint16(0xffc0), device.BF16Bits(math.Float32frombits(0xff800001)), "negative NaN keeps its sign")
}

// roundNearestRef rounds x to the nearest value with sig significant bits whose exponent
// is at least minExp (the spacing below that is 2^minExp: subnormals), ties to even, by
// arithmetic in float64: the definition the bit manipulations are checked against. With
// wide (float32's exponent range), values past the largest finite become Inf.
func roundNearestRef(x float32, sig, minExp int, wide bool) float32 {
	v := float64(x)
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return x
	}
	_, e := math.Frexp(math.Abs(v)) // |v| = f·2^e, f in [0.5, 1)
	spacing := math.Ldexp(1, max(e-sig, minExp))
	q := v / spacing
	fl := math.Floor(q)
	r := fl
	switch d := q - fl; {
	case d > 0.5:
		r = fl + 1
	case d == 0.5 && math.Mod(fl, 2) != 0:
		r = fl + 1
	}
	out := math.Copysign(r*spacing, v)
	maxFinite := math.Ldexp(2-math.Ldexp(1, 1-sig), 127)
	if !wide {
		maxFinite = 65504
	}
	if math.Abs(out) > maxFinite {
		return float32(math.Copysign(math.Inf(1), v))
	}
	return float32(out)
}

// The bit manipulations against the float64 definition on random float32 values of
// every magnitude, and on every value halfway between two neighbours of a sample of the
// format's values (where ties decide).
func TestRoundingMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	formats := []struct {
		name   string
		round  func(float32) float32
		sig    int
		minExp int
		wide   bool
	}{
		{"bf16", device.RoundBF16, 8, -126 - 7, true}, // subnormals below 2^-126, as float32's
		{"tf32", device.RoundTF32, 11, -126 - 10, true},
		{"fp16", device.RoundFP16, 11, -24, false},
	}
	for _, f := range formats {
		bad := 0
		check := func(x float32) {
			want := roundNearestRef(x, f.sig, f.minExp, f.wide)
			if got := f.round(x); math.Float32bits(got) != math.Float32bits(want) {
				if bad < 5 {
					t.Errorf("%s: round(%g = %#08x) = %g, want %g", f.name, x, math.Float32bits(x), got, want)
				}
				bad++
			}
		}
		for range 200000 {
			x := math.Float32frombits(rng.Uint32())
			if math.IsNaN(float64(x)) {
				continue
			}
			check(x)
		}
		for range 20000 {
			// ties: a representable value plus half a spacing
			x := f.round(float32(math.Ldexp(rng.Float64()+0.5, rng.IntN(40)-20)))
			if x == 0 || math.IsInf(float64(x), 0) {
				continue
			}
			_, e := math.Frexp(float64(x))
			half := math.Ldexp(1, max(e-f.sig, f.minExp)-1)
			if tie := float32(float64(x) + half); float64(tie) == float64(x)+half {
				check(tie)
				check(-tie)
			}
		}
		assert.Zero(t, bad, "%s: %d values rounded differently from the definition", f.name, bad)
	}
}

// Every binary16 and bfloat16 value converts to float32 and back to itself, and the
// binary16 values in order are increasing (the decoding of exponents and subnormals).
func TestHalfRoundTrip(t *testing.T) {
	var finite []float64
	for h := range 1 << 16 {
		for _, dt := range []device.DType{device.Float16, device.BFloat16} {
			f := device.HalfFloat32(dt, uint16(h))
			if math.IsNaN(float64(f)) {
				require.True(t, math.IsNaN(float64(device.HalfFloat32(dt, device.HalfBits(dt, f)))), "%s %#04x", dt, h)
				continue
			}
			require.Equal(t, uint16(h), device.HalfBits(dt, f), "%s %#04x -> %g", dt, h, f)
		}
		if f := device.FP16Float32(uint16(h)); h < 0x7c00 {
			finite = append(finite, float64(f))
		}
	}
	assert.True(t, sort.Float64sAreSorted(finite))
	assert.Equal(t, 65504.0, finite[len(finite)-1])
	assert.Equal(t, math.Ldexp(1, -24), finite[1])
}

func TestPrecisionNamesAndTypes(t *testing.T) {
	for p := device.FP32; p <= device.LastPrecision; p++ {
		q, err := device.ParsePrecision(p.String())
		require.NoError(t, err)
		assert.Equal(t, p, q)
		b, err := p.MarshalText()
		require.NoError(t, err)
		var r device.Precision
		require.NoError(t, r.UnmarshalText(b))
		assert.Equal(t, p, r)
	}
	_, err := device.ParsePrecision("fp8")
	assert.ErrorContains(t, err, `unknown precision "fp8" (want fp32, tf32, bf16 or fp16)`)
	assert.Equal(t, device.BFloat16, device.BF16.Half())
	assert.Equal(t, device.Float16, device.FP16.Half())
	assert.Equal(t, device.Float32, device.TF32.Half())
	assert.Equal(t, 2, device.BFloat16.Size())
	assert.Equal(t, "float16", device.Float16.String())
	assert.Equal(t, float32(1), device.BF16.Round(1+1.0/256))
	assert.Equal(t, float32(1+1.0/256), device.FP32.Round(1+1.0/256))
}
