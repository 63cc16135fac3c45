package train_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/train"
)

func TestScheduleRatesFollowTheFormulas(t *testing.T) {
	step := train.StepDecay{Initial: 0.1, Factor: 0.5, Every: 2}
	cos := train.CosineDecay{Initial: 0.1, Floor: 0.001, Epochs: 4}
	warm := train.Warmup{Epochs: 1, Then: cos}
	const spe = 10 // steps per epoch
	cases := []struct {
		name string
		s    train.Schedule
		step int
		want float64
	}{
		// StepDecay: 0.1 · 0.5^⌊epoch/2⌋, constant within an epoch.
		{"step, first", step, 0, 0.1},
		{"step, end of epoch 2", step, 19, 0.1},
		{"step, epoch 3", step, 20, 0.05},
		{"step, epoch 5", step, 45, 0.025},
		{"step, epoch 7", step, 69, 0.0125},
		// CosineDecay: 0.001 + 0.099 · (1 + cos(π t/4))/2 with t = step/10.
		{"cosine, start", cos, 0, 0.1},
		{"cosine, t=1", cos, 10, 0.001 + 0.099*(1+math.Sqrt2/2)/2},
		{"cosine, t=2 (half way)", cos, 20, 0.0505},
		{"cosine, t=2.5", cos, 25, 0.001 + 0.099*(1+math.Cos(math.Pi*2.5/4))/2},
		{"cosine, end", cos, 40, 0.001},
		{"cosine, past the end holds the floor", cos, 90, 0.001},
		// Warmup over 10 steps to 0.1, then the cosine from its start.
		{"warmup, first step", warm, 0, 0.01},
		{"warmup, fifth step", warm, 4, 0.05},
		{"warmup, last warm-up step", warm, 9, 0.1},
		{"warmup, cosine starts", warm, 10, 0.1},
		{"warmup, cosine half way", warm, 30, 0.0505},
		{"warmup, cosine end", warm, 50, 0.001},
		{"constant", train.Constant(0.02), 1234, 0.02},
		{"half-epoch warm-up of a constant", train.Warmup{Epochs: 0.5, Then: train.Constant(0.02)}, 1, 0.02 * 2 / 5},
	}
	for _, c := range cases {
		assert.InDelta(t, c.want, c.s.Rate(c.step, spe), 1e-12, c.name)
	}
	assert.Equal(t, 10, warm.Steps(spe))
	assert.Equal(t, 1, train.Warmup{Epochs: 0.01}.Steps(spe), "at least one warm-up step")
}

// lrProbe records the optimizer's learning rate at every step, after the schedule set it.
type lrProbe struct {
	train.NopCallback
	opt   train.Optimizer
	rates []float32
	spe   int
}

func (p *lrProbe) OnTrainBegin(t *train.Trainer) error { p.opt = t.Optimizer; return nil }
func (p *lrProbe) OnBatchBegin(b train.BatchStats) error {
	p.rates = append(p.rates, p.opt.LearningRate())
	p.spe = b.Batches
	return nil
}

func TestLearningRateScheduleSetsEveryStep(t *testing.T) {
	// 40 examples in batches of 8: 5 steps an epoch. Warm up for 2 epochs (10 steps),
	// then a cosine over 3 epochs to 0.002.
	initial, floor := 0.05, 0.002
	sched := train.Warmup{Epochs: 2, Then: train.CosineDecay{Initial: initial, Floor: floor, Epochs: 3}}
	probe := &lrProbe{}
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewSGD(), 1)
	tr.BatchSize = 8
	hist, err := tr.Fit(blobs(7, 40, 4, 3), train.Config{Epochs: 6,
		Callbacks: []train.Callback{train.NewLearningRateSchedule(sched), probe}})
	require.NoError(t, err)
	require.Equal(t, 5, probe.spe)
	require.Len(t, probe.rates, 30)
	want := func(s int) float64 { // the formulas, written out
		if s < 10 {
			return initial * float64(s+1) / 10
		}
		t := math.Min(float64(s-10)/5, 3)
		return floor + (initial-floor)*(1+math.Cos(math.Pi*t/3))/2
	}
	for s, got := range probe.rates {
		assert.Equal(t, float32(want(s)), got, "step %d", s)
	}
	assert.Equal(t, float32(initial), probe.rates[9], "the warm-up ends at the initial rate")
	assert.Equal(t, float32(floor), probe.rates[25], "the cosine reaches the floor after 3 epochs")
	for e, es := range hist.Epochs {
		assert.Equal(t, float64(float32(want(5*e+4))), es.LearningRate, "epoch %d records its last step's rate", e+1)
	}
}

func TestStepDecayChangesAtEpochBoundaries(t *testing.T) {
	probe := &lrProbe{}
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewMomentum(), 1)
	tr.BatchSize = 10
	hist, err := tr.Fit(blobs(8, 30, 4, 3), train.Config{Epochs: 5, Callbacks: []train.Callback{
		train.NewLearningRateSchedule(train.StepDecay{Initial: 0.04, Factor: 0.1, Every: 2}), probe}})
	require.NoError(t, err)
	// 3 steps an epoch; epochs 1-2 at 0.04, 3-4 at 0.004, 5 at 0.0004.
	want := []float32{0.04, 0.04, 0.04, 0.04, 0.04, 0.04, 0.004, 0.004, 0.004, 0.004, 0.004, 0.004, 0.0004, 0.0004, 0.0004}
	for i := range want {
		assert.InDelta(t, want[i], probe.rates[i], 1e-9, "step %d", i)
	}
	var perEpoch []float64
	for _, e := range hist.Epochs {
		perEpoch = append(perEpoch, e.LearningRate)
	}
	assert.InDeltaSlice(t, []float64{0.04, 0.04, 0.004, 0.004, 0.0004}, perEpoch, 1e-9)
}

func TestScheduleErrors(t *testing.T) {
	for _, c := range []struct {
		s    train.Schedule
		want string
	}{
		{train.StepDecay{Initial: 0, Factor: 0.5, Every: 1}, "StepDecay: Initial must be a positive learning rate, got 0"},
		{train.StepDecay{Initial: 0.1, Factor: 1.5, Every: 1}, "StepDecay: Factor must be in (0, 1], got 1.5"},
		{train.StepDecay{Initial: 0.1, Factor: 0.5}, "StepDecay: Every must be at least 1 epoch, got 0"},
		{train.CosineDecay{Initial: 0.1, Floor: 0.2, Epochs: 1}, "CosineDecay: Floor must be in [0, Initial=0.1], got 0.2"},
		{train.CosineDecay{Initial: 0.1, Epochs: 0}, "CosineDecay: Epochs must be positive, got 0"},
		{train.CosineDecay{Initial: math.NaN(), Epochs: 1}, "CosineDecay: Initial must be a positive learning rate, got NaN"},
		{train.Warmup{Epochs: -1, Then: train.Constant(0.1)}, "Warmup: Epochs must be positive, got -1"},
		{train.Warmup{Epochs: 1}, "Warmup: Then (the schedule after the warm-up) is nil"},
		{train.Warmup{Epochs: 1, Then: train.Constant(-2)}, "Constant: rate must be a positive learning rate, got -2"},
	} {
		assert.ErrorContains(t, c.s.Check(), c.want)
		_, err := newTrainer(cpu.New(cpu.Options{}), train.NewSGD(), 1).Fit(blobs(1, 20, 4, 3),
			train.Config{Epochs: 1, Callbacks: []train.Callback{train.NewLearningRateSchedule(c.s)}})
		assert.ErrorContains(t, err, c.want, "Fit refuses it before training")
	}
	// A function's rates are checked as they come.
	bad := train.ScheduleFunc(func(step, _ int) float64 { return 0.01 - 0.005*float64(step) })
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewSGD(), 1)
	tr.BatchSize = 4
	_, err := tr.Fit(blobs(1, 20, 4, 3), train.Config{Epochs: 2, Callbacks: []train.Callback{train.NewLearningRateSchedule(bad)}})
	assert.ErrorContains(t, err, "learning-rate schedule gave 0 for step 3 (epoch 1, batch 3)")
	assert.Equal(t, 2, tr.Optimizer.Iterations())
}
