package devicetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
)

// Gradient checks: every backward op against central differences of its forward op on
// the same backend. The scalar objective is L(x) = sum_k w[k]*f(x)[k] with random weights
// w, summed in float64 from the float32 outputs; the analytic gradient is the backward op
// fed dy = w.

// fdStep is the central-difference step: large enough that float32 rounding of the
// forward op (about 1e-7 relative) stays below the tolerance, small enough that the
// truncation error (h²/6 * f”') does too.
const fdStep = 1e-2

// numericGrad returns dL/dx[i] for every i by central differences, where loss(x) runs the
// forward op on x and returns L. x is restored afterwards.
func numericGrad(x []float32, loss func(x []float32) float64) []float32 {
	g := make([]float32, len(x))
	for i, xi := range x {
		hi, lo := float32(float64(xi)+fdStep), float32(float64(xi)-fdStep)
		x[i] = hi
		lp := loss(x)
		x[i] = lo
		lm := loss(x)
		x[i] = xi
		g[i] = float32((lp - lm) / (float64(hi) - float64(lo)))
	}
	return g
}

// dot is sum_k w[k]*y[k] in float64.
func dot(w, y []float32) float64 {
	var s float64
	for k := range w {
		s += float64(w[k]) * float64(y[k])
	}
	return s
}

// awayFrom returns n values uniform in [-r, r) at least gap away from every kink in kinks.
func awayFrom(rng *rand.Rand, n int, r, gap float64, kinks ...float64) []float32 {
	x := make([]float32, n)
	for i := range x {
	draw:
		for {
			v := (2*rng.Float64() - 1) * r
			for _, k := range kinks {
				if math.Abs(v-k) < gap {
					continue draw
				}
			}
			x[i] = float32(v)
			break
		}
	}
	return x
}

// spread returns n distinct values at least 0.1 apart in random order, so that a small
// step never changes which element of a window is the maximum.
func spread(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i, p := range rng.Perm(n) {
		x[i] = float32(p)*0.1 - float32(n)*0.05 + float32(rng.Float64()*0.02)
	}
	return x
}

func gradients(t *testing.T, b device.Backend) {
	tl := tol("gradient")
	check := func(t *testing.T, name, shape string, analytic, numeric []float32) {
		t.Helper()
		AssertClose(t, name+" vs central differences", shape, numeric, analytic, tl.Atol, tl.Rtol)
	}

	t.Run("unary", func(t *testing.T) {
		d, rng := dev{t, b}, newRand(11)
		const n = 24
		for _, op := range []device.UnaryOp{device.ReLU, device.LeakyReLU, device.Sigmoid, device.Tanh, device.GELU, device.GELUTanh} {
			x := awayFrom(rng, n, 3, 0.05, 0) // ReLU and LeakyReLU kink at 0
			w := uniform(rng, n, -1, 1)
			xb, yb := d.f32(x...), d.alloc(device.Float32, n)
			forward := func(x []float32) float64 {
				d.write(xb, x)
				require.NoError(t, b.Unary(op, xb, yb, 0.2))
				return dot(w, d.read(yb))
			}
			num := numericGrad(x, forward)
			forward(x)
			dx := d.alloc(device.Float32, n)
			require.NoError(t, b.UnaryBackward(op, xb, yb, d.f32(w...), dx, 0.2))
			check(t, op.String()+" backward", fmt.Sprintf("[%d]", n), d.read(dx), num)
		}
	})

	t.Run("softmax", func(t *testing.T) {
		d, rng := dev{t, b}, newRand(12)
		const rows, cols = 3, 7
		x, w := uniform(rng, rows*cols, -2, 2), uniform(rng, rows*cols, -1, 1)
		xb, yb := d.f32(x...), d.alloc(device.Float32, rows*cols)
		forward := func(x []float32) float64 {
			d.write(xb, x)
			require.NoError(t, b.Softmax(xb, yb, rows, cols))
			return dot(w, d.read(yb))
		}
		num := numericGrad(x, forward)
		forward(x)
		dx := d.alloc(device.Float32, rows*cols)
		require.NoError(t, b.SoftmaxBackward(yb, d.f32(w...), dx, rows, cols))
		check(t, "softmax backward", "3×7", d.read(dx), num)
	})

	t.Run("loss", func(t *testing.T) {
		d, rng := dev{t, b}, newRand(13)
		const rows, cols = 4, 5
		labels := []int32{0, 3, 4, 3}
		for _, op := range []device.LossOp{device.SoftmaxCrossEntropy, device.CrossEntropy, device.MSE, device.BinaryCrossEntropyWithLogits} {
			var x []float32
			a := device.LossArgs{Op: op, Rows: rows, Cols: cols, Scale: 0.7,
				Loss: d.alloc(device.Float32, rows), Grad: d.alloc(device.Float32, rows*cols)}
			switch op {
			case device.SoftmaxCrossEntropy:
				x = uniform(rng, rows*cols, -3, 3)
				a.Labels, a.Probs = d.i32(labels...), d.alloc(device.Float32, rows*cols)
			case device.CrossEntropy:
				x = uniform(rng, rows*cols, 0.1, 0.9) // inside the clamp
				a.Labels = d.i32(labels...)
			case device.MSE:
				x = uniform(rng, rows*cols, -2, 2)
				a.Target = d.f32(uniform(rng, rows*cols, -2, 2)...)
			case device.BinaryCrossEntropyWithLogits:
				x = uniform(rng, rows*cols, -4, 4)
				a.Target = d.f32(uniform(rng, rows*cols, 0, 1)...)
			}
			a.Input = d.f32(x...)
			forward := func(x []float32) float64 {
				d.write(a.Input, x)
				require.NoError(t, b.Loss(a))
				var l float64
				for _, v := range d.read(a.Loss) {
					l += float64(a.Scale) * float64(v)
				}
				return l
			}
			num := numericGrad(x, forward)
			forward(x)
			require.NoError(t, b.LossBackward(a))
			check(t, op.String()+" backward", "4×5", d.read(a.Grad), num)
		}
	})

	t.Run("col2im adjoint", func(t *testing.T) {
		d, rng := dev{t, b}, newRand(14)
		// <col, Im2Col(x)> = <Col2Im(col), x> for every x and col.
		for _, g := range []device.ConvGeom{
			{N: 2, C: 3, H: 5, W: 7, KH: 3, KW: 2, StrideH: 1, StrideW: 2, PadH: 1, PadW: 1},
			{N: 1, C: 2, H: 6, W: 4, KH: 2, KW: 3, StrideH: 2, StrideW: 1, PadH: 0, PadW: 2},
			{N: 1, C: 1, H: 3, W: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2},
		} {
			nx, nc := g.N*g.C*g.H*g.W, g.N*g.ColRows()*g.OutH()*g.OutW()
			x, col := uniform(rng, nx, -1, 1), uniform(rng, nc, -1, 1)
			cb, xb := d.alloc(device.Float32, nc), d.f32(nans(nx)...)
			require.NoError(t, b.Im2Col(d.f32(x...), cb, g))
			require.NoError(t, b.Col2Im(d.f32(col...), xb, g))
			lhs, rhs := dot(col, d.read(cb)), dot(d.read(xb), x)
			require.InDelta(t, lhs, rhs, 1e-4*(1+math.Abs(lhs)), "<col, im2col(x)> vs <col2im(col), x> for %+v", g)
		}
	})

	t.Run("conv", func(t *testing.T) {
		d, rng := dev{t, b}, newRand(17)
		for _, c := range []struct {
			g device.ConvGeom
			f int
		}{
			{device.ConvGeom{N: 2, C: 2, H: 5, W: 6, KH: 3, KW: 2, StrideH: 1, StrideW: 2, PadH: 1, PadW: 1}, 3},
			{device.ConvGeom{N: 3, C: 1, H: 6, W: 6, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 2, PadW: 0}, 2},
		} {
			g := c.g
			nx, nw, ny := g.N*g.C*g.H*g.W, c.f*g.ColRows(), g.N*c.f*g.OutH()*g.OutW()
			x, w, bias, dy := uniform(rng, nx, -1, 1), uniform(rng, nw, -1, 1), uniform(rng, c.f, -1, 1), uniform(rng, ny, -1, 1)
			a := device.ConvArgs{G: g, F: c.f, X: d.f32(x...), W: d.f32(w...), B: d.f32(bias...), Y: d.alloc(device.Float32, ny),
				DY: d.f32(dy...), DX: d.f32(nans(nx)...), DW: d.f32(nans(nw)...), DB: d.f32(nans(c.f)...)}
			loss := func(x, w, bias []float32) float64 {
				d.write(a.X, x)
				d.write(a.W, w)
				d.write(a.B, bias)
				require.NoError(t, b.Conv(a))
				return dot(dy, d.read(a.Y))
			}
			numX := numericGrad(x, func(x []float32) float64 { return loss(x, w, bias) })
			numW := numericGrad(w, func(w []float32) float64 { return loss(x, w, bias) })
			numB := numericGrad(bias, func(bias []float32) float64 { return loss(x, w, bias) })
			loss(x, w, bias)
			require.NoError(t, b.ConvBackward(a))
			shape := fmt.Sprintf("%s, %d filters", geomString(g), c.f)
			check(t, "conv dx", shape, d.read(a.DX), numX)
			check(t, "conv dW", shape, d.read(a.DW), numW)
			check(t, "conv db", shape, d.read(a.DB), numB)
		}
	})

	t.Run("pool", func(t *testing.T) {
		d, rng := dev{t, b}, newRand(15)
		for _, g := range []device.ConvGeom{
			{N: 2, C: 2, H: 4, W: 6, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
			{N: 1, C: 2, H: 5, W: 4, KH: 3, KW: 2, StrideH: 1, StrideW: 2, PadH: 1, PadW: 1},
		} {
			nx, ny := g.N*g.C*g.H*g.W, g.N*g.C*g.OutH()*g.OutW()
			shape := fmt.Sprintf("(%d,%d,%d,%d) window %d×%d stride %d×%d pad %d×%d", g.N, g.C, g.H, g.W, g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW)
			for _, op := range []device.PoolOp{device.MaxPool, device.AvgPool} {
				x, w := spread(rng, nx), uniform(rng, ny, -1, 1)
				xb, yb := d.f32(x...), d.alloc(device.Float32, ny)
				forward := func(x []float32) float64 {
					d.write(xb, x)
					require.NoError(t, b.Pool(op, xb, yb, g))
					return dot(w, d.read(yb))
				}
				num := numericGrad(x, forward)
				forward(x)
				dx := d.f32(nans(nx)...)
				require.NoError(t, b.PoolBackward(op, xb, yb, d.f32(w...), dx, g))
				check(t, op.String()+" backward", shape, d.read(dx), num)
			}
		}
	})

	t.Run("batchnorm", func(t *testing.T) {
		d, rng := dev{t, b}, newRand(16)
		for _, sh := range []struct{ n, c, inner int }{{3, 2, 4}, {5, 3, 1}} {
			nx, c := sh.n*sh.c*sh.inner, sh.c
			x, gamma, beta := uniform(rng, nx, -2, 2), uniform(rng, c, 0.5, 1.5), uniform(rng, c, -1, 1)
			w := uniform(rng, nx, -1, 1)
			a := device.BatchNormArgs{N: sh.n, C: c, Inner: sh.inner, Training: true, Momentum: 0.1, Eps: 1e-5,
				X: d.f32(x...), Y: d.alloc(device.Float32, nx), Gamma: d.f32(gamma...), Beta: d.f32(beta...),
				RunMean: d.alloc(device.Float32, c), RunVar: d.fill(c, 1),
				SaveMean: d.alloc(device.Float32, c), SaveInvStd: d.alloc(device.Float32, c),
				DY: d.f32(w...), DX: d.alloc(device.Float32, nx), DGamma: d.alloc(device.Float32, c), DBeta: d.alloc(device.Float32, c)}
			loss := func(x, gamma, beta []float32) float64 {
				d.write(a.X, x)
				d.write(a.Gamma, gamma)
				d.write(a.Beta, beta)
				require.NoError(t, b.BatchNorm(a))
				return dot(w, d.read(a.Y))
			}
			numX := numericGrad(x, func(x []float32) float64 { return loss(x, gamma, beta) })
			numG := numericGrad(gamma, func(g []float32) float64 { return loss(x, g, beta) })
			numB := numericGrad(beta, func(bt []float32) float64 { return loss(x, gamma, bt) })
			loss(x, gamma, beta)
			require.NoError(t, b.BatchNormBackward(a))
			shape := fmt.Sprintf("(%d,%d,%d)", sh.n, c, sh.inner)
			check(t, "batchnorm dx", shape, d.read(a.DX), numX)
			check(t, "batchnorm dgamma", shape, d.read(a.DGamma), numG)
			check(t, "batchnorm dbeta", shape, d.read(a.DBeta), numB)
		}
	})

	gradientsSeq(t, b, check)
}
