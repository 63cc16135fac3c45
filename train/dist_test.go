package train_test

import (
	"context"
	"errors"
	"fmt"
	"math"
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

// Data-parallel training, with the ranks as goroutines of this process (comm.NewGroup):
// the same Trainer code as under mpirun (cmd/gputrain's mpi tests run it there).

// rankRun is one rank's Trainer and what its Fit returned.
type rankRun struct {
	tr   *train.Trainer
	hist *train.History
	err  error
}

// onRanks runs fit on n ranks, each with the Trainer mk makes, on its own 1-thread cpu
// backend unless the Trainer has a Dev, and returns every rank's result. A rank closes its Comm when its Fit ends,
// so that a rank that fails never leaves the others waiting.
func onRanks(t *testing.T, n int, mk func(rank int) *train.Trainer, fit func(rank int, tr *train.Trainer) (*train.History, error)) []rankRun {
	t.Helper()
	out := make([]rankRun, n)
	devs := make([]device.Backend, n)
	for r := range n {
		out[r].tr = mk(r)
		if out[r].tr.Dev == nil {
			out[r].tr.Dev = cpu.New(cpu.Options{Threads: 1})
		}
		devs[r] = out[r].tr.Dev
	}
	comms, err := comm.NewGroup(devs)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for r := range n {
		tr := out[r].tr
		tr.Comm = comms[r]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer comms[r].Close()
			out[r].hist, out[r].err = fit(r, tr)
		}()
	}
	wg.Wait()
	return out
}

// closeTo asserts |a-b| <= 1e-5·max(1, |a|), element by element (as the accumulation test).
func closeTo(t *testing.T, want, got map[string][]float32, what string) {
	t.Helper()
	require.Equal(t, len(want), len(got))
	worst, at := 0.0, ""
	for name, v := range want {
		require.Len(t, got[name], len(v), name)
		for i := range v {
			d := math.Abs(float64(v[i])-float64(got[name][i])) / math.Max(1, math.Abs(float64(v[i])))
			if d > worst {
				worst, at = d, fmt.Sprintf("%s[%d]: %v vs %v", name, i, v[i], got[name][i])
			}
		}
	}
	assert.LessOrEqualf(t, worst, 1e-5, "%s: largest relative difference at %s", what, at)
}

func sameHistory(t *testing.T, want, got *train.History) {
	t.Helper()
	require.Len(t, got.Epochs, len(want.Epochs))
	for e, w := range want.Epochs {
		g := got.Epochs[e]
		assert.Equal(t, w.Examples, g.Examples, "epoch %d examples", e+1)
		assert.InDelta(t, w.Loss, g.Loss, 1e-5*math.Max(1, w.Loss), "epoch %d loss", e+1)
		assert.InDelta(t, w.Accuracy, g.Accuracy, 1e-9, "epoch %d accuracy", e+1)
		assert.Equal(t, w.HasValidation, g.HasValidation)
		assert.InDelta(t, w.ValLoss, g.ValLoss, 1e-5*math.Max(1, w.ValLoss), "epoch %d validation loss", e+1)
		assert.InDelta(t, w.ValAccuracy, g.ValAccuracy, 1e-9, "epoch %d validation accuracy", e+1)
	}
}

// N ranks with batch b follow one process with batch N·b: the same examples in every
// step, the same mean gradient up to the order of the additions, the same update; the
// epoch figures are sums over the ranks, equal to the single process's; every rank ends
// with the same weights, bit for bit. The cases cover an even split, an uneven last
// batch (3 ranks: 3+3+2 of 8, and 1+1+0 of 2, where rank 2 trains nothing), gradient
// accumulation, clipping by the global norm and a validation set split over the ranks.
func TestDataParallelEqualsOneProcess(t *testing.T) {
	cases := []struct {
		name              string
		ranks, batch, n   int
		accum             int
		clip              float32
		opt               string
		valSplit          float64
		wantSteps, epochs int
	}{
		{"2 ranks sgd", 2, 16, 200, 1, 0, "sgd", 0.2, 3 * 5, 3},        // 160 = 5 × 32
		{"2 ranks adam", 2, 16, 200, 1, 0, "adam", 0, 3 * 7, 3},        // 200 = 6 × 32 + 8 (4+4)
		{"3 ranks 3+3+2", 3, 8, 200, 1, 0, "adam", 0, 3 * 9, 3},        // 200 = 8 × 24 + 8
		{"3 ranks validation", 3, 8, 194, 1, 0, "adam", 0.1, 3 * 8, 3}, // 174 = 7 × 24 + 6 (2+2+2); validation 20 = 7+7+6
		{"3 ranks last 2", 3, 8, 170, 1, 0, "sgd", 0, 3 * 8, 3},        // 170 = 7 × 24 + 2 (1+1+0)
		{"2 ranks accum 2", 2, 8, 200, 2, 0, "adam", 0, 3 * 7, 3},      // groups of 2 × 16 examples
		{"2 ranks clip", 2, 16, 200, 1, 0.05, "momentum", 0, 3 * 7, 3}, // clipped every step
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := blobs(4, c.n, 5, 3)
			newTr := func(batch int) *train.Trainer {
				opt, err := train.NewOptimizer(c.opt, 0.05)
				require.NoError(t, err)
				return &train.Trainer{Model: nn.NewSequential(nn.NewDense(12, nn.Tanh), nn.NewDense(3, nn.Softmax)),
					Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: opt, BatchSize: batch, AccumSteps: c.accum,
					Seed: 9, ClipNorm: c.clip}
			}
			cfg := train.Config{Epochs: c.epochs, ValidationSplit: c.valSplit, CheckEvery: 2}
			one := newTr(c.ranks * c.batch)
			one.Dev = cpu.New(cpu.Options{Threads: 1})
			want, err := one.Fit(data, cfg)
			require.NoError(t, err)
			require.Equal(t, c.wantSteps, one.Optimizer.Iterations())
			runs := onRanks(t, c.ranks, func(int) *train.Trainer { return newTr(c.batch) },
				func(_ int, tr *train.Trainer) (*train.History, error) { return tr.Fit(data, cfg) })
			w0 := weights(t, one)
			for r, run := range runs {
				require.NoError(t, run.err, "rank %d", r)
				assert.Equal(t, c.wantSteps, run.tr.Optimizer.Iterations(), "rank %d steps", r)
				sameHistory(t, want, run.hist)
				closeTo(t, w0, weights(t, run.tr), fmt.Sprintf("rank %d weights", r))
				assert.Equal(t, weights(t, runs[0].tr), weights(t, run.tr), "rank %d has rank 0's weights, bit for bit", r)
				assert.Equal(t, one.Net().Context().Step, run.tr.Net().Context().Step, "rank %d's step counter", r)
			}
			// the test can tell: one rank with batch b alone trains another model
			alone := newTr(c.batch)
			alone.Dev = cpu.New(cpu.Options{Threads: 1})
			_, err = alone.Fit(data, cfg)
			require.NoError(t, err)
			assert.NotEqual(t, w0["0.weight"], weights(t, alone)["0.weight"])
		})
	}
}

// Evaluate splits the examples over the ranks and adds their sums: the figures of one
// process, on every rank.
func TestDataParallelEvaluate(t *testing.T) {
	data, test := blobs(4, 200, 5, 3), blobs(5, 101, 5, 3)
	newTr := func(batch int) *train.Trainer {
		return &train.Trainer{Model: nn.NewSequential(nn.NewDense(12, nn.Tanh), nn.NewDense(3, nn.Softmax)),
			Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(), BatchSize: batch, Seed: 2}
	}
	one := newTr(30)
	one.Dev = cpu.New(cpu.Options{Threads: 1})
	_, err := one.Fit(data, train.Config{Epochs: 2})
	require.NoError(t, err)
	want, err := one.Evaluate(test)
	require.NoError(t, err)
	results := make([]train.Result, 3)
	runs := onRanks(t, 3, func(int) *train.Trainer { return newTr(10) }, func(r int, tr *train.Trainer) (*train.History, error) {
		h, err := tr.Fit(data, train.Config{Epochs: 2})
		if err == nil {
			results[r], err = tr.Evaluate(test)
		}
		return h, err
	})
	for r, run := range runs {
		require.NoError(t, run.err)
		assert.Equal(t, want.Examples, results[r].Examples)
		assert.InDelta(t, want.Loss, results[r].Loss, 1e-5, "rank %d", r)
		assert.InDelta(t, want.Accuracy, results[r].Accuracy, 1e-9, "rank %d", r)
	}
}

// Ranks given different settings or data stop before the first step, every one with the
// same error naming what differs.
func TestDataParallelRanksDisagree(t *testing.T) {
	data := blobs(4, 100, 5, 3)
	other := blobs(4, 100, 5, 3)
	other.X.Data().([]float32)[7] += 1 // one value of one example
	cases := []struct {
		name string
		tr   func(rank int, tr *train.Trainer)
		data func(rank int) train.Dataset
		want string
	}{
		{"batch", func(r int, tr *train.Trainer) {
			if r == 1 {
				tr.BatchSize = 8
			}
		}, nil, `train: comm: ranks disagree on the batch size per rank: rank 0 has "16", rank 1 has "8"`},
		{"data", nil, func(r int) train.Dataset {
			if r == 2 {
				return other
			}
			return data
		}, `train: comm: ranks disagree on the training data: rank 0 has "100 examples, X (100, 5) float32 crc32c:`},
		{"model", func(r int, tr *train.Trainer) {
			if r == 2 {
				tr.Model = nn.NewSequential(nn.NewDense(13, nn.Tanh), nn.NewDense(3, nn.Softmax))
			}
		}, nil, `train: comm: ranks disagree on the model: rank 0 has "4 tensors, description sha256:`},
		{"seed", func(r int, tr *train.Trainer) { tr.Seed = uint64(r) }, nil, `train: comm: ranks disagree on the seed: rank 0 has "0", rank 1 has "1"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runs := onRanks(t, 3, func(r int) *train.Trainer {
				tr := &train.Trainer{Model: nn.NewSequential(nn.NewDense(12, nn.Tanh), nn.NewDense(3, nn.Softmax)),
					Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(), BatchSize: 16}
				if c.tr != nil {
					c.tr(r, tr)
				}
				return tr
			}, func(r int, tr *train.Trainer) (*train.History, error) {
				d := data
				if c.data != nil {
					d = c.data(r)
				}
				return tr.Fit(d, train.Config{Epochs: 1})
			})
			for r, run := range runs {
				require.Error(t, run.err, "rank %d", r)
				assert.ErrorIs(t, run.err, train.ErrRanksDisagree)
				assert.Contains(t, run.err.Error(), c.want)
				assert.Equal(t, runs[0].err.Error(), run.err.Error(), "the same error on every rank")
				assert.Zero(t, run.tr.Optimizer.Iterations(), "no step taken")
			}
		})
	}
}

// An interruption seen by one rank stops every rank at the same step (the ranks learn
// of it when they next add their loss sums), and the run resumed from there ends where
// the uninterrupted one does, bit for bit.
func TestDataParallelInterruptAndResume(t *testing.T) {
	data := blobs(4, 200, 5, 3)
	newTr := func() *train.Trainer {
		return &train.Trainer{Model: nn.NewSequential(nn.NewDense(12, nn.Tanh), nn.NewDense(3, nn.Softmax)),
			Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(), BatchSize: 16, Seed: 5}
	}
	cfg := train.Config{Epochs: 3, CheckEvery: 4}
	whole := onRanks(t, 2, func(int) *train.Trainer { return newTr() },
		func(_ int, tr *train.Trainer) (*train.History, error) { return tr.Fit(data, cfg) })
	require.NoError(t, whole[0].err)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := onRanks(t, 2, func(int) *train.Trainer { return newTr() }, func(r int, tr *train.Trainer) (*train.History, error) {
		c := cfg
		if r == 1 { // only rank 1 is interrupted, in epoch 2 after batch 3
			c.Context = ctx
			c.Callbacks = []train.Callback{batchHook(func(b train.BatchStats) {
				if b.Epoch == 2 && b.Batch == 3 {
					cancel()
				}
			})}
		}
		return tr.Fit(data, c)
	})
	p0 := stopped[0].tr.Progress()
	for r, run := range stopped {
		require.ErrorIs(t, run.err, train.ErrInterrupted, "rank %d", r)
		p := run.tr.Progress()
		assert.Equal(t, 2, p.Epoch)
		assert.Equal(t, 4, p.Batch, "rank %d stops after the reading at batch 4", r)
		assert.Equal(t, p0.LossSum, p.LossSum, "the same sums on every rank")
		assert.Positive(t, p.LossSum)
	}
	resumed := onRanks(t, 2, func(r int) *train.Trainer {
		tr := stopped[r].tr
		tr.Comm = nil // onRanks sets the new job's
		return tr
	}, func(r int, tr *train.Trainer) (*train.History, error) {
		if err := tr.Resume(p0); err != nil { // rank 0's, as a checkpoint would give every rank
			return nil, err
		}
		return tr.Fit(data, cfg)
	})
	for r, run := range resumed {
		require.NoError(t, run.err, "rank %d", r)
		assert.Equal(t, weights(t, whole[r].tr), weights(t, run.tr), "rank %d: resumed = uninterrupted", r)
		assert.Equal(t, whole[r].hist.Epochs[1].Loss, run.hist.Epochs[1].Loss, "the interrupted epoch's loss")
	}
}

// batchHook is a callback that calls f after every batch.
type batchHook func(train.BatchStats)

func (batchHook) OnTrainBegin(*train.Trainer) error     { return nil }
func (batchHook) OnEpochBegin(int) error                { return nil }
func (batchHook) OnBatchBegin(train.BatchStats) error   { return nil }
func (f batchHook) OnBatchEnd(b train.BatchStats) error { f(b); return nil }
func (batchHook) OnEpochEnd(train.EpochStats) error     { return nil }
func (batchHook) OnTrainEnd(*train.History, error)      {}

// Dropout draws each rank's masks from its own stream, derived from the seed and the
// rank: a run repeats exactly however the ranks are scheduled, and the ranks' masks
// differ (the same masks would make rank 1's half of every batch a copy of rank 0's
// noise).
func TestDataParallelDropoutStreams(t *testing.T) {
	data := blobs(4, 128, 5, 3)
	newTr := func() *train.Trainer {
		return &train.Trainer{Model: nn.NewSequential(nn.NewDense(12, nn.Tanh), nn.NewDropout(0.5), nn.NewDense(3, nn.Softmax)),
			Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(), BatchSize: 16, Seed: 3}
	}
	run := func() []rankRun {
		return onRanks(t, 2, func(int) *train.Trainer { return newTr() },
			func(_ int, tr *train.Trainer) (*train.History, error) { return tr.Fit(data, train.Config{Epochs: 2}) })
	}
	a, b := run(), run()
	require.NoError(t, a[0].err)
	require.NoError(t, b[0].err)
	assert.Equal(t, weights(t, a[0].tr), weights(t, b[0].tr), "the same run twice")
	assert.Equal(t, weights(t, a[0].tr), weights(t, a[1].tr), "the ranks end with the same weights")
	// the ranks' masks for the same step: rank r's model draws from Seed + r·2³²
	masks := make([][]float32, 2)
	for r := range 2 {
		dev := cpu.New(cpu.Options{Threads: 1})
		m, err := dev.Alloc(device.Float32, 64)
		require.NoError(t, err)
		seed := a[r].tr.Net().Context().Seed + 1 // the dropout layer is module 1
		require.NoError(t, dev.DropoutMask(m, 0.5, seed, 0))
		masks[r] = make([]float32, 64)
		require.NoError(t, dev.ReadFloat32(masks[r], m))
	}
	assert.NotEqual(t, masks[0], masks[1])
	assert.Equal(t, uint64(3), a[0].tr.Net().Context().Seed, "rank 0 keeps the seed: one rank is the single-process run")
}

// A loss that becomes NaN on one rank's examples stops every rank: the sums that reveal
// it are added over the ranks.
func TestDataParallelNotFinite(t *testing.T) {
	data := blobs(4, 128, 5, 3)
	runs := onRanks(t, 2, func(int) *train.Trainer {
		opt, _ := train.NewOptimizer("sgd", 1e30)
		return &train.Trainer{Model: nn.NewSequential(nn.NewDense(12, nn.ReLU), nn.NewDense(3, nn.Softmax)),
			Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: opt, BatchSize: 8, Seed: 3}
	}, func(_ int, tr *train.Trainer) (*train.History, error) {
		return tr.Fit(data, train.Config{Epochs: 3, CheckEvery: 1})
	})
	for r, run := range runs {
		require.ErrorIs(t, run.err, train.ErrNotFinite, "rank %d", r)
		assert.Equal(t, runs[0].err.Error(), run.err.Error())
	}
}

// A rank that fails (its Comm closed) ends the others' collectives with an error
// naming it, instead of leaving them waiting.
func TestDataParallelLostRank(t *testing.T) {
	data := blobs(4, 128, 5, 3)
	runs := onRanks(t, 3, func(int) *train.Trainer {
		return &train.Trainer{Model: nn.NewSequential(nn.NewDense(12, nn.Tanh), nn.NewDense(3, nn.Softmax)),
			Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(), BatchSize: 8}
	}, func(r int, tr *train.Trainer) (*train.History, error) {
		if r == 1 {
			return nil, errors.New("rank 1 fails before training")
		}
		return tr.Fit(data, train.Config{Epochs: 1})
	})
	for _, r := range []int{0, 2} {
		require.Error(t, runs[r].err)
		assert.Contains(t, runs[r].err.Error(), "rank 1 closed its communicator")
	}
}

// A job of one rank runs the data-parallel path (the backward step, the all-reduce, the
// update step) and trains exactly what one process trains: the sum over one rank is
// the identity.
func TestDataParallelOneRankIsOneProcess(t *testing.T) {
	data := blobs(4, 200, 5, 3)
	newTr := func() *train.Trainer {
		return &train.Trainer{Model: nn.NewSequential(nn.NewDense(12, nn.Tanh), nn.NewDropout(0.2), nn.NewDense(3, nn.Softmax)),
			Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(), BatchSize: 16, Seed: 6, ClipNorm: 0.5}
	}
	one := newTr()
	one.Dev = cpu.New(cpu.Options{Threads: 1})
	want, err := one.Fit(data, train.Config{Epochs: 2, ValidationSplit: 0.2})
	require.NoError(t, err)
	runs := onRanks(t, 1, func(int) *train.Trainer { return newTr() },
		func(_ int, tr *train.Trainer) (*train.History, error) {
			return tr.Fit(data, train.Config{Epochs: 2, ValidationSplit: 0.2})
		})
	require.NoError(t, runs[0].err)
	assert.Equal(t, weights(t, one), weights(t, runs[0].tr), "bit for bit")
	for e := range want.Epochs {
		assert.Equal(t, want.Epochs[e].Loss, runs[0].hist.Epochs[e].Loss)
		assert.Equal(t, want.Epochs[e].ValLoss, runs[0].hist.Epochs[e].ValLoss)
	}
}
