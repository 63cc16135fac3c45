package train

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
)

// MemoryPlan is the device memory a Fit needs, counted before any of it is allocated
// (Trainer.PlanMemory). Sizes are in bytes.
type MemoryPlan struct {
	// Device is the name of the device planned for.
	Device string
	// Parameters are the model's values and state (running statistics), Gradients the
	// flat gradient buffer, Optimizer the optimizer's per-parameter state (Adam's m and
	// v).
	Parameters, Gradients, Optimizer int64
	// Data is the training and validation data on the device, with the index buffers
	// its batches are gathered through.
	Data int64
	// Workspaces are every other buffer: the activations and their gradients at the
	// largest batch, the loss's, the batch being gathered.
	Workspaces int64
	// Peak is the most held at once while the model is built and the first step runs:
	// what must fit. It can exceed the sum of the parts, which count what is held after
	// the first step: the gradients, for one, are made per parameter, then moved into
	// the flat buffer, both held for a moment.
	Peak int64
}

// Total is the sum of the parts.
func (p *MemoryPlan) Total() int64 {
	return p.Parameters + p.Gradients + p.Optimizer + p.Data + p.Workspaces
}

// String is the plan in one line: "38.1 GB on cpu: parameters 1.2 GB, gradients …".
func (p *MemoryPlan) String() string {
	return fmt.Sprintf("%s on %s at the peak: parameters %s, gradients %s, optimizer state %s, data %s, workspaces %s",
		device.FormatBytes(p.Peak), p.Device, device.FormatBytes(p.Parameters), device.FormatBytes(p.Gradients),
		device.FormatBytes(p.Optimizer), device.FormatBytes(p.Data), device.FormatBytes(p.Workspaces))
}

// PlanMemory counts the device memory that Fit(d, cfg) would need, allocating none of
// it: it builds a copy of the model, the loss, the optimizer's state and the batch
// workspaces on a device.Planner standing for t.Dev, uploads d there (which copies
// nothing) and runs one training step at the largest batch, so that the buffers made
// on first use are counted too. The Trainer itself is not changed; its Model must be
// a registered module (nn.CloneModule copies it) and its Loss a pointer to a struct
// (copied field by field before the copy is built). Call it before Build, and compare
// the plan's Peak with what the device has free (device.MemoryInfo).
//
// The optimizer's state is counted for *Optim; for another Optimizer, as two values
// per trainable parameter (Adam's m and v, the most Optim keeps). cfg's callbacks are
// not run (their own buffers, such as EarlyStopping's snapshots of every parameter,
// are not counted).
func (t *Trainer) PlanMemory(d Dataset, cfg Config) (*MemoryPlan, error) {
	if t.Model == nil || t.Loss == nil || t.Dev == nil {
		return nil, fmt.Errorf("train: PlanMemory needs a Model, a Loss and a Dev")
	}
	if d.X == nil || len(d.X.Shape()) < 2 {
		return nil, fmt.Errorf("train: training data X must have shape (examples, features…)")
	}
	root, err := nn.CloneModule(t.Model)
	if err != nil {
		return nil, fmt.Errorf("train: PlanMemory: copying the model: %w", err)
	}
	loss, err := freshLoss(t.Loss)
	if err != nil {
		return nil, err
	}
	pl := device.NewPlanner(t.Dev)
	plan := &MemoryPlan{Device: pl.Name()}
	c := &Trainer{Model: root, Loss: loss, Dev: pl, BatchSize: t.BatchSize, AccumSteps: t.AccumSteps,
		Seed: t.Seed, ClipNorm: t.ClipNorm}
	guessOptimizer := false
	switch o := t.Optimizer.(type) {
	case *Optim:
		c.Optimizer = &Optim{Op: o.Op, Hyper: o.Hyper, L2: o.L2, Decay: o.Decay}
	case nil:
	default:
		c.Optimizer = NewSGD() // steps like the real one; its state is estimated below
		guessOptimizer = true
	}
	in := tensor.Shape(d.X.Shape()[1:])
	if err := c.BuildModel(in); err != nil {
		return nil, err
	}
	net := c.Net()
	for _, p := range net.Params() {
		plan.Parameters += int64(p.Value.Len()) * int64(p.Value.DType().Size())
	}
	if g := net.Grads(); g != nil {
		plan.Gradients = int64(g.Len()) * 4
	}
	if c.Optimizer != nil {
		before := pl.Live()
		if err := c.Optimizer.Allocate(pl, net.Params()); err != nil {
			return nil, err
		}
		plan.Optimizer = pl.Live() - before
		if guessOptimizer {
			plan.Optimizer = 2 * plan.Gradients
		}
	}
	plan.Data = dataBytes(d)
	if cfg.Validation != nil {
		plan.Data += dataBytes(*cfg.Validation)
	}
	if c.Optimizer == nil {
		// Build the rest without training: the loss and the batch workspaces.
		if err := c.Build(in); err != nil {
			return nil, err
		}
	} else {
		run := Config{Epochs: 1, ValidationSplit: cfg.ValidationSplit, Validation: cfg.Validation, NoShuffle: true,
			Callbacks: []Callback{stopAfterFirstStep{accum: c.accumSteps()}}}
		if _, err := c.Fit(d, run); err != nil {
			return nil, err
		}
		// Fit freed the data it uploaded: it is counted in Data.
	}
	plan.Workspaces = max(pl.Live()-plan.Parameters-plan.Gradients-plan.Optimizer, 0)
	plan.Peak = pl.Peak()
	if guessOptimizer {
		plan.Peak += plan.Optimizer
	}
	return plan, nil
}

// dataBytes is what upload puts on the device for d: X (uint8 stays bytes, the rest
// becomes 4-byte values), Y as 4-byte values, and the int32 index buffer of its
// batches.
func dataBytes(d Dataset) int64 {
	if d.X == nil || d.Y == nil {
		return 0
	}
	n := int64(d.Len())
	x := int64(d.X.Shape().TotalSize()) * 4
	if d.X.Dtype().Size() == 1 {
		x /= 4
	}
	return x + int64(d.Y.Shape().TotalSize())*4 + n*4
}

// stopAfterFirstStep ends a planning Fit after its first optimizer step (the last batch
// of the first accumulation group), when clipping and the optimizer have made their
// buffers.
type stopAfterFirstStep struct {
	NopCallback
	accum int
}

func (s stopAfterFirstStep) OnBatchEnd(b BatchStats) error {
	if b.Batch%s.accum == 0 || b.Batch == b.Batches {
		return ErrStop
	}
	return nil
}

// freshLoss returns a copy of l, unbuilt as far as Build is concerned (Build sets the
// fields it uses).
func freshLoss(l nn.Loss) (nn.Loss, error) {
	v := reflect.ValueOf(l)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, errors.New("train: PlanMemory: the Loss must be a pointer to a struct")
	}
	c := reflect.New(v.Elem().Type())
	c.Elem().Set(v.Elem())
	return c.Interface().(nn.Loss), nil
}
