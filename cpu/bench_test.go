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
	return []benchOp{
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
