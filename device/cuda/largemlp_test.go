package cuda_test

// The large MLP of BenchmarkLargeMLPStep (throughput_test.go, tag cuda) and the GEMMs
// one of its training steps issues. This file has no build tag: the test below checks,
// on the CPU backend, that the list is exactly what the Trainer's step computes, so that
// the benchmark's FLOP counts are counts of the work done.

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// The large MLP: largeIn inputs, then Dense layers of largeWidths units (ReLU, the last
// softmax over largeWidths[len-1] classes), trained with Adam at batch largeBatch.
const (
	largeIn    = 4096
	largeBatch = 4096
)

var largeWidths = []int{4096, 4096, 4096, 4096}

// denseMLP returns Dense layers of widths units, ReLU between them and a softmax last.
func denseMLP(widths []int) *nn.Sequential {
	layers := make([]nn.Layer, len(widths))
	for i, w := range widths {
		act := nn.ReLU
		if i == len(widths)-1 {
			act = nn.Softmax
		}
		layers[i] = nn.NewDense(w, act)
	}
	return nn.NewSequential(layers...)
}

// gemmShape is a row-major GEMM C (M×N) = op(A) (M×K) · op(B) (K×N), as device.GemmArgs.
type gemmShape struct {
	TransA, TransB bool
	M, N, K        int
}

func (g gemmShape) flop() float64 { return 2 * float64(g.M) * float64(g.N) * float64(g.K) }

func (g gemmShape) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s-m%d-n%d-k%d", t(g.TransA), t(g.TransB), g.M, g.N, g.K)
}

// stepGemms lists the GEMMs of one training step of a Dense stack (nn.Dense, W of shape
// (out, in)) on a batch of rows, in the order the step issues them:
//
//	forward, layer l:   z (rows×out) = x (rows×in) · Wᵀ          NT, M=rows N=out K=in
//	backward, l = L..1: dW (out×in)  = dzᵀ (out×rows) · x         TN, M=out  N=in  K=rows
//	                    dx (rows×in) = dz (rows×out) · W          NN, M=rows N=in  K=out
//
// The first layer computes no dx (its input is the data), so the step's GEMMs do
// 2·rows·(3·Σ in·out − in₀·out₀) FLOP, against the customary 6·rows·Σ in·out.
func stepGemms(in int, widths []int, rows int) []gemmShape {
	ins := append([]int{in}, widths[:len(widths)-1]...)
	var out []gemmShape
	for l, w := range widths {
		out = append(out, gemmShape{TransB: true, M: rows, N: w, K: ins[l]})
	}
	for l := len(widths) - 1; l >= 0; l-- {
		out = append(out, gemmShape{TransA: true, M: widths[l], N: ins[l], K: rows})
		if l > 0 {
			out = append(out, gemmShape{M: rows, N: ins[l], K: widths[l]})
		}
	}
	return out
}

// modelFlop is the customary FLOP count of a training step of a Dense stack:
// 6·rows·Σ in·out (2 for the forward GEMM, 4 for the two backward GEMMs of each layer).
func modelFlop(in int, widths []int, rows int) float64 {
	s, prev := 0.0, in
	for _, w := range widths {
		s += float64(prev) * float64(w)
		prev = w
	}
	return 6 * float64(rows) * s
}

func gemmFlop(gs []gemmShape) float64 {
	s := 0.0
	for _, g := range gs {
		s += g.flop()
	}
	return s
}

// gemmRecorder is a backend that notes the shape of every Gemm it runs.
type gemmRecorder struct {
	device.Backend
	got []gemmShape
}

func (r *gemmRecorder) Gemm(g device.GemmArgs) error {
	r.got = append(r.got, gemmShape{TransA: g.TransA, TransB: g.TransB, M: g.M, N: g.N, K: g.K})
	return r.Backend.Gemm(g)
}

// randomImages returns n examples of in uint8 features with labels below classes.
func randomImages(seed uint64, n, in, classes int) train.Dataset {
	rng := rand.New(rand.NewPCG(seed, 3))
	x := make([]uint8, n*in)
	for i := range x {
		x[i] = uint8(rng.IntN(256))
	}
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(classes))
	}
	return train.Dataset{X: gt.New(gt.WithShape(n, in), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n), gt.WithBacking(y))}
}

// stepGemms is exactly what a training step runs: one step of a small stack with
// distinct sizes on the CPU, every Gemm recorded.
func TestStepGemmsAreTheTrainersGemms(t *testing.T) {
	const in, rows = 24, 5
	widths := []int{16, 12, 8}
	rec := &gemmRecorder{Backend: cpu.New(cpu.Options{Reference: true})}
	defer rec.Close()
	tr := &train.Trainer{Model: denseMLP(widths), Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(),
		Dev: rec, BatchSize: rows, Seed: 1}
	_, err := tr.Fit(randomImages(1, rows, in, widths[len(widths)-1]), train.Config{Epochs: 1})
	require.NoError(t, err)
	want := stepGemms(in, widths, rows)
	assert.Equal(t, want, rec.got)

	// 6·rows·Σ in·out, less the first layer's input gradient: 2·rows·in·widths[0].
	assert.Equal(t, modelFlop(in, widths, rows)-2*rows*in*float64(widths[0]), gemmFlop(want))
	assert.Equal(t, 6*float64(rows)*(24*16+16*12+12*8), modelFlop(in, widths, rows))
}
