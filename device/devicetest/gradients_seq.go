package devicetest

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
)

// gradientsSeq checks the backward ops of the sequence-model ops against central
// differences of their forward ops (the linear ones, ScatterAdd and Permute, as the
// adjoints of Gather and of the inverse permutation).
func gradientsSeq(t *testing.T, b device.Backend, check func(t *testing.T, name, shape string, analytic, numeric []float32)) {
	t.Run("causal softmax", func(t *testing.T) {
		// The gradient of CausalSoftmax with respect to x is scale*SoftmaxBackward(y, dy):
		// masked entries, which x does not reach, get exactly 0.
		d, rng := dev{t, b}, newRand(31)
		const batch, seq, scale = 2, 4, 0.7
		n := batch * seq * seq
		x, w := uniform(rng, n, -2, 2), uniform(rng, n, -1, 1)
		xb, yb := d.f32(x...), d.alloc(device.Float32, n)
		forward := func(x []float32) float64 {
			d.write(xb, x)
			require.NoError(t, b.CausalSoftmax(xb, yb, batch, seq, scale))
			return dot(w, d.read(yb))
		}
		num := numericGrad(x, forward)
		forward(x)
		dx := d.f32(nans(n)...)
		require.NoError(t, b.SoftmaxBackward(yb, d.f32(w...), dx, batch*seq, seq))
		got := d.read(dx)
		for i := range got {
			if i%seq > i/seq%seq { // above the diagonal
				require.Equal(t, float32(0), got[i], "causal softmax backward: masked dx[%d] must be exactly 0", i)
			}
			got[i] *= scale
		}
		check(t, "scale * softmax backward of causal softmax", "(2,4,4)", got, num)
	})

	t.Run("scatter add adjoint", func(t *testing.T) {
		// ScatterAdd is Gather's adjoint: <ScatterAdd(0, src), w> = <src, Gather(w)>.
		d, rng := dev{t, b}, newRand(32)
		const rows, n, rowLen = 5, 9, 3
		idx := make([]int32, n)
		for i := range idx {
			idx[i] = int32(rng.IntN(rows))
		}
		src, w := uniform(rng, n*rowLen, -1, 1), uniform(rng, rows*rowLen, -1, 1)
		dst, gw := d.alloc(device.Float32, rows*rowLen), d.alloc(device.Float32, n*rowLen)
		ib := d.i32(idx...)
		require.NoError(t, b.ScatterAdd(dst, d.f32(src...), ib, rowLen))
		require.NoError(t, b.Gather(gw, d.f32(w...), ib, rowLen, 1))
		lhs, rhs := dot(w, d.read(dst)), dot(src, d.read(gw))
		require.InDelta(t, lhs, rhs, 1e-5*(1+math.Abs(lhs)), "<ScatterAdd(src), w> vs <src, Gather(w)>")
	})

	t.Run("permute adjoint", func(t *testing.T) {
		// <Permute(x), w> = <x, Permute⁻¹(w)>: the backward pass of a permutation is its
		// inverse.
		d, rng := dev{t, b}, newRand(33)
		p := device.PermuteArgs{Rank: 5, Shape: [device.MaxRank]int{2, 3, 3, 2, 4}, Perm: [device.MaxRank]int{2, 0, 3, 1, 4}}
		x, w := uniform(rng, p.Len(), -1, 1), uniform(rng, p.Len(), -1, 1)
		y, xw := d.alloc(device.Float32, p.Len()), d.alloc(device.Float32, p.Len())
		require.NoError(t, b.Permute(d.f32(x...), y, p))
		require.NoError(t, b.Permute(d.f32(w...), xw, p.Inverse()))
		lhs, rhs := dot(w, d.read(y)), dot(x, d.read(xw))
		require.InDelta(t, lhs, rhs, 1e-5*(1+math.Abs(lhs)), "<Permute(x), w> vs <x, Permute⁻¹(w)>")
	})

	t.Run("layernorm", func(t *testing.T) {
		d, rng := dev{t, b}, newRand(34)
		for _, sh := range []struct {
			rows, cols int
			bias       bool
		}{{3, 5, true}, {2, 7, false}, {4, 1, true}} {
			n, c := sh.rows*sh.cols, sh.cols
			x, gamma, beta := uniform(rng, n, -2, 2), uniform(rng, c, 0.5, 1.5), uniform(rng, c, -1, 1)
			w := uniform(rng, n, -1, 1)
			g0, b0 := uniform(rng, c, -1, 1), uniform(rng, c, -1, 1) // the gradients accumulate onto these
			a := device.LayerNormArgs{Rows: sh.rows, Cols: c, Eps: 1e-5, X: d.f32(x...), Y: d.alloc(device.Float32, n),
				Gamma: d.f32(gamma...), Mean: d.alloc(device.Float32, sh.rows), RStd: d.alloc(device.Float32, sh.rows),
				DY: d.f32(w...), DX: d.f32(nans(n)...), DGamma: d.f32(g0...)}
			if sh.bias {
				a.Beta, a.DBeta = d.f32(beta...), d.f32(b0...)
			}
			loss := func(x, gamma, beta []float32) float64 {
				d.write(a.X, x)
				d.write(a.Gamma, gamma)
				if sh.bias {
					d.write(a.Beta, beta)
				}
				require.NoError(t, b.LayerNorm(a))
				return dot(w, d.read(a.Y))
			}
			numX := numericGrad(x, func(x []float32) float64 { return loss(x, gamma, beta) })
			numG := numericGrad(gamma, func(g []float32) float64 { return loss(x, g, beta) })
			numB := numericGrad(beta, func(bt []float32) float64 { return loss(x, gamma, bt) })
			loss(x, gamma, beta)
			require.NoError(t, b.LayerNormBackward(a))
			shape := fmt.Sprintf("%d×%d bias=%v", sh.rows, c, sh.bias)
			check(t, "layernorm dx", shape, d.read(a.DX), numX)
			check(t, "layernorm dgamma - its initial value", shape, sub(d.read(a.DGamma), g0), numG)
			if sh.bias {
				check(t, "layernorm dbeta - its initial value", shape, sub(d.read(a.DBeta), b0), numB)
			}
		}
	})

	t.Run("rnn cells", func(t *testing.T) {
		// L = <wh, H> (+ <wc, C> for the LSTM) as a function of the cell's inputs: GX, GH
		// and the previous states. Backward with DH = wh (and DC = wc) gives dL/dGX = DGX,
		// dL/dGH = DGH (DGX for the LSTM), dL/dCPrev = DCPrev, and for the GRU, whose GH is
		// an input here, dL/dHPrev = DHPrev (the direct part).
		d, rng := dev{t, b}, newRand(35)
		const batch, hidden = 3, 4
		n := batch * hidden
		for _, op := range []device.RNNOp{device.LSTM, device.GRU} {
			g := op.Gates() * n
			gx, gh := uniform(rng, g, -2, 2), uniform(rng, g, -2, 2)
			hp, cp := uniform(rng, n, -1, 1), uniform(rng, n, -1, 1)
			wh, wc := uniform(rng, n, -1, 1), uniform(rng, n, -1, 1)
			a := device.RNNCellArgs{Op: op, Batch: batch, Hidden: hidden, GX: d.f32(gx...), GH: d.f32(gh...),
				Acts: d.alloc(device.Float32, g), H: d.alloc(device.Float32, n),
				DH: d.f32(wh...), DGX: d.f32(nans(g)...)}
			if op == device.LSTM {
				a.CPrev, a.C, a.DC, a.DCPrev = d.f32(cp...), d.alloc(device.Float32, n), d.f32(wc...), d.f32(nans(n)...)
			} else {
				a.HPrev, a.DGH, a.DHPrev = d.f32(hp...), d.f32(nans(g)...), d.f32(nans(n)...)
			}
			loss := func(gx, gh, hp, cp []float32) float64 {
				d.write(a.GX, gx)
				d.write(a.GH, gh)
				if op == device.LSTM {
					d.write(a.CPrev, cp)
				} else {
					d.write(a.HPrev, hp)
				}
				require.NoError(t, b.RNNCell(a))
				l := dot(wh, d.read(a.H))
				if op == device.LSTM {
					l += dot(wc, d.read(a.C))
				}
				return l
			}
			numGX := numericGrad(gx, func(v []float32) float64 { return loss(v, gh, hp, cp) })
			numGH := numericGrad(gh, func(v []float32) float64 { return loss(gx, v, hp, cp) })
			numH := numericGrad(hp, func(v []float32) float64 { return loss(gx, gh, v, cp) })
			numC := numericGrad(cp, func(v []float32) float64 { return loss(gx, gh, hp, v) })
			loss(gx, gh, hp, cp)
			require.NoError(t, b.RNNCellBackward(a))
			shape := fmt.Sprintf("batch %d hidden %d", batch, hidden)
			check(t, op.String()+" dgx", shape, d.read(a.DGX), numGX)
			if op == device.LSTM {
				check(t, "lstm dgx as the gradient of gh", shape, d.read(a.DGX), numGH)
				check(t, "lstm dcprev", shape, d.read(a.DCPrev), numC)
			} else {
				check(t, "gru dgh", shape, d.read(a.DGH), numGH)
				check(t, "gru dhprev", shape, d.read(a.DHPrev), numH)
			}
		}
	})
}

// sub returns a - b elementwise.
func sub(a, b []float32) []float32 {
	out := make([]float32, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}
