package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// saveAt saves the trainer after the given batch (0: at the end of the epoch) and can
// cancel a context or fail there.
type saveAt struct {
	train.NopCallback
	t            *testing.T
	tr           *train.Trainer
	epoch, batch int
	path         string
	cancel       context.CancelFunc
	fail         error
}

func (s *saveAt) OnTrainBegin(tr *train.Trainer) error { s.tr = tr; return nil }

func (s *saveAt) OnBatchBegin(b train.BatchStats) error {
	if s.fail != nil && b.Epoch == s.epoch && b.Batch == s.batch {
		return s.fail
	}
	return nil
}

func (s *saveAt) OnBatchEnd(b train.BatchStats) error {
	if b.Epoch == s.epoch && b.Batch == s.batch && s.fail == nil {
		if s.path != "" {
			require.NoError(s.t, Save(s.path, s.tr, Settings{}))
		}
		if s.cancel != nil {
			s.cancel()
		}
	}
	return nil
}

func (s *saveAt) OnEpochEnd(e train.EpochStats) error {
	if s.batch == 0 && e.Epoch == s.epoch && s.path != "" {
		require.NoError(s.t, Save(s.path, s.tr, Settings{}))
	}
	return nil
}

// epochFigures are the History figures that do not depend on timing.
func epochFigures(h *train.History) []string {
	var out []string
	for _, e := range h.Epochs {
		out = append(out, fmt.Sprintf("epoch %d: loss %x acc %x val %x %x examples %d lr %v",
			e.Epoch, e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy, e.Examples, e.LearningRate))
	}
	return out
}

// A run stopped anywhere, saved, loaded into a fresh Trainer and resumed ends with the
// same weights, optimizer state and history, bit for bit, as the run never stopped.
func TestResumeIsBitIdentical(t *testing.T) {
	cases := []struct {
		name  string
		model func() *nn.Sequential
		in    []int
		opt   string
	}{
		{"mlp-adam", func() *nn.Sequential { return mlp(8, nn.ReLU) }, []int{4}, "adam"},
		{"mlp-momentum", func() *nn.Sequential { return mlp(8, nn.ReLU) }, []int{4}, "momentum"},
		{"cnn-adamw", cnn, []int{1, 8, 8}, "adamw"},
	}
	const epochs = 3
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := blobs(4, 160, c.in, 3) // 128 training examples: 8 batches of 16
			cfg := func(cbs ...train.Callback) train.Config {
				return train.Config{Epochs: epochs, ValidationSplit: 0.2, Callbacks: cbs}
			}
			dir := t.TempDir()
			atEpochEnd := &saveAt{t: t, epoch: 1, path: filepath.Join(dir, "epoch1.safetensors")}
			midEpoch := &saveAt{t: t, epoch: 2, batch: 3, path: filepath.Join(dir, "mid.safetensors")}
			ref := newTrainer(c.model(), c.opt, 11)
			hist, err := ref.Fit(data, cfg(atEpochEnd, midEpoch))
			require.NoError(t, err)
			want := snapshot(t, ref)

			// Interrupted through the context after batch 5 of epoch 2, and by a callback's
			// error before batch 2 of epoch 3; each saved once Fit returned.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			interrupted := newTrainer(c.model(), c.opt, 11)
			conf := cfg(&saveAt{t: t, epoch: 2, batch: 5, cancel: cancel})
			conf.Context = ctx
			_, err = interrupted.Fit(data, conf)
			require.ErrorIs(t, err, train.ErrInterrupted)
			require.NoError(t, Save(filepath.Join(dir, "interrupted.safetensors"), interrupted, Settings{}))

			boom := errors.New("boom")
			failed := newTrainer(c.model(), c.opt, 11)
			_, err = failed.Fit(data, cfg(&saveAt{t: t, epoch: 3, batch: 2, fail: boom}))
			require.ErrorIs(t, err, boom)
			require.NoError(t, Save(filepath.Join(dir, "failed.safetensors"), failed, Settings{}))

			for _, name := range []string{"epoch1", "mid", "interrupted", "failed"} {
				t.Run(name, func(t *testing.T) {
					ck, err := Open(filepath.Join(dir, name+".safetensors"))
					require.NoError(t, err)
					fresh := newTrainer(c.model(), c.opt, 11)
					require.NoError(t, ck.Restore(fresh))
					got, err := fresh.Fit(data, cfg())
					require.NoError(t, err)
					assert.Equal(t, want, snapshot(t, fresh), "weights, running statistics and optimizer state")
					assert.Equal(t, epochFigures(hist), epochFigures(got), "the same history")
					assert.Equal(t, ref.Optimizer.Iterations(), fresh.Optimizer.Iterations())
					assert.Equal(t, ref.Net().Context().Step, fresh.Net().Context().Step)
				})
			}
			p := map[string]train.Progress{}
			for _, name := range []string{"epoch1", "mid", "interrupted", "failed"} {
				ck, err := Open(filepath.Join(dir, name+".safetensors"))
				require.NoError(t, err)
				p[name] = ck.Progress
			}
			assert.Equal(t, [2]int{2, 0}, [2]int{p["epoch1"].Epoch, p["epoch1"].Batch}, "saved at the end of epoch 1")
			assert.Equal(t, [2]int{2, 3}, [2]int{p["mid"].Epoch, p["mid"].Batch})
			assert.Equal(t, [2]int{2, 5}, [2]int{p["interrupted"].Epoch, p["interrupted"].Batch})
			assert.Equal(t, [2]int{3, 1}, [2]int{p["failed"].Epoch, p["failed"].Batch})
		})
	}
}

// Without a checkpoint, the weights of a resumed run would differ: the comparison above
// can fail.
func TestResumeFromAnotherStateDiffers(t *testing.T) {
	data := blobs(4, 160, []int{4}, 3)
	ref := newTrainer(mlp(8, nn.ReLU), "adam", 11)
	_, err := ref.Fit(data, train.Config{Epochs: 2})
	require.NoError(t, err)
	other := newTrainer(mlp(8, nn.ReLU), "adam", 11)
	_, err = other.Fit(data, train.Config{Epochs: 1})
	require.NoError(t, err)
	require.NoError(t, other.Resume(train.Progress{Epoch: 2, OptimizerSteps: 10})) // no model step: other dropout masks
	_, err = other.Fit(data, train.Config{Epochs: 2})
	require.NoError(t, err)
	assert.NotEqual(t, snapshot(t, ref), snapshot(t, other))
}

// Early stopping resumes where it was: its best epoch, patience so far and the best
// epoch's weights travel in the checkpoint ("train.early_stopping.*"), so that a run
// interrupted before, between and after its best epochs stops after the same epoch and
// restores the same weights as the run never interrupted; resuming a run it stopped
// trains nothing more.
func TestResumeWithEarlyStoppingIsBitIdentical(t *testing.T) {
	data := blobs(4, 160, []int{4}, 3)
	const epochs = 12
	stopper := func() *train.EarlyStopping {
		return &train.EarlyStopping{Monitor: train.MonitorValLoss, MinDelta: 0.1, Patience: 2, RestoreBest: true}
	}
	cfg := func(cbs ...train.Callback) train.Config {
		return train.Config{Epochs: epochs, ValidationSplit: 0.2, Callbacks: cbs}
	}
	ref := newTrainer(mlp(8, nn.ReLU), "adam", 11)
	refStop := stopper()
	hist, err := ref.Fit(data, cfg(refStop))
	require.NoError(t, err)
	require.Positive(t, refStop.StoppedEpoch, "the reference run stops early: %v", epochFigures(hist))
	require.Less(t, refStop.BestEpoch, refStop.StoppedEpoch)
	require.True(t, refStop.Restored)
	want := snapshot(t, ref)
	t.Logf("best epoch %d, stopped after %d", refStop.BestEpoch, refStop.StoppedEpoch)

	dir := t.TempDir()
	for _, at := range []struct{ epoch, batch int }{{1, 3}, {refStop.BestEpoch, 4}, {refStop.BestEpoch + 1, 2}, {refStop.StoppedEpoch, 0}} {
		t.Run(fmt.Sprintf("epoch %d batch %d", at.epoch, at.batch), func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("e%d-b%d.safetensors", at.epoch, at.batch))
			first := newTrainer(mlp(8, nn.ReLU), "adam", 11)
			stop := stopper()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			conf := cfg(stop, &saveAt{t: t, epoch: at.epoch, batch: at.batch, path: path, cancel: cancel})
			conf.Context = ctx
			_, err := first.Fit(data, conf)
			if at.batch > 0 {
				require.ErrorIs(t, err, train.ErrInterrupted)
			} else {
				require.NoError(t, err, "saved at the end of the epoch early stopping ended")
			}
			ck, err := Open(path)
			require.NoError(t, err)
			if _, ok := ck.Progress.Callbacks["early_stopping"]; !ok {
				t.Fatalf("no early stopping state in the checkpoint")
			}
			fresh := newTrainer(mlp(8, nn.ReLU), "adam", 11)
			require.NoError(t, ck.Restore(fresh))
			freshStop := stopper()
			got, err := fresh.Fit(data, cfg(freshStop))
			require.NoError(t, err)
			assert.Equal(t, want, snapshot(t, fresh), "the best epoch's weights, restored")
			assert.Equal(t, epochFigures(hist), epochFigures(got), "the same epochs")
			assert.Equal(t, [4]any{refStop.BestEpoch, refStop.Best, refStop.StoppedEpoch, refStop.Restored},
				[4]any{freshStop.BestEpoch, freshStop.Best, freshStop.StoppedEpoch, freshStop.Restored})
		})
	}
}
