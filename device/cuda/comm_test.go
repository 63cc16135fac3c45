//go:build cuda

package cuda_test

import (
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/comm"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// openNCCL opens the nccl kind on the shared backend: a job of one rank (no launcher),
// which needs libnccl.so.2 but not MPI. Without NCCL the test skips, unless
// GPUTRAIN_REQUIRE_NCCL=1.
func openNCCL(t testing.TB) comm.Comm {
	t.Helper()
	if l := comm.Detect(); l.Launcher != "" {
		t.Skipf("started by %s: the one-rank NCCL tests run without a launcher", l.Launcher)
	}
	c, err := comm.Open("nccl", gpu)
	if err != nil {
		if os.Getenv("GPUTRAIN_REQUIRE_NCCL") != "1" && strings.Contains(err.Error(), "cannot load") {
			t.Skipf("no NCCL (GPUTRAIN_REQUIRE_NCCL=1 makes this a failure): %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	return c
}

// NCCL end to end on one GPU: the sum over one rank and the broadcast from rank 0 leave
// the buffer as it was, bit for bit, and the queued collectives keep the stream's order
// (an op before is seen, an op after sees the result).
func TestNCCLOneRank(t *testing.T) {
	c := openNCCL(t)
	t.Log(c.Describe())
	require.Equal(t, "nccl", c.Kind())
	require.Equal(t, 0, c.Rank())
	require.Equal(t, 1, c.Size())
	rng := rand.New(rand.NewPCG(1, 2))
	want := uniform(rng, 109386)
	x := put(t, gpu, want)
	for i := 0; i < 3; i++ {
		require.NoError(t, c.AllReduceSum(x))
		require.NoError(t, c.Broadcast(x, 0))
	}
	assert.Equal(t, want, get(t, gpu, x))

	// ordered on the stream: Fill before, Axpby after
	require.NoError(t, gpu.Fill(x, 2))
	require.NoError(t, c.AllReduceSum(x))
	require.NoError(t, gpu.Axpby(1, x, 1, x)) // x = 2x
	for i, v := range get(t, gpu, x) {
		require.Equal(t, float32(4), v, "element %d", i)
	}

	ints, _ := gpu.Alloc(device.Int32, 3)
	assert.EqualError(t, c.AllReduceSum(ints), "comm: all-reduce: the buffer is int32, want float32")
	assert.EqualError(t, c.Broadcast(x, 1), "comm: broadcast: root 1 is not a rank (size 1)")
	require.NoError(t, c.Barrier())
}

// BenchmarkNCCLAllReduce is the nccl kind's sum of one rank at the reference MLP's
// gradient size, queued and waited for (ns/op): the fixed cost a step pays for the
// collective.
func BenchmarkNCCLAllReduce(b *testing.B) {
	c := openNCCL(b)
	x, err := gpu.Alloc(device.Float32, 109386)
	require.NoError(b, err)
	for b.Loop() {
		if err := c.AllReduceSum(x); err != nil {
			b.Fatal(err)
		}
		if err := gpu.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// The Trainer's data-parallel step on one GPU as a job of one NCCL rank: the batch's
// step ("train/first") and the update step ("update") are each recorded as a CUDA graph
// and replayed, NCCL's sum is queued between them on the same stream, and the run trains
// what the plain Trainer trains (the sum over one rank leaves the gradients as they are).
func TestNCCLTrainerOneRank(t *testing.T) {
	c := openNCCL(t)
	d := digits(5, 32*40) // 40 full batches an epoch
	newTr := func() *train.Trainer {
		return &train.Trainer{Model: referenceMLP(), Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(),
			Dev: gpu, BatchSize: 32, Seed: 3} // no ClipNorm: its read of the norm keeps "update" plain
	}
	plain, dist := newTr(), newTr()
	dist.Comm = c
	cfg := train.Config{Epochs: 2, CheckEvery: 1 << 30}
	hp, err := plain.Fit(d, cfg)
	require.NoError(t, err)
	hd, err := dist.Fit(d, cfg)
	require.NoError(t, err)
	for e := range hp.Epochs {
		assert.InDelta(t, hp.Epochs[e].Loss, hd.Epochs[e].Loss, 1e-6*hp.Epochs[e].Loss, "epoch %d loss", e+1)
	}
	identical := true
	pp, pd := plain.Net().Params(), dist.Net().Params()
	for i := range pp {
		a, err := pp[i].Value.Float32s()
		require.NoError(t, err)
		b, err := pd[i].Value.Float32s()
		require.NoError(t, err)
		for j := range a {
			require.InDelta(t, a[j], b[j], 1e-6*math.Max(1, math.Abs(float64(a[j]))), "%s[%d]", pp[i].Name, j)
			identical = identical && a[j] == b[j]
		}
	}
	t.Logf("weights bit-identical to the plain run: %v", identical)
	for _, key := range []string{"train/first", "update"} {
		assert.Empty(t, gpu.GraphNote(key), "%s runs as a graph", key)
		assert.GreaterOrEqual(t, gpu.GraphLaunches(key), 2*40-2, "%s: warm-up, capture, then replays", key)
	}
}
