package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

// Stream is training data drawn batch by batch rather than an indexed set of examples:
// windows of a long text drawn at random (train/data's TextStream), or any source whose
// examples are made as they are needed. An example is a row of int32 inputs (token
// ids, an Embedding's input) and a row of int32 targets (class labels: for a language
// model, the next token at each position). FitSteps trains on a Stream by optimizer
// steps instead of epochs.
//
// A Stream must be deterministic given its seed and State: a run resumed from a
// checkpoint restores the state and draws what the uninterrupted run would have.
type Stream interface {
	// Shapes are the per-example shapes of the inputs and of the targets.
	Shapes() (in, target []int)
	// Next fills x and y, row-major batches of batch = len(x)/len(in) examples, with
	// the next training batch. It allocates nothing.
	Next(x, y []int32) error
	// ValExamples is the number of validation examples (0: none).
	ValExamples() int
	// ValBatch fills x and y with validation examples first, first+1, … and returns
	// how many it filled: the whole batch, or fewer at the end.
	ValBatch(first int, x, y []int32) (int, error)
	// State is the stream's position (its random generator's state); SetState goes
	// back to a position State returned.
	State() ([]byte, error)
	SetState(state []byte) error
}

// StepConfig configures FitSteps.
type StepConfig struct {
	// Steps is the optimizer step FitSteps ends after (counting the steps trained
	// before a Resume).
	Steps int
	// EvalEvery is how many steps make an evaluation interval: at its end FitSteps
	// computes the loss on every validation example of the stream, appends the
	// interval's figures to the History and calls OnEpochEnd. 0 means one interval,
	// the whole run. The last step always ends an interval.
	EvalEvery int
	// Callbacks are told of every interval (as an epoch) and step (as a batch).
	Callbacks []Callback
	// CheckEvery is how many steps pass between reads of the running loss (25 when 0):
	// each read checks that it is finite and times the steps since the last one.
	CheckEvery int
	// Context, when set, interrupts training when it is done (see Config.Context).
	Context context.Context
	// DivergenceFactor stops training when the loss grows by orders of magnitude, as
	// Config.DivergenceFactor does for Fit: when the mean loss of the steps between two
	// reads exceeds DivergenceFactor times the loss of this FitSteps' first step (read
	// once, after that step), FitSteps returns an error wrapping ErrDiverged that names
	// the steps. 0 means DefaultDivergenceFactor; a negative value turns the check off.
	DivergenceFactor float64
}

// streamRun is the Trainer's state for FitSteps.
type streamRun struct {
	stream       Stream
	sx, sy       *rowsBuf // the batch on the device: ids and targets
	hx, hy       []int32  // and on the host
	inLen, yLen  int
	stepMillis   []float64
	streamInputs tensor.Shape
	streamTarget tensor.Shape
}

// StepMillis is the milliseconds per training step of the last FitSteps, one value
// per stretch of steps between two reads of the running loss (Config.CheckEvery steps,
// fewer at an interval's end); their median is the run's step time.
func (t *Trainer) StepMillis() []float64 { return t.stepMillis }

// MedianMillis is the median of v (0 for none).
func MedianMillis(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// buildStream builds the model, the loss and the batch buffers for s.
func (t *Trainer) buildStream(s Stream) error {
	in, target := s.Shapes()
	if err := tensor.Shape(in).Check(); err != nil {
		return fmt.Errorf("train: stream inputs: %w", err)
	}
	if err := tensor.Shape(target).Check(); err != nil {
		return fmt.Errorf("train: stream targets: %w", err)
	}
	if err := t.Build(in); err != nil {
		return err
	}
	if !t.Loss.Classifies() {
		return fmt.Errorf("train: a stream's targets are int32 labels, but loss %s takes float targets", t.Loss.Name())
	}
	want := tensor.Shape{1}
	if ts, ok := t.Loss.(interface{ TargetShape() tensor.Shape }); ok {
		want = ts.TargetShape()
	}
	if tensor.Shape(target).Len() != want.Len() {
		return fmt.Errorf("train: the stream's targets have shape %v per example, loss %s takes %v", tensor.Shape(target), t.Loss.Name(), want)
	}
	if t.sx != nil && t.streamInputs.Equal(in) && t.streamTarget.Equal(target) {
		return nil
	}
	bs := t.batchSize()
	t.inLen, t.yLen = tensor.Shape(in).Len(), tensor.Shape(target).Len()
	var err error
	if t.sx, err = newRowsBuf(t.Dev, device.Int32, bs, t.inLen); err != nil {
		return err
	}
	if t.sy, err = newRowsBuf(t.Dev, device.Int32, bs, t.yLen); err != nil {
		return err
	}
	t.hx, t.hy = make([]int32, bs*t.inLen), make([]int32, bs*t.yLen)
	t.streamInputs, t.streamTarget = tensor.Shape(in).Clone(), tensor.Shape(target).Clone()
	return nil
}

// streamBatch writes the host batch's first rows examples to the device and returns
// them shaped for the model and the loss.
func (t *Trainer) streamBatch(rows int) (x, y *tensor.Tensor, err error) {
	if x, err = t.sx.shaped(rows, t.streamInputs); err != nil {
		return nil, nil, err
	}
	if y, err = t.sy.shaped(rows, t.streamTarget); err != nil {
		return nil, nil, err
	}
	if err := t.Dev.WriteInt32(x.Buffer(), t.hx[:rows*t.inLen]); err != nil {
		return nil, nil, err
	}
	if err := t.Dev.WriteInt32(y.Buffer(), t.hy[:rows*t.yLen]); err != nil {
		return nil, nil, err
	}
	return x, y, nil
}

// FitSteps trains the model on batches drawn from s for cfg.Steps optimizer steps
// (each of AccumSteps batches of BatchSize examples), evaluating on the stream's
// validation examples every cfg.EvalEvery steps and after the last, and returns the
// History: one EpochStats per evaluation interval (History.ByStep), with its mean
// training loss and accuracy, its validation loss and accuracy over every validation
// example, its last step (Step) and its median step time (StepMS). After Resume it
// continues from the saved step, interval and stream position, bit for bit.
//
// Each step writes the batch's ids and targets to fixed device buffers, then runs one
// Backend.Step (forward, loss, backward, clipping, update) that reads nothing back
// (with a loss scaler, as in Fit: the step, one read of the overflow flag, then the
// update as a step of its own or none); the running loss is read every CheckEvery
// steps, and once after the first step for the divergence check. Callbacks see each
// interval as an epoch (OnEpochBegin, OnEpochEnd) and each step as a batch
// (BatchStats.Step is the optimizer step, Batches and Steps the interval's steps), so
// that the learning-rate schedules and checkpoints work as they do with Fit. It stops
// as Fit does: ErrStop from a callback, a non-finite loss (ErrNotFinite), a diverging
// one (ErrDiverged, cfg.DivergenceFactor), cfg.Context (ErrInterrupted).
func (t *Trainer) FitSteps(s Stream, cfg StepConfig) (*History, error) {
	switch {
	case t.Optimizer == nil:
		return nil, fmt.Errorf("train: FitSteps needs an Optimizer")
	case s == nil:
		return nil, fmt.Errorf("train: FitSteps needs a Stream")
	case cfg.Steps <= 0:
		return nil, fmt.Errorf("train: steps must be positive, got %d", cfg.Steps)
	case cfg.EvalEvery < 0:
		return nil, fmt.Errorf("train: EvalEvery must not be negative, got %d", cfg.EvalEvery)
	case cfg.CheckEvery < 0:
		return nil, fmt.Errorf("train: CheckEvery must not be negative, got %d", cfg.CheckEvery)
	case math.IsNaN(cfg.DivergenceFactor) || (cfg.DivergenceFactor > 0 && cfg.DivergenceFactor <= 1):
		return nil, fmt.Errorf("train: DivergenceFactor must be above 1 (or 0 for the default, negative for none), got %v", cfg.DivergenceFactor)
	}
	if err := t.buildStream(s); err != nil {
		return nil, err
	}
	if err := t.Scaler.Check(); err != nil {
		return nil, err
	}
	// the weights' 16-bit copies, from whatever the weights are now (loaded, resumed)
	if err := t.net.RefreshHalf(); err != nil {
		return nil, err
	}
	every := cfg.EvalEvery
	if every == 0 {
		every = cfg.Steps
	}
	checkEvery := cfg.CheckEvery
	if checkEvery == 0 {
		checkEvery = 25
	}
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	p := t.progress
	t.progress = Progress{}
	if p.Epoch == 0 {
		p.Epoch = 1
	}
	if p.StreamState != nil {
		if err := s.SetState(p.StreamState); err != nil {
			return nil, fmt.Errorf("train: resuming the stream: %w", err)
		}
	}
	t.stream = s // Progress reads its position, also after FitSteps returns
	hist := p.History
	hist.Loss, hist.Classifies, hist.ByStep = t.Loss.Name(), t.Loss.Classifies(), true
	t.hist = &hist
	t.pos = p
	t.stepMillis = t.stepMillis[:0]
	fail := func(err error) (*History, error) {
		for _, c := range cfg.Callbacks {
			c.OnTrainEnd(t.hist, err)
		}
		return t.hist, err
	}
	done := t.Optimizer.Iterations()
	if t.Scaler != nil {
		done += t.Scaler.Skipped // a skipped step leaves the optimizer's count as it was
	}
	if err := each(cfg.Callbacks, func(c Callback) error { return c.OnTrainBegin(t) }); err != nil {
		if !errors.Is(err, ErrStop) {
			return fail(err)
		}
		done = cfg.Steps // train nothing
	}
	if err := t.net.ZeroGrad(); err != nil {
		return fail(err)
	}
	bs, accum := t.batchSize(), t.accumSteps()
	perStep := bs * accum
	watch, first := newLossWatch(cfg.DivergenceFactor, "step"), true
	for done < cfg.Steps {
		// The interval in progress: steps [lo, hi) of the run, of which p.Batch are done.
		lo := done - p.Batch
		hi := min(lo+every, cfg.Steps)
		nb := hi - lo
		start := time.Now()
		if t.Scaler != nil {
			t.skip0 = t.Scaler.Skipped - p.EpochSkipped
		}
		if err := t.fitM.set(t.Dev, p.LossSum, p.CorrectSum); err != nil {
			return fail(err)
		}
		if err := each(cfg.Callbacks, func(c Callback) error { return c.OnEpochBegin(p.Epoch) }); err != nil {
			if errors.Is(err, ErrStop) {
				break
			}
			return fail(err)
		}
		stopped := false
		var interval []float64
		chunk, chunkSteps := time.Now(), 0
		watch.from(p.LossSum, p.Batch*perStep)
		winFrom := done // the step before the window since the last read
		for b := p.Batch; b < nb; b++ {
			if cfg.Context.Err() != nil {
				return fail(fmt.Errorf("train: step %d of %d: %w", done+1, cfg.Steps, ErrInterrupted))
			}
			bi := BatchStats{Epoch: p.Epoch, Batch: b + 1, Batches: nb, Step: done + 1, Steps: nb, Seen: b * perStep}
			if err := each(cfg.Callbacks, func(c Callback) error { return c.OnBatchBegin(bi) }); err != nil {
				if errors.Is(err, ErrStop) {
					stopped = true
					break
				}
				return fail(err)
			}
			for a := range accum {
				if err := s.Next(t.hx, t.hy); err != nil {
					return fail(fmt.Errorf("train: step %d: %w", done+1, err))
				}
				if err := t.streamStep(stepKey{first: a == 0, last: a == accum-1}, 1/float32(perStep)); err != nil {
					return fail(fmt.Errorf("train: step %d: %w", done+1, err))
				}
			}
			done++
			chunkSteps++
			t.pos.Epoch, t.pos.Batch = p.Epoch, b+1
			bi.Seen = (b + 1) * perStep
			scheduled := (b+1)%checkEvery == 0 || b+1 == nb
			if scheduled || (first && watch.on()) {
				loss, correct, err := t.fitM.read(t.Dev)
				if err != nil {
					return fail(err)
				}
				if scheduled { // the timings and the callbacks' figures on the CheckEvery schedule only
					ms := float64(time.Since(chunk).Microseconds()) / 1e3 / float64(chunkSteps)
					interval = append(interval, ms)
					t.stepMillis = append(t.stepMillis, ms)
					chunk, chunkSteps = time.Now(), 0
					bi.Loss, bi.Accuracy, bi.Known = loss/float64(bi.Seen), correct/float64(bi.Seen), true
				}
				if err := watch.read(loss, bi.Seen, first, func() string { return fmt.Sprintf("steps %d to %d", winFrom+1, done) }); err != nil {
					return fail(err)
				}
				winFrom = done
				t.pos.LossSum, t.pos.CorrectSum = loss, correct
			}
			first = false
			if err := each(cfg.Callbacks, func(c Callback) error { return c.OnBatchEnd(bi) }); err != nil {
				if errors.Is(err, ErrStop) {
					stopped = true
					break
				}
				return fail(err)
			}
		}
		if stopped {
			break
		}
		trainSeconds := time.Since(start).Seconds()
		examples := nb * perStep
		es := EpochStats{Epoch: p.Epoch, Step: done, Loss: t.pos.LossSum / float64(examples), Accuracy: t.pos.CorrectSum / float64(examples),
			Examples: examples, LearningRate: float64(t.Optimizer.LearningRate()), StepMS: MedianMillis(interval)}
		if t.Scaler != nil {
			es.LossScale, es.SkippedSteps = t.Scaler.Scale, t.Scaler.Skipped-t.skip0
		}
		if s.ValExamples() > 0 {
			r, err := t.evaluateStream(s)
			if err != nil {
				return fail(fmt.Errorf("train: validation after step %d: %w", done, err))
			}
			es.ValLoss, es.ValAccuracy, es.HasValidation = r.Loss, r.Accuracy, true
		}
		es.Seconds = time.Since(start).Seconds()
		es.TrainSeconds = trainSeconds
		es.SamplesPerSecond = float64(examples) / es.Seconds
		t.hist.Epochs = append(t.hist.Epochs, es)
		p = Progress{Epoch: p.Epoch + 1}
		t.pos = p
		if err := each(cfg.Callbacks, func(c Callback) error { return c.OnEpochEnd(es) }); err != nil {
			if errors.Is(err, ErrStop) {
				break
			}
			return fail(err)
		}
	}
	for _, c := range cfg.Callbacks {
		c.OnTrainEnd(t.hist, nil)
	}
	return t.hist, nil
}

// streamStep writes the host batch to the device and runs one training step on it
// (Backend.Step, keyed by its place in the accumulation group).
func (t *Trainer) streamStep(ph stepKey, scale float32) error {
	bs := t.batchSize()
	if _, _, err := t.streamBatch(bs); err != nil {
		return err
	}
	ph.rows = -1 // stream steps: their own keys
	t.cur = step{rows: bs, scale: scale}
	if t.Scaler != nil {
		t.cur.scale, t.cur.inv = scale*float32(t.Scaler.Scale), float32(1/t.Scaler.Scale)
	}
	sf, ok := t.stepFns[ph]
	if !ok {
		first, last := ph.first, ph.last
		sf.fn = func() error {
			x, _ := t.sx.shaped(t.cur.rows, t.streamInputs)
			y, _ := t.sy.shaped(t.cur.rows, t.streamTarget)
			return t.learn(x, y, first, last, t.cur.scale)
		}
		sf.key = "stream"
		switch {
		case first && !last:
			sf.key += "/first"
		case !first && !last:
			sf.key += "/accumulate"
		case !first && last:
			sf.key += "/last"
		}
		t.stepFns[ph] = sf
	}
	if err := t.Dev.Step(sf.key, sf.fn); err != nil || !ph.last || t.Scaler == nil {
		return err
	}
	return t.scaledUpdate()
}

// EvaluateStream computes the model's mean loss and accuracy over every validation
// example of s, in inference mode, in batches of BatchSize. For a language model on
// train/data's TextStream that is the mean per-token cross-entropy over the
// validation split cut into non-overlapping windows.
func (t *Trainer) EvaluateStream(s Stream) (Result, error) {
	if s == nil {
		return Result{}, fmt.Errorf("train: EvaluateStream needs a Stream")
	}
	if err := t.buildStream(s); err != nil {
		return Result{}, err
	}
	if s.ValExamples() == 0 {
		return Result{}, fmt.Errorf("train: the stream has no validation examples")
	}
	return t.evaluateStream(s)
}

func (t *Trainer) evaluateStream(s Stream) (Result, error) {
	if err := t.evalM.reset(t.Dev); err != nil {
		return Result{}, err
	}
	bs, total, n := t.batchSize(), s.ValExamples(), 0
	for first := 0; first < total; {
		rows, err := s.ValBatch(first, t.hx, t.hy)
		if err != nil {
			return Result{}, err
		}
		if rows <= 0 || rows > bs {
			return Result{}, fmt.Errorf("train: the stream's validation batch at %d has %d examples (want 1 to %d)", first, rows, bs)
		}
		x, y, err := t.streamBatch(rows)
		if err != nil {
			return Result{}, err
		}
		if err := t.evalBatch(x, y); err != nil {
			return Result{}, err
		}
		first += rows
		n += rows
	}
	loss, correct, err := t.evalM.read(t.Dev)
	if err != nil {
		return Result{}, err
	}
	return Result{Loss: loss / float64(n), Accuracy: correct / float64(n), Examples: n}, nil
}
