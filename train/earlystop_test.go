package train_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// noisyBlobs draws n examples from classes Gaussian clusters whose centres (drawn from
// centreSeed) lie spread apart, with unit noise: examples from one centreSeed and
// different sample seeds are the same problem.
func noisyBlobs(centreSeed uint64, n, dim, classes int, spread float64) train.Dataset {
	crng := rand.New(rand.NewPCG(centreSeed, 7))
	centres := make([][]float64, classes)
	for c := range centres {
		centres[c] = make([]float64, dim)
		for j := range centres[c] {
			centres[c][j] = crng.NormFloat64() * spread
		}
	}
	rng := rand.New(rand.NewPCG(centreSeed, uint64(n)))
	x := make([]float32, n*dim)
	y := make([]int32, n)
	for i := range n {
		c := rng.IntN(classes)
		y[i] = int32(c)
		for j := range dim {
			x[i*dim+j] = float32(centres[c][j] + rng.NormFloat64())
		}
	}
	return train.Dataset{X: gt.New(gt.WithShape(n, dim), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n), gt.WithBacking(y))}
}

// overfitter is a large MLP for a tiny noisy training set: its validation loss falls
// for a few epochs, then rises while the training loss goes to zero.
func overfitter(seed uint64) *train.Trainer {
	tr := &train.Trainer{Model: nn.NewSequential(nn.NewDense(128, nn.ReLU), nn.NewDense(128, nn.ReLU), nn.NewDense(3, nn.Softmax)),
		Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(), Dev: cpu.New(cpu.Options{}), BatchSize: 8, Seed: seed}
	tr.Optimizer.SetLearningRate(0.003)
	return tr
}

func TestEarlyStoppingStopsOverfittingAndRestoresBest(t *testing.T) {
	data := noisyBlobs(21, 40, 10, 3, 1.0)
	val := noisyBlobs(21, 400, 10, 3, 1.0)
	tr := overfitter(1)
	es := &train.EarlyStopping{Patience: 4, RestoreBest: true}
	const epochs = 60
	hist, err := tr.Fit(data, train.Config{Epochs: epochs, Validation: &val, Callbacks: []train.Callback{es}})
	require.NoError(t, err)
	require.NoError(t, es.Err())

	n := len(hist.Epochs)
	assert.Less(t, n, epochs, "training stopped early")
	best := 0
	for i, e := range hist.Epochs {
		if e.ValLoss < hist.Epochs[best].ValLoss {
			best = i
		}
	}
	bestEpoch := hist.Epochs[best].Epoch
	assert.Equal(t, bestEpoch, es.BestEpoch, "the best epoch is the one of lowest validation loss")
	assert.Equal(t, hist.Epochs[best].ValLoss, es.Best)
	assert.Equal(t, bestEpoch+4, n, "it stops after Patience epochs without improvement")
	assert.Equal(t, n, es.StoppedEpoch)
	assert.True(t, es.Restored)
	last := hist.Epochs[n-1]
	require.Greater(t, last.ValLoss, es.Best*1.05, "the weights at the stop are measurably worse than the best")
	assert.Less(t, last.Loss, hist.Epochs[best].Loss, "while the training loss kept falling: over-fitting")

	// The model now holds the best epoch's weights: evaluating on the same validation set
	// (same batches, same order) gives the best validation loss back.
	res, err := tr.Evaluate(val)
	require.NoError(t, err)
	assert.InDelta(t, es.Best, res.Loss, 1e-6)
	assert.InDelta(t, hist.Epochs[best].ValAccuracy, res.Accuracy, 1e-9)
}

func TestEarlyStoppingWithoutRestoreKeepsLastWeights(t *testing.T) {
	data := noisyBlobs(21, 40, 10, 3, 1.0)
	val := noisyBlobs(21, 400, 10, 3, 1.0)
	tr := overfitter(1)
	es := &train.EarlyStopping{Patience: 4}
	hist, err := tr.Fit(data, train.Config{Epochs: 60, Validation: &val, Callbacks: []train.Callback{es}})
	require.NoError(t, err)
	assert.False(t, es.Restored)
	res, err := tr.Evaluate(val)
	require.NoError(t, err)
	assert.InDelta(t, hist.Epochs[len(hist.Epochs)-1].ValLoss, res.Loss, 1e-6)
}

func TestEarlyStoppingRestoresAtTheEndOfACompleteFit(t *testing.T) {
	// Patience longer than the run: Fit runs every epoch, and OnTrainEnd restores.
	data := noisyBlobs(21, 40, 10, 3, 1.0)
	val := noisyBlobs(21, 400, 10, 3, 1.0)
	tr := overfitter(1)
	es := &train.EarlyStopping{Patience: 100, RestoreBest: true}
	hist, err := tr.Fit(data, train.Config{Epochs: 12, Validation: &val, Callbacks: []train.Callback{es}})
	require.NoError(t, err)
	require.Len(t, hist.Epochs, 12)
	assert.Zero(t, es.StoppedEpoch)
	require.Less(t, es.BestEpoch, 12, "the setup over-fits within 12 epochs")
	assert.True(t, es.Restored)
	res, err := tr.Evaluate(val)
	require.NoError(t, err)
	assert.InDelta(t, es.Best, res.Loss, 1e-6)
}

// epochs makes EpochStats with the given validation losses and accuracies.
func epochs(vloss, vacc []float64) []train.EpochStats {
	var out []train.EpochStats
	for i := range vloss {
		out = append(out, train.EpochStats{Epoch: i + 1, HasValidation: true, ValLoss: vloss[i], ValAccuracy: vacc[i],
			Loss: vloss[i] / 2, Accuracy: vacc[i]})
	}
	return out
}

func TestEarlyStoppingRules(t *testing.T) {
	flat := func(n int, v float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	cases := []struct {
		name        string
		es          train.EarlyStopping
		vloss, vacc []float64
		stopAt      int // epoch whose OnEpochEnd returns ErrStop; 0 for none
		bestEpoch   int
	}{
		{"val_loss patience 2", train.EarlyStopping{Patience: 2},
			[]float64{1, 0.8, 0.9, 0.85, 0.7}, flat(5, 0.5), 4, 2},
		{"improvement resets the count", train.EarlyStopping{Patience: 2},
			[]float64{1, 1.1, 0.9, 1.0, 0.8, 0.9, 0.95}, flat(7, 0.5), 7, 5},
		{"patience 0 stops at the first epoch without improvement", train.EarlyStopping{},
			[]float64{1, 0.9, 0.95}, flat(3, 0.5), 3, 2},
		{"min_delta: small gains do not count", train.EarlyStopping{Patience: 2, MinDelta: 0.05},
			[]float64{1, 0.97, 0.96, 0.5}, flat(4, 0.5), 3, 1},
		{"NaN never improves", train.EarlyStopping{Patience: 1},
			[]float64{1, math.NaN()}, flat(2, 0.5), 2, 1},
		{"val_accuracy is maximized", train.EarlyStopping{Monitor: "val_accuracy", Patience: 1},
			flat(3, 1), []float64{0.5, 0.7, 0.6}, 3, 2},
		{"loss (training) monitored", train.EarlyStopping{Monitor: "loss", Patience: 1},
			[]float64{1, 0.8, 0.6}, []float64{0.2, 0.9, 0.1}, 0, 3},
		{"accuracy (training) monitored", train.EarlyStopping{Monitor: "accuracy", Patience: 1},
			[]float64{1, 0.8, 0.6}, []float64{0.2, 0.9, 0.1}, 3, 2},
	}
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 1)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			es := c.es
			require.NoError(t, es.OnTrainBegin(tr))
			stopped := 0
			for _, e := range epochs(c.vloss, c.vacc) {
				err := es.OnEpochEnd(e)
				if err != nil {
					require.ErrorIs(t, err, train.ErrStop)
					stopped = e.Epoch
					break
				}
			}
			assert.Equal(t, c.stopAt, stopped, "stopped at")
			assert.Equal(t, c.stopAt, es.StoppedEpoch)
			assert.Equal(t, c.bestEpoch, es.BestEpoch, "best epoch")
		})
	}
}

func TestEarlyStoppingRefusesBadSettings(t *testing.T) {
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 1)
	for _, c := range []struct {
		es   train.EarlyStopping
		want string
	}{
		{train.EarlyStopping{Monitor: "val_acc"}, `unknown monitor "val_acc"`},
		{train.EarlyStopping{MinDelta: -0.1}, "MinDelta must not be negative, got -0.1"},
		{train.EarlyStopping{Patience: -1}, "Patience must not be negative, got -1"},
	} {
		assert.ErrorContains(t, c.es.OnTrainBegin(tr), c.want)
	}
	reg := &train.Trainer{Model: nn.NewSequential(nn.NewDense(1, nn.Linear)), Loss: &nn.MSE{}, Optimizer: train.NewAdam(),
		Dev: cpu.New(cpu.Options{})}
	es := train.EarlyStopping{Monitor: "val_accuracy"}
	assert.ErrorContains(t, es.OnTrainBegin(reg), "monitors val_accuracy, but the loss mse does not classify")

	// A validation monitor without validation data ends Fit with a clear error.
	_, err := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 1).Fit(blobs(1, 40, 4, 3),
		train.Config{Epochs: 3, Callbacks: []train.Callback{&train.EarlyStopping{}}})
	assert.ErrorContains(t, err, "EarlyStopping monitors val_loss, but epoch 1 has no validation data")
}

func TestEarlyStoppingDoesNotRestoreAfterAFailedFit(t *testing.T) {
	data := noisyBlobs(21, 40, 10, 3, 1.0)
	val := noisyBlobs(21, 400, 10, 3, 1.0)
	tr := overfitter(1)
	es := &train.EarlyStopping{Patience: 100, RestoreBest: true}
	boom := errors.New("boom")
	hist, err := tr.Fit(data, train.Config{Epochs: 12, Validation: &val, Callbacks: []train.Callback{es,
		&recorder{name: "f", log: new([]string), hook: "epoch-end", epoch: 10, ret: boom}}})
	require.ErrorIs(t, err, boom)
	require.Less(t, es.BestEpoch, 10)
	assert.False(t, es.Restored, "the weights stay those of the failure, for a checkpoint to resume from")
	res, err := tr.Evaluate(val)
	require.NoError(t, err)
	assert.InDelta(t, hist.Epochs[9].ValLoss, res.Loss, 1e-6)
}
