package cpu

import (
	"math/rand/v2"
	"testing"

	"github.com/gputrain/gputrain/device"
)

// convLayers are the convolutions of the cnn preset (nn.CNNSpec, docs/cnn.md) on a
// batch of 32 MNIST images; bench/torch_conv.py times the same layers in PyTorch.
var convLayers = []struct {
	name string
	g    device.ConvGeom
	f    int
	dx   bool // the backward pass computes the input gradient (not for the first layer)
}{
	{"conv1", device.ConvGeom{N: 32, C: 1, H: 28, W: 28, KH: 5, KW: 5, StrideH: 1, StrideW: 1, PadH: 2, PadW: 2}, 16, false},
	{"conv2", device.ConvGeom{N: 32, C: 16, H: 14, W: 14, KH: 5, KW: 5, StrideH: 1, StrideW: 1}, 32, true},
}

// BenchmarkConv times Conv (forward: with the bias) and ConvBackward (backward: the
// filter and bias gradients, and the input gradient for conv2, as a model's training
// step runs them) for each layer of convLayers. Threads: env GPUTRAIN_THREADS (default
// all cores). Reports µs/op, the process CPU time per op (cpu-µs/op) and GFLOP/s
// (2 flops per multiply-add of the direct definition: forward 2·N·F·OH·OW·C·KH·KW,
// backward that once per gradient computed, dW and dx).
func BenchmarkConv(b *testing.B) {
	threads := benchThreads(b)
	be := New(Options{Threads: threads})
	defer be.Close()
	b.Logf("threads=%d %s", threads, be.Describe())
	r := rand.New(rand.NewPCG(1, 3))
	buf := func(n int) device.Buffer {
		x, err := be.Alloc(device.Float32, n)
		if err != nil {
			b.Fatal(err)
		}
		if err := be.WriteFloat32(x, randSlice(r, n)); err != nil {
			b.Fatal(err)
		}
		return x
	}
	for _, l := range convLayers {
		g := l.g
		nx, nw, ny := g.N*g.C*g.H*g.W, l.f*g.ColRows(), g.N*l.f*g.OutH()*g.OutW()
		a := device.ConvArgs{G: g, F: l.f, X: buf(nx), W: buf(nw), B: buf(l.f), Y: buf(ny),
			DY: buf(ny), DW: buf(nw), DB: buf(l.f)}
		if l.dx {
			a.DX = buf(nx)
		}
		macs := float64(g.N * l.f * g.OutH() * g.OutW() * g.ColRows())
		for _, pass := range []struct {
			name  string
			flops float64
			fn    func() error
		}{
			{"forward", 2 * macs, func() error { return be.Conv(a) }},
			{"backward", map[bool]float64{false: 2, true: 4}[l.dx] * macs, func() error { return be.ConvBackward(a) }},
		} {
			b.Run(l.name+"/"+pass.name, func(b *testing.B) {
				if err := pass.fn(); err != nil {
					b.Fatal(err)
				}
				cpu0 := processCPUTime()
				for b.Loop() {
					if err := pass.fn(); err != nil {
						b.Fatal(err)
					}
				}
				cpu := processCPUTime() - cpu0
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N), "µs/op")
				b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(b.N), "cpu-µs/op")
				b.ReportMetric(pass.flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
