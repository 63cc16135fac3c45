package train

import (
	"fmt"
	"math"
)

// GradScaler is dynamic loss scaling with the semantics of PyTorch's
// torch.amp.GradScaler, which FP16 training needs (binary16 gradients underflow to zero
// below 2^-24 and overflow to Inf above 65504; bfloat16 has float32's range and needs
// none). A Trainer in the FP16 precision makes one with NewGradScaler's defaults unless
// Trainer.Scaler is set; one set in another precision is used too.
//
//   - The loss's gradient is multiplied by Scale before the backward pass, so the
//     gradients are Scale times too large.
//   - Before the optimizer step, Backend.Unscale multiplies every parameter gradient by
//     1/Scale and reports whether any was Inf or NaN. If one was, the step is skipped:
//     no update, and the optimizer's step count (Adam's bias correction, schedules)
//     does not advance; Scale is multiplied by Backoff and the growth count restarts.
//   - After GrowthInterval finite steps in a row, Scale is multiplied by Growth (unless
//     that overflows float32, as PyTorch keeps it).
//
// The Trainer updates it in place; the History records its Scale at the end of each
// epoch and the steps skipped in it, and checkpoints save it (Progress.Scaler), so that
// a resumed run goes on bit for bit.
type GradScaler struct {
	Scale          float64 `json:"scale"`
	Growth         float64 `json:"growth_factor"`
	Backoff        float64 `json:"backoff_factor"`
	GrowthInterval int     `json:"growth_interval"`
	// GrowthTracker counts the finite steps since Scale last changed.
	GrowthTracker int `json:"growth_tracker"`
	// Skipped counts the steps skipped for non-finite gradients since the scaler was made.
	Skipped int `json:"skipped"`
}

// NewGradScaler returns PyTorch's default scaler: Scale 2^16, Growth 2, Backoff 0.5,
// GrowthInterval 2000.
func NewGradScaler() GradScaler {
	return GradScaler{Scale: 1 << 16, Growth: 2, Backoff: 0.5, GrowthInterval: 2000}
}

// Update records one step's outcome (found: its gradients held an Inf or NaN) and
// adjusts Scale as GradScaler.update does in PyTorch (torch._amp_update_scale_). It
// reports whether the step's update is to be applied.
func (s *GradScaler) Update(found bool) (apply bool) {
	if found {
		s.Scale *= s.Backoff
		s.GrowthTracker = 0
		s.Skipped++
		return false
	}
	s.GrowthTracker++
	if s.GrowthTracker == s.GrowthInterval {
		if g := s.Scale * s.Growth; !math.IsInf(float64(float32(g)), 0) {
			s.Scale = g
		}
		s.GrowthTracker = 0
	}
	return true
}

// Check validates the scaler's settings and state.
func (s *GradScaler) Check() error {
	switch {
	case s == nil:
		return nil
	case !(s.Scale > 0) || math.IsInf(float64(float32(s.Scale)), 0):
		return fmt.Errorf("train: grad scaler: scale %v must be positive and finite in float32", s.Scale)
	case !(s.Growth >= 1) || math.IsInf(s.Growth, 0):
		return fmt.Errorf("train: grad scaler: growth factor %v must be at least 1", s.Growth)
	case !(s.Backoff > 0 && s.Backoff < 1):
		return fmt.Errorf("train: grad scaler: backoff factor %v must be in (0, 1)", s.Backoff)
	case s.GrowthInterval <= 0:
		return fmt.Errorf("train: grad scaler: growth interval %d must be positive", s.GrowthInterval)
	case s.GrowthTracker < 0 || s.Skipped < 0:
		return fmt.Errorf("train: grad scaler: negative counters (growth tracker %d, skipped %d)", s.GrowthTracker, s.Skipped)
	}
	return nil
}
