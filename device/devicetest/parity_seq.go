package devicetest

import (
	"fmt"

	"github.com/gputrain/gputrain/device"
)

// Parity of the sequence-model ops, at awkward shapes and at the shapes of the models
// they are for: a character GPT (batch 12, context 64, 4 heads of 32, width 128,
// vocabulary 65) and an LSTM(128) over row-sequential MNIST (batch 64).

func parityCausalSoftmax(p *pair) {
	for _, c := range []struct {
		batch, seq int
		scale      float32
	}{{1, 1, 1}, {3, 7, -0.5}, {3 * 4, 64, 0.17677669}, {2, 129, 1}, {1, 300, 0.05}} {
		n := c.batch * c.seq * c.seq
		shape := fmt.Sprintf("(%d,%d,%d) scale %v", c.batch, c.seq, c.seq, c.scale)
		x, y := p.rand(n, -20, 20), p.out(n)
		p.do("causal softmax", func(b device.Backend, s int) error { return b.CausalSoftmax(x[s], y[s], c.batch, c.seq, c.scale) })
		p.same("softmax", "causal softmax", shape, y)
		// Its backward pass is SoftmaxBackward on the masked probabilities.
		yr, dy, dx := p.put(p.dev(0).read(y[0])), p.rand(n, -1, 1), p.out(n)
		p.do("softmax backward of causal softmax", func(b device.Backend, s int) error {
			return b.SoftmaxBackward(yr[s], dy[s], dx[s], c.batch*c.seq, c.seq)
		})
		p.same("softmax", "softmax backward of causal softmax", shape, dx)
	}
}

func parityScatterAdd(p *pair) {
	for _, c := range []struct{ dstRows, rows, rowLen int }{{1, 1, 1}, {65, 12 * 64, 128}, {7, 1031, 33}, {3000, 50, 17}, {64, 64 * 12, 128}} {
		idx := make([]int32, c.rows)
		for i := range idx {
			idx[i] = int32(p.rng.IntN(c.dstRows))
		}
		shape := fmt.Sprintf("%d rows of %d into %d", c.rows, c.rowLen, c.dstRows)
		ix, src, dst := p.putI(idx), p.rand(c.rows*c.rowLen, -1, 1), p.rand(c.dstRows*c.rowLen, -1, 1)
		p.do("scatter add", func(b device.Backend, s int) error { return b.ScatterAdd(dst[s], src[s], ix[s], c.rowLen) })
		p.same("scatter", "scatter add", shape, dst)
	}
}

func parityPermute(p *pair) {
	for _, c := range []struct {
		name        string
		shape, perm []int
	}{
		{"(B,T,H,D) → (B,H,T,D)", []int{12, 64, 4, 32}, []int{0, 2, 1, 3}},
		{"(B,H,T,D) → (B,T,H,D)", []int{12, 4, 64, 32}, []int{0, 2, 1, 3}},
		{"qkv (B,T,3,H,D) → (3,B,H,T,D)", []int{12, 64, 3, 4, 32}, []int{2, 0, 3, 1, 4}},
		{"(3,B,H,T,D) → (B,T,3,H,D)", []int{3, 12, 4, 64, 32}, []int{1, 3, 0, 2, 4}},
		{"(B,T,C) → (T,B,C) for an RNN", []int{64, 28, 28}, []int{1, 0, 2}},
		{"last axis moves", []int{33, 7, 5}, []int{2, 0, 1}},
		{"matrix transpose", []int{1031, 17}, []int{1, 0}},
		{"rank 6 with size-1 axes", []int{2, 1, 3, 1, 5, 4}, []int{5, 3, 0, 2, 1, 4}},
		{"identity", []int{3, 4, 5}, []int{0, 1, 2}},
		{"one element", []int{1}, []int{0}},
	} {
		var a device.PermuteArgs
		a.Rank = len(c.shape)
		copy(a.Shape[:], c.shape)
		copy(a.Perm[:], c.perm)
		x, y := p.rand(a.Len(), -1, 1), p.out(a.Len())
		p.do("permute", func(b device.Backend, s int) error { return b.Permute(x[s], y[s], a) })
		p.same("permute", "permute "+c.name, fmt.Sprint(c.shape), y)
	}
}

func parityLayerNorm(p *pair) {
	for _, c := range []struct {
		rows, cols int
		bias       bool
	}{{1, 1, true}, {12 * 64, 128, true}, {64, 128, false}, {33, 1000, true}, {131, 7, false}, {5, 1, true}} {
		n := c.rows * c.cols
		shape := fmt.Sprintf("%d×%d bias=%v", c.rows, c.cols, c.bias)
		// Offset rows (mean 3), so that the variance is not the mean of squares.
		x, y, gamma := p.rand(n, 2, 4), p.out(n), p.rand(c.cols, 0.5, 1.5)
		mean, rstd := p.out(c.rows), p.out(c.rows)
		dy, dx, dg := p.rand(n, -1, 1), p.out(n), p.rand(c.cols, -1, 1)
		var beta, db twin
		if c.bias {
			beta, db = p.rand(c.cols, -1, 1), p.rand(c.cols, -1, 1)
		}
		args := func(s int) device.LayerNormArgs {
			return device.LayerNormArgs{Rows: c.rows, Cols: c.cols, Eps: 1e-5, X: x[s], Y: y[s], Gamma: gamma[s], Beta: beta[s],
				Mean: mean[s], RStd: rstd[s], DY: dy[s], DX: dx[s], DGamma: dg[s], DBeta: db[s]}
		}
		p.do("layernorm", func(b device.Backend, s int) error { return b.LayerNorm(args(s)) })
		p.same("layernorm", "layernorm y", shape, y)
		p.same("layernorm", "layernorm mean", shape, mean)
		p.same("layernorm", "layernorm rstd", shape, rstd)
		p.do("layernorm backward", func(b device.Backend, s int) error { return b.LayerNormBackward(args(s)) })
		p.same("layernorm", "layernorm dx", shape, dx)
		p.same("layernorm", "layernorm dgamma (accumulated)", shape, dg)
		if c.bias {
			p.same("layernorm", "layernorm dbeta (accumulated)", shape, db)
		}
	}
}

func parityRNN(p *pair) {
	for _, c := range []struct {
		op            device.RNNOp
		batch, hidden int
		full          bool // the optional buffers given (LSTM: GH, CPrev, DC, DCPrev; GRU: HPrev, DHPrev)
	}{
		{device.LSTM, 1, 1, true}, {device.LSTM, 64, 128, true}, {device.LSTM, 64, 128, false}, {device.LSTM, 33, 17, true},
		{device.GRU, 1, 1, true}, {device.GRU, 64, 128, true}, {device.GRU, 7, 100, false}, {device.GRU, 33, 17, true},
	} {
		n := c.batch * c.hidden
		g := c.op.Gates() * n
		shape := fmt.Sprintf("batch %d hidden %d, optional buffers %v", c.batch, c.hidden, c.full)
		gx, acts, h := p.rand(g, -6, 6), p.out(g), p.out(n)
		dh, dgx := p.rand(n, -1, 1), p.out(g)
		var gh, hPrev, cPrev, cc, dc, dgh, dhPrev, dcPrev twin
		if c.op == device.GRU || c.full {
			gh = p.rand(g, -6, 6)
		}
		if c.op == device.LSTM {
			cc = p.out(n)
			if c.full {
				cPrev, dc, dcPrev = p.rand(n, -2, 2), p.rand(n, -1, 1), p.out(n)
			}
		} else {
			dgh = p.out(g)
			if c.full {
				hPrev, dhPrev = p.rand(n, -1, 1), p.out(n)
			}
		}
		args := func(s int) device.RNNCellArgs {
			return device.RNNCellArgs{Op: c.op, Batch: c.batch, Hidden: c.hidden, GX: gx[s], GH: gh[s], Acts: acts[s],
				HPrev: hPrev[s], CPrev: cPrev[s], H: h[s], C: cc[s], DH: dh[s], DC: dc[s], DGX: dgx[s], DGH: dgh[s],
				DHPrev: dhPrev[s], DCPrev: dcPrev[s]}
		}
		name := c.op.String()
		p.do(name, func(b device.Backend, s int) error { return b.RNNCell(args(s)) })
		p.same("rnn", name+" acts", shape, acts)
		p.same("rnn", name+" h", shape, h)
		if cc[0] != nil {
			p.same("rnn", name+" c", shape, cc)
		}
		p.do(name+" backward", func(b device.Backend, s int) error { return b.RNNCellBackward(args(s)) })
		p.same("rnn", name+" dgx", shape, dgx)
		for _, o := range []struct {
			name string
			x    twin
		}{{"dgh", dgh}, {"dhprev", dhPrev}, {"dcprev", dcPrev}} {
			if o.x[0] != nil {
				p.same("rnn", name+" "+o.name, shape, o.x)
			}
		}
	}
}

// parityRows runs three sparse optimizer steps of each op on tables of awkward sizes
// (one row of one value, the InstEval tables of 2,972 users and 1,128 items, a table
// smaller than the batch), each step's set filled by two batches of ids with repeats.
func parityRows(p *pair) {
	for _, c := range []struct{ rows, rowLen, batch int }{{1, 1, 3}, {2972, 32, 256}, {1128, 1, 1031}, {7, 33, 50}} {
		for _, o := range []struct {
			op device.OptOp
			h  device.Hyper
		}{
			{device.SGD, device.Hyper{LR: 0.05}},
			{device.Momentum, device.Hyper{LR: 0.05, Momentum: 0.9, Nesterov: true}},
			{device.Adam, device.Hyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7}},
			{device.AdamW, device.Hyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7, WeightDecay: 0.01}},
		} {
			n := c.rows * c.rowLen
			param, m, v := p.rand(n, -1, 1), p.put(make([]float32, n)), p.put(make([]float32, n))
			set := p.putI(make([]int32, device.RowSetLen(c.rows)))
			shape := fmt.Sprintf("%d rows of %d, batches of %d, 3 steps", c.rows, c.rowLen, c.batch)
			name := "update rows " + o.op.String()
			var g twin
			for step := 1; step <= 3; step++ {
				g = p.rand(n, -1, 1)
				for range 2 {
					ids := make([]int32, c.batch)
					for i := range ids {
						ids[i] = int32(p.rng.IntN(c.rows))
					}
					ix := p.putI(ids)
					p.do("add rows", func(b device.Backend, s int) error { return b.AddRows(set[s], ix[s]) })
				}
				p.sameI("add rows", shape, set)
				h := o.h
				h.Step = step
				p.do(name, func(b device.Backend, s int) error {
					mm, vv := m[s], v[s]
					if o.op == device.SGD {
						mm = nil
					}
					if o.op == device.SGD || o.op == device.Momentum {
						vv = nil
					}
					return b.UpdateRows(o.op, h, param[s], g[s], mm, vv, set[s], c.rowLen)
				})
			}
			p.same("update", name+" param", shape, param)
			p.same("update", name+" m", shape, m)
			p.same("update", name+" v", shape, v)
			p.same("scatter", name+" grad", shape, g)
			p.sameI(name+" set", shape, set)
			// ClearRows after one more batch.
			ix := p.putI([]int32{int32(c.rows - 1), 0})
			p.do("add rows", func(b device.Backend, s int) error { return b.AddRows(set[s], ix[s]) })
			p.do("clear rows", func(b device.Backend, s int) error { return b.ClearRows(g[s], set[s], c.rowLen) })
			p.same("scatter", "clear rows grad", shape, g)
			p.sameI("clear rows set", shape, set)
		}
	}
}
