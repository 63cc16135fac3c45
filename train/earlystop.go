package train

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/gputrain/gputrain/tensor"
)

// The figures EarlyStopping can monitor, named as Keras names them.
const (
	MonitorValLoss     = "val_loss"
	MonitorValAccuracy = "val_accuracy"
	MonitorLoss        = "loss"
	MonitorAccuracy    = "accuracy"
)

// EarlyStopping is a Callback that stops training once the monitored figure has stopped
// improving, as Keras' EarlyStopping does, and can put back the weights of the best
// epoch.
//
// After each epoch it reads the monitored figure x (Monitor). For a loss, epoch e
// improves when x_e < best - MinDelta; for an accuracy, when x_e > best + MinDelta
// (the first epoch always improves; NaN never does). When Patience epochs in a row have
// not improved (one, when Patience is 0), it returns ErrStop from OnEpochEnd: with
// Patience p and the best epoch b, training ends after epoch b+p.
//
// With RestoreBest it snapshots every parameter and state tensor of the model (batch
// norm's running statistics included) at each improvement, on the device (Backend.Copy
// into tensors allocated once in OnTrainBegin: nothing goes through the host), and
// copies the best epoch's back when it stops training, or at the end of a Fit that ran
// all its epochs. It does not restore after a Fit that failed or was interrupted (the
// weights are then those a checkpoint for resuming needs), and keeps its snapshots
// then, for the checkpoint. The optimizer's state is not restored.
//
// It is Stateful: a checkpoint saves the best epoch, its figure, the epochs waited and
// the best weights, so that a Fit resumed from it stops, and restores, exactly as the
// uninterrupted one; a run it had stopped trains no further when resumed.
//
// Errors: OnTrainBegin refuses an unknown Monitor, a negative MinDelta or Patience,
// and an accuracy monitor for a loss that does not classify; OnEpochEnd refuses a
// validation monitor on an epoch without validation data. An error restoring the
// weights at the end of a complete Fit (OnTrainEnd cannot return one) is kept for Err.
type EarlyStopping struct {
	// Monitor is "val_loss" (when empty), "val_accuracy", "loss" or "accuracy".
	Monitor string
	// MinDelta is the smallest change that counts as an improvement (>= 0).
	MinDelta float64
	// Patience is how many epochs in a row without improvement end training.
	Patience int
	// RestoreBest puts the best epoch's weights back at the end.
	RestoreBest bool

	// BestEpoch is the best epoch so far (1-based; 0 before the first), Best its value
	// of the monitored figure.
	BestEpoch int
	Best      float64
	// StoppedEpoch is the epoch after which it stopped training (0 if it did not).
	StoppedEpoch int
	// Restored reports whether the best epoch's weights were put back.
	Restored bool

	t        *Trainer
	maximize bool
	wait     int
	snaps    []*tensor.Tensor
	err      error
}

// monitor returns the monitored figure of e, or an error when e lacks it.
func (s *EarlyStopping) monitor(e EpochStats) (float64, error) {
	switch s.Monitor {
	case MonitorValLoss, MonitorValAccuracy:
		if !e.HasValidation {
			return 0, fmt.Errorf("train: EarlyStopping monitors %s, but epoch %d has no validation data (give a validation set or split)", s.Monitor, e.Epoch)
		}
		if s.Monitor == MonitorValLoss {
			return e.ValLoss, nil
		}
		return e.ValAccuracy, nil
	case MonitorLoss:
		return e.Loss, nil
	}
	return e.Accuracy, nil
}

// OnTrainBegin implements Callback: it checks the settings, resets the count and, with
// RestoreBest, allocates the snapshot tensors.
func (s *EarlyStopping) OnTrainBegin(t *Trainer) error {
	if s.Monitor == "" {
		s.Monitor = MonitorValLoss
	}
	switch s.Monitor {
	case MonitorValLoss, MonitorLoss:
		s.maximize = false
	case MonitorValAccuracy, MonitorAccuracy:
		s.maximize = true
		if t.Loss != nil && !t.Loss.Classifies() {
			return fmt.Errorf("train: EarlyStopping monitors %s, but the loss %s does not classify", s.Monitor, t.Loss.Name())
		}
	default:
		return fmt.Errorf("train: EarlyStopping: unknown monitor %q (want val_loss, val_accuracy, loss or accuracy)", s.Monitor)
	}
	if !(s.MinDelta >= 0) {
		return fmt.Errorf("train: EarlyStopping: MinDelta must not be negative, got %v", s.MinDelta)
	}
	if s.Patience < 0 {
		return fmt.Errorf("train: EarlyStopping: Patience must not be negative, got %d", s.Patience)
	}
	s.t, s.wait, s.err = t, 0, nil
	s.BestEpoch, s.StoppedEpoch, s.Restored = 0, 0, false
	s.Best = math.Inf(1)
	if s.maximize {
		s.Best = math.Inf(-1)
	}
	s.freeSnaps()
	if s.RestoreBest {
		if t.Net() == nil {
			return fmt.Errorf("train: EarlyStopping: the model is not built")
		}
		for _, p := range t.Net().Params() {
			c, err := tensor.New(t.Dev, p.Value.DType(), p.Value.Shape()...)
			if err != nil {
				s.freeSnaps()
				return fmt.Errorf("train: EarlyStopping: snapshot of %s: %w", p.Name, err)
			}
			s.snaps = append(s.snaps, c)
		}
	}
	return nil
}

// OnEpochBegin implements Callback.
func (s *EarlyStopping) OnEpochBegin(int) error { return nil }

// OnBatchBegin implements Callback.
func (s *EarlyStopping) OnBatchBegin(BatchStats) error { return nil }

// OnBatchEnd implements Callback.
func (s *EarlyStopping) OnBatchEnd(BatchStats) error { return nil }

// OnEpochEnd implements Callback: it compares the epoch with the best, snapshots the
// weights of a new best and returns ErrStop once patience runs out (restoring the best
// weights first, with RestoreBest).
func (s *EarlyStopping) OnEpochEnd(e EpochStats) error {
	x, err := s.monitor(e)
	if err != nil {
		return err
	}
	better := x < s.Best-s.MinDelta
	if s.maximize {
		better = x > s.Best+s.MinDelta
	}
	if s.BestEpoch == 0 && !math.IsNaN(x) {
		better = true // the first epoch sets the reference, even within MinDelta of ±Inf
	}
	if better {
		s.Best, s.BestEpoch, s.wait = x, e.Epoch, 0
		if err := s.copyAll(true); err != nil {
			return fmt.Errorf("train: EarlyStopping: snapshot at epoch %d: %w", e.Epoch, err)
		}
		return nil
	}
	s.wait++
	if s.wait < max(s.Patience, 1) {
		return nil
	}
	s.StoppedEpoch = e.Epoch
	if err := s.restore(); err != nil {
		return err
	}
	return ErrStop
}

// OnTrainEnd implements Callback: after a Fit that ran all its epochs without error, it
// restores the best weights (with RestoreBest) if it has not already, and frees the
// snapshots; after an error it keeps them, for a checkpoint (SaveState).
func (s *EarlyStopping) OnTrainEnd(_ *History, err error) {
	if err != nil {
		return
	}
	if s.err == nil {
		s.err = s.restore()
	}
	s.freeSnaps()
}

// earlyStoppingState is EarlyStopping's state in a checkpoint.
type earlyStoppingState struct {
	BestEpoch    int      `json:"best_epoch"`
	Best         *float64 `json:"best,omitempty"` // nil before the first epoch (±Inf)
	Wait         int      `json:"wait"`
	StoppedEpoch int      `json:"stopped_epoch,omitempty"`
	Restored     bool     `json:"restored,omitempty"`
}

// StateKey implements Stateful.
func (s *EarlyStopping) StateKey() string { return "early_stopping" }

// SaveState implements Stateful: the counters and, once there is a best epoch whose
// weights are not yet restored, its snapshot of every model tensor, by parameter name.
func (s *EarlyStopping) SaveState() (CallbackState, error) {
	st := earlyStoppingState{BestEpoch: s.BestEpoch, Wait: s.wait, StoppedEpoch: s.StoppedEpoch, Restored: s.Restored}
	if s.BestEpoch > 0 {
		best := s.Best
		st.Best = &best
	}
	v, err := json.Marshal(st)
	if err != nil {
		return CallbackState{}, err
	}
	out := CallbackState{Value: v}
	if s.RestoreBest && s.BestEpoch > 0 && !s.Restored {
		if s.snaps == nil {
			return CallbackState{}, fmt.Errorf("the snapshot of epoch %d is gone (Fit ended)", s.BestEpoch)
		}
		params := s.t.Net().Params()
		for i, p := range params {
			data, err := s.snaps[i].Float32s()
			if err != nil {
				return CallbackState{}, fmt.Errorf("snapshot of %s: %w", p.Name, err)
			}
			out.Tensors = append(out.Tensors, StateTensor{Name: p.Name, Shape: slices.Clone([]int(p.Value.Shape())), Data: data})
		}
	}
	return out, nil
}

// LoadState implements Stateful: it puts back the counters and the best weights'
// snapshot (checked by name and shape), after OnTrainBegin. It returns ErrStop when
// the saved run had stopped.
func (s *EarlyStopping) LoadState(c CallbackState) error {
	var st earlyStoppingState
	if err := json.Unmarshal(c.Value, &st); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	if st.BestEpoch < 0 || st.Wait < 0 || st.StoppedEpoch < 0 || (st.BestEpoch > 0) != (st.Best != nil) {
		return fmt.Errorf("bad state %s", c.Value)
	}
	if s.RestoreBest && st.BestEpoch > 0 && !st.Restored {
		params := s.t.Net().Params()
		if len(c.Tensors) != len(params) || len(s.snaps) != len(params) {
			return fmt.Errorf("the snapshot has %d tensors, the model %d", len(c.Tensors), len(params))
		}
		for i, p := range params {
			x := c.Tensors[i]
			if x.Name != p.Name || !p.Value.Shape().Equal(x.Shape) {
				return fmt.Errorf("snapshot tensor %s %v does not fit the model's %s %v", x.Name, x.Shape, p.Name, p.Value.Shape())
			}
			if err := s.snaps[i].SetFloat32s(x.Data); err != nil {
				return fmt.Errorf("snapshot of %s: %w", p.Name, err)
			}
		}
	}
	s.BestEpoch, s.wait, s.StoppedEpoch, s.Restored = st.BestEpoch, st.Wait, st.StoppedEpoch, st.Restored
	if st.Best != nil {
		s.Best = *st.Best
	}
	if s.StoppedEpoch > 0 {
		return ErrStop
	}
	return nil
}

// Err is the error of a restore attempted in OnTrainEnd, if any.
func (s *EarlyStopping) Err() error { return s.err }

// restore copies the best snapshot back into the model, once.
func (s *EarlyStopping) restore() error {
	if !s.RestoreBest || s.Restored || s.BestEpoch == 0 || s.snaps == nil {
		return nil
	}
	if err := s.copyAll(false); err != nil {
		return fmt.Errorf("train: EarlyStopping: restoring the weights of epoch %d: %w", s.BestEpoch, err)
	}
	s.Restored = true
	return nil
}

// copyAll copies the model's tensors into the snapshots (save) or back.
func (s *EarlyStopping) copyAll(save bool) error {
	if s.snaps == nil {
		return nil
	}
	params := s.t.Net().Params()
	if len(params) != len(s.snaps) {
		return fmt.Errorf("the model has %d tensors, the snapshot %d", len(params), len(s.snaps))
	}
	for i, p := range params {
		dst, src := s.snaps[i], p.Value
		if !save {
			dst, src = src, dst
		}
		if err := s.t.Dev.Copy(dst.Buffer(), src.Buffer()); err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
	}
	return nil
}

func (s *EarlyStopping) freeSnaps() {
	for _, c := range s.snaps {
		c.Free()
	}
	s.snaps = nil
}
