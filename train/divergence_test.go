package train_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/train"
)

// Adam at a learning rate of 1e6 sends the loss up by many orders of magnitude without
// making it NaN: Fit stops at the first read past DivergenceFactor times the first
// batch's loss, naming the batches and the steps, instead of finishing with a
// meaningless model.
func TestDivergenceStopsTraining(t *testing.T) {
	data := blobs(1, 600, 4, 3)
	opt := train.NewAdam()
	opt.SetLearningRate(1e6)
	tr := newTrainer(cpu.New(cpu.Options{Threads: 1}), opt, 3)
	hist, err := tr.Fit(data, train.Config{Epochs: 5, CheckEvery: 5})
	require.ErrorIs(t, err, train.ErrDiverged)
	assert.NotErrorIs(t, err, train.ErrNotFinite)
	assert.Regexp(t, `^train: epoch 1, batches 2 to \d+ \(steps 2 to \d+\): loss diverged: their mean loss \S+ is \S+ times the first batch's \S+ \(more than 10000 times; lower the learning rate\?\)$`, err.Error())
	assert.Empty(t, hist.Epochs, "no epoch completes")

	// Off, the same run trains to the end with an absurd loss, as it did before.
	opt = train.NewAdam()
	opt.SetLearningRate(1e6)
	tr = newTrainer(cpu.New(cpu.Options{Threads: 1}), opt, 3)
	hist, err = tr.Fit(data, train.Config{Epochs: 2, CheckEvery: 5, DivergenceFactor: -1})
	require.NoError(t, err)
	assert.Greater(t, hist.Epochs[1].Loss, 1e4*1.1, "far above a classifier's starting loss")

	// A run that learns never trips it, at any setting above 1.
	tr = newTrainer(cpu.New(cpu.Options{Threads: 1}), train.NewAdam(), 3)
	_, err = tr.Fit(data, train.Config{Epochs: 3, CheckEvery: 5, DivergenceFactor: 1.5})
	require.NoError(t, err)
	_, err = tr.Fit(data, train.Config{Epochs: 4, DivergenceFactor: 0.5})
	assert.ErrorContains(t, err, "train: DivergenceFactor must be above 1")
}
