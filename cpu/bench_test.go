package cpu_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
)

// benchOp is one op bound to its inputs on one backend.
type benchOp struct {
	name string
	fn   func() error
}

// benchOps allocates the inputs of the benchmarked ops on bk (activations see values
// spread over [-4, 4), so that every branch of the kernels is taken).
func benchOps(bk device.Backend) []benchOp {
	rng := rand.New(rand.NewPCG(1, 2))
	f := func(n int, lo, hi float32) device.Buffer {
		x, _ := bk.Alloc(device.Float32, n)
		v := make([]float32, n)
		for i := range v {
			v[i] = lo + (hi-lo)*rng.Float32()
		}
		_ = bk.WriteFloat32(x, v)
		return x
	}
	const n = 1 << 20 // elementwise ops
	x, y := f(n, -4, 4), f(n, 0, 0)
	const rows, cols = 4096, 100 // softmax cross-entropy
	labels, _ := bk.Alloc(device.Int32, rows)
	loss := device.LossArgs{Op: device.SoftmaxCrossEntropy, Rows: rows, Cols: cols, Input: f(rows*cols, -4, 4), Labels: labels,
		Probs: f(rows*cols, 0, 0), Loss: f(rows, 0, 0), Grad: f(rows*cols, 0, 0), Scale: 1.0 / rows}
	const params = 109386 // the reference MLP's parameters
	p, g, m, v := f(params, -1, 1), f(params, -1, 1), f(params, 0, 0), f(params, 0, 0)
	hyper := device.Hyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7, Step: 1}
	conv := device.ConvGeom{N: 32, C: 8, H: 28, W: 28, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2}
	img, col := f(conv.N*conv.C*conv.H*conv.W, -1, 1), f(conv.N*conv.ColRows()*conv.OutH()*conv.OutW(), 0, 0)
	pool := device.ConvGeom{N: 32, C: 32, H: 28, W: 28, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
	pin, pout := f(pool.N*pool.C*pool.H*pool.W, -1, 1), f(pool.N*pool.C*pool.OutH()*pool.OutW(), 0, 0)
	const bnN, bnC, bnInner = 32, 32, 28 * 28 // a CNN's feature maps
	bn := device.BatchNormArgs{N: bnN, C: bnC, Inner: bnInner, Training: true, Momentum: 0.1, Eps: 1e-3,
		X: f(bnN*bnC*bnInner, -1, 1), Y: f(bnN*bnC*bnInner, 0, 0), Gamma: f(bnC, 0.5, 1.5), Beta: f(bnC, -1, 1),
		RunMean: f(bnC, 0, 0), RunVar: f(bnC, 1, 1), SaveMean: f(bnC, 0, 0), SaveInvStd: f(bnC, 0, 0)}
	// The sequence models': a character GPT (batch 12, context 64, 4 heads of 32, width
	// 128, vocabulary 65) and an LSTM(128) or GRU(128) step over a batch of 64.
	const bsz, seq, heads, hd, vocab = 12, 64, 4, 32, 65
	const width, tokens = heads * hd, bsz * seq
	att := f(bsz*heads*seq*seq, -4, 4)
	ids, _ := bk.Alloc(device.Int32, tokens)
	idv := make([]int32, tokens)
	for i := range idv {
		idv[i] = int32(rng.IntN(vocab))
	}
	_ = bk.WriteInt32(ids, idv)
	table, dTok := f(vocab*width, 0, 0), f(tokens*width, -1, 1)
	qkv, heads3 := f(tokens*3*width, -1, 1), f(tokens*3*width, 0, 0)
	split := device.PermuteArgs{Rank: 5, Shape: [device.MaxRank]int{bsz, seq, 3, heads, hd}, Perm: [device.MaxRank]int{2, 0, 3, 1, 4}}
	ln := device.LayerNormArgs{Rows: tokens, Cols: width, Eps: 1e-5, X: f(tokens*width, -2, 2), Y: f(tokens*width, 0, 0),
		Gamma: f(width, 0.5, 1.5), Beta: f(width, -1, 1), Mean: f(tokens, 0, 0), RStd: f(tokens, 0, 0),
		DY: f(tokens*width, -1, 1), DX: f(tokens*width, 0, 0), DGamma: f(width, 0, 0), DBeta: f(width, 0, 0)}
	const batch, hidden = 64, 128
	lstm := device.RNNCellArgs{Op: device.LSTM, Batch: batch, Hidden: hidden, GX: f(4*batch*hidden, -4, 4), Acts: f(4*batch*hidden, 0, 0),
		CPrev: f(batch*hidden, -1, 1), H: f(batch*hidden, 0, 0), C: f(batch*hidden, 0, 0), DH: f(batch*hidden, -1, 1),
		DC: f(batch*hidden, -1, 1), DGX: f(4*batch*hidden, 0, 0), DCPrev: f(batch*hidden, 0, 0)}
	gru := device.RNNCellArgs{Op: device.GRU, Batch: batch, Hidden: hidden, GX: f(3*batch*hidden, -4, 4), GH: f(3*batch*hidden, -4, 4),
		Acts: f(3*batch*hidden, 0, 0), HPrev: f(batch*hidden, -1, 1), H: f(batch*hidden, 0, 0), DH: f(batch*hidden, -1, 1),
		DGX: f(3*batch*hidden, 0, 0), DGH: f(3*batch*hidden, 0, 0), DHPrev: f(batch*hidden, 0, 0)}
	// A recommender's user table (InstEval's 2,972 users × 32) and a batch of 256 ratings'
	// users: the dense Adam step against the lazy one on the rows the batch used.
	const tableRows, dim, ratings = 2972, 32, 256
	tp, tg, tm, tv := f(tableRows*dim, -1, 1), f(tableRows*dim, -1, 1), f(tableRows*dim, 0, 0), f(tableRows*dim, 0, 0)
	set, _ := bk.Alloc(device.Int32, device.RowSetLen(tableRows))
	batchIDs, _ := bk.Alloc(device.Int32, ratings)
	bv := make([]int32, ratings)
	for i := range bv {
		bv[i] = int32(rng.IntN(tableRows))
	}
	_ = bk.WriteInt32(batchIDs, bv)
	return []benchOp{
		{"adam-dense-2972x32", func() error { return bk.Update(device.Adam, hyper, tp, tg, tm, tv) }},
		{"adam-rows-256-of-2972x32", func() error {
			if err := bk.AddRows(set, batchIDs); err != nil {
				return err
			}
			return bk.UpdateRows(device.Adam, hyper, tp, tg, tm, tv, set, dim)
		}},
		{"gemm-batch48-QKt-64x64x32", func() error {
			return bk.Gemm(device.GemmArgs{TransB: true, M: seq, N: seq, K: hd, Alpha: 0.17677669, A: qkv, B: heads3, C: att,
				Batch: bsz * heads, StrideA: seq * hd, StrideB: seq * hd, StrideC: seq * seq})
		}},
		{"gemm-batch48-PV-64x32x64", func() error {
			return bk.Gemm(device.GemmArgs{M: seq, N: hd, K: seq, Alpha: 1, A: att, B: qkv, C: heads3,
				Batch: bsz * heads, StrideA: seq * seq, StrideB: seq * hd, StrideC: seq * hd})
		}},
		{"gelu_tanh-768x512", func() error { return bk.Unary(device.GELUTanh, qkv, heads3, 0) }},
		{"gelu_tanh-backward-768x512", func() error { return bk.UnaryBackward(device.GELUTanh, qkv, qkv, qkv, heads3, 0) }},
		{"causal-softmax-48x64x64", func() error { return bk.CausalSoftmax(att, att, bsz*heads, seq, 0.17677669) }},
		{"scatter-add-768x128-into-65", func() error { return bk.ScatterAdd(table, dTok, ids, width) }},
		{"permute-qkv-split-12x64x3x4x32", func() error { return bk.Permute(qkv, heads3, split) }},
		{"layernorm-768x128", func() error { return bk.LayerNorm(ln) }},
		{"layernorm-backward-768x128", func() error { return bk.LayerNormBackward(ln) }},
		{"lstm-cell-64x128", func() error { return bk.RNNCell(lstm) }},
		{"lstm-cell-backward-64x128", func() error { return bk.RNNCellBackward(lstm) }},
		{"gru-cell-64x128", func() error { return bk.RNNCell(gru) }},
		{"gru-cell-backward-64x128", func() error { return bk.RNNCellBackward(gru) }},
		{"sigmoid-1M", func() error { return bk.Unary(device.Sigmoid, x, y, 0) }},
		{"tanh-1M", func() error { return bk.Unary(device.Tanh, x, y, 0) }},
		{"relu-1M", func() error { return bk.Unary(device.ReLU, x, y, 0) }},
		{"softmax-xent-4096x100", func() error { return bk.Loss(loss) }},
		{"adam-109386", func() error { return bk.Update(device.Adam, hyper, p, g, m, v) }},
		{"im2col-32x8x28x28-5x5", func() error { return bk.Im2Col(img, col, conv) }},
		{"maxpool-32x32x28x28-2x2", func() error { return bk.Pool(device.MaxPool, pin, pout, pool) }},
		{"batchnorm-32x32x28x28", func() error { return bk.BatchNorm(bn) }},
	}
}

// BenchmarkOps runs each op on the reference loops, the tuned kernels on one thread and
// the tuned kernels on every core, one after the other, so that the three see the same
// machine load. Compare the lines of one run, e.g.
//
//	go test ./cpu -run '^$' -bench Ops -count 5
func BenchmarkOps(b *testing.B) {
	modes := []struct {
		name string
		ops  []benchOp
	}{
		{"reference", benchOps(cpu.New(cpu.Options{Reference: true}))},
		{"tuned-1-thread", benchOps(cpu.New(cpu.Options{Threads: 1}))},
		{"tuned", benchOps(cpu.New(cpu.Options{}))},
	}
	for i, op := range modes[0].ops {
		for _, mode := range modes {
			b.Run(op.name+"/"+mode.name, func(b *testing.B) {
				fn := mode.ops[i].fn
				for b.Loop() {
					if err := fn(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
