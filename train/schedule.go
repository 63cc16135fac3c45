package train

import (
	"fmt"
	"math"
)

// Schedule is a learning rate as a function of training time. Time is counted in
// optimizer steps, and epochs of stepsPerEpoch steps, so that a schedule can change the
// rate at every step (CosineDecay, Warmup) or at epoch boundaries (StepDecay) without
// knowing the data set's size in advance.
type Schedule interface {
	// Rate is the learning rate of the step that follows step steps of training (0 for
	// the first step of the run), where an epoch has stepsPerEpoch (>= 1) steps.
	Rate(step, stepsPerEpoch int) float64
	// Check reports settings that cannot make a positive, finite rate.
	Check() error
}

// Constant is a fixed learning rate (for a Warmup to end on).
type Constant float64

// Rate implements Schedule.
func (c Constant) Rate(int, int) float64 { return float64(c) }

// Check implements Schedule: the rate must be positive and finite.
func (c Constant) Check() error { return checkRate("Constant", "rate", float64(c)) }

// StepDecay multiplies the rate by Factor every Every epochs, as PyTorch's StepLR:
//
//	lr(step) = Initial · Factor^⌊e/Every⌋,  e = ⌊step/stepsPerEpoch⌋ (epochs completed)
//
// so the rate is constant within an epoch.
type StepDecay struct {
	Initial float64
	Factor  float64 // in (0, 1] to decay
	Every   int     // epochs, >= 1
}

// Rate implements Schedule.
func (s StepDecay) Rate(step, stepsPerEpoch int) float64 {
	e := step / stepsPerEpoch
	return s.Initial * math.Pow(s.Factor, float64(e/s.Every))
}

// Check implements Schedule.
func (s StepDecay) Check() error {
	if err := checkRate("StepDecay", "Initial", s.Initial); err != nil {
		return err
	}
	if !(s.Factor > 0 && s.Factor <= 1) {
		return fmt.Errorf("train: StepDecay: Factor must be in (0, 1], got %v", s.Factor)
	}
	if s.Every < 1 {
		return fmt.Errorf("train: StepDecay: Every must be at least 1 epoch, got %d", s.Every)
	}
	return nil
}

// CosineDecay lowers the rate along half a cosine, from Initial to Floor over Epochs
// epochs (fractional epochs allowed), then holds Floor; it changes at every step:
//
//	lr(step) = Floor + (Initial − Floor) · (1 + cos(π · min(t, Epochs)/Epochs)) / 2,
//	t = step/stepsPerEpoch
//
// It is Keras' CosineDecay with alpha = Floor/Initial and decay_steps = Epochs epochs.
type CosineDecay struct {
	Initial float64
	Floor   float64 // in [0, Initial]
	Epochs  float64 // > 0
}

// Rate implements Schedule.
func (c CosineDecay) Rate(step, stepsPerEpoch int) float64 {
	t := math.Min(float64(step)/float64(stepsPerEpoch), c.Epochs)
	return c.Floor + (c.Initial-c.Floor)*(1+math.Cos(math.Pi*t/c.Epochs))/2
}

// Check implements Schedule.
func (c CosineDecay) Check() error {
	if err := checkRate("CosineDecay", "Initial", c.Initial); err != nil {
		return err
	}
	if !(c.Floor >= 0 && c.Floor <= c.Initial) {
		return fmt.Errorf("train: CosineDecay: Floor must be in [0, Initial=%v], got %v", c.Initial, c.Floor)
	}
	if !(c.Epochs > 0) || math.IsInf(c.Epochs, 0) {
		return fmt.Errorf("train: CosineDecay: Epochs must be positive, got %v", c.Epochs)
	}
	return nil
}

// Warmup raises the rate linearly over the first Epochs epochs (fractional allowed) to
// where Then starts, then follows Then, shifted to start after the warm-up:
//
//	n = max(1, round(Epochs · stepsPerEpoch))          warm-up steps
//	lr(step) = Then(0) · (step+1)/n    for step < n    (the n-th step reaches Then(0))
//	lr(step) = Then(step − n)          after
//
// Warmup{1, CosineDecay{...}} is a warm-up then a cosine decay, the usual pairing.
type Warmup struct {
	Epochs float64 // > 0
	Then   Schedule
}

// Steps is the number of warm-up steps in epochs of stepsPerEpoch steps.
func (w Warmup) Steps(stepsPerEpoch int) int {
	return max(1, int(math.Round(w.Epochs*float64(stepsPerEpoch))))
}

// Rate implements Schedule.
func (w Warmup) Rate(step, stepsPerEpoch int) float64 {
	n := w.Steps(stepsPerEpoch)
	if step < n {
		return w.Then.Rate(0, stepsPerEpoch) * float64(step+1) / float64(n)
	}
	return w.Then.Rate(step-n, stepsPerEpoch)
}

// Check implements Schedule.
func (w Warmup) Check() error {
	if !(w.Epochs > 0) || math.IsInf(w.Epochs, 0) {
		return fmt.Errorf("train: Warmup: Epochs must be positive, got %v", w.Epochs)
	}
	if w.Then == nil {
		return fmt.Errorf("train: Warmup: Then (the schedule after the warm-up) is nil")
	}
	return w.Then.Check()
}

// ScheduleFunc is a Schedule written as a function (Keras' LearningRateScheduler);
// its rates are checked as they are used.
type ScheduleFunc func(step, stepsPerEpoch int) float64

// Rate implements Schedule.
func (f ScheduleFunc) Rate(step, stepsPerEpoch int) float64 { return f(step, stepsPerEpoch) }

// Check implements Schedule.
func (f ScheduleFunc) Check() error {
	if f == nil {
		return fmt.Errorf("train: ScheduleFunc is nil")
	}
	return nil
}

func checkRate(kind, field string, v float64) error {
	if !(v > 0) || math.IsInf(v, 0) {
		return fmt.Errorf("train: %s: %s must be a positive learning rate, got %v", kind, field, v)
	}
	return nil
}

// LearningRateSchedule is a Callback that sets the optimizer's learning rate before
// every training step to Schedule.Rate(step, batches per epoch), step being the
// optimizer's step count (so a resumed run goes on where the schedule was). The rate
// each epoch ended with is in its EpochStats.LearningRate.
//
// OnTrainBegin returns Schedule.Check's error; OnBatchBegin refuses a rate that is not
// positive and finite, naming the step.
type LearningRateSchedule struct {
	NopCallback
	Schedule Schedule

	opt Optimizer
}

// NewLearningRateSchedule returns a callback applying s.
func NewLearningRateSchedule(s Schedule) *LearningRateSchedule {
	return &LearningRateSchedule{Schedule: s}
}

// OnTrainBegin implements Callback.
func (l *LearningRateSchedule) OnTrainBegin(t *Trainer) error {
	if l.Schedule == nil {
		return fmt.Errorf("train: LearningRateSchedule has no Schedule")
	}
	if err := l.Schedule.Check(); err != nil {
		return err
	}
	l.opt = t.Optimizer
	return nil
}

// OnBatchBegin implements Callback: it sets the rate of step b.Step.
func (l *LearningRateSchedule) OnBatchBegin(b BatchStats) error {
	lr := l.Schedule.Rate(b.Step-1, max(b.Steps, 1))
	if !(lr > 0) || math.IsInf(lr, 0) || float32(lr) == 0 {
		return fmt.Errorf("train: learning-rate schedule gave %v for step %d (epoch %d, batch %d)", lr, b.Step, b.Epoch, b.Batch)
	}
	l.opt.SetLearningRate(float32(lr))
	return nil
}

// WarmupCosine is a step-based schedule, nanoGPT's get_lr: a linear warm-up over the
// first Warmup steps, then half a cosine from Peak down to Floor, reached at the run's
// last step (0-based step Steps-1), by step s:
//
//	lr(s) = Peak · (s+1)/(Warmup+1)                                  s < Warmup
//	lr(s) = Floor + (Peak − Floor) · (1 + cos(π·(s−Warmup)/(Steps−1−Warmup)))/2   Warmup <= s < Steps-1
//	lr(s) = Floor                                                    s >= Steps-1
//
// It ignores the epoch length: in FitSteps, as with Fit, it changes at every step.
type WarmupCosine struct {
	Peak, Floor float64
	Warmup      int // steps, >= 0
	Steps       int // the run's steps, > Warmup
}

// Rate implements Schedule.
func (w WarmupCosine) Rate(step, _ int) float64 {
	switch {
	case step < w.Warmup:
		return w.Peak * float64(step+1) / float64(w.Warmup+1)
	case step >= w.Steps-1:
		return w.Floor
	}
	ratio := float64(step-w.Warmup) / float64(w.Steps-1-w.Warmup)
	return w.Floor + (w.Peak-w.Floor)*(1+math.Cos(math.Pi*ratio))/2
}

// Check implements Schedule.
func (w WarmupCosine) Check() error {
	if err := checkRate("WarmupCosine", "Peak", w.Peak); err != nil {
		return err
	}
	if !(w.Floor > 0 && w.Floor <= w.Peak) || math.IsInf(w.Floor, 0) {
		return fmt.Errorf("train: WarmupCosine: Floor must be in (0, Peak=%v], got %v", w.Peak, w.Floor)
	}
	if w.Warmup < 0 || w.Steps <= w.Warmup {
		return fmt.Errorf("train: WarmupCosine: want 0 <= Warmup < Steps, got Warmup %d and Steps %d", w.Warmup, w.Steps)
	}
	return nil
}
