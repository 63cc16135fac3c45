package train_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/train"
)

// recorder logs every callback event as "name:event" into a shared log, and returns
// ret from the hook named hook at epoch/batch.
type recorder struct {
	name  string
	log   *[]string
	hook  string
	epoch int
	batch int
	ret   error
	// batchEnds keeps what OnBatchEnd received; epochEnds what OnEpochEnd did.
	batchEnds []train.BatchStats
	epochEnds []train.EpochStats
	endErr    error
	endHist   *train.History
}

func (r *recorder) add(format string, args ...any) {
	*r.log = append(*r.log, r.name+":"+fmt.Sprintf(format, args...))
}

func (r *recorder) fire(hook string, epoch, batch int) error {
	if hook == r.hook && epoch == r.epoch && batch == r.batch {
		return r.ret
	}
	return nil
}

func (r *recorder) OnTrainBegin(t *train.Trainer) error {
	r.add("train-begin")
	return r.fire("train-begin", 0, 0)
}

func (r *recorder) OnEpochBegin(epoch int) error {
	r.add("epoch-begin %d", epoch)
	return r.fire("epoch-begin", epoch, 0)
}

func (r *recorder) OnBatchBegin(b train.BatchStats) error {
	r.add("batch-begin %d.%d/%d step %d seen %d known %v", b.Epoch, b.Batch, b.Batches, b.Step, b.Seen, b.Known)
	return r.fire("batch-begin", b.Epoch, b.Batch)
}

func (r *recorder) OnBatchEnd(b train.BatchStats) error {
	r.batchEnds = append(r.batchEnds, b)
	r.add("batch-end %d.%d/%d step %d seen %d known %v", b.Epoch, b.Batch, b.Batches, b.Step, b.Seen, b.Known)
	return r.fire("batch-end", b.Epoch, b.Batch)
}

func (r *recorder) OnEpochEnd(e train.EpochStats) error {
	r.epochEnds = append(r.epochEnds, e)
	r.add("epoch-end %d", e.Epoch)
	return r.fire("epoch-end", e.Epoch, 0)
}

func (r *recorder) OnTrainEnd(h *train.History, err error) {
	r.endErr, r.endHist = err, h
	r.add("train-end %v %d", err, len(h.Epochs))
}

// callbackRun fits 10 examples in batches of 4 (3 batches an epoch, the last of 2),
// reading the running loss every 2 steps, with the callbacks a and b.
func callbackRun(t *testing.T, epochs int, a, b *recorder) (*train.History, *train.Trainer, error) {
	t.Helper()
	data := blobs(11, 10, 4, 3)
	val := blobs(12, 6, 4, 3)
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewSGD(), 1)
	tr.BatchSize = 4
	h, err := tr.Fit(data, train.Config{Epochs: epochs, Validation: &val, CheckEvery: 2, Callbacks: []train.Callback{a, b}})
	return h, tr, err
}

func TestCallbackOrderAndCounts(t *testing.T) {
	var log []string
	a, b := &recorder{name: "a", log: &log}, &recorder{name: "b", log: &log}
	hist, tr, err := callbackRun(t, 2, a, b)
	require.NoError(t, err)
	require.Len(t, hist.Epochs, 2)

	// The expected sequence, from the contract: batches of 4 over 10 examples, the
	// running loss read at batches 2 and 3 (CheckEvery 2, and the last batch).
	var want []string
	both := func(format string, args ...any) {
		for _, n := range []string{"a", "b"} {
			want = append(want, n+":"+fmt.Sprintf(format, args...))
		}
	}
	both("train-begin")
	step := 0
	for e := 1; e <= 2; e++ {
		both("epoch-begin %d", e)
		for bt := 1; bt <= 3; bt++ {
			step++
			both("batch-begin %d.%d/3 step %d seen %d known false", e, bt, step, min(4*(bt-1), 10))
			both("batch-end %d.%d/3 step %d seen %d known %v", e, bt, step, min(4*bt, 10), bt >= 2)
		}
		both("epoch-end %d", e)
	}
	both("train-end <nil> 2")
	assert.Equal(t, want, log)
	assert.Equal(t, 6, tr.Optimizer.Iterations())

	// The running loss read at an epoch's last batch is the epoch's loss.
	require.Len(t, a.batchEnds, 6)
	for e := 0; e < 2; e++ {
		last := a.batchEnds[3*e+2]
		assert.InDelta(t, hist.Epochs[e].Loss, last.Loss, 1e-12)
		assert.InDelta(t, hist.Epochs[e].Accuracy, last.Accuracy, 1e-12)
		assert.Greater(t, last.Loss, 0.0)
		assert.Zero(t, a.batchEnds[3*e].Loss, "unknown at the first batch")
	}
	assert.Equal(t, hist.Epochs, a.epochEnds, "OnEpochEnd gets what the history records")
	assert.True(t, a.epochEnds[0].HasValidation)
	assert.Same(t, hist, a.endHist)
}

// stopCases: where a callback answers, how many epochs are recorded, how many optimizer
// steps were taken (3 an epoch) and the event the answer came from.
var stopCases = []struct {
	hook         string
	epoch, batch int
	epochs       int
	steps        int
	event        string
}{
	{"train-begin", 0, 0, 0, 0, "train-begin"},
	{"epoch-begin", 2, 0, 1, 3, "epoch-begin 2"},
	{"batch-begin", 2, 2, 1, 4, "batch-begin 2.2/3 step 5 seen 4 known false"},
	{"batch-end", 2, 2, 1, 5, "batch-end 2.2/3 step 5 seen 8 known true"},
	{"epoch-end", 2, 0, 2, 6, "epoch-end 2"},
}

func TestErrStopFromEachHookEndsFitWithoutError(t *testing.T) {
	for _, c := range stopCases {
		for _, wrapped := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/wrapped=%v", c.hook, wrapped), func(t *testing.T) {
				stop := train.ErrStop
				if wrapped {
					stop = fmt.Errorf("enough: %w", train.ErrStop)
				}
				var log []string
				a := &recorder{name: "a", log: &log, hook: c.hook, epoch: c.epoch, batch: c.batch, ret: stop}
				b := &recorder{name: "b", log: &log}
				hist, tr, err := callbackRun(t, 3, a, b)
				require.NoError(t, err)
				assert.Len(t, hist.Epochs, c.epochs)
				assert.Equal(t, c.steps, tr.Optimizer.Iterations())
				// b still sees the event a stopped at, then only the end.
				n := len(log)
				require.GreaterOrEqual(t, n, 4)
				assert.Equal(t, []string{"a:" + c.event, "b:" + c.event,
					fmt.Sprintf("a:train-end <nil> %d", c.epochs), fmt.Sprintf("b:train-end <nil> %d", c.epochs)}, log[n-4:])
			})
		}
	}
}

func TestCallbackErrorEndsFitWithThatError(t *testing.T) {
	boom := errors.New("boom")
	for _, c := range stopCases {
		t.Run(c.hook, func(t *testing.T) {
			var log []string
			a := &recorder{name: "a", log: &log, hook: c.hook, epoch: c.epoch, batch: c.batch, ret: boom}
			b := &recorder{name: "b", log: &log}
			hist, tr, err := callbackRun(t, 3, a, b)
			assert.Same(t, boom, err, "Fit returns the callback's error itself")
			require.NotNil(t, hist)
			assert.Len(t, hist.Epochs, c.epochs)
			assert.Equal(t, c.steps, tr.Optimizer.Iterations())
			n := len(log)
			require.GreaterOrEqual(t, n, 3)
			// b is not called for the failing event; both are told of the error.
			assert.Equal(t, []string{"a:" + c.event,
				fmt.Sprintf("a:train-end boom %d", c.epochs), fmt.Sprintf("b:train-end boom %d", c.epochs)}, log[n-3:])
			assert.Same(t, boom, a.endErr)
			assert.Same(t, boom, b.endErr)
		})
	}
}

func TestEpochFuncAndOnEpochSeeEveryEpoch(t *testing.T) {
	var got, viaConfig []int
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 1)
	_, err := tr.Fit(blobs(13, 40, 4, 3), train.Config{Epochs: 3,
		Callbacks: []train.Callback{train.EpochFunc(func(e train.EpochStats) { got = append(got, e.Epoch) })},
		OnEpoch:   func(e train.EpochStats) { viaConfig = append(viaConfig, e.Epoch) }})
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2, 3}, got)
	assert.Equal(t, []int{1, 2, 3}, viaConfig)
}
