package devicetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
)

// Parity runs every op on ref and dev with the same random inputs of awkward shapes (1,
// 31, 33 and 1000+ rows; every GEMM transpose, alpha/beta and batch strides; non-square
// convolution geometries with stride 2 and padding; batchnorm with Inner 1 and 49) and
// checks dev's outputs against ref's within Tolerances.
func Parity(t *testing.T, ref, dev device.Backend) {
	for _, fam := range []struct {
		name string
		fn   func(p *pair)
	}{
		{"gemm", parityGemm}, {"unary", parityUnary}, {"softmax", paritySoftmax}, {"binary", parityBinary},
		{"reduce", parityReduce}, {"loss", parityLoss}, {"update", parityUpdate}, {"gather", parityGather},
		{"random", parityRandom}, {"conv", parityConv}, {"convolution", parityConvolution}, {"pool", parityPool}, {"batchnorm", parityBatchNorm},
		{"causal softmax", parityCausalSoftmax}, {"scatter add", parityScatterAdd}, {"permute", parityPermute},
		{"layernorm", parityLayerNorm}, {"rnn", parityRNN}, {"rows", parityRows},
	} {
		t.Run(fam.name, func(t *testing.T) {
			fam.fn(&pair{t: t, b: [2]device.Backend{ref, dev}, rng: newRand(uint64(len(fam.name)))})
		})
	}
}

// twin is one operand held on both backends: [0] on ref, [1] on dev.
type twin [2]device.Buffer

// pair runs the same op on a reference backend (side 0) and the backend under test
// (side 1).
type pair struct {
	t   *testing.T
	b   [2]device.Backend
	rng *rand.Rand
}

func (p *pair) dev(s int) dev { return dev{p.t, p.b[s]} }

// put copies vals to both backends.
func (p *pair) put(vals []float32) twin {
	p.t.Helper()
	return twin{p.dev(0).f32(vals...), p.dev(1).f32(vals...)}
}

func (p *pair) putI(vals []int32) twin {
	p.t.Helper()
	return twin{p.dev(0).i32(vals...), p.dev(1).i32(vals...)}
}

func (p *pair) putU(vals []uint8) twin {
	p.t.Helper()
	return twin{p.dev(0).u8(vals...), p.dev(1).u8(vals...)}
}

// rand puts n values uniform in [lo, hi) on both backends.
func (p *pair) rand(n int, lo, hi float64) twin { return p.put(uniform(p.rng, n, lo, hi)) }

// out is an output of n elements, NaN on both sides so that unwritten elements show.
func (p *pair) out(n int) twin { return p.put(nans(n)) }

// do runs the op on both sides.
func (p *pair) do(name string, op func(b device.Backend, s int) error) {
	p.t.Helper()
	require.NoError(p.t, op(p.b[0], 0), "%s on the reference backend", name)
	require.NoError(p.t, op(p.b[1], 1), "%s on %s", name, p.b[1].Name())
}

// same checks that x agrees on both sides within family's tolerance.
func (p *pair) same(family, name, shape string, x twin) bool {
	p.t.Helper()
	tl := tol(family)
	return AssertClose(p.t, name, shape, p.dev(0).read(x[0]), p.dev(1).read(x[1]), tl.Atol, tl.Rtol)
}

func (p *pair) sameI(name, shape string, x twin) {
	p.t.Helper()
	assert.Equal(p.t, p.dev(0).readI(x[0]), p.dev(1).readI(x[1]), "%s %s", name, shape)
}

func parityGemm(p *pair) {
	for _, sh := range [][3]int{{1, 1, 1}, {31, 33, 17}, {33, 31, 64}, {1031, 10, 33}, {7, 1, 300}, {1, 129, 40}, {64, 96, 128}} {
		m, n, k := sh[0], sh[1], sh[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, ab := range [][2]float32{{1, 0}, {0.5, -1.5}, {-2, 1}} {
				a, b := p.rand(m*k, -1, 1), p.rand(k*n, -1, 1)
				c := p.out(m * n)
				if ab[1] != 0 {
					c = p.rand(m*n, -1, 1)
				}
				name := fmt.Sprintf("gemm transA=%v transB=%v alpha=%v beta=%v", tr[0], tr[1], ab[0], ab[1])
				p.do(name, func(bk device.Backend, s int) error {
					return bk.Gemm(device.GemmArgs{TransA: tr[0], TransB: tr[1], M: m, N: n, K: k, Alpha: ab[0], Beta: ab[1], A: a[s], B: b[s], C: c[s]})
				})
				p.same("gemm", name, fmt.Sprintf("M=%d N=%d K=%d", m, n, k), c)
			}
		}
	}
	parityGemmEpilogue(p)
	// Batched: one operand shared (stride 0) or gaps between the products.
	for _, c := range []struct {
		batch, m, n, k, sa, sb, sc int
		transA, transB             bool
	}{
		{5, 31, 33, 17, 0, 33 * 17, 31 * 33, false, false},
		{4, 33, 31, 20, 33 * 20, 0, 33*31 + 7, true, false},
		{3, 9, 49, 75, 9*75 + 3, 0, 9 * 49, false, true},
		{2, 1, 1, 1, 1, 1, 1, true, true},
	} {
		a := p.rand(c.sa*(c.batch-1)+c.m*c.k, -1, 1)
		b := p.rand(c.sb*(c.batch-1)+c.k*c.n, -1, 1)
		out := p.rand(c.sc*(c.batch-1)+c.m*c.n, -1, 1)
		name := fmt.Sprintf("gemm batch %d strides %d %d %d transA=%v transB=%v", c.batch, c.sa, c.sb, c.sc, c.transA, c.transB)
		p.do(name, func(bk device.Backend, s int) error {
			return bk.Gemm(device.GemmArgs{TransA: c.transA, TransB: c.transB, M: c.m, N: c.n, K: c.k, Alpha: 0.75, Beta: 0.25,
				A: a[s], B: b[s], C: out[s], Batch: c.batch, StrideA: c.sa, StrideB: c.sb, StrideC: c.sc})
		})
		p.same("gemm", name, fmt.Sprintf("M=%d N=%d K=%d", c.m, c.n, c.k), out)
	}
}

// parityGemmEpilogue: Gemm with a bias and each activation against the reference, on
// every transpose, beta 0 and 1, including a narrow C (n = 10, which the CPU computes
// transposed), shapes split over threads and a k past the first cache block.
func parityGemmEpilogue(p *pair) {
	acts := []struct {
		on  bool
		act device.UnaryOp
	}{{false, 0}, {true, device.ReLU}, {true, device.LeakyReLU}, {true, device.Sigmoid}, {true, device.Tanh}, {true, device.GELU}}
	for _, sh := range [][3]int{{1, 1, 1}, {31, 33, 17}, {1031, 10, 33}, {32, 128, 784}, {300, 40, 100}, {128, 300, 300}} {
		m, n, k := sh[0], sh[1], sh[2]
		a, b, bias := p.rand(m*k, -1, 1), p.rand(k*n, -1, 1), p.rand(n, -1, 1)
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			for _, beta := range []float32{0, 1} {
				for i, ac := range acts {
					if m*n*k > 1<<20 && (ac.act != device.ReLU || beta != 0 || tr[0]) {
						continue // large shapes (split over threads): bias and ReLU suffice
					}
					c := p.out(m * n)
					if beta != 0 {
						c = p.rand(m*n, -1, 1)
					}
					bb := bias
					if i == len(acts)-1 && m == 1 {
						bb = twin{} // an activation without a bias
					}
					name := fmt.Sprintf("gemm epilogue act=%v(%v) bias=%v transA=%v transB=%v beta=%v", ac.on, ac.act, bb[0] != nil, tr[0], tr[1], beta)
					p.do(name, func(bk device.Backend, s int) error {
						return bk.Gemm(device.GemmArgs{TransA: tr[0], TransB: tr[1], M: m, N: n, K: k, Alpha: 1, Beta: beta,
							A: a[s], B: b[s], C: c[s], Bias: bb[s], ActOn: ac.on, Act: ac.act, ActParam: 0.1})
					})
					p.same("gemm", name, fmt.Sprintf("M=%d N=%d K=%d", m, n, k), c)
				}
			}
		}
	}
}

func parityUnary(p *pair) {
	for _, n := range []int{1, 31, 33, 1031, 50001} {
		for _, op := range []device.UnaryOp{device.ReLU, device.LeakyReLU, device.Sigmoid, device.Tanh, device.GELU, device.GELUTanh} {
			shape := fmt.Sprintf("[%d]", n)
			// Wide enough to reach both tails of sigmoid and tanh, plus exact zeros.
			xs := uniform(p.rng, n, -12, 12)
			for i := 0; i < n; i += 7 {
				xs[i] = 0
			}
			x, y := p.put(xs), p.out(n)
			p.do(op.String(), func(b device.Backend, s int) error { return b.Unary(op, x[s], y[s], 0.05) })
			p.same("unary", op.String(), shape, y)
			dy, dx := p.rand(n, -1, 1), p.out(n)
			// Both sides take the reference's y, so that backward is compared alone.
			yr := p.put(p.dev(0).read(y[0]))
			p.do(op.String()+" backward", func(b device.Backend, s int) error { return b.UnaryBackward(op, x[s], yr[s], dy[s], dx[s], 0.05) })
			p.same("unary", op.String()+" backward", shape, dx)
		}
	}
	// Inputs around ±88, where exp overflows float32, and tiny ones.
	xs := []float32{-100, -88.8, -88, -87.4, -87.3, -20, -1e-3, -1e-6, 1e-8, 1e-5, 0.2, 0.26, 8.9, 9.1, 20, 87, 88.5, 88.8, 100}
	for _, op := range []device.UnaryOp{device.Sigmoid, device.Tanh, device.GELU, device.GELUTanh} {
		x, y := p.put(xs), p.out(len(xs))
		p.do(op.String(), func(b device.Backend, s int) error { return b.Unary(op, x[s], y[s], 0) })
		p.same("unary", op.String()+" extremes", fmt.Sprintf("%v", xs), y)
	}
}

func paritySoftmax(p *pair) {
	for _, sh := range [][2]int{{1, 1}, {1, 10}, {31, 33}, {1031, 10}, {33, 1000}} {
		rows, cols := sh[0], sh[1]
		shape := fmt.Sprintf("%d×%d", rows, cols)
		x, y := p.rand(rows*cols, -20, 20), p.out(rows*cols)
		p.do("softmax", func(b device.Backend, s int) error { return b.Softmax(x[s], y[s], rows, cols) })
		p.same("softmax", "softmax", shape, y)
		dy, dx := p.rand(rows*cols, -1, 1), p.out(rows*cols)
		yr := p.put(p.dev(0).read(y[0]))
		p.do("softmax backward", func(b device.Backend, s int) error { return b.SoftmaxBackward(yr[s], dy[s], dx[s], rows, cols) })
		p.same("softmax", "softmax backward", shape, dx)
	}
}

func parityBinary(p *pair) {
	for _, n := range []int{1, 33, 40000} {
		for _, op := range []device.BinaryOp{device.Add, device.Sub, device.Mul, device.Div} {
			a, b, c := p.rand(n, -1, 1), p.rand(n, 0.5, 2), p.out(n)
			p.do("binary", func(bk device.Backend, s int) error { return bk.Binary(op, a[s], b[s], c[s]) })
			p.same("binary", "binary "+op.String(), fmt.Sprintf("[%d]", n), c)
		}
	}
	for _, sh := range []device.Shape3{{Outer: 1, Mid: 1, Inner: 1}, {Outer: 1031, Mid: 33, Inner: 1}, {Outer: 3, Mid: 7, Inner: 2000}, {Outer: 31, Mid: 5, Inner: 49}} {
		for _, op := range []device.BinaryOp{device.Add, device.Sub, device.Mul, device.Div} {
			x, v, y := p.rand(sh.Len(), -1, 1), p.rand(sh.Mid, 0.5, 2), p.out(sh.Len())
			p.do("broadcast", func(b device.Backend, s int) error { return b.Broadcast(op, x[s], v[s], y[s], sh) })
			p.same("binary", "broadcast "+op.String(), fmt.Sprintf("%+v", sh), y)
		}
	}
	for _, n := range []int{1, 33, 40000} {
		for _, ab := range [][2]float32{{0.5, 0}, {-1, 1}, {2, -0.25}} {
			x, y := p.rand(n, -1, 1), p.rand(n, -1, 1)
			p.do("axpby", func(b device.Backend, s int) error { return b.Axpby(ab[0], x[s], ab[1], y[s]) })
			p.same("binary", fmt.Sprintf("axpby %v %v", ab[0], ab[1]), fmt.Sprintf("[%d]", n), y)
		}
	}
}

func parityReduce(p *pair) {
	for _, sh := range []device.Shape3{
		{Outer: 1, Mid: 1, Inner: 1}, {Outer: 1031, Mid: 33, Inner: 1}, {Outer: 31, Mid: 1, Inner: 17},
		{Outer: 1, Mid: 1031, Inner: 49}, {Outer: 2, Mid: 33, Inner: 1000}, {Outer: 33, Mid: 31, Inner: 3}, {Outer: 1, Mid: 32, Inner: 128},
	} {
		shape := fmt.Sprintf("%+v", sh)
		x := p.rand(sh.Len(), -1, 1)
		for _, op := range []device.ReduceOp{device.Sum, device.Mean, device.Max, device.SumSquares, device.Norm} {
			y := p.out(sh.Outer * sh.Inner)
			p.do("reduce", func(b device.Backend, s int) error { return b.Reduce(op, x[s], y[s], sh) })
			p.same("reduce", "reduce "+op.String(), shape, y)
		}
		y := p.putI(make([]int32, sh.Outer*sh.Inner))
		p.do("argmax", func(b device.Backend, s int) error { return b.Reduce(device.ArgMax, x[s], y[s], sh) })
		p.sameI("argmax", shape, y)
	}
}

func parityLoss(p *pair) {
	// (B·T, V) = (12·64, 65): a character model's cross-entropy over (B, T, V).
	for _, sh := range [][2]int{{1, 1}, {1, 10}, {31, 33}, {1031, 10}, {33, 1000}, {12 * 64, 65}} {
		rows, cols := sh[0], sh[1]
		shape := fmt.Sprintf("%d×%d", rows, cols)
		labels := make([]int32, rows)
		for r := range labels {
			labels[r] = int32(p.rng.IntN(cols))
		}
		for _, op := range []device.LossOp{device.SoftmaxCrossEntropy, device.CrossEntropy, device.MSE, device.BinaryCrossEntropyWithLogits} {
			var in, target, labs, probs, correct twin
			switch op {
			case device.SoftmaxCrossEntropy:
				in, labs, probs, correct = p.rand(rows*cols, -10, 10), p.putI(labels), p.out(rows*cols), p.out(rows)
			case device.CrossEntropy:
				// probabilities, some of them at 0 and 1 where the clamp acts
				x := uniform(p.rng, rows*cols, 0, 1)
				for i := 0; i < len(x); i += 5 {
					x[i] = float32(i / 5 % 2)
				}
				in, labs, correct = p.put(x), p.putI(labels), p.out(rows)
			case device.MSE:
				in, target = p.rand(rows*cols, -2, 2), p.rand(rows*cols, -2, 2)
			case device.BinaryCrossEntropyWithLogits:
				// logits out to ±30, where the stable form matters; targets soft and hard
				t := uniform(p.rng, rows*cols, 0, 1)
				for i := 0; i < len(t); i += 3 {
					t[i] = float32(i / 3 % 2)
				}
				in, target, correct = p.rand(rows*cols, -30, 30), p.put(t), p.out(rows)
			}
			loss, grad := p.out(rows), p.out(rows*cols)
			args := func(s int) device.LossArgs {
				return device.LossArgs{Op: op, Rows: rows, Cols: cols, Input: in[s], Labels: labs[s], Target: target[s],
					Probs: probs[s], Loss: loss[s], Correct: correct[s], Grad: grad[s], Scale: 1 / float32(rows)}
			}
			p.do(op.String(), func(b device.Backend, s int) error { return b.Loss(args(s)) })
			p.same("loss", op.String()+" loss", shape, loss)
			if probs[0] != nil {
				p.same("loss", op.String()+" probs", shape, probs)
			}
			if correct[0] != nil {
				p.same("loss", op.String()+" correct", shape, correct)
			}
			p.do(op.String()+" backward", func(b device.Backend, s int) error { return b.LossBackward(args(s)) })
			p.same("loss", op.String()+" grad", shape, grad)
		}
	}
}

func parityUpdate(p *pair) {
	for _, n := range []int{1, 33, 1031, 50001} {
		for _, c := range []struct {
			op device.OptOp
			h  device.Hyper
		}{
			{device.SGD, device.Hyper{LR: 0.05}},
			{device.Momentum, device.Hyper{LR: 0.05, Momentum: 0.9}},
			{device.Momentum, device.Hyper{LR: 0.05, Momentum: 0.9, Nesterov: true}},
			{device.Adam, device.Hyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7}},
			{device.AdamW, device.Hyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7, WeightDecay: 0.01}},
		} {
			param, m, v := p.rand(n, -1, 1), p.put(make([]float32, n)), p.put(make([]float32, n))
			name := fmt.Sprintf("%s nesterov=%v", c.op, c.h.Nesterov)
			for step := 1; step <= 3; step++ {
				g := p.rand(n, -1, 1)
				c.h.Step = step
				p.do(name, func(b device.Backend, s int) error {
					mm, vv := m[s], v[s]
					if c.op == device.SGD {
						mm = nil
					}
					if c.op == device.SGD || c.op == device.Momentum {
						vv = nil
					}
					return b.Update(c.op, c.h, param[s], g[s], mm, vv)
				})
			}
			shape := fmt.Sprintf("[%d] after 3 steps", n)
			p.same("update", name+" param", shape, param)
			if c.op != device.SGD {
				p.same("update", name+" m", shape, m)
			}
		}
	}
}

func parityGather(p *pair) {
	for _, c := range []struct{ srcRows, rows, rowLen int }{{1, 1, 1}, {100, 33, 49}, {3000, 1031, 17}, {70, 2000, 13}} {
		idx := make([]int32, c.rows)
		for i := range idx {
			idx[i] = int32(p.rng.IntN(c.srcRows))
		}
		ix := p.putI(idx)
		shape := fmt.Sprintf("%d of %d rows of %d", c.rows, c.srcRows, c.rowLen)
		src, dst := p.rand(c.srcRows*c.rowLen, -1, 1), p.out(c.rows*c.rowLen)
		p.do("gather float32", func(b device.Backend, s int) error { return b.Gather(dst[s], src[s], ix[s], c.rowLen, 0.5) })
		p.same("gather", "gather float32", shape, dst)
		u8 := make([]uint8, c.srcRows*c.rowLen)
		for i := range u8 {
			u8[i] = uint8(p.rng.IntN(256))
		}
		srcU := p.putU(u8)
		p.do("gather uint8", func(b device.Backend, s int) error { return b.Gather(dst[s], srcU[s], ix[s], c.rowLen, 1.0/255) })
		p.same("gather", "gather uint8", shape, dst)
		labels := make([]int32, c.srcRows*c.rowLen)
		for i := range labels {
			labels[i] = int32(p.rng.IntN(10))
		}
		srcI, dstI := p.putI(labels), p.putI(make([]int32, c.rows*c.rowLen))
		p.do("gather int32", func(b device.Backend, s int) error { return b.Gather(dstI[s], srcI[s], ix[s], c.rowLen, 1) })
		p.sameI("gather int32", shape, dstI)
	}
}

func parityRandom(p *pair) {
	for _, n := range []int{1, 7, 1001, 65539} {
		mask := p.out(n)
		p.do("dropout", func(b device.Backend, s int) error { return b.DropoutMask(mask[s], 0.3, 77, 5) })
		p.same("dropout", "dropout", fmt.Sprintf("[%d]", n), mask)
	}
	a := device.AugmentArgs{N: 33, C: 3, H: 13, W: 11, MaxShift: 3, FlipH: true, Seed: 3, Offset: 1}
	x, y := p.rand(a.N*a.C*a.H*a.W, -1, 1), p.out(a.N*a.C*a.H*a.W)
	p.do("augment", func(b device.Backend, s int) error { return b.Augment(x[s], y[s], a) })
	p.same("augment", "augment", "(33,3,13,11)", y)
}

// geoms are convolution and pooling windows of awkward geometry: non-square images and
// windows, stride 2, padding, a window as large as the padded image.
var geoms = []device.ConvGeom{
	{N: 2, C: 3, H: 17, W: 13, KH: 3, KW: 5, StrideH: 2, StrideW: 1, PadH: 1, PadW: 2},
	{N: 3, C: 2, H: 9, W: 12, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
	{N: 2, C: 3, H: 6, W: 7, KH: 2, KW: 2, StrideH: 1, StrideW: 1},
	{N: 1, C: 4, H: 8, W: 7, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1},
	{N: 2, C: 1, H: 5, W: 6, KH: 5, KW: 6, StrideH: 1, StrideW: 1},
	{N: 4, C: 8, H: 28, W: 28, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2},
	{N: 1, C: 1, H: 1, W: 1, KH: 1, KW: 1, StrideH: 1, StrideW: 1},
	// 2×2 pooling as CNNs use it, in vector kernels' chunks of 16 outputs: a full chunk
	// and a ragged one per row (40 columns), an odd last row and column (11×35).
	{N: 3, C: 5, H: 28, W: 40, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
	{N: 2, C: 3, H: 11, W: 35, KH: 2, KW: 2, StrideH: 2, StrideW: 2},
}

func geomString(g device.ConvGeom) string {
	return fmt.Sprintf("(%d,%d,%d,%d) window %d×%d stride %d×%d pad %d×%d", g.N, g.C, g.H, g.W, g.KH, g.KW, g.StrideH, g.StrideW, g.PadH, g.PadW)
}

func parityConv(p *pair) {
	for _, g := range geoms {
		nx, nc := g.N*g.C*g.H*g.W, g.N*g.ColRows()*g.OutH()*g.OutW()
		x, col := p.rand(nx, -1, 1), p.out(nc)
		p.do("im2col", func(b device.Backend, s int) error { return b.Im2Col(x[s], col[s], g) })
		p.same("im2col", "im2col", geomString(g), col)
		col, dx := p.rand(nc, -1, 1), p.out(nx)
		p.do("col2im", func(b device.Backend, s int) error { return b.Col2Im(col[s], dx[s], g) })
		p.same("col2im", "col2im", geomString(g), dx)
	}
}

func parityConvolution(p *pair) {
	cases := []struct {
		g device.ConvGeom
		f int
	}{
		// The cnn preset's two layers (docs/cnn.md) on a few images.
		{device.ConvGeom{N: 3, C: 1, H: 28, W: 28, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2}, 16},
		{device.ConvGeom{N: 5, C: 16, H: 14, W: 14, KH: 5, KW: 5, StrideH: 1, StrideW: 1}, 32},
		// More filters than pixels, a batch of more chunks than the backward splits
		// into, and one image.
		{device.ConvGeom{N: 11, C: 3, H: 4, W: 5, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1}, 40},
		{device.ConvGeom{N: 1, C: 2, H: 9, W: 7, KH: 1, KW: 1, StrideH: 1, StrideW: 1}, 1},
		// Filters that fill most of a 32-lane tile (the CPU's direct path): padding and
		// strides, two panels.
		{device.ConvGeom{N: 3, C: 3, H: 9, W: 11, KH: 3, KW: 3, StrideH: 2, StrideW: 1, PadH: 1, PadW: 2}, 24},
		{device.ConvGeom{N: 9, C: 2, H: 6, W: 6, KH: 2, KW: 2, StrideH: 1, StrideW: 2}, 64},
		// Few filters, a multiple of 4, unit column stride: the filter gradient by rows.
		{device.ConvGeom{N: 2, C: 3, H: 10, W: 21, KH: 3, KW: 6, StrideH: 2, StrideW: 1, PadH: 1, PadW: 2}, 12},
	}
	for i, g := range geoms {
		cases = append(cases, struct {
			g device.ConvGeom
			f int
		}{g, 1 + 7*i%9})
	}
	for _, c := range cases {
		g, f := c.g, c.f
		nx, nw, ny := g.N*g.C*g.H*g.W, f*g.ColRows(), g.N*f*g.OutH()*g.OutW()
		shape := fmt.Sprintf("%s, %d filters", geomString(g), f)
		x, w, bias, y := p.rand(nx, -1, 1), p.rand(nw, -1, 1), p.rand(f, -1, 1), p.out(ny)
		p.do("conv", func(b device.Backend, s int) error {
			return b.Conv(device.ConvArgs{G: g, F: f, X: x[s], W: w[s], B: bias[s], Y: y[s]})
		})
		p.same("conv", "conv", shape, y)
		p.do("conv without bias", func(b device.Backend, s int) error {
			return b.Conv(device.ConvArgs{G: g, F: f, X: x[s], W: w[s], Y: y[s]})
		})
		p.same("conv", "conv without bias", shape, y)
		dy, dx, dw, db := p.rand(ny, -1, 1), p.out(nx), p.out(nw), p.out(f)
		args := func(s int, acc bool) device.ConvArgs {
			return device.ConvArgs{G: g, F: f, X: x[s], W: w[s], DY: dy[s], DX: dx[s], DW: dw[s], DB: db[s], Accumulate: acc}
		}
		p.do("conv backward", func(b device.Backend, s int) error { return b.ConvBackward(args(s, false)) })
		p.same("conv", "conv backward dx", shape, dx)
		p.same("conv", "conv backward dW", shape, dw)
		p.same("conv", "conv backward db", shape, db)
		p.do("conv backward accumulating", func(b device.Backend, s int) error { return b.ConvBackward(args(s, true)) })
		p.same("conv", "conv backward accumulated dW", shape, dw)
		p.same("conv", "conv backward accumulated db", shape, db)
		dw2 := p.out(nw)
		p.do("conv backward dW only", func(b device.Backend, s int) error {
			return b.ConvBackward(device.ConvArgs{G: g, F: f, X: x[s], W: w[s], DY: dy[s], DW: dw2[s]})
		})
		p.same("conv", "conv backward dW only", shape, dw2)
	}
}

func parityPool(p *pair) {
	for _, g := range geoms {
		if g.PadH*2 > g.KH || g.PadW*2 > g.KW {
			continue
		}
		nx, ny := g.N*g.C*g.H*g.W, g.N*g.C*g.OutH()*g.OutW()
		for _, op := range []device.PoolOp{device.MaxPool, device.AvgPool} {
			x, y := p.rand(nx, -1, 1), p.out(ny)
			p.do(op.String(), func(b device.Backend, s int) error { return b.Pool(op, x[s], y[s], g) })
			p.same("pool", op.String(), geomString(g), y)
			yr := p.put(p.dev(0).read(y[0]))
			dy, dx := p.rand(ny, -1, 1), p.out(nx)
			p.do(op.String()+" backward", func(b device.Backend, s int) error { return b.PoolBackward(op, x[s], yr[s], dy[s], dx[s], g) })
			p.same("pool", op.String()+" backward", geomString(g), dx)
		}
		// Ties: values from {-1, -0, 0, 1} so that windows hold equal maxima; the
		// gradient goes to the first of them, and the maximum is the first one's value.
		vals := make([]float32, nx)
		for i := range vals {
			vals[i] = []float32{-1, float32(math.Copysign(0, -1)), 0, 1}[p.rng.IntN(4)]
		}
		x, y := p.put(vals), p.out(ny)
		p.do("max_pool ties", func(b device.Backend, s int) error { return b.Pool(device.MaxPool, x[s], y[s], g) })
		p.same("pool", "max_pool ties", geomString(g), y)
		dy, dx := p.rand(ny, -1, 1), p.out(nx)
		p.do("max_pool ties backward", func(b device.Backend, s int) error {
			return b.PoolBackward(device.MaxPool, x[s], y[s], dy[s], dx[s], g)
		})
		p.same("pool", "max_pool ties backward", geomString(g), dx)
	}
}

func parityBatchNorm(p *pair) {
	for _, sh := range []struct{ n, c, inner int }{{1031, 10, 1}, {33, 7, 49}, {2, 1, 1}, {3, 31, 1}, {1, 3, 49}} {
		nx, c := sh.n*sh.c*sh.inner, sh.c
		shape := fmt.Sprintf("(%d,%d,%d)", sh.n, c, sh.inner)
		// Offset inputs (mean 3) so that the variance is not the mean of squares.
		x, gamma, beta := p.rand(nx, 2, 4), p.rand(c, 0.5, 1.5), p.rand(c, -1, 1)
		rm, rv := p.rand(c, -0.1, 0.1), p.rand(c, 0.9, 1.1)
		y, sm, si := p.out(nx), p.out(c), p.out(c)
		dy, dx, dg, db := p.rand(nx, -1, 1), p.out(nx), p.out(c), p.out(c)
		args := func(s int, training bool) device.BatchNormArgs {
			return device.BatchNormArgs{N: sh.n, C: c, Inner: sh.inner, Training: training, Momentum: 0.1, Eps: 1e-3,
				X: x[s], Y: y[s], Gamma: gamma[s], Beta: beta[s], RunMean: rm[s], RunVar: rv[s], SaveMean: sm[s], SaveInvStd: si[s],
				DY: dy[s], DX: dx[s], DGamma: dg[s], DBeta: db[s]}
		}
		p.do("batchnorm", func(b device.Backend, s int) error { return b.BatchNorm(args(s, true)) })
		for _, o := range []struct {
			name string
			x    twin
		}{{"y", y}, {"saved mean", sm}, {"saved invstd", si}, {"running mean", rm}, {"running var", rv}} {
			p.same("batchnorm", "batchnorm "+o.name, shape, o.x)
		}
		p.do("batchnorm backward", func(b device.Backend, s int) error { return b.BatchNormBackward(args(s, true)) })
		for _, o := range []struct {
			name string
			x    twin
		}{{"dx", dx}, {"dgamma", dg}, {"dbeta", db}} {
			p.same("batchnorm", "batchnorm backward "+o.name, shape, o.x)
		}
		p.do("batchnorm inference", func(b device.Backend, s int) error { return b.BatchNorm(args(s, false)) })
		p.same("batchnorm", "batchnorm inference y", shape, y)
	}
}
