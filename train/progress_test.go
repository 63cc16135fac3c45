package train_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/train"
)

// cancelAt is a callback that cancels a context after the given batch of the given epoch.
type cancelAt struct {
	train.NopCallback
	epoch, batch int
	cancel       context.CancelFunc
	seen         []train.BatchStats
}

func (c *cancelAt) OnBatchEnd(b train.BatchStats) error {
	c.seen = append(c.seen, b)
	if b.Epoch == c.epoch && b.Batch == c.batch {
		c.cancel()
	}
	return nil
}

// The running sums that Fit reads only every CheckEvery batches must still be exact in
// the Progress of a run interrupted between two reads.
func TestProgressOfInterruptedFitHasExactSums(t *testing.T) {
	data := blobs(7, 200, 4, 3) // 13 batches of 16
	run := func(checkEvery int) (train.Progress, []train.BatchStats, error) {
		tr := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 5)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cb := &cancelAt{epoch: 2, batch: 5, cancel: cancel}
		_, err := tr.Fit(data, train.Config{Epochs: 3, CheckEvery: checkEvery, Context: ctx, Callbacks: []train.Callback{cb}})
		return tr.Progress(), cb.seen, err
	}
	p, _, err := run(100)
	require.ErrorIs(t, err, train.ErrInterrupted)
	assert.ErrorContains(t, err, "epoch 2, batch 5 of 13")
	assert.Equal(t, 2, p.Epoch)
	assert.Equal(t, 5, p.Batch)
	assert.Equal(t, 13+5, p.OptimizerSteps)
	assert.Len(t, p.History.Epochs, 1)

	// The same run reading the sums after every batch tells what they must be.
	ref, seen, err := run(1)
	require.ErrorIs(t, err, train.ErrInterrupted)
	last := seen[len(seen)-1]
	require.True(t, last.Known)
	require.Equal(t, 5, last.Batch)
	assert.Greater(t, p.LossSum, 0.0)
	assert.Equal(t, ref.LossSum, p.LossSum, "loss sum of 5 batches, read at the interruption")
	assert.Equal(t, ref.CorrectSum, p.CorrectSum)
	assert.InDelta(t, last.Loss*5*16, p.LossSum, 1e-9*p.LossSum)
}
