package train_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// Integer inputs (ids) reach an Embedding as int32: a model learns a label that only
// the identity of the first id tells, and predicts from ids too.
func TestEmbeddingModelLearnsFromIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 600
	x := make([]int64, n*3)
	y := make([]int32, n)
	for i := range n {
		for j := range 3 {
			x[i*3+j] = int64(rng.IntN(12))
		}
		y[i] = int32(x[i*3] % 3)
	}
	d := train.Dataset{X: gt.New(gt.WithShape(n, 3), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n), gt.WithBacking(y))}
	tr := &train.Trainer{Model: nn.NewSequential(nn.NewEmbedding(12, 8), nn.NewFlatten(), nn.NewDense(16, nn.ReLU), nn.NewDense(3, nn.Softmax)),
		Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(), Dev: cpu.New(cpu.Options{}), BatchSize: 32, Seed: 2}
	tr.Optimizer.SetLearningRate(0.01)
	hist, err := tr.Fit(d, train.Config{Epochs: 10, ValidationSplit: 0.2})
	require.NoError(t, err)
	assert.Greater(t, hist.Epochs[len(hist.Epochs)-1].ValAccuracy, 0.95)
	p, err := tr.Predict(d.X)
	require.NoError(t, err)
	probs := p.Data().([]float32)
	right := 0
	for i := range n {
		best := 0
		for c := 1; c < 3; c++ {
			if probs[i*3+c] > probs[i*3+best] {
				best = c
			}
		}
		if int32(best) == y[i] {
			right++
		}
	}
	assert.Greater(t, right, n*95/100)
}
