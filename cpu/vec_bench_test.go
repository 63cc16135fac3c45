package cpu

import (
	"math/rand/v2"
	"testing"

	"github.com/gputrain/gputrain/device"
)

// BenchmarkVec times each vector primitive of each variant on the reference job's
// sizes: the optimizer over its 109,386 parameters, the others over a batch of 32 rows
// of 784 (the gathered images) or 128 (the first layer's outputs). It reports GB/s: the
// bytes each call reads and writes, over the time it takes (one thread).
//
//	go test ./cpu -run '^$' -bench Vec
func BenchmarkVec(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const params, pixels, hidden = 109386, 32 * 784, 32 * 128
	p, g, m, v := randSlice(r, params), randSlice(r, params), make([]float32, params), make([]float32, params)
	x, y, z := randSlice(r, hidden), randSlice(r, hidden), make([]float32, hidden)
	u8 := make([]uint8, pixels)
	for i := range u8 {
		u8[i] = uint8(r.IntN(256))
	}
	img := make([]float32, pixels)
	c := &adamConsts{b1: 0.9, c1: 0.1, b2: 0.999, c2: 1 - 0.999, alpha: 1e-3, eps: 1e-7}
	for _, vv := range vecAvailable {
		for _, k := range []struct {
			name  string
			bytes int // read + written per call
			fn    func()
		}{
			{"adam-109386", 7 * 4 * params, func() { vv.adam(p, g, m, v, c) }},
			{"momentum-109386", 5 * 4 * params, func() { vv.momentum(p, g, m, 0.9, 1e-3, false) }},
			{"axpby-109386", 3 * 4 * params, func() { vv.axpby(p, g, -1e-3, 1) }},
			{"widenU8-32x784", 5 * pixels, func() { vv.widenU8(img, u8, 1.0/255) }},
			{"add-32x128", 3 * 4 * hidden, func() { vv.binary(device.Add, z, x, y) }},
			{"relu-32x128", 2 * 4 * hidden, func() { vv.relu(z, x) }},
			{"selectPos-32x128", 3 * 4 * hidden, func() { vv.selectPos(z, x, y, 0) }},
			{"exp-32x128", 2 * 4 * hidden, func() { vv.exp(z, x) }},
			{"sigmoid-32x128", 2 * 4 * hidden, func() { vv.sigmoid(z, x) }},
			{"tanh-32x128", 2 * 4 * hidden, func() { vv.tanh(z, x) }},
			{"geluTanh-32x128", 2 * 4 * hidden, func() { vv.geluTanh(z, x) }},
			{"geluTanhBackward-32x128", 3 * 4 * hidden, func() { vv.geluTanhBackward(z, x, y) }},
			{"biasReLU-32x128", 2*4*hidden + 4*128, func() { vv.biasReLU(z, 128, 32, 128, y[:128], true) }},
		} {
			b.Run(k.name+"/"+vv.name, func(b *testing.B) {
				for b.Loop() {
					k.fn()
				}
				b.ReportMetric(float64(k.bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	}
}
