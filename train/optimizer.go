package train

import (
	"fmt"
	"strings"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
)

// Optimizer updates a model's trainable parameters from their gradients.
type Optimizer interface {
	// Name is "sgd", "momentum", "adam" or "adamw".
	Name() string
	// Step applies one update to every trainable parameter of params (those with a Grad).
	// The list must be the same, in the same order, at every step.
	Step(dev device.Backend, params []*nn.Param) error
	// LearningRate is the current learning rate.
	LearningRate() float32
	// SetLearningRate changes the learning rate from the next Step on (schedules use it).
	SetLearningRate(lr float32)
	// Iterations is the number of steps taken.
	Iterations() int
	// SetIterations sets the step count (when resuming from a checkpoint).
	SetIterations(n int)
	// State lists the optimizer's per-parameter tensors by name ("0.weight.m"), for
	// checkpoints. Allocate builds them before the first Step, so that a checkpoint can
	// be loaded into them.
	State() []*nn.Param
	// Allocate creates the state for params (Step does on its first call).
	Allocate(dev device.Backend, params []*nn.Param) error
}

// Optim is the engine's optimizer: one device.OptOp with its hyper-parameters and the
// per-parameter state (momentum m, second moment v) it keeps on the device.
//
// Sparse parameters (nn.Param.Rows: embedding tables built with Sparse) take a lazy
// step (device.Backend.UpdateRows): only the rows the batches since the last step used
// move, and only their moments advance, with the bias correction of the optimizer's own
// step count — PyTorch's SparseAdam and TensorFlow Addons' LazyAdam for Adam, the same
// restriction for the other ops. Its cost follows the rows used, not the table's size.
// L2 cannot apply to a sparse table (it would touch every row); AdamW's decay, where
// Decay selects a sparse table, shrinks the rows being stepped only.
type Optim struct {
	Op    device.OptOp
	Hyper device.Hyper
	// L2 adds L2*w to the gradient of every parameter Decay selects, before the update
	// (classic L2 weight decay, as PyTorch's weight_decay; the same as adding
	// L2/2·‖w‖² to the loss).
	L2 float32
	// Decay selects the parameters that L2 and AdamW's Hyper.WeightDecay apply to; nil
	// means DecayMatrices (PyTorch practice: weights of 2 or more dimensions decay,
	// biases and normalization scales do not).
	Decay func(*nn.Param) bool

	slots []slot
	steps int
}

type slot struct {
	param *nn.Param
	m, v  *tensor.Tensor
}

// DecayMatrices selects the parameters of 2 or more dimensions (the weights of dense
// and convolution layers, dense embedding tables), not biases, normalization scales or
// sparse embedding tables (a recommender regularises those in its loss, as nn.MF does;
// PyTorch's SparseAdam has no weight decay).
func DecayMatrices(p *nn.Param) bool { return len(p.Value.Shape()) >= 2 && !p.Sparse() }

// DecayAll selects every parameter.
func DecayAll(*nn.Param) bool { return true }

// DecayNone selects no parameter.
func DecayNone(*nn.Param) bool { return false }

// NewSGD is plain gradient descent with Keras' default learning rate 0.01.
func NewSGD() *Optim { return &Optim{Op: device.SGD, Hyper: device.Hyper{LR: 0.01}} }

// NewMomentum is SGD with momentum 0.9 (Keras' SGD with momentum=0.9; learning rate 0.01).
func NewMomentum() *Optim {
	return &Optim{Op: device.Momentum, Hyper: device.Hyper{LR: 0.01, Momentum: 0.9}}
}

// NewAdam is Adam with Keras' defaults: lr 1e-3, β1 0.9, β2 0.999, ε 1e-7.
func NewAdam() *Optim {
	return &Optim{Op: device.Adam, Hyper: device.Hyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7}}
}

// NewAdamW is AdamW with Keras' defaults: lr 1e-3, β1 0.9, β2 0.999, ε 1e-7, weight decay 0.004.
func NewAdamW() *Optim {
	return &Optim{Op: device.AdamW, Hyper: device.Hyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7, WeightDecay: 0.004}}
}

// NewOptimizer returns the named optimizer ("sgd", "momentum", "adam", "adamw") with Keras'
// defaults, and the learning rate lr when lr > 0.
func NewOptimizer(name string, lr float32) (*Optim, error) {
	var o *Optim
	switch strings.ToLower(name) {
	case "sgd":
		o = NewSGD()
	case "momentum":
		o = NewMomentum()
	case "adam":
		o = NewAdam()
	case "adamw":
		o = NewAdamW()
	default:
		return nil, fmt.Errorf("train: unknown optimizer %q (want sgd, momentum, adam or adamw)", name)
	}
	if lr < 0 {
		return nil, fmt.Errorf("train: learning rate must be positive, got %v", lr)
	}
	if lr > 0 {
		o.Hyper.LR = lr
	}
	return o, nil
}

// Name implements Optimizer.
func (o *Optim) Name() string { return o.Op.String() }

// LearningRate implements Optimizer.
func (o *Optim) LearningRate() float32 { return o.Hyper.LR }

// SetLearningRate implements Optimizer.
func (o *Optim) SetLearningRate(lr float32) { o.Hyper.LR = lr }

// Iterations implements Optimizer.
func (o *Optim) Iterations() int { return o.steps }

// SetIterations implements Optimizer.
func (o *Optim) SetIterations(n int) { o.steps = n }

// Step implements Optimizer.
func (o *Optim) Step(dev device.Backend, params []*nn.Param) error {
	if o.slots == nil {
		if err := o.Allocate(dev, params); err != nil {
			return err
		}
	}
	h := o.Hyper
	h.Step = o.steps + 1
	decay := o.Decay
	if decay == nil {
		decay = DecayMatrices
	}
	i := 0
	for _, p := range params {
		if !p.Trainable() {
			continue
		}
		if i >= len(o.slots) || o.slots[i].param != p {
			return fmt.Errorf("train: %s: parameter list changed since the first step (at %s; freeze parameters before the first step)", o.Name(), p.Name)
		}
		s := &o.slots[i]
		i++
		hp := h
		if !decay(p) {
			hp.WeightDecay = 0
		} else if o.L2 != 0 && p.Sparse() {
			return fmt.Errorf("train: %s: L2 on %s, a sparse embedding table, would touch every row of it each step: leave it out of the decay rule (DecayMatrices does), or regularise it in the model", o.Name(), p.Name)
		} else if o.L2 != 0 {
			// grad += L2 * w
			if err := dev.Axpby(o.L2, p.Value.Buffer(), 1, p.Grad.Buffer()); err != nil {
				return fmt.Errorf("train: %s: L2 on %s: %w", o.Name(), p.Name, err)
			}
		}
		if p.Sparse() {
			// the rows the batches used, lazily; their gradient rows are zeroed and the
			// row set emptied
			if err := dev.UpdateRows(o.Op, hp, p.Value.Buffer(), p.Grad.Buffer(), bufOf(s.m), bufOf(s.v), p.Rows.Buffer(), p.RowLen()); err != nil {
				return fmt.Errorf("train: %s update of the rows of %s: %w", o.Name(), p.Name, err)
			}
			continue
		}
		if err := dev.Update(o.Op, hp, p.Value.Buffer(), p.Grad.Buffer(), bufOf(s.m), bufOf(s.v)); err != nil {
			return fmt.Errorf("train: %s update of %s: %w", o.Name(), p.Name, err)
		}
	}
	if i != len(o.slots) {
		return fmt.Errorf("train: %s: parameter list changed since the first step (%d trainable parameters, %d before)", o.Name(), i, len(o.slots))
	}
	o.steps++
	return nil
}

func bufOf(t *tensor.Tensor) device.Buffer {
	if t == nil {
		return nil
	}
	return t.Buffer()
}

// Allocate implements Optimizer: it creates the zeroed state of every trainable parameter.
func (o *Optim) Allocate(dev device.Backend, params []*nn.Param) error {
	if o.slots != nil {
		return nil
	}
	for _, p := range params {
		if !p.Trainable() {
			continue
		}
		s := slot{param: p}
		var err error
		if o.Op != device.SGD {
			if s.m, err = tensor.Zeros(dev, p.Value.Shape()...); err != nil {
				return err
			}
		}
		if o.Op == device.Adam || o.Op == device.AdamW {
			if s.v, err = tensor.Zeros(dev, p.Value.Shape()...); err != nil {
				return err
			}
		}
		o.slots = append(o.slots, s)
	}
	return nil
}

// State implements Optimizer.
func (o *Optim) State() []*nn.Param {
	var out []*nn.Param
	for _, s := range o.slots {
		if s.m != nil {
			out = append(out, &nn.Param{Name: s.param.Name + ".m", Value: s.m})
		}
		if s.v != nil {
			out = append(out, &nn.Param{Name: s.param.Name + ".v", Value: s.v})
		}
	}
	return out
}
