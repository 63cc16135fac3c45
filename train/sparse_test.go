package train_test

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/comm"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// idsData is n examples of 2 ids in [lo, hi) with a regression target.
func idsData(seed uint64, n, lo, hi int) train.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]int32, 2*n)
	y := make([]float32, n)
	for i := range n {
		x[2*i], x[2*i+1] = int32(lo+rng.IntN(hi-lo)), int32(lo+rng.IntN(hi-lo))
		y[i] = float32(x[2*i]%3) - float32(x[2*i+1]%2)
	}
	return train.Dataset{X: gt.New(gt.WithShape(n, 2), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n, 1), gt.WithBacking(y))}
}

func embeddingRegressor(sparse bool) nn.Module {
	return nn.NewSequential(&nn.Embedding{Num: 20, Dim: 4, Std: 0.3, Sparse: sparse}, nn.NewFlatten(), nn.NewDense(1, nn.Linear))
}

func fitIDs(t *testing.T, sparse bool, opt train.Optimizer, batch, accum int, sets ...train.Dataset) *train.Trainer {
	t.Helper()
	tr := &train.Trainer{Model: embeddingRegressor(sparse), Loss: &nn.MSE{}, Optimizer: opt,
		Dev: cpu.New(cpu.Options{Threads: 2}), BatchSize: batch, AccumSteps: accum, Seed: 4}
	for _, d := range sets {
		_, err := tr.Fit(d, train.Config{Epochs: 2})
		require.NoError(t, err)
	}
	return tr
}

// With SGD a lazy step is the dense step (a row no batch used has a zero gradient): a
// sparse table trains to the dense table's values, and the sparse gradient is zero after
// every step (UpdateRows cleared the rows it stepped).
func TestSparseSGDEqualsDense(t *testing.T) {
	d := idsData(1, 300, 0, 20)
	sgd := func() train.Optimizer { o, _ := train.NewOptimizer("sgd", 0.1); return o }
	ws, wd := weights(t, fitIDs(t, true, sgd(), 16, 1, d)), weights(t, fitIDs(t, false, sgd(), 16, 1, d))
	for name, v := range wd {
		for i := range v {
			assert.InDeltaf(t, v[i], ws[name][i], 1e-6, "%s[%d]", name, i)
		}
	}
}

// Lazy Adam: after training on ids 0…9 only, then on ids 10…19 only, the rows 0…9 are
// where the first run left them (their moments did not carry them further), while a
// dense Adam keeps moving them on its momentum.
func TestLazyAdamLeavesUnusedRows(t *testing.T) {
	first, second := idsData(2, 200, 0, 10), idsData(3, 200, 10, 20)
	adam := func() train.Optimizer { o, _ := train.NewOptimizer("adam", 0.05); return o }
	table := func(tr *train.Trainer) []float32 { return weights(t, tr)["0.weight"] }
	for _, sparse := range []bool{true, false} {
		before := table(fitIDs(t, sparse, adam(), 16, 1, first))
		after := table(fitIDs(t, sparse, adam(), 16, 1, first, second))
		moved := 0.0
		for i := range 10 * 4 {
			moved = math.Max(moved, math.Abs(float64(after[i]-before[i])))
		}
		if sparse {
			assert.Zero(t, moved, "sparse: rows 0…9 after the second data set")
		} else {
			assert.Greater(t, moved, 1e-3, "dense Adam moves rows 0…9 on their momentum")
		}
		for i := 10 * 4; i < 20*4; i++ {
			require.NotEqual(t, before[i], after[i], "row %d trained in the second run", i/4)
		}
	}
}

// Accumulating 4 batches of 8 into one step equals one batch of 32 with a sparse table:
// the row set gathers the rows of every batch of the group.
func TestSparseAccumulation(t *testing.T) {
	d := idsData(4, 200, 0, 20)
	adam := func() train.Optimizer { o, _ := train.NewOptimizer("adam", 0.05); return o }
	big, small := weights(t, fitIDs(t, true, adam(), 32, 1, d)), weights(t, fitIDs(t, true, adam(), 8, 4, d))
	for name, v := range big {
		for i := range v {
			assert.InDeltaf(t, v[i], small[name][i], 1e-5*math.Max(1, math.Abs(float64(v[i]))), "%s[%d]", name, i)
		}
	}
}

// L2 cannot reach a sparse table: an explicit rule that selects it is refused by name;
// the default rule leaves it out.
func TestL2OnSparseTable(t *testing.T) {
	d := idsData(5, 64, 0, 20)
	o, _ := train.NewOptimizer("adam", 0.01)
	o.L2, o.Decay = 0.01, train.DecayAll
	tr := &train.Trainer{Model: embeddingRegressor(true), Loss: &nn.MSE{}, Optimizer: o, Dev: cpu.New(cpu.Options{}), BatchSize: 16, Seed: 1}
	_, err := tr.Fit(d, train.Config{Epochs: 1})
	assert.ErrorContains(t, err, "L2 on 0.weight, a sparse embedding table")
	o, _ = train.NewOptimizer("adam", 0.01)
	o.L2 = 0.01
	tr = &train.Trainer{Model: embeddingRegressor(true), Loss: &nn.MSE{}, Optimizer: o, Dev: cpu.New(cpu.Options{}), BatchSize: 16, Seed: 1}
	_, err = tr.Fit(d, train.Config{Epochs: 1})
	assert.NoError(t, err)
}

// A data-parallel Fit of a model with sparse tables is refused on every rank, before
// any collective (the ranks' row sets are not merged).
func TestSparseTablesRefuseDataParallel(t *testing.T) {
	d := idsData(6, 64, 0, 20)
	devs := []device.Backend{cpu.New(cpu.Options{Threads: 1}), cpu.New(cpu.Options{Threads: 1})}
	comms, err := comm.NewGroup(devs)
	require.NoError(t, err)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &train.Trainer{Model: embeddingRegressor(true), Loss: &nn.MSE{}, Optimizer: train.NewAdam(), Dev: devs[r], Comm: comms[r], BatchSize: 16, Seed: 1}
			_, errs[r] = tr.Fit(d, train.Config{Epochs: 1})
		}()
	}
	wg.Wait()
	for r := range 2 {
		assert.ErrorContains(t, errs[r], "data-parallel training of sparse embedding tables (0.weight) is not supported", "rank %d", r)
	}
}
