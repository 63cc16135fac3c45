package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
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

// The row primitives of every variant against float64 sums and the Go loops, on every
// tail length: reductions within float32 rounding of a sum of n terms, elementwise passes
// within a few ulps (fused multiply-adds), masked tails leaving the rest of the output
// untouched.
func TestVecRowPrimitives(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, v := range vecAvailable {
		for _, n := range append(vecLengths, 128, 129, 255) {
			x, dy, gamma, beta := randSlice(r, n), randSlice(r, n), randSlice(r, n), randSlice(r, n)
			for i := range x {
				x[i] += 3 // a mean away from 0
			}
			var sum, sq float64
			mx := float32(math.Inf(-1))
			for _, xi := range x {
				sum += float64(xi)
				mx = max(mx, xi)
			}
			m := float32(sum / max(float64(n), 1))
			for _, xi := range x {
				d := float64(xi) - float64(m)
				sq += d * d
			}
			name := fmt.Sprintf("%s n=%d", v.name, n)
			require.InDelta(t, sum, float64(v.sum(x)), 1e-6*float64(n+1)*4, "%s sum", name)
			require.InDelta(t, sq, float64(v.sumSqDev(x, m)), 1e-6*float64(n+1), "%s sumSqDev", name)
			require.Equal(t, mx, v.maxOf(x), "%s max", name)

			const s = 1.7
			guard := float32(-7) // one past the end must stay untouched
			for _, withBeta := range []bool{false, true} {
				want, got := make([]float32, n+1), make([]float32, n+1)
				want[n], got[n] = guard, guard
				b := beta
				if !withBeta {
					b = nil
				}
				normAffineGo(want[:n], x, gamma, b, m, s)
				v.normAffine(got[:n], x, gamma, b, m, s)
				closeSlices(t, name+" normAffine", want, got, 1e-6, 1e-6)
			}

			ea0, ea1 := make([]float32, n+1), make([]float32, n+1)
			ea0[n], ea1[n] = guard, guard
			expAffineGo(ea0[:n], x, -0.8, 1.5)
			v.expAffine(ea1[:n], x, -0.8, 1.5)
			closeSlices(t, name+" expAffine", ea0, ea1, 0, 1e-6) // a*x+b fused or not

			pg0, pb0 := randSlice(r, n+1), randSlice(r, n+1)
			pg1, pb1 := slices.Clone(pg0), slices.Clone(pb0)
			sg0, sgx0 := lnGradSumsGo(x, dy, gamma, pg0[:n], pb0[:n], m, s)
			sg1, sgx1 := v.lnGradSums(x, dy, gamma, pg1[:n], pb1[:n], m, s)
			require.InDelta(t, sg0, sg1, 1e-5*float64(n+1), "%s lnGradSums Σg", name)
			require.InDelta(t, sgx0, sgx1, 1e-5*float64(n+1), "%s lnGradSums Σg*h", name)
			closeSlices(t, name+" lnGradSums pg", pg0, pg1, 1e-6, 1e-6)
			closeSlices(t, name+" lnGradSums pb", pb0, pb1, 0, 0)

			dx0, dx1 := make([]float32, n+1), make([]float32, n+1)
			dx0[n], dx1[n] = guard, guard
			lnGradDXGo(dx0[:n], x, dy, gamma, m, s, 0.3, -0.2)
			v.lnGradDX(dx1[:n], x, dy, gamma, m, s, 0.3, -0.2)
			closeSlices(t, name+" lnGradDX", dx0, dx1, 1e-6, 1e-6)
		}
	}
}

// The recurrent cells' backward rows of every variant against the Go loops, on hidden
// sizes with every tail, outputs in place of their inputs where the op allows it.
func TestVecRNNBackwardRows(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, v := range vecAvailable {
		for _, n := range []int{1, 7, 16, 17, 33, 128, 129} {
			name := fmt.Sprintf("%s hidden=%d", v.name, n)
			acts4, cp, tc, dh, dc := randSlice(r, 4*n), randSlice(r, n), randSlice(r, n), randSlice(r, n), randSlice(r, n)
			dgx0, dgx1 := randSlice(r, 4*n+1), make([]float32, 4*n+1)
			copy(dgx1, dgx0)
			dcp0, dcp1 := slices.Clone(dc), slices.Clone(dc) // dcPrev in place of dc
			lstmBackwardGo(acts4, cp, tc, dh, dcp0, dgx0[:4*n], dcp0)
			v.lstmBackward(acts4, cp, tc, dh, dcp1, dgx1[:4*n], dcp1)
			closeSlices(t, name+" lstm dgx", dgx0, dgx1, 1e-6, 1e-5)
			closeSlices(t, name+" lstm dcprev", dcp0, dcp1, 1e-6, 1e-5)

			acts3, gh, hp := randSlice(r, 3*n), randSlice(r, 3*n), randSlice(r, n)
			dgx0, dgx1 = randSlice(r, 3*n+1), make([]float32, 3*n+1)
			copy(dgx1, dgx0)
			dgh0, dgh1 := randSlice(r, 3*n+1), make([]float32, 3*n+1)
			copy(dgh1, dgh0)
			dh0, dh1 := slices.Clone(dh), slices.Clone(dh) // dhPrev in place of dh
			gruBackwardGo(acts3, gh, hp, dh0, dgx0[:3*n], dgh0[:3*n], dh0)
			v.gruBackward(acts3, gh, hp, dh1, dgx1[:3*n], dgh1[:3*n], dh1)
			closeSlices(t, name+" gru dgx", dgx0, dgx1, 1e-6, 1e-5)
			closeSlices(t, name+" gru dgh", dgh0, dgh1, 1e-6, 1e-5)
			closeSlices(t, name+" gru dhprev", dh0, dh1, 1e-6, 1e-5)
		}
	}
}

// The exact GELU and its derivative, of every variant, against float64's
// x/2*(1+erf(x/√2)) over [-20, 20] on a fine grid and on the edges, in place as out of
// place: within 1e-6 relative (the left tail included, where y is tiny) and 1e-10
// absolute.
func TestVecGELUExact(t *testing.T) {
	var x []float32
	for v := float32(-20); v <= 20; v += 0.000731 {
		x = append(x, v)
	}
	x = append(x, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e-8, -1e-8, 9, -9, 13.2, -13.2, 14, -14, 50, -50,
		88.8, -88.8, 1e6, -1e6, float32(math.Inf(-1)), float32(math.NaN()))
	for _, v := range vecAvailable {
		for _, n := range []int{len(x), len(x) - 5} {
			xs := x[:n]
			y, d := make([]float32, n), make([]float32, n)
			ones := make([]float32, n)
			for i := range ones {
				ones[i] = 1
			}
			v.gelu(y, xs)
			v.geluBackward(d, xs, ones)
			for i, xi := range xs {
				xf := float64(xi)
				switch {
				case math.IsNaN(xf):
					require.True(t, math.IsNaN(float64(y[i])) && math.IsNaN(float64(d[i])), "%s: NaN in, %v and %v out", v.name, y[i], d[i])
					continue
				case math.IsInf(xf, -1):
					require.True(t, math.IsNaN(float64(y[i])) || y[i] == 0, "%s gelu(-Inf) = %v", v.name, y[i])
					continue
				}
				cdf := (1 + math.Erf(xf/math.Sqrt2)) / 2
				wy := xf * cdf
				wd := cdf + xf*math.Exp(-xf*xf/2)/math.Sqrt(2*math.Pi)
				require.InDelta(t, wy, float64(y[i]), 1e-6*math.Abs(wy)+1e-10, "%s gelu(%v)", v.name, xi)
				require.InDelta(t, wd, float64(d[i]), 1e-6*math.Max(1, math.Abs(wd))+1e-10, "%s gelu'(%v)", v.name, xi)
			}
			want := slices.Clone(y[:100])
			in := slices.Clone(xs[:100])
			v.gelu(in, in)
			require.Equal(t, want, in, "%s gelu in place", v.name)
			dy := slices.Clone(ones[:100])
			v.geluBackward(dy, xs[:100], dy)
			require.Equal(t, d[:100], dy, "%s gelu backward in place", v.name)
		}
	}
}
