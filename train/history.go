package train

import (
	"fmt"
	"strings"
)

// EpochStats are one epoch's figures.
type EpochStats struct {
	Epoch         int     `json:"epoch"`
	Loss          float64 `json:"loss"`
	Accuracy      float64 `json:"accuracy"`
	HasValidation bool    `json:"has_validation"`
	ValLoss       float64 `json:"val_loss"`
	ValAccuracy   float64 `json:"val_accuracy"`
	Examples      int     `json:"examples"`
	// Seconds is the whole epoch, validation included (as Keras reports it);
	// TrainSeconds the training steps alone.
	Seconds          float64 `json:"seconds"`
	TrainSeconds     float64 `json:"train_seconds"`
	SamplesPerSecond float64 `json:"samples_per_second"`
	// LearningRate is the rate of the epoch's last step (a schedule may change it
	// every step).
	LearningRate float64 `json:"learning_rate"`
	// Step is, in a step-based run (FitSteps), the optimizer steps taken by the end of
	// this evaluation interval; StepMS its median milliseconds per step (over the
	// stretches between reads of the running loss, so that a device that runs ahead
	// of the host is timed by what it finished).
	Step   int     `json:"step,omitempty"`
	StepMS float64 `json:"step_ms,omitempty"`
	// Metrics are further figures of the epoch by name, from Config.Metrics: a
	// recommender's validation RMSE, MAE, HitRate@10 and NDCG@10 ("val_rmse",
	// "val_hr@10"…). nil without Config.Metrics.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// History is the record of a Fit: one EpochStats per epoch.
type History struct {
	Loss       string       `json:"loss"`
	Classifies bool         `json:"classifies"`
	Epochs     []EpochStats `json:"epochs"`
	// ByStep marks the history of a step-based run (FitSteps): each EpochStats is an
	// evaluation interval, ending at its Step.
	ByStep bool `json:"by_step,omitempty"`
}

// Verdict is a judgement of a training run.
type Verdict int

// The verdicts.
const (
	Unknown Verdict = iota
	GoodFit
	Overfitting
	Underfitting
)

func (f Verdict) String() string {
	return [...]string{"unknown", "good fit", "over-fitting", "under-fitting"}[f]
}

// Diagnosis is a plain-words reading of a History, following the founding tutorial's FAQ:
// training good but validation worse is over-fitting; both poor is under-fitting.
type Diagnosis struct {
	Verdict  Verdict
	Reason   string
	Remedies []string
}

func (d Diagnosis) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", d.Verdict, d.Reason)
	for _, r := range d.Remedies {
		fmt.Fprintf(&b, "\n  - %s", r)
	}
	return b.String()
}

// The thresholds of Diagnose.
const (
	// PoorAccuracy: training accuracy below it is poor.
	PoorAccuracy = 0.90
	// GapAccuracy: validation accuracy this far below training accuracy is over-fitting.
	GapAccuracy = 0.03
	// GapLoss: validation loss this fraction above its best epoch (while the training
	// loss kept falling) is over-fitting.
	GapLoss = 0.10
)

var (
	overfitRemedies = []string{
		"get more training data, or make more of it with augmentation (shifts, crops, flips where they make sense)",
		"add regularization (L2 weight decay)",
		"add dropout between layers",
		"use a smaller model (fewer or narrower layers)",
		"stop earlier: use the epoch with the best validation loss (early stopping)",
	}
	underfitRemedies = []string{
		"train longer (more epochs)",
		"use a larger model (more or wider layers), or one suited to the data (a CNN for images)",
		"reduce regularization and dropout",
		"tune the learning rate",
	}
)

// Diagnose reads the history as the tutorial's FAQ does. For classification it compares
// the last epoch's training and validation accuracy (PoorAccuracy, GapAccuracy); for any
// loss it checks whether the validation loss has risen by GapLoss above its best while the
// training loss kept falling. Without validation data it can only judge under-fitting.
func (h *History) Diagnose() Diagnosis {
	if h == nil || len(h.Epochs) == 0 {
		return Diagnosis{Verdict: Unknown, Reason: "no epochs were trained"}
	}
	last := h.Epochs[len(h.Epochs)-1]
	if h.Classifies && last.Accuracy < PoorAccuracy {
		reason := fmt.Sprintf("training accuracy is only %.1f%%", 100*last.Accuracy)
		if last.HasValidation {
			reason += fmt.Sprintf(" and validation accuracy %.1f%%: the model has not learned the training data", 100*last.ValAccuracy)
		}
		return Diagnosis{Verdict: Underfitting, Reason: reason, Remedies: underfitRemedies}
	}
	if !last.HasValidation {
		return Diagnosis{Verdict: Unknown, Reason: "no validation data: over-fitting cannot be judged (use a validation split)"}
	}
	if h.Classifies && last.Accuracy-last.ValAccuracy > GapAccuracy {
		return Diagnosis{Verdict: Overfitting, Remedies: overfitRemedies, Reason: fmt.Sprintf(
			"training accuracy %.2f%% but validation accuracy %.2f%%: the model fits the training data better than it generalizes",
			100*last.Accuracy, 100*last.ValAccuracy)}
	}
	best := 0
	for i, e := range h.Epochs {
		if e.ValLoss < h.Epochs[best].ValLoss {
			best = i
		}
	}
	if best < len(h.Epochs)-1 && last.ValLoss > h.Epochs[best].ValLoss*(1+GapLoss) && last.Loss < h.Epochs[best].Loss {
		return Diagnosis{Verdict: Overfitting, Remedies: overfitRemedies, Reason: fmt.Sprintf(
			"validation loss was lowest at epoch %d (%.4f) and has risen to %.4f while the training loss kept falling",
			h.Epochs[best].Epoch, h.Epochs[best].ValLoss, last.ValLoss)}
	}
	if h.Classifies {
		return Diagnosis{Verdict: GoodFit, Reason: fmt.Sprintf("training accuracy %.2f%% and validation accuracy %.2f%% are both high and close",
			100*last.Accuracy, 100*last.ValAccuracy)}
	}
	return Diagnosis{Verdict: GoodFit, Reason: fmt.Sprintf("validation loss %.4f is near its best and tracks the training loss %.4f", last.ValLoss, last.Loss)}
}
