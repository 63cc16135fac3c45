package train

import (
	"fmt"
	"math"

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
// weights are then those a checkpoint for resuming needs). The optimizer's state is not
// restored. A Fit resumed from a checkpoint starts the count afresh.
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
// restores the best weights (with RestoreBest) if it has not already.
func (s *EarlyStopping) OnTrainEnd(_ *History, err error) {
	if err == nil && s.err == nil {
		s.err = s.restore()
	}
	s.freeSnaps()
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
