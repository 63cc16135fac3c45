// Package train fits nn models: optimizers (SGD, momentum, Adam, AdamW with Keras'
// defaults), Fit / Evaluate / Predict in the manner of Keras, the per-epoch History and
// its over- or under-fitting diagnosis.
//
// Data reaches the device once per Fit (the training set, as uint8 images where it came
// as bytes); each step gathers its batch on the device through a shuffled index buffer
// and reads nothing back: loss and accuracy accumulate on the device and are read once
// per epoch.
package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
)

// Trainer binds a model to a loss, an optimizer and a device.
type Trainer struct {
	Model     *nn.Sequential
	Loss      nn.Loss
	Optimizer Optimizer
	Dev       device.Backend
	// BatchSize is the number of examples per step (32 when 0).
	BatchSize int
	// Seed draws the initial weights, the shuffles and the dropout masks.
	Seed uint64

	built   bool
	xb, yb  *rowsBuf // the batch gathered from the data set
	idx     *rowsBuf // the batch's example indices
	fitM    *metrics // training sums
	evalM   *metrics // evaluation sums
	stepFns map[int]func() error
	cur     step
}

// step is what the recorded step function reads: the batch size and data set of the
// step being run.
type step struct {
	rows int
	set  *deviceSet
}

// Config configures Fit.
type Config struct {
	Epochs int
	// ValidationSplit holds out the last fraction of the examples (before shuffling, as
	// Keras does) for validation. Ignored when Validation is given.
	ValidationSplit float64
	// Validation is an explicit validation set.
	Validation *Dataset
	// NoShuffle keeps the examples in order; by default each epoch draws a new order
	// from the Trainer's seed and the epoch number.
	NoShuffle bool
	// OnEpoch, when set, is called after each epoch with its statistics.
	OnEpoch func(EpochStats)
}

// ErrNotFinite is wrapped by Fit's error when the training loss becomes NaN or infinite.
var ErrNotFinite = errors.New("loss is not finite")

func (t *Trainer) batchSize() int {
	if t.BatchSize == 0 {
		return 32
	}
	return t.BatchSize
}

// Build builds the model (if it is not built yet) for examples of shape in, the loss
// and the batch workspaces. Fit calls it with the data's shape.
func (t *Trainer) Build(in tensor.Shape) error {
	if t.Model == nil || t.Loss == nil || t.Optimizer == nil || t.Dev == nil {
		return fmt.Errorf("train: Trainer needs a Model, a Loss, an Optimizer and a Dev")
	}
	bs := t.batchSize()
	if bs <= 0 {
		return fmt.Errorf("train: batch size must be positive, got %d", bs)
	}
	if t.built {
		if !t.Model.InputShape().Equal(in) {
			return fmt.Errorf("train: the model takes examples of shape %v, the data has %v", t.Model.InputShape(), in)
		}
		return nil
	}
	if !t.Model.Built() {
		if err := t.Model.Build(t.Dev, in, bs, t.Seed); err != nil {
			return err
		}
	} else if t.Model.Device() != t.Dev || t.Model.MaxBatch() < bs || !t.Model.InputShape().Equal(in) {
		return fmt.Errorf("train: the model was built for another device, a smaller batch or another input shape")
	}
	if err := t.Loss.Build(t.Dev, bs, t.Model.OutputShape()); err != nil {
		return err
	}
	var err error
	if t.xb, err = newRowsBuf(t.Dev, device.Float32, bs, in.Len()); err != nil {
		return err
	}
	ydt, ylen := device.Float32, t.Model.OutputShape().Len()
	if t.Loss.Classifies() {
		ydt, ylen = device.Int32, 1
	}
	if t.yb, err = newRowsBuf(t.Dev, ydt, bs, ylen); err != nil {
		return err
	}
	if t.idx, err = newRowsBuf(t.Dev, device.Int32, bs, 1); err != nil {
		return err
	}
	if t.fitM, err = newMetrics(t.Dev); err != nil {
		return err
	}
	if t.evalM, err = newMetrics(t.Dev); err != nil {
		return err
	}
	t.stepFns = map[int]func() error{}
	t.built = true
	return nil
}

func (t *Trainer) classes() int {
	if t.Loss.Classifies() {
		return t.Model.OutputShape().Len()
	}
	return 0
}

// Fit trains the model on d for cfg.Epochs epochs and returns the per-epoch history.
// It stops with an error wrapping ErrNotFinite if the training loss becomes NaN or
// infinite; the history up to the last finite epoch is returned with it.
func (t *Trainer) Fit(d Dataset, cfg Config) (*History, error) {
	if cfg.Epochs <= 0 {
		return nil, fmt.Errorf("train: epochs must be positive, got %d", cfg.Epochs)
	}
	if !(cfg.ValidationSplit >= 0 && cfg.ValidationSplit < 1) {
		return nil, fmt.Errorf("train: validation split must be in [0, 1), got %v", cfg.ValidationSplit)
	}
	if d.X == nil || len(d.X.Shape()) < 2 {
		return nil, fmt.Errorf("train: training data X must have shape (examples, features…)")
	}
	if err := t.Build(tensor.Shape(d.X.Shape()[1:])); err != nil {
		return nil, err
	}
	set, err := upload(t.Dev, "training", d, t.Model.InputShape(), t.Model.OutputShape(), t.classes())
	if err != nil {
		return nil, err
	}
	defer set.free()
	nTrain := set.n
	val, valLo := set, set.n
	if cfg.Validation != nil {
		if val, err = upload(t.Dev, "validation", *cfg.Validation, t.Model.InputShape(), t.Model.OutputShape(), t.classes()); err != nil {
			return nil, err
		}
		defer val.free()
		valLo = 0
	} else if cfg.ValidationSplit > 0 {
		// Keras: split_at = int(N * (1 - validation_split))
		nTrain = int(float64(set.n) * (1 - cfg.ValidationSplit))
		valLo = nTrain
		if nTrain == 0 || nTrain == set.n {
			return nil, fmt.Errorf("train: validation split %v of %d examples leaves an empty training or validation set", cfg.ValidationSplit, set.n)
		}
	}
	if nTrain == 0 {
		return nil, fmt.Errorf("train: no training examples")
	}
	bs := t.batchSize()
	if err := set.batches(t.Dev, 0, nTrain, bs); err != nil {
		return nil, err
	}
	var valSet *deviceSet
	if valLo < val.n {
		// The validation batches run over their own index buffer; when the validation
		// examples are the tail of the training upload, share its memory.
		valSet = &deviceSet{n: val.n, rowLen: val.rowLen, x: val.x, y: val.y, yLen: val.yLen, scale: val.scale}
		if err := valSet.batches(t.Dev, valLo, val.n, bs); err != nil {
			return nil, err
		}
		defer valSet.order.Free()
	}

	hist := &History{Loss: t.Loss.Name(), Classifies: t.Loss.Classifies()}
	ids := make([]int32, nTrain)
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		start := time.Now()
		if !cfg.NoShuffle {
			rng := rand.New(rand.NewPCG(t.Seed, uint64(epoch)))
			for i := range ids {
				ids[i] = int32(i)
			}
			rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			if err := t.Dev.WriteInt32(set.order.Buffer(), ids); err != nil {
				return hist, err
			}
		}
		if err := t.fitM.reset(t.Dev); err != nil {
			return hist, err
		}
		for _, order := range set.orderV {
			if err := t.trainBatch(set, order); err != nil {
				return hist, fmt.Errorf("train: epoch %d: %w", epoch, err)
			}
		}
		lossSum, correct, err := t.fitM.read(t.Dev)
		if err != nil {
			return hist, fmt.Errorf("train: epoch %d: %w", epoch, err)
		}
		trainSeconds := time.Since(start).Seconds()
		es := EpochStats{Epoch: epoch, Loss: lossSum / float64(nTrain), Accuracy: correct / float64(nTrain),
			Examples: nTrain, LearningRate: float64(t.Optimizer.LearningRate())}
		if math.IsNaN(es.Loss) || math.IsInf(es.Loss, 0) {
			return hist, fmt.Errorf("train: epoch %d (steps %d to %d): %w (%v)", epoch,
				t.Optimizer.Iterations()-len(set.orderV)+1, t.Optimizer.Iterations(), ErrNotFinite, es.Loss)
		}
		if valSet != nil {
			r, err := t.evaluate(valSet)
			if err != nil {
				return hist, fmt.Errorf("train: epoch %d validation: %w", epoch, err)
			}
			es.ValLoss, es.ValAccuracy, es.HasValidation = r.Loss, r.Accuracy, true
		}
		es.Seconds = time.Since(start).Seconds()
		es.TrainSeconds = trainSeconds
		es.SamplesPerSecond = float64(nTrain) / es.Seconds
		hist.Epochs = append(hist.Epochs, es)
		if cfg.OnEpoch != nil {
			cfg.OnEpoch(es)
		}
	}
	return hist, nil
}

// trainBatch runs one training step on the examples whose indices order holds.
func (t *Trainer) trainBatch(set *deviceSet, order *tensor.Tensor) error {
	rows := order.Len()
	idx, err := t.idx.rows(rows)
	if err != nil {
		return err
	}
	// The step reads only fixed buffers (see device.Backend.Step); the batch's indices
	// are copied into the fixed index buffer first.
	if err := t.Dev.Copy(idx.Buffer(), order.Buffer()); err != nil {
		return err
	}
	t.cur = step{rows: rows, set: set}
	fn, ok := t.stepFns[rows]
	if !ok {
		fn = func() error { return t.runStep(t.cur.set, t.cur.rows) }
		t.stepFns[rows] = fn
	}
	key := "train"
	if rows != t.batchSize() {
		key = fmt.Sprintf("train-%d", rows)
	}
	return t.Dev.Step(key, fn)
}

// runStep queues one training step: gather, forward, loss, metrics, backward, update.
func (t *Trainer) runStep(set *deviceSet, rows int) error {
	x, y, err := t.gather(set, rows)
	if err != nil {
		return err
	}
	out, err := t.Model.Forward(x, true)
	if err != nil {
		return err
	}
	res, err := t.Loss.Forward(out, t.Model.Logits(), y)
	if err != nil {
		return err
	}
	if err := t.accumulate(res, t.fitM); err != nil {
		return err
	}
	grad, fromLogits, err := t.Loss.Backward()
	if err != nil {
		return err
	}
	if err := t.Model.Backward(grad, fromLogits); err != nil {
		return err
	}
	return t.Optimizer.Step(t.Dev, t.Model.Params())
}

// gather copies the examples named by the index buffer's first rows entries into the
// batch workspaces.
func (t *Trainer) gather(set *deviceSet, rows int) (x, y *tensor.Tensor, err error) {
	idx, _ := t.idx.rows(rows)
	if x, err = t.xb.rows(rows); err != nil {
		return nil, nil, err
	}
	y, _ = t.yb.rows(rows)
	if err := t.Dev.Gather(x.Buffer(), set.x.Buffer(), idx.Buffer(), set.rowLen, set.scale); err != nil {
		return nil, nil, err
	}
	if err := t.Dev.Gather(y.Buffer(), set.y.Buffer(), idx.Buffer(), set.yLen, 1); err != nil {
		return nil, nil, err
	}
	xs, err := t.xb.shaped(rows, t.Model.InputShape())
	if err != nil {
		return nil, nil, err
	}
	if !t.Loss.Classifies() {
		if y, err = t.yb.shaped(rows, t.Model.OutputShape()); err != nil {
			return nil, nil, err
		}
	}
	return xs, y, nil
}

// accumulate adds the batch's loss and correct-count sums to the running sums on the device.
func (t *Trainer) accumulate(res nn.Result, m *metrics) error {
	dev := t.Dev
	n := res.Loss.Len()
	if err := dev.Reduce(device.Sum, res.Loss.Buffer(), m.batchLoss.Buffer(), device.Shape3{Outer: 1, Mid: n, Inner: 1}); err != nil {
		return err
	}
	if res.Correct != nil {
		if err := dev.Reduce(device.Sum, res.Correct.Buffer(), m.batchCorrect.Buffer(), device.Shape3{Outer: 1, Mid: n, Inner: 1}); err != nil {
			return err
		}
	}
	// sums += batch sums
	return dev.Axpby(1, m.batch.Buffer(), 1, m.sums.Buffer())
}

// metrics are running sums on the device: [loss, correct] and one batch's [loss, correct].
type metrics struct {
	all                     *tensor.Tensor
	sums, batch             *tensor.Tensor
	batchLoss, batchCorrect *tensor.Tensor
}

func newMetrics(dev device.Backend) (*metrics, error) {
	all, err := tensor.Zeros(dev, 4)
	if err != nil {
		return nil, err
	}
	m := &metrics{all: all}
	for _, v := range []struct {
		t      **tensor.Tensor
		off, n int
	}{{&m.sums, 0, 2}, {&m.batch, 2, 2}, {&m.batchLoss, 2, 1}, {&m.batchCorrect, 3, 1}} {
		if *v.t, err = all.View(v.off, v.n); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// reset zeroes the sums.
func (m *metrics) reset(dev device.Backend) error { return dev.Fill(m.all.Buffer(), 0) }

// read returns the loss and correct sums (one read, which waits for the device).
func (m *metrics) read(dev device.Backend) (loss, correct float64, err error) {
	v := make([]float32, 4)
	if err := dev.ReadFloat32(v, m.all.Buffer()); err != nil {
		return 0, 0, err
	}
	return float64(v[0]), float64(v[1]), nil
}
