package cpu

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// expf against math.Exp over its whole finite range, on a dense grid plus the edges.
func TestExpfAccuracy(t *testing.T) {
	worst, at := 0.0, float32(0)
	for x := float32(-87.3); x <= 88.7; x += 0.000731 {
		want := math.Exp(float64(x))
		if rel := math.Abs(float64(expf(x))-want) / want; rel > worst {
			worst, at = rel, x
		}
	}
	// 1.5 float32 ulps (2^-23 each, relative) at worst.
	assert.Less(t, worst, 1.5*math.Pow(2, -23), "max relative error %.3g at x = %v", worst, at)
	assert.Equal(t, float32(1), expf(0))
	assert.InEpsilon(t, math.MaxFloat32*0.99999, float64(expf(88.72283)), 1e-5, "largest finite result")
	assert.True(t, math.IsInf(float64(expf(88.73)), 1))
	assert.True(t, math.IsInf(float64(expf(float32(math.Inf(1)))), 1))
	assert.Zero(t, expf(-88))
	assert.Zero(t, expf(float32(math.Inf(-1))))
	assert.True(t, math.IsNaN(float64(expf(float32(math.NaN())))))
}

func TestTanhfAccuracy(t *testing.T) {
	worstAbs, worstRel := 0.0, 0.0
	for x := float32(-10); x <= 10; x += 0.000377 {
		want := math.Tanh(float64(x))
		d := math.Abs(float64(tanhf(x)) - want)
		worstAbs = max(worstAbs, d)
		if want != 0 {
			worstRel = max(worstRel, d/math.Abs(want))
		}
	}
	assert.Less(t, worstAbs, 1.2e-7, "max absolute error")
	assert.Less(t, worstRel, 1e-6, "max relative error")
	for _, x := range []float32{1e-30, -1e-20, 1e-8, 0.2499} {
		assert.InEpsilon(t, math.Tanh(float64(x)), float64(tanhf(x)), 1e-6, "tanh(%v)", x)
	}
	assert.Equal(t, float32(0), tanhf(0))
	assert.Equal(t, float32(1), tanhf(float32(math.Inf(1))))
	assert.Equal(t, float32(-1), tanhf(-50))
	assert.True(t, math.IsNaN(float64(tanhf(float32(math.NaN())))))
}
