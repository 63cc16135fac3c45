//go:build cuda || cudaemu

package cuda_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// The recommenders on the CUDA backend: MF and TwoTower (sparse embedding tables: the
// row sets of AddRows, the lazy Adam of UpdateRows, ClearRows; the column split, the
// towers' permutes) trained for a few steps of MSE on ratings against the CPU
// reference, with TestTrainingMatchesCPU's tolerances; the second run accumulates two
// batches per step, so that the row sets gather the rows of several batches.
func TestRecommendersTrainAsOnTheCPU(t *testing.T) {
	const n, users, items = 96, 40, 25
	rng := rand.New(rand.NewPCG(3, 5))
	x4 := make([]int32, n*4)
	x2 := make([]int32, n*2)
	y := make([]float32, n)
	for i := range n {
		u, it := int32(rng.IntN(users)), int32(rng.IntN(items))
		x4[4*i], x4[4*i+1], x4[4*i+2], x4[4*i+3] = u, it, u%3, it%4
		x2[2*i], x2[2*i+1] = u, it
		y[i] = float32(1 + rng.IntN(5))
	}
	ratings := func(x []int32, f int) train.Dataset {
		return train.Dataset{X: gt.New(gt.WithShape(n, f), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n, 1), gt.WithBacking(y))}
	}
	for _, c := range []struct {
		name  string
		model func() nn.Module
		d     train.Dataset
		accum int
	}{
		{"mf", func() nn.Module {
			return &nn.MF{Users: users, Items: items, Dim: 8, Std: 0.3, Mean: 3, L2: 0.1, BiasL2: 0.05}
		}, ratings(x2, 2), 1},
		{"mf-accumulated", func() nn.Module { return &nn.MF{Users: users, Items: items, Dim: 8, Std: 0.3, Mean: 3, L2: 0.1} }, ratings(x2, 2), 2},
		{"twotower", func() nn.Module {
			return &nn.TwoTower{Users: users, Items: items, UserFields: []int{3}, ItemFields: []int{4}, Dim: 8, Hidden: 16, Std: 0.3, Mean: 3, L2: 0.1}
		}, ratings(x4, 4), 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			ref := cpu.New(cpu.Options{Reference: true})
			defer ref.Close()
			wantLoss, wantParams := runRatings(t, ref, c.d, c.model(), c.accum)
			gotLoss, gotParams := runRatings(t, testBackend(t), c.d, c.model(), c.accum)
			sameTraining(t, wantLoss, wantParams, gotLoss, gotParams)
		})
	}
}

// runRatings trains model for one epoch of batches of 16 with MSE and Adam.
func runRatings(t *testing.T, dev device.Backend, d train.Dataset, model nn.Module, accum int) ([]float64, map[string][]float32) {
	t.Helper()
	opt, err := train.NewOptimizer("adam", 0.01)
	require.NoError(t, err)
	tr := &train.Trainer{Model: model, Loss: &nn.MSE{}, Optimizer: opt, Dev: dev, BatchSize: 16, AccumSteps: accum, Seed: 2}
	var losses []float64
	_, err = tr.Fit(d, train.Config{Epochs: 1, NoShuffle: true, CheckEvery: 1, Callbacks: []train.Callback{&lossRecorder{losses: &losses}}})
	require.NoError(t, err, "training on %s", dev.Describe())
	params := map[string][]float32{}
	for _, p := range tr.Net().Params() {
		v, err := p.Value.Float32s()
		require.NoError(t, err)
		params[p.Name] = v
	}
	return losses, params
}
