package cpu_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
)

func TestScatterAddIndexOutOfRange(t *testing.T) {
	for _, opts := range []cpu.Options{{}, {Reference: true}} {
		b := cpu.New(opts)
		dst, _ := b.Alloc(device.Float32, 6)
		src, _ := b.Alloc(device.Float32, 4)
		idx, _ := b.Alloc(device.Int32, 2)
		require.NoError(t, b.Fill(src, 1))
		require.NoError(t, b.WriteInt32(idx, []int32{0, 3}))
		assert.EqualError(t, b.ScatterAdd(dst, src, idx, 2), "cpu: scatter add: idx[1] = 3 is outside the 3 rows of dst")
		require.NoError(t, b.WriteInt32(idx, []int32{-1, 0}))
		assert.EqualError(t, b.ScatterAdd(dst, src, idx, 2), "cpu: scatter add: idx[0] = -1 is outside the 3 rows of dst")
		got := make([]float32, 6)
		require.NoError(t, b.ReadFloat32(got, dst))
		assert.Equal(t, make([]float32, 6), got, "nothing is written when an index is out of range")
		b.Close()
	}
}

// The ops whose results sum over rows (LayerNormBackward's parameter gradients,
// ScatterAdd's rows) give the same bits for any thread count: on 1, 2, 3 and 8 threads,
// at the character GPT's shapes.
func TestSequenceOpsIndependentOfThreads(t *testing.T) {
	const rows, cols, vocab = 12 * 64, 128, 65
	rng := rand.New(rand.NewPCG(5, 6))
	vals := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.Float64()*2 - 1)
		}
		return v
	}
	x, dy, gamma, beta := vals(rows*cols), vals(rows*cols), vals(cols), vals(cols)
	ids := make([]int32, rows)
	for i := range ids {
		ids[i] = int32(rng.IntN(vocab))
	}
	run := func(threads int) (dx, dg, db, table []float32) {
		b := cpu.New(cpu.Options{Threads: threads})
		defer b.Close()
		put := func(v []float32) device.Buffer {
			buf, err := b.Alloc(device.Float32, len(v))
			require.NoError(t, err)
			require.NoError(t, b.WriteFloat32(buf, v))
			return buf
		}
		get := func(buf device.Buffer) []float32 {
			out := make([]float32, buf.Len())
			require.NoError(t, b.ReadFloat32(out, buf))
			return out
		}
		a := device.LayerNormArgs{Rows: rows, Cols: cols, Eps: 1e-5, X: put(x), Y: put(make([]float32, rows*cols)),
			Gamma: put(gamma), Beta: put(beta), Mean: put(make([]float32, rows)), RStd: put(make([]float32, rows)),
			DY: put(dy), DX: put(make([]float32, rows*cols)), DGamma: put(make([]float32, cols)), DBeta: put(make([]float32, cols))}
		require.NoError(t, b.LayerNorm(a))
		require.NoError(t, b.LayerNormBackward(a))
		idx, err := b.Alloc(device.Int32, rows)
		require.NoError(t, err)
		require.NoError(t, b.WriteInt32(idx, ids))
		tab := put(make([]float32, vocab*cols))
		require.NoError(t, b.ScatterAdd(tab, a.DX, idx, cols))
		return get(a.DX), get(a.DGamma), get(a.DBeta), get(tab)
	}
	dx1, dg1, db1, t1 := run(1)
	for _, threads := range []int{2, 3, 8} {
		dx, dg, db, tab := run(threads)
		assert.Equal(t, dx1, dx, "layernorm dx on %d threads", threads)
		assert.Equal(t, dg1, dg, "layernorm dgamma on %d threads", threads)
		assert.Equal(t, db1, db, "layernorm dbeta on %d threads", threads)
		assert.Equal(t, t1, tab, "scatter add on %d threads", threads)
	}
}

// The sequence-model ops allocate nothing once warm (large enough to use the pool).
func TestSequenceOpsDoNotAllocate(t *testing.T) {
	b := cpu.New(cpu.Options{Threads: 3})
	defer b.Close()
	f := func(n int) device.Buffer {
		x, err := b.Alloc(device.Float32, n)
		require.NoError(t, err)
		require.NoError(t, b.Fill(x, 0.5))
		return x
	}
	const bsz, seq, heads, hd, vocab = 12, 64, 4, 32, 65
	const width = heads * hd
	ids, err := b.Alloc(device.Int32, bsz*seq)
	require.NoError(t, err)
	x, y, dy, dx := f(bsz*seq*width), f(bsz*seq*width), f(bsz*seq*width), f(bsz*seq*width)
	qkv, q := f(bsz*seq*3*width), f(bsz*seq*3*width)
	att := f(bsz * heads * seq * seq)
	table := f(vocab * width)
	ln := device.LayerNormArgs{Rows: bsz * seq, Cols: width, Eps: 1e-5, X: x, Y: y, Gamma: f(width), Beta: f(width),
		Mean: f(bsz * seq), RStd: f(bsz * seq), DY: dy, DX: dx, DGamma: f(width), DBeta: f(width)}
	split := device.PermuteArgs{Rank: 5, Shape: [device.MaxRank]int{bsz, seq, 3, heads, hd}, Perm: [device.MaxRank]int{2, 0, 3, 1, 4}}
	const batch, hidden = 64, 128
	lstm := device.RNNCellArgs{Op: device.LSTM, Batch: batch, Hidden: hidden, GX: f(4 * batch * hidden), Acts: f(4 * batch * hidden),
		CPrev: f(batch * hidden), H: f(batch * hidden), C: f(batch * hidden), DH: f(batch * hidden), DC: f(batch * hidden),
		DGX: f(4 * batch * hidden), DCPrev: f(batch * hidden)}
	gru := device.RNNCellArgs{Op: device.GRU, Batch: batch, Hidden: hidden, GX: f(3 * batch * hidden), GH: f(3 * batch * hidden),
		Acts: f(3 * batch * hidden), HPrev: f(batch * hidden), H: f(batch * hidden), DH: f(batch * hidden),
		DGX: f(3 * batch * hidden), DGH: f(3 * batch * hidden), DHPrev: f(batch * hidden)}
	bce := device.LossArgs{Op: device.BinaryCrossEntropyWithLogits, Rows: bsz * seq, Cols: width, Input: x, Target: y,
		Loss: f(bsz * seq), Correct: f(bsz * seq), Grad: dx, Scale: 1}
	for _, op := range []struct {
		name string
		fn   func() error
	}{
		{"gelu_tanh", func() error { return b.Unary(device.GELUTanh, x, y, 0) }},
		{"gelu_tanh backward", func() error { return b.UnaryBackward(device.GELUTanh, x, y, dy, dx, 0) }},
		{"causal softmax", func() error { return b.CausalSoftmax(att, att, bsz*heads, seq, 0.17) }},
		{"scatter add", func() error { return b.ScatterAdd(table, dy, ids, width) }},
		{"permute", func() error { return b.Permute(qkv, q, split) }},
		{"permute back", func() error { return b.Permute(q, qkv, split.Inverse()) }},
		{"layernorm", func() error { return b.LayerNorm(ln) }},
		{"layernorm backward", func() error { return b.LayerNormBackward(ln) }},
		{"lstm", func() error { return b.RNNCell(lstm) }},
		{"lstm backward", func() error { return b.RNNCellBackward(lstm) }},
		{"gru", func() error { return b.RNNCell(gru) }},
		{"gru backward", func() error { return b.RNNCellBackward(gru) }},
		{"bce with logits", func() error { return b.Loss(bce) }},
		{"bce with logits backward", func() error { return b.LossBackward(bce) }},
	} {
		require.NoError(t, op.fn(), op.name)
		assert.Zero(t, testing.AllocsPerRun(5, func() { _ = op.fn() }), "%s allocates", op.name)
	}
}

// A batch of small products is spread over the threads, each product computed whole by
// one thread: the same bits as the products one at a time, for any thread count. The
// shapes are attention's (per-head QKᵀ, PV and their gradients), a narrow one (run
// transposed) and one on the inner-product kernel.
func TestBatchedGemmSameAsOneByOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct {
		batch, m, n, k int
		transA, transB bool
	}{
		{48, 64, 64, 32, false, true},  // Q·Kᵀ
		{48, 64, 32, 64, false, false}, // P·V
		{48, 64, 32, 64, true, false},  // Pᵀ·dY
		{48, 32, 64, 64, true, false},  // dSᵀ·Q (as stored)
		{9, 40, 5, 17, false, false},   // narrow C
		{6, 6, 20, 300, false, true},   // inner-product kernel
	} {
		for _, threads := range []int{1, 2, 3} {
			b := cpu.New(cpu.Options{Threads: threads})
			put := func(n int) device.Buffer {
				v := make([]float32, n)
				for i := range v {
					v[i] = float32(rng.Float64()*2 - 1)
				}
				x, err := b.Alloc(device.Float32, n)
				require.NoError(t, err)
				require.NoError(t, b.WriteFloat32(x, v))
				return x
			}
			sa, sb, sc := c.m*c.k, c.k*c.n, c.m*c.n
			a, bm, c0 := put(c.batch*sa), put(c.batch*sb), put(c.batch*sc)
			c1, err := b.Alloc(device.Float32, c.batch*sc)
			require.NoError(t, err)
			require.NoError(t, b.Copy(c1, c0))
			require.NoError(t, b.Gemm(device.GemmArgs{TransA: c.transA, TransB: c.transB, M: c.m, N: c.n, K: c.k, Alpha: 0.5, Beta: 0.25,
				A: a, B: bm, C: c0, Batch: c.batch, StrideA: sa, StrideB: sb, StrideC: sc}))
			for i := range c.batch {
				view := func(x device.Buffer, off, n int) device.Buffer {
					v, err := b.View(x, off, n)
					require.NoError(t, err)
					return v
				}
				require.NoError(t, b.Gemm(device.GemmArgs{TransA: c.transA, TransB: c.transB, M: c.m, N: c.n, K: c.k, Alpha: 0.5, Beta: 0.25,
					A: view(a, i*sa, sa), B: view(bm, i*sb, sb), C: view(c1, i*sc, sc)}))
			}
			got, want := make([]float32, c.batch*sc), make([]float32, c.batch*sc)
			require.NoError(t, b.ReadFloat32(got, c0))
			require.NoError(t, b.ReadFloat32(want, c1))
			assert.Equal(t, want, got, "batch %d of %d×%d×%d transA=%v transB=%v on %d threads", c.batch, c.m, c.n, c.k, c.transA, c.transB, threads)
			b.Close()
		}
	}
}

// The reductions of one long row (the gradients' norm that clipping reads, Sum, Max) give
// the same bits on 1, 2, 3 and 8 threads: the tuned path cuts the row into chunks that
// depend on its length only.
func TestLongRowReduceIndependentOfThreads(t *testing.T) {
	const n = 806528 // the char-GPT's parameters
	rng := rand.New(rand.NewPCG(7, 8))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.Float64()*2 - 1)
	}
	run := func(threads int) []float32 {
		b := cpu.New(cpu.Options{Threads: threads})
		defer b.Close()
		xb, err := b.Alloc(device.Float32, n)
		require.NoError(t, err)
		require.NoError(t, b.WriteFloat32(xb, x))
		yb, err := b.Alloc(device.Float32, 1)
		require.NoError(t, err)
		var out []float32
		for _, op := range []device.ReduceOp{device.Sum, device.Mean, device.SumSquares, device.Norm, device.Max} {
			require.NoError(t, b.Reduce(op, xb, yb, device.Shape3{Outer: 1, Mid: n, Inner: 1}))
			y := make([]float32, 1)
			require.NoError(t, b.ReadFloat32(y, yb))
			out = append(out, y[0])
		}
		return out
	}
	want := run(1)
	var sum, sq float64
	big := x[0]
	for _, v := range x {
		sum += float64(v)
		sq += float64(v) * float64(v)
		big = max(big, v)
	}
	assert.InDelta(t, sum, float64(want[0]), 1e-6*sq, "the sum against a float64 sum")
	assert.InEpsilon(t, math.Sqrt(sq), float64(want[3]), 1e-5, "the norm against a float64 sum")
	assert.Equal(t, big, want[4], "the maximum")
	for _, threads := range []int{2, 3, 8} {
		assert.Equal(t, want, run(threads), "sum, mean, sum of squares, norm, max on %d threads", threads)
	}
}
