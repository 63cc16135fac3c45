package train_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/data"
)

// poem is a short, very repetitive text: a small GPT learns it in a few dozen steps.
var poem = strings.Repeat("the cat sat on the mat. the dog sat on the log. ", 40)

func poemText(t *testing.T, context int) *data.Text {
	t.Helper()
	text, err := data.NewText([]byte(poem), "poem", context)
	require.NoError(t, err)
	return text
}

// gptTrainer is a tiny GPT on the poem's vocabulary with nanoGPT's recipe (AdamW,
// clipping at 1).
func gptTrainer(text *data.Text, threads int, dropout float32) *train.Trainer {
	opt := train.NewAdamW()
	opt.Hyper.LR, opt.Hyper.Beta2, opt.Hyper.WeightDecay, opt.Hyper.Eps = 3e-3, 0.99, 0.1, 1e-8
	return &train.Trainer{Model: &nn.GPT{Vocab: text.Vocab.Size(), Context: text.Context, Layers: 2, Heads: 2, Dim: 16, Dropout: dropout},
		Loss: &nn.SequenceCrossEntropy{}, Optimizer: opt, Dev: cpu.New(cpu.Options{Threads: threads}),
		BatchSize: 4, Seed: 7, ClipNorm: 1}
}

func params(t *testing.T, tr *train.Trainer) [][]float32 {
	t.Helper()
	var out [][]float32
	for _, p := range tr.Net().Params() {
		v, err := p.Value.Float32s()
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

// A GPT trained by steps on a stream learns the text: the validation loss (per
// character, over every validation window) falls far below the uniform guess, and the
// history has one record per evaluation interval.
func TestFitStepsLearnsText(t *testing.T) {
	text := poemText(t, 16)
	tr := gptTrainer(text, 2, 0)
	sched := train.NewLearningRateSchedule(train.WarmupCosine{Peak: 3e-3, Floor: 3e-4, Warmup: 10, Steps: 120})
	var steps []int
	rec := &stepRecorder{steps: &steps}
	hist, err := tr.FitSteps(text.Stream(1), train.StepConfig{Steps: 120, EvalEvery: 40, CheckEvery: 10, Callbacks: []train.Callback{sched, rec}})
	require.NoError(t, err)
	require.True(t, hist.ByStep)
	require.Len(t, hist.Epochs, 3)
	uniform := math.Log(float64(text.Vocab.Size()))
	for i, e := range hist.Epochs {
		assert.Equal(t, 40*(i+1), e.Step)
		assert.Equal(t, i+1, e.Epoch)
		assert.True(t, e.HasValidation)
		assert.Equal(t, 40*4, e.Examples)
		assert.Positive(t, e.StepMS)
	}
	first, last := hist.Epochs[0], hist.Epochs[2]
	t.Logf("val_loss %.3f → %.3f (uniform %.3f), accuracy %.3f", first.ValLoss, last.ValLoss, uniform, last.ValAccuracy)
	assert.Less(t, last.ValLoss, 0.5*uniform)
	assert.Less(t, last.ValLoss, first.ValLoss)
	assert.Greater(t, last.ValAccuracy, 0.6)
	assert.InDelta(t, 3e-4, last.LearningRate, 1e-10, "the cosine ends on its floor at the last step")
	assert.Len(t, tr.StepMillis(), 12)
	for i, s := range steps {
		require.Equal(t, i+1, s, "BatchStats.Step counts optimizer steps")
	}
	res, err := tr.EvaluateStream(text.Stream(1))
	require.NoError(t, err)
	assert.Equal(t, text.ValWindows(), res.Examples)
	assert.InDelta(t, last.ValLoss, res.Loss, 1e-6)
}

type stepRecorder struct {
	train.NopCallback
	steps *[]int
}

func (r *stepRecorder) OnBatchBegin(b train.BatchStats) error {
	*r.steps = append(*r.steps, b.Step)
	return nil
}

// stopAt interrupts FitSteps after the given step.
type stopAt struct {
	train.NopCallback
	step   int
	cancel context.CancelFunc
}

func (s *stopAt) OnBatchEnd(b train.BatchStats) error {
	if b.Step == s.step {
		s.cancel()
	}
	return nil
}

// A run interrupted mid-interval and resumed (weights, optimizer state, progress with
// the stream's position, all copied to a fresh Trainer) ends with the weights and
// history of the uninterrupted run, bit for bit; with dropout, so that the model's step
// counter matters too. In FP16 with a loss scale that overflows at first, the skipped
// steps (which the optimizer does not count) are resumed right too.
func TestFitStepsResumesBitForBit(t *testing.T) {
	t.Run("fp32", func(t *testing.T) { resumesBitForBit(t, func(*train.Trainer) {}) })
	t.Run("fp16_skips", func(t *testing.T) {
		resumesBitForBit(t, func(tr *train.Trainer) {
			tr.Precision = device.FP16
			tr.Scaler = &train.GradScaler{Scale: math.Ldexp(1, 26), Growth: 2, Backoff: 0.5, GrowthInterval: 2000}
		})
	})
}

func resumesBitForBit(t *testing.T, setup func(*train.Trainer)) {
	text := poemText(t, 8)
	cfg := func() train.StepConfig { return train.StepConfig{Steps: 30, EvalEvery: 12, CheckEvery: 5} }
	trainer := func() *train.Trainer {
		tr := gptTrainer(text, 2, 0.1)
		setup(tr)
		return tr
	}
	straight := trainer()
	want, err := straight.FitSteps(text.Stream(3), cfg())
	require.NoError(t, err)

	first := trainer()
	ctx, cancel := context.WithCancel(context.Background())
	c := cfg()
	c.Context, c.Callbacks = ctx, []train.Callback{&stopAt{step: 17, cancel: cancel}}
	_, err = first.FitSteps(text.Stream(3), c)
	require.ErrorIs(t, err, train.ErrInterrupted)
	p := first.Progress()
	skipped := 0
	if first.Scaler != nil {
		skipped = first.Scaler.Skipped
		require.Positive(t, skipped, "the test's own check: some steps were skipped")
		require.Less(t, skipped, 17, "and some were not")
	}
	require.Equal(t, 17, p.OptimizerSteps+skipped)
	require.Equal(t, 2, p.Epoch, "the second interval")
	require.Equal(t, 5, p.Batch, "5 of its steps done")
	require.NotEmpty(t, p.StreamState)

	second := trainer()
	second.Scaler = nil // Resume restores it
	require.NoError(t, second.Build([]int{8}))
	require.NoError(t, second.Optimizer.Allocate(second.Dev, second.Net().Params()))
	for i, p := range second.Net().Params() {
		v, err := first.Net().Params()[i].Value.Float32s()
		require.NoError(t, err)
		require.NoError(t, p.Value.SetFloat32s(v))
	}
	for i, s := range second.Optimizer.State() {
		v, err := first.Optimizer.State()[i].Value.Float32s()
		require.NoError(t, err)
		require.NoError(t, s.Value.SetFloat32s(v))
	}
	require.NoError(t, second.Resume(p))
	got, err := second.FitSteps(text.Stream(99), cfg()) // the seed is the saved state's
	require.NoError(t, err)
	assert.Equal(t, params(t, straight), params(t, second))
	require.Len(t, got.Epochs, len(want.Epochs))
	for i := range want.Epochs {
		w, g := want.Epochs[i], got.Epochs[i]
		assert.Equal(t, w.Loss, g.Loss, "interval %d", i+1)
		assert.Equal(t, w.ValLoss, g.ValLoss, "interval %d", i+1)
		assert.Equal(t, w.Step, g.Step)
		assert.Equal(t, w.SkippedSteps, g.SkippedSteps)
		assert.Equal(t, w.LossScale, g.LossScale)
	}
}

// FitSteps gives the same weights on any thread count.
func TestFitStepsSameResultsAnyThreadCount(t *testing.T) {
	text := poemText(t, 16)
	var want [][]float32
	for _, threads := range []int{1, 3} {
		tr := gptTrainer(text, threads, 0.1)
		_, err := tr.FitSteps(text.Stream(5), train.StepConfig{Steps: 6})
		require.NoError(t, err)
		got := params(t, tr)
		if want == nil {
			want = got
			continue
		}
		assert.Equal(t, want, got, "threads=%d", threads)
	}
}

// Gradient accumulation over streams: two batches of 4 per step equal one batch of 8.
func TestFitStepsAccumulates(t *testing.T) {
	text := poemText(t, 8)
	big := gptTrainer(text, 2, 0)
	big.BatchSize = 8
	_, err := big.FitSteps(text.Stream(2), train.StepConfig{Steps: 3})
	require.NoError(t, err)
	acc := gptTrainer(text, 2, 0)
	acc.AccumSteps = 2
	_, err = acc.FitSteps(text.Stream(2), train.StepConfig{Steps: 3})
	require.NoError(t, err)
	a, b := params(t, big), params(t, acc)
	for i := range a {
		for j := range a[i] {
			require.InDelta(t, a[i][j], b[i][j], 2e-5, "parameter %d[%d]", i, j)
		}
	}
}

// A learning rate far too high makes the loss grow by orders of magnitude: FitSteps
// stops with ErrDiverged, naming the steps and the factor; with the check off only a
// non-finite loss stops it.
func TestFitStepsStopsOnDivergence(t *testing.T) {
	text := poemText(t, 8)
	tr := gptTrainer(text, 1, 0)
	tr.Optimizer.(*train.Optim).Hyper.LR, tr.ClipNorm = 1e4, 0
	_, err := tr.FitSteps(text.Stream(1), train.StepConfig{Steps: 60, CheckEvery: 5}) // the default factor
	require.ErrorIs(t, err, train.ErrDiverged)
	assert.Regexp(t, `^train: steps \d+ to \d+: loss diverged: their mean loss \S+ is \S+ times the first step's \S+ \(more than 10000 times; lower the learning rate\?\)$`, err.Error())

	off := gptTrainer(text, 1, 0)
	off.Optimizer.(*train.Optim).Hyper.LR, off.ClipNorm = 1e4, 0
	hist, err := off.FitSteps(text.Stream(1), train.StepConfig{Steps: 60, CheckEvery: 5, DivergenceFactor: -1})
	if err == nil {
		assert.Equal(t, 60, hist.Epochs[len(hist.Epochs)-1].Step)
	} else {
		require.ErrorIs(t, err, train.ErrNotFinite, "with the check off only a non-finite loss stops it")
	}
	_, err = off.FitSteps(text.Stream(1), train.StepConfig{Steps: 1, DivergenceFactor: 0.5})
	require.ErrorContains(t, err, "DivergenceFactor must be above 1")
}

func TestFitStepsErrors(t *testing.T) {
	text := poemText(t, 8)
	tr := gptTrainer(text, 1, 0)
	_, err := tr.FitSteps(text.Stream(1), train.StepConfig{})
	assert.ErrorContains(t, err, "train: steps must be positive, got 0")
	_, err = tr.FitSteps(nil, train.StepConfig{Steps: 1})
	assert.ErrorContains(t, err, "train: FitSteps needs a Stream")
	_, err = tr.FitSteps(text.Stream(1), train.StepConfig{Steps: 1, EvalEvery: -1})
	assert.ErrorContains(t, err, "EvalEvery must not be negative")
	mse := &train.Trainer{Model: &nn.GPT{Vocab: text.Vocab.Size(), Context: 8, Layers: 1, Heads: 1, Dim: 4}, Loss: &nn.MSE{},
		Optimizer: train.NewAdam(), Dev: cpu.New(cpu.Options{}), BatchSize: 2}
	_, err = mse.FitSteps(text.Stream(1), train.StepConfig{Steps: 1})
	assert.ErrorContains(t, err, "a stream's targets are int32 labels, but loss mse takes float targets")
	long := &train.Trainer{Model: &nn.GPT{Vocab: text.Vocab.Size(), Context: 4, Layers: 1, Heads: 1, Dim: 4}, Loss: &nn.SequenceCrossEntropy{},
		Optimizer: train.NewAdam(), Dev: cpu.New(cpu.Options{}), BatchSize: 2}
	_, err = long.FitSteps(text.Stream(1), train.StepConfig{Steps: 1})
	assert.ErrorContains(t, err, "want (positions) of at most context=4 token ids")
	bad := gptTrainer(text, 1, 0)
	bad.Model.(*nn.GPT).Vocab = 3 // ids past the table
	_, err = bad.FitSteps(text.Stream(1), train.StepConfig{Steps: 1})
	require.Error(t, err)
	assert.False(t, errors.Is(err, train.ErrNotFinite))
}

// WarmupCosine is nanoGPT's get_lr: a linear warm-up to the peak, then half a cosine to
// the floor at the last step.
func TestWarmupCosine(t *testing.T) {
	w := train.WarmupCosine{Peak: 1e-3, Floor: 1e-4, Warmup: 100, Steps: 2000}
	require.NoError(t, w.Check())
	assert.InDelta(t, 1e-3/101, w.Rate(0, 1), 1e-15)
	assert.InDelta(t, 1e-3*100/101, w.Rate(99, 1), 1e-15)
	assert.InDelta(t, 1e-3, w.Rate(100, 1), 1e-15)
	mid := 100 + (1999-100)/2.0
	assert.InDelta(t, 1e-4+0.9e-3*(1+math.Cos(math.Pi*float64(int(mid)-100)/1899))/2, w.Rate(int(mid), 7), 1e-15)
	assert.Equal(t, 1e-4, w.Rate(1999, 1))
	assert.Equal(t, 1e-4, w.Rate(5000, 1))
	for s := 100; s < 1999; s++ {
		require.Less(t, w.Rate(s+1, 1), w.Rate(s, 1), "decreasing at step %d", s)
	}
	assert.ErrorContains(t, train.WarmupCosine{Peak: 1e-3, Floor: 0, Warmup: 1, Steps: 5}.Check(), "Floor must be in (0, Peak=0.001]")
	assert.ErrorContains(t, train.WarmupCosine{Peak: 1e-3, Floor: 1e-4, Warmup: 5, Steps: 5}.Check(), "want 0 <= Warmup < Steps")
}
