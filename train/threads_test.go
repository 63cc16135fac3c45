package train

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
)

// TestSameResultsAnyThreadCount trains the reference MLP (batch 32: its first GEMMs and
// its Adam update are split over threads) and the cnn preset (convolutions split by
// images and by chunks of the batch, batch norm by channels, pooling by planes) for an
// epoch on 1, 2 and 3 threads: the CPU backend's parts do not depend on the thread
// count, nor the arithmetic on which thread runs a part, so the weights must agree bit
// for bit.
func TestSameResultsAnyThreadCount(t *testing.T) {
	const n = 320
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]uint8, n*784)
	for i := range x {
		x[i] = uint8(rng.IntN(256))
	}
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(10))
	}
	flat := Dataset{X: gt.New(gt.WithShape(n, 784), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n), gt.WithBacking(y))}
	images := Dataset{X: gt.New(gt.WithShape(n, 1, 28, 28), gt.WithBacking(x)), Y: flat.Y}
	t.Run("mlp", func(t *testing.T) { sameResultsAnyThreadCount(t, referenceTrainer, flat) })
	t.Run("cnn", func(t *testing.T) {
		sameResultsAnyThreadCount(t, func(threads int) *Trainer {
			spec, err := nn.CNNSpec([]int{1, 28, 28}, 10)
			require.NoError(t, err)
			m, err := spec.Model()
			require.NoError(t, err)
			return &Trainer{Model: m, Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: NewAdam(),
				Dev: cpu.New(cpu.Options{Threads: threads}), BatchSize: 32, Seed: 1}
		}, images)
	})
}

func sameResultsAnyThreadCount(t *testing.T, newTrainer func(threads int) *Trainer, d Dataset) {
	var want [][]float32
	for _, threads := range []int{1, 2, 3} {
		tr := newTrainer(threads)
		hist, err := tr.Fit(d, Config{Epochs: 1})
		require.NoError(t, err)
		var got [][]float32
		for _, p := range tr.Net().Params() {
			v, err := p.Value.Float32s()
			require.NoError(t, err)
			got = append(got, v)
		}
		require.NoError(t, tr.Dev.Close())
		if want == nil {
			want = got
			require.Greater(t, hist.Epochs[0].Loss, 0.0)
			continue
		}
		for i := range want {
			require.Equal(t, want[i], got[i], "threads=%d: parameter %d differs from 1 thread", threads, i)
		}
	}
}
