package checkpoint

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// blobs makes n examples of shape in in `classes` Gaussian clusters.
func blobs(seed uint64, n int, in []int, classes int) train.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	dim := 1
	for _, d := range in {
		dim *= d
	}
	centers := make([][]float64, classes)
	for c := range centers {
		centers[c] = make([]float64, dim)
		for j := range centers[c] {
			centers[c][j] = rng.NormFloat64() * 2
		}
	}
	x := make([]float32, n*dim)
	y := make([]int32, n)
	for i := range n {
		c := rng.IntN(classes)
		y[i] = int32(c)
		for j := range dim {
			x[i*dim+j] = float32(centers[c][j] + rng.NormFloat64())
		}
	}
	return train.Dataset{
		X: gt.New(gt.WithShape(append([]int{n}, in...)...), gt.WithBacking(x)),
		Y: gt.New(gt.WithShape(n), gt.WithBacking(y)),
	}
}

// mlp has every kind of state a checkpoint must carry: weights, batch-norm running
// statistics, and dropout (whose masks follow the model's step counter).
func mlp(hidden int, act nn.Activation) *nn.Sequential {
	return nn.NewSequential(nn.NewDense(hidden, act), nn.NewBatchNorm(), nn.NewDropout(0.25), nn.NewDense(3, nn.Softmax))
}

// cnn is a small LeNet-like model on (1, 8, 8) images.
func cnn() *nn.Sequential {
	conv := nn.NewConv2D(4, 3, nn.ReLU)
	conv.Padding = 1
	return nn.NewSequential(conv, nn.NewBatchNorm(), nn.NewMaxPool2D(2), nn.NewFlatten(), nn.NewDense(3, nn.Softmax))
}

func newTrainer(m nn.Module, opt string, seed uint64) *train.Trainer {
	o, err := train.NewOptimizer(opt, 0)
	if err != nil {
		panic(err)
	}
	return &train.Trainer{Model: m, Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: o,
		Dev: cpu.New(cpu.Options{Threads: 2}), BatchSize: 16, Seed: seed}
}

// snapshot reads every model parameter and optimizer state tensor to the host, by name.
func snapshot(t *testing.T, tr *train.Trainer) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for _, p := range tr.Net().Params() {
		v, err := p.Value.Float32s()
		require.NoError(t, err)
		out[p.Name] = v
	}
	for _, p := range tr.Optimizer.State() {
		v, err := p.Value.Float32s()
		require.NoError(t, err)
		out[OptimizerPrefix+p.Name] = v
	}
	return out
}
