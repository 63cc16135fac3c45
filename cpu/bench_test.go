package cpu_test

import (
	"testing"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
)

// The tuned kernels against the reference loops on the same inputs. Compare the
// "reference" and "tuned" lines of one run, e.g.
//
//	go test ./cpu -run '^$' -bench . -count 5
func BenchmarkOps(b *testing.B) {
	for _, mode := range []struct {
		name string
		opts cpu.Options
	}{{"reference", cpu.Options{Reference: true}}, {"tuned-1-thread", cpu.Options{Threads: 1}}, {"tuned", cpu.Options{}}} {
		bk := cpu.New(mode.opts)
		f := func(n int, v float32) device.Buffer {
			x, _ := bk.Alloc(device.Float32, n)
			_ = bk.Fill(x, v)
			return x
		}
		const n = 1 << 20 // elementwise ops
		x, y := f(n, 0.3), f(n, 0)
		const rows, cols = 4096, 100 // softmax cross-entropy
		labels, _ := bk.Alloc(device.Int32, rows)
		loss := device.LossArgs{Op: device.SoftmaxCrossEntropy, Rows: rows, Cols: cols, Input: f(rows*cols, 0.1), Labels: labels,
			Probs: f(rows*cols, 0), Loss: f(rows, 0), Grad: f(rows*cols, 0), Scale: 1.0 / rows}
		const params = 109386 // the reference MLP's parameters
		p, g, m, v := f(params, 0.1), f(params, 0.01), f(params, 0), f(params, 0)
		hyper := device.Hyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7, Step: 1}
		geom := device.ConvGeom{N: 32, C: 8, H: 28, W: 28, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2}
		img, col := f(geom.N*geom.C*geom.H*geom.W, 0.5), f(geom.N*geom.ColRows()*geom.OutH()*geom.OutW(), 0)
		pool := device.ConvGeom{N: 32, C: 32, H: 28, W: 28, KH: 2, KW: 2, StrideH: 2, StrideW: 2}
		pin, pout := f(pool.N*pool.C*pool.H*pool.W, 0.5), f(pool.N*pool.C*pool.OutH()*pool.OutW(), 0)
		for _, op := range []struct {
			name string
			fn   func() error
		}{
			{"sigmoid-1M", func() error { return bk.Unary(device.Sigmoid, x, y, 0) }},
			{"tanh-1M", func() error { return bk.Unary(device.Tanh, x, y, 0) }},
			{"relu-1M", func() error { return bk.Unary(device.ReLU, x, y, 0) }},
			{"softmax-xent-4096x100", func() error { return bk.Loss(loss) }},
			{"adam-109386", func() error { return bk.Update(device.Adam, hyper, p, g, m, v) }},
			{"im2col-32x8x28x28-5x5", func() error { return bk.Im2Col(img, col, geom) }},
			{"maxpool-32x32x28x28-2x2", func() error { return bk.Pool(device.MaxPool, pin, pout, pool) }},
		} {
			b.Run(op.name+"/"+mode.name, func(b *testing.B) {
				for b.Loop() {
					if err := op.fn(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		bk.Close()
	}
}
