package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

// ErrStop is what a callback returns to end training early without an error (it may be
// wrapped). Fit stops before training anything (from OnTrainBegin), before the batch
// (OnBatchBegin), after the batch (OnBatchEnd) or at the epoch's start or end
// (OnEpochBegin, OnEpochEnd), and returns the history so far with a nil error. The
// callbacks after the one that stopped are still called for the same event, so that a
// logger sees the epoch an early stopper ended; OnTrainEnd follows, with a nil error.
var ErrStop = errors.New("train: stop requested")

// Callback is told of training's progress by Fit, and may steer it: change the
// optimizer's learning rate, snapshot or restore weights, or return ErrStop. Any other
// error ends Fit at once with that error (unwrapped), and OnTrainEnd receives it. Fit
// calls the callbacks of Config.Callbacks in order, for each event:
//
//	OnTrainBegin
//	for each epoch: OnEpochBegin, for each batch (OnBatchBegin, step, OnBatchEnd), validation, OnEpochEnd
//	OnTrainEnd
//
// Embed NopCallback to implement only some methods.
type Callback interface {
	// OnTrainBegin is called once, before the first batch, with the Trainer (its model
	// built, its optimizer ready for SetLearningRate).
	OnTrainBegin(t *Trainer) error
	// OnEpochBegin is called before the epoch's first batch (epoch is 1-based).
	OnEpochBegin(epoch int) error
	// OnBatchBegin is called before each training step; b.Seen counts the examples of
	// the epoch trained before it, and Loss and Accuracy are unknown.
	OnBatchBegin(b BatchStats) error
	// OnBatchEnd is called after each step (b.Seen now counts its examples). It receives
	// the running loss and accuracy of the epoch when Fit read them (b.Known), every
	// Config.CheckEvery batches and at the last batch.
	OnBatchEnd(b BatchStats) error
	// OnEpochEnd is called after the epoch's validation, with its statistics (already
	// appended to the History).
	OnEpochEnd(e EpochStats) error
	// OnTrainEnd is called once at the end, with the error Fit returns (nil if none,
	// and after ErrStop).
	OnTrainEnd(h *History, err error)
}

// BatchStats locate a training step; Loss and Accuracy are the epoch's running means
// so far, set when Known.
type BatchStats struct {
	Epoch   int
	Batch   int // 1-based, within the epoch
	Batches int // in the epoch
	Step    int // optimizer step the batch contributes to, 1-based over the whole run
	Steps   int // optimizer steps in the epoch (Batches, or fewer with gradient accumulation)
	// Seen is the number of the epoch's examples trained: before the step in
	// OnBatchBegin, after it in OnBatchEnd.
	Seen  int
	Known bool
	Loss  float64
	// Accuracy is 0 for losses that do not classify.
	Accuracy float64
}

// NopCallback implements Callback with methods that do nothing.
type NopCallback struct{}

func (NopCallback) OnTrainBegin(*Trainer) error   { return nil }
func (NopCallback) OnEpochBegin(int) error        { return nil }
func (NopCallback) OnBatchBegin(BatchStats) error { return nil }
func (NopCallback) OnBatchEnd(BatchStats) error   { return nil }
func (NopCallback) OnEpochEnd(EpochStats) error   { return nil }
func (NopCallback) OnTrainEnd(*History, error)    {}

// EpochFunc is a Callback that calls f after each epoch.
type EpochFunc func(EpochStats)

func (f EpochFunc) OnTrainBegin(*Trainer) error   { return nil }
func (f EpochFunc) OnEpochBegin(int) error        { return nil }
func (f EpochFunc) OnBatchBegin(BatchStats) error { return nil }
func (f EpochFunc) OnBatchEnd(BatchStats) error   { return nil }
func (f EpochFunc) OnEpochEnd(e EpochStats) error { f(e); return nil }
func (f EpochFunc) OnTrainEnd(*History, error)    {}

// Progress is the training loop's own state: where it is and what it has measured. A
// checkpoint saves it next to the weights and the optimizer's state, so that Fit can go
// on where it stopped (Resume).
type Progress struct {
	// Epoch is the epoch in progress, 1-based; Batch the batches of it already trained.
	Epoch int `json:"epoch"`
	Batch int `json:"batch"`
	// LossSum and CorrectSum are the sums over the batches trained in Epoch.
	LossSum    float64 `json:"loss_sum"`
	CorrectSum float64 `json:"correct_sum"`
	// ModelStep is the model's step counter (dropout and augmentation offsets).
	ModelStep uint64 `json:"model_step"`
	// OptimizerSteps is the optimizer's step count (Adam's bias correction).
	OptimizerSteps int `json:"optimizer_steps"`
	// History holds the epochs completed.
	History History `json:"history"`
	// StreamState is a step-based run's position in its Stream (Stream.State); nil
	// for a Fit over a Dataset. In such a run an "epoch" is an evaluation interval:
	// Epoch is the interval in progress and Batch the steps of it already trained.
	StreamState []byte `json:"stream_state,omitempty"`
	// Callbacks holds the state of the Fit's Stateful callbacks by StateKey (set by
	// Trainer.State, not by Progress).
	Callbacks map[string]CallbackState `json:"callbacks,omitempty"`
}

// Stateful is implemented by a Callback whose own state belongs to the run, so that a
// run resumed from a checkpoint goes on as the uninterrupted one would: EarlyStopping
// (its best epoch, its patience so far and the best weights). Trainer.State collects the
// state of a Fit's Stateful callbacks (a checkpoint saves it), Resume takes it back, and
// the next Fit gives each callback its state (by StateKey) right after OnTrainBegin. A
// state saved for a callback the resumed Fit does not have is dropped.
type Stateful interface {
	Callback
	// StateKey names the state ("early_stopping"): unique among a Fit's callbacks, and
	// without dots.
	StateKey() string
	// SaveState returns the callback's state, its tensors copied to the host.
	SaveState() (CallbackState, error)
	// LoadState puts back a state SaveState returned. ErrStop (a run that had already
	// ended) makes Fit train nothing.
	LoadState(CallbackState) error
}

// CallbackState is a Stateful callback's state: a JSON value, and float32 tensors by
// name (which a checkpoint stores as tensors, not in the JSON).
type CallbackState struct {
	Value   json.RawMessage `json:"value,omitempty"`
	Tensors []StateTensor   `json:"-"`
}

// StateTensor is a named float32 tensor of a CallbackState.
type StateTensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// State is Progress with the state of the Fit's Stateful callbacks (see Stateful): all
// a checkpoint needs besides the model and the optimizer. It reads the callbacks'
// tensors from the device.
func (t *Trainer) State() (Progress, error) {
	p := t.Progress()
	for _, c := range t.callbacks {
		s, ok := c.(Stateful)
		if !ok {
			continue
		}
		key := s.StateKey()
		if key == "" || strings.Contains(key, ".") {
			return p, fmt.Errorf("train: callback %T: state key %q must be a name without dots", c, key)
		}
		if _, dup := p.Callbacks[key]; dup {
			return p, fmt.Errorf("train: two callbacks save state under %q", key)
		}
		st, err := s.SaveState()
		if err != nil {
			return p, fmt.Errorf("train: state of %s: %w", key, err)
		}
		if p.Callbacks == nil {
			p.Callbacks = map[string]CallbackState{}
		}
		p.Callbacks[key] = st
	}
	return p, nil
}

// loadCallbackStates gives each Stateful callback its saved state, if any; ErrStop
// (from a callback that had ended the run) is returned after all have theirs.
func (t *Trainer) loadCallbackStates(cs []Callback, states map[string]CallbackState) error {
	if len(states) == 0 {
		return nil
	}
	return each(cs, func(c Callback) error {
		s, ok := c.(Stateful)
		if !ok {
			return nil
		}
		st, ok := states[s.StateKey()]
		if !ok {
			return nil
		}
		if err := s.LoadState(st); err != nil && !errors.Is(err, ErrStop) {
			return fmt.Errorf("train: resuming %s: %w", s.StateKey(), err)
		} else if err != nil {
			return err
		}
		return nil
	})
}

// Progress returns the state of the Fit in progress, or of the last one: the position
// after the last completed step, with the optimizer's and model's counters. Call it
// from a callback or after Fit returns (for example after an interruption).
//
// Mid-epoch it reads the epoch's running loss and accuracy sums from the device (Fit
// reads them only every Config.CheckEvery batches), so that a run resumed from it
// reports the same epoch figures as an uninterrupted one; if that read fails, the sums
// are those of the last read. In a data-parallel job (Trainer.Comm) it reads nothing,
// since a read there is a collective that every rank would have to make: the sums are
// those of Fit's last reading, which Fit makes at every interruption, so a checkpoint
// saved after one is exact.
func (t *Trainer) Progress() Progress {
	p := t.pos
	p.Callbacks = nil // State gathers the current ones
	if p.Batch > 0 && t.fitM != nil && !t.dist() {
		if loss, correct, err := t.fitM.read(t.Dev); err == nil {
			p.LossSum, p.CorrectSum = loss, correct
		}
	}
	if t.hist != nil {
		p.History = *t.hist
		p.History.Epochs = append([]EpochStats(nil), t.hist.Epochs...)
	}
	if t.Optimizer != nil {
		p.OptimizerSteps = t.Optimizer.Iterations()
	}
	if t.net != nil {
		p.ModelStep = t.net.Context().Step
	}
	if t.stream != nil {
		if st, err := t.stream.State(); err == nil {
			p.StreamState = st
		}
	}
	return p
}

// Resume makes the next Fit continue from p: it sets the optimizer's and model's
// counters now (build the model and load the weights and optimizer state first) and
// the position, history and callback states (see Stateful) for Fit.
func (t *Trainer) Resume(p Progress) error {
	if p.Epoch < 1 || p.Batch < 0 || p.OptimizerSteps < 0 {
		return fmt.Errorf("train: resume: bad position epoch %d batch %d steps %d", p.Epoch, p.Batch, p.OptimizerSteps)
	}
	if t.net == nil {
		return fmt.Errorf("train: resume: build the model first")
	}
	if t.Optimizer == nil {
		return fmt.Errorf("train: resume: the Trainer has no Optimizer")
	}
	t.Optimizer.SetIterations(p.OptimizerSteps)
	t.net.Context().Step = p.ModelStep
	t.progress = p
	return nil
}

// clip rescales every gradient by min(1, ClipNorm/‖g‖) with ‖g‖ the global L2 norm
// over the model's flat gradient buffer (frozen parameters' gradients are zero). It
// runs on the device and reads nothing back, so that a backend can record the whole
// step (a CUDA graph):
//
//	n = ‖g‖                          Reduce(Norm)
//	q = -ClipNorm / n                 Fill, Binary(Div)
//	r = max(-1, q) = -min(1, ClipNorm/n)   Reduce(Max) over the pair (-1, q)
//	g = g · (-r)                      Axpby, Broadcast(Mul)
//
// A zero norm gives q = -Inf and leaves g as it is (factor 1), as does a norm below
// ClipNorm (the factor is exactly 1); a NaN norm also leaves g alone (Max ignores NaN),
// and the non-finite loss stops training.
func (t *Trainer) clip() error {
	grads := t.net.Grads()
	if grads == nil {
		return nil
	}
	dev := t.Dev
	c := &t.clipBufs
	if c.all == nil {
		var err error
		if c.all, err = tensor.Zeros(dev, 5); err != nil {
			return err
		}
		for _, v := range []struct {
			b      *device.Buffer
			off, n int
		}{{&c.norm, 0, 1}, {&c.negClip, 1, 1}, {&c.pair, 2, 2}, {&c.minusOne, 2, 1}, {&c.q, 3, 1}, {&c.factor, 4, 1}} {
			if *v.b, err = dev.View(c.all.Buffer(), v.off, v.n); err != nil {
				return err
			}
		}
	}
	n := grads.Len()
	err := dev.Reduce(device.Norm, grads.Buffer(), c.norm, device.Shape3{Outer: 1, Mid: n, Inner: 1})
	if err == nil {
		err = dev.Fill(c.negClip, -t.ClipNorm)
	}
	if err == nil {
		err = dev.Binary(device.Div, c.negClip, c.norm, c.q)
	}
	if err == nil {
		err = dev.Fill(c.minusOne, -1)
	}
	if err == nil { // r, into negClip
		err = dev.Reduce(device.Max, c.pair, c.negClip, device.Shape3{Outer: 1, Mid: 2, Inner: 1})
	}
	if err == nil {
		err = dev.Axpby(-1, c.negClip, 0, c.factor)
	}
	if err == nil {
		err = dev.Broadcast(device.Mul, grads.Buffer(), c.factor, grads.Buffer(), device.Shape3{Outer: 1, Mid: 1, Inner: n})
	}
	if err != nil {
		return fmt.Errorf("train: clipping the gradients: %w", err)
	}
	return nil
}

// clipBufs are clip's device scalars: the norm, -ClipNorm (then r), the pair (-1, q)
// and the factor, views of one buffer.
type clipBufs struct {
	all                                      *tensor.Tensor
	norm, negClip, pair, minusOne, q, factor device.Buffer
}
