package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
)

// vecLengths cover empty slices, tails of every length around both vector widths, and
// long runs.
var vecLengths = []int{0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 64, 1000, 1031}

// closeSlices asserts |got-want| <= atol + rtol*|want| elementwise (NaN matches NaN).
func closeSlices(t *testing.T, name string, want, got []float32, atol, rtol float64) {
	t.Helper()
	require.Len(t, got, len(want), name)
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		if math.IsNaN(w) || math.IsNaN(g) {
			require.Equal(t, math.IsNaN(w), math.IsNaN(g), "%s [%d]: got %v, want %v", name, i, g, w)
			continue
		}
		if g == w {
			continue // infinities too
		}
		if !(math.Abs(g-w) <= atol+rtol*math.Abs(w)) {
			t.Fatalf("%s [%d of %d]: got %v, want %v (|diff| %.3g)", name, i, len(want), g, w, math.Abs(g-w))
		}
	}
}

// Every primitive of every variant against the Go loops (the definition), on lengths
// with every tail. Ops that round once must agree bit for bit (±0 aside); the fused
// multiply-adds within a few float32 ulps.
func TestVecVariants(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, v := range vecAvailable {
		for _, n := range vecLengths {
			t.Run(fmt.Sprintf("%s/n=%d", v.name, n), func(t *testing.T) {
				x, a, b := randSlice(r, n), randSlice(r, n), randSlice(r, n)
				for i := 0; i < n; i += 5 {
					x[i] = 0 // the kink of relu and selectPos
				}

				// adam and adamw, three steps, against adamGo.
				for _, decay := range []float32{0, -1e-3 * 0.01} {
					c := &adamConsts{b1: 0.9, c1: 0.1, b2: 0.999, c2: 1 - 0.999, alpha: 1e-3, eps: 1e-7, decay: decay}
					p0, m0, v0 := slices.Clone(x), make([]float32, n), make([]float32, n)
					p1, m1, v1 := slices.Clone(x), make([]float32, n), make([]float32, n)
					for range 3 {
						g := randSlice(r, n)
						adamGo(p0, g, m0, v0, c)
						v.adam(p1, g, m1, v1, c)
					}
					closeSlices(t, "adam p", p0, p1, 1e-6, 1e-5)
					closeSlices(t, "adam m", m0, m1, 1e-7, 1e-5)
					closeSlices(t, "adam v", v0, v1, 1e-9, 1e-5)
				}

				// momentum, plain and Nesterov.
				for _, nesterov := range []bool{false, true} {
					p0, m0 := slices.Clone(x), make([]float32, n)
					p1, m1 := slices.Clone(x), make([]float32, n)
					for range 3 {
						g := randSlice(r, n)
						momentumGo(p0, g, m0, 0.9, 0.05, nesterov)
						v.momentum(p1, g, m1, 0.9, 0.05, nesterov)
					}
					closeSlices(t, fmt.Sprintf("momentum nesterov=%v p", nesterov), p0, p1, 1e-6, 1e-5)
					closeSlices(t, fmt.Sprintf("momentum nesterov=%v m", nesterov), m0, m1, 1e-6, 1e-5)
				}

				// axpby: beta 0 must not read y (NaN there), 1, -1 and a general beta.
				for _, beta := range []float32{0, 1, -1, 0.25} {
					y0, y1 := slices.Clone(b), slices.Clone(b)
					if beta == 0 {
						for i := range y1 {
							y1[i] = float32(math.NaN())
						}
					}
					axpbyGo(y0, a, 1.5, beta)
					v.axpby(y1, a, 1.5, beta)
					closeSlices(t, fmt.Sprintf("axpby beta=%v", beta), y0, y1, 1e-6, 1e-6)
				}

				// binary ops round once: exact.
				for _, op := range []device.BinaryOp{device.Add, device.Sub, device.Mul, device.Div} {
					c0, c1 := make([]float32, n), make([]float32, n)
					binaryGo(op, c0, a, b)
					v.binary(op, c1, a, b)
					closeSlices(t, "binary "+op.String(), c0, c1, 0, 0)
					// In place, c aliasing a.
					c1 = slices.Clone(a)
					v.binary(op, c1, c1, b)
					closeSlices(t, "binary in place "+op.String(), c0, c1, 0, 0)
				}

				// widenU8: one rounding, exact.
				u := make([]uint8, n)
				for i := range u {
					u[i] = uint8(r.IntN(256))
				}
				w0, w1 := make([]float32, n), make([]float32, n)
				widenU8Go(w0, u, 1.0/255)
				v.widenU8(w1, u, 1.0/255)
				closeSlices(t, "widenU8", w0, w1, 0, 0)

				// relu keeps NaN; selectPos with p = 0 gives 0 (not NaN) for infinite a.
				xs := slices.Clone(x)
				as := slices.Clone(a)
				if n > 3 {
					xs[1], xs[2], xs[3] = float32(math.NaN()), float32(math.Inf(-1)), -0.5
					as[3] = float32(math.Inf(1))
				}
				y0, y1 := make([]float32, n), make([]float32, n)
				reluGo(y0, xs)
				v.relu(y1, xs)
				closeSlices(t, "relu", y0, y1, 0, 0)
				for _, p := range []float32{0, 0.05} {
					selectPosGo(y0, xs, as, p)
					v.selectPos(y1, xs, as, p)
					closeSlices(t, fmt.Sprintf("selectPos p=%v", p), y0, y1, 0, 0)
				}
			})
		}
	}
}

// The optimizer primitives flush denormal state to zero: m of a weight whose gradient
// stays 0 decays by β1 a step and would otherwise spend dozens of steps as a denormal.
func TestVecOptimizerFlushesDenormals(t *testing.T) {
	const n = 37
	for _, v := range vecAvailable {
		p, g := make([]float32, n), make([]float32, n)
		m, vv := make([]float32, n), make([]float32, n)
		for i := range m {
			m[i], vv[i] = 1.2e-38, 1e-30 // m just above 2^-126 ≈ 1.18e-38: 0.9*m is denormal
		}
		c := &adamConsts{b1: 0.9, c1: 0.1, b2: 0.999, c2: 1 - 0.999, alpha: 1e-3, eps: 1e-7}
		v.adam(p, g, m, vv, c)
		assert.Equal(t, make([]float32, n), m, "%s: adam m", v.name)
		for i := range m {
			m[i] = 1.2e-38
		}
		v.momentum(p, g, m, 0.5, 0.1, false)
		assert.Equal(t, make([]float32, n), m, "%s: momentum m", v.name)
	}
}

func TestVecVariantSelection(t *testing.T) {
	require.NotEmpty(t, vecAvailable)
	assert.Equal(t, "go", vecAvailable[len(vecAvailable)-1].name, "the Go loops are always available, last")
	for _, v := range vecAvailable {
		got, err := vecVariantNamed(v.name)
		require.NoError(t, err)
		assert.Same(t, v, got)
	}
	_, err := vecVariantNamed("sse9")
	assert.ErrorContains(t, err, `"sse9"`)
}

// The vector exp of every variant against math.Exp over the whole finite range (as
// TestExpfAccuracy holds expf), and on the edges: overflow to +Inf, no denormal
// results, NaN.
func TestVecExp(t *testing.T) {
	var x []float32
	for v := float32(-87.3); v <= 88.7; v += 0.00731 {
		x = append(x, v)
	}
	edges := []float32{0, -0.0, 88.72283, 88.7229, 88.73, 100, -87.33654, -87.3366, -88, -104, -1000,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-30, -1e-30}
	x = append(x, edges...)
	for _, v := range vecAvailable {
		for _, n := range []int{len(x), len(x) - 5} { // a tail for the Go loop too
			y := make([]float32, n)
			v.exp(y, x[:n])
			for i, xi := range x[:n] {
				want := math.Exp(float64(xi))
				got := float64(y[i])
				switch {
				case math.IsNaN(float64(xi)):
					require.True(t, math.IsNaN(got), "%s exp(NaN) = %v", v.name, got)
				case xi > 88.72283:
					require.True(t, math.IsInf(got, 1), "%s exp(%v) = %v, want +Inf", v.name, xi, got)
				case xi < -87.33654:
					require.Zero(t, got, "%s exp(%v): no denormal results", v.name, xi)
				default:
					require.InEpsilon(t, want, got, 1.5*math.Pow(2, -23), "%s exp(%v)", v.name, xi)
				}
			}
		}
		// In place: the same values as out of place.
		want := make([]float32, 100)
		v.exp(want, x[:100])
		y := slices.Clone(x[:100])
		v.exp(y, y)
		require.Equal(t, want, y, "%s in place", v.name)
	}
}

// biasReLU of every variant against the Go loops (one rounding per add: exact), on
// blocks with row padding that must stay untouched, every column tail, with and without
// the bias and the ReLU.
func TestVecBiasReLU(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for _, v := range vecAvailable {
		for _, cols := range []int{1, 7, 10, 15, 16, 17, 33, 64, 128} {
			rows, ldc := 5, cols+3
			c := randSlice(r, rows*ldc)
			bias := randSlice(r, cols)
			for _, withBias := range []bool{false, true} {
				for _, relu := range []bool{false, true} {
					b := bias
					if !withBias {
						b = nil
					}
					want, got := slices.Clone(c), slices.Clone(c)
					biasReLUGo(want, ldc, rows, cols, b, relu)
					v.biasReLU(got, ldc, rows, cols, b, relu)
					closeSlices(t, fmt.Sprintf("%s biasReLU cols=%d bias=%v relu=%v", v.name, cols, withBias, relu), want, got, 0, 0)
				}
			}
		}
	}
}
