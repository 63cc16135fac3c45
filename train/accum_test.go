package train_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// weights reads every parameter of a trained model.
func weights(t *testing.T, tr *train.Trainer) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for _, p := range tr.Net().Params() {
		v, err := p.Value.Float32s()
		require.NoError(t, err)
		out[p.Name] = v
	}
	return out
}

// Accumulating the gradients of N batches of b examples into one step is one step on
// a batch of N·b: the same examples (the epoch's order is the same), the same mean
// gradient, the same update, up to float rounding; the epoch's last, partial group
// matches the last, partial batch.
func TestAccumulatedStepsEqualALargerBatch(t *testing.T) {
	data := blobs(4, 200, 5, 3) // 6 batches of 32 and one of 8; 25 batches of 8
	run := func(batch, accum int, opt train.Optimizer) (*train.Trainer, *train.History) {
		tr := &train.Trainer{Model: nn.NewSequential(nn.NewDense(12, nn.Tanh), nn.NewDense(3, nn.Softmax)),
			Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: opt, Dev: cpu.New(cpu.Options{Threads: 2}),
			BatchSize: batch, AccumSteps: accum, Seed: 9}
		hist, err := tr.Fit(data, train.Config{Epochs: 3})
		require.NoError(t, err)
		return tr, hist
	}
	for _, name := range []string{"sgd", "adam"} {
		t.Run(name, func(t *testing.T) {
			opt := func() train.Optimizer {
				o, err := train.NewOptimizer(name, 0.05)
				require.NoError(t, err)
				return o
			}
			big, hb := run(32, 1, opt())
			small, hs := run(8, 4, opt())
			assert.Equal(t, 21, big.Optimizer.Iterations(), "7 steps per epoch")
			assert.Equal(t, big.Optimizer.Iterations(), small.Optimizer.Iterations())
			wb, ws := weights(t, big), weights(t, small)
			moved := 0.0
			for name, v := range wb {
				for i := range v {
					assert.InDeltaf(t, v[i], ws[name][i], 1e-5*math.Max(1, math.Abs(float64(v[i]))), "%s[%d]", name, i)
				}
				moved += math.Abs(float64(v[0]))
			}
			require.Positive(t, moved)
			for e := range hb.Epochs {
				assert.InDelta(t, hb.Epochs[e].Loss, hs.Epochs[e].Loss, 1e-5, "epoch %d: the same examples, the same losses", e+1)
			}
			unaccumulated, _ := run(8, 1, opt())
			wu := weights(t, unaccumulated)
			assert.NotEqual(t, wb["0.weight"], wu["0.weight"], "8-example steps differ: the test can tell")
		})
	}
}

func TestAccumStepsRejected(t *testing.T) {
	tr := &train.Trainer{Model: mlp(3), Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(),
		Dev: cpu.New(cpu.Options{}), AccumSteps: -1}
	_, err := tr.Fit(blobs(1, 20, 4, 3), train.Config{Epochs: 1})
	assert.ErrorContains(t, err, "train: AccumSteps must not be negative, got -1")
}
