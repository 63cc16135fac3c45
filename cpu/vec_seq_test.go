package cpu

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// The vector sigmoid, tanh and tanh-approximated GELU (and its derivative) of every
// variant against float64 over [-20, 20] on a fine grid, and on the edges: exp overflow
// in sigmoid, tanh's polynomial branch near 0, ±Inf, NaN; in place as out of place.
func TestVecSigmoidTanhGELU(t *testing.T) {
	var x []float32
	for v := float32(-20); v <= 20; v += 0.000913 {
		x = append(x, v)
	}
	edges := []float32{0, -0.0, 1e-30, -1e-30, 1e-8, 0.2499, 0.25, 0.2501, -0.25, 8.99, 9, 9.01, -9.01,
		50, -50, 87, -87, 88.8, -88.8, 100, -100, 1e6, -1e6,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	x = append(x, edges...)
	const beta, kappa = 0.7978845608028654, 0.044715
	for _, v := range vecAvailable {
		for _, n := range []int{len(x), len(x) - 5} { // a tail for the Go loop too
			xs := x[:n]
			sig, th, gl, dgl := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
			v.sigmoid(sig, xs)
			v.tanh(th, xs)
			v.geluTanh(gl, xs)
			ones := make([]float32, n)
			for i := range ones {
				ones[i] = 1
			}
			v.geluTanhBackward(dgl, xs, ones)
			for i, xi := range xs {
				xf := float64(xi)
				if math.IsNaN(xf) {
					for _, got := range []float32{sig[i], th[i], gl[i], dgl[i]} {
						require.True(t, math.IsNaN(float64(got)), "%s: NaN in, %v out", v.name, got)
					}
					continue
				}
				require.InDelta(t, 1/(1+math.Exp(-xf)), float64(sig[i]), 1.2e-7, "%s sigmoid(%v)", v.name, xi)
				if s := 1 / (1 + math.Exp(-xf)); s > 1e-30 {
					require.InEpsilon(t, s, float64(sig[i]), 3e-7, "%s sigmoid(%v)", v.name, xi)
				}
				wt := math.Tanh(xf)
				require.InDelta(t, wt, float64(th[i]), 1.2e-7, "%s tanh(%v)", v.name, xi)
				if wt != 0 {
					require.InEpsilon(t, wt, float64(th[i]), 1e-6, "%s tanh(%v)", v.name, xi)
				} else {
					require.Zero(t, th[i], "%s tanh(%v)", v.name, xi)
				}
				if math.IsInf(xf, 0) {
					continue // gelu's x*(1+tanh) is NaN or ±Inf there, as in float64
				}
				u := beta * (xf + kappa*xf*xf*xf)
				tu := math.Tanh(u)
				wg := xf / 2 * (1 + tu)
				wd := (1+tu)/2 + xf/2*(1-tu*tu)*beta*(1+3*kappa*xf*xf)
				require.InDelta(t, wg, float64(gl[i]), 2e-7*max(1, math.Abs(xf)), "%s gelu_tanh(%v)", v.name, xi)
				require.InDelta(t, wd, float64(dgl[i]), 2e-6*max(1, xf*xf), "%s gelu_tanh'(%v)", v.name, xi)
			}
			// In place: the same values.
			for name, f := range map[string]func(y, x []float32){"sigmoid": v.sigmoid, "tanh": v.tanh, "gelu_tanh": v.geluTanh} {
				want := make([]float32, 100)
				f(want, xs[:100])
				y := slices.Clone(xs[:100])
				f(y, y)
				require.Equal(t, want, y, "%s %s in place", v.name, name)
			}
			dy := slices.Clone(ones[:100])
			v.geluTanhBackward(dy, xs[:100], dy)
			require.Equal(t, dgl[:100], dy, "%s gelu_tanh backward in place", v.name)
		}
	}
}
