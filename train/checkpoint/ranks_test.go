package checkpoint

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/comm"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// newRanks makes the Trainers of an n-rank job (comm.NewGroup) on their own cpu backends.
func newRanks(t *testing.T, n int) []*train.Trainer {
	t.Helper()
	devs := make([]device.Backend, n)
	for r := range devs {
		devs[r] = cpu.New(cpu.Options{Threads: 1})
	}
	comms, err := comm.NewGroup(devs)
	require.NoError(t, err)
	trs := make([]*train.Trainer, n)
	for r := range trs {
		trs[r] = newTrainer(mlp(8, nn.ReLU), "adam", 7)
		trs[r].Dev, trs[r].Comm = devs[r], comms[r]
	}
	return trs
}

// A data-parallel job's checkpoint records its number of ranks; it resumes with as many
// ranks, and is refused with another number, with both named, before anything is
// written.
func TestCheckpointRecordsRanks(t *testing.T) {
	data := blobs(1, 160, []int{4}, 3)
	path := filepath.Join(t.TempDir(), "run.safetensors")
	trs := newRanks(t, 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for r, tr := range trs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer tr.Comm.Close()
			if _, errs[r] = tr.Fit(data, train.Config{Epochs: 1}); errs[r] == nil && r == 0 {
				errs[r] = Save(path, tr, Settings{})
			}
		}()
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	ck, err := Open(path)
	require.NoError(t, err)
	assert.Equal(t, 2, ck.Settings.Ranks)
	assert.Equal(t, 16, ck.Settings.BatchSize, "per rank")

	same := newRanks(t, 2)[1]
	require.NoError(t, same.Build([]int{4}))
	require.NoError(t, ck.Restore(same))
	assert.Equal(t, trs[0].Optimizer.Iterations(), same.Optimizer.Iterations())

	for _, c := range []struct {
		tr   *train.Trainer
		want string
	}{
		{newTrainer(mlp(8, nn.ReLU), "adam", 7), "saved by a job of 2 ranks (global batch 32 = 2 × 16), this one has 1: resume with 2 ranks"},
		{newRanks(t, 3)[0], "saved by a job of 2 ranks (global batch 32 = 2 × 16), this one has 3: resume with 2 ranks"},
	} {
		require.NoError(t, c.tr.Build([]int{4}))
		before := snapshot(t, c.tr)
		err := ck.Restore(c.tr)
		require.Error(t, err)
		assert.Contains(t, err.Error(), c.want)
		assert.Equal(t, before, snapshot(t, c.tr), "nothing written")
	}

	// and a one-process checkpoint refuses a job of 2
	one, _ := trained(t, 8, nn.ReLU, "adam")
	onePath := filepath.Join(t.TempDir(), "one.safetensors")
	require.NoError(t, Save(onePath, one, Settings{}))
	ck1, err := Open(onePath)
	require.NoError(t, err)
	assert.Zero(t, ck1.Settings.Ranks)
	two := newRanks(t, 2)[0]
	require.NoError(t, two.Build([]int{4}))
	assert.ErrorContains(t, ck1.Restore(two), "saved by a job of 1 rank (global batch 16 = 1 × 16), this one has 2: resume with 1 rank")
}
