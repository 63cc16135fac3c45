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
	"context"
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
	// ClipNorm, when positive, rescales the gradients before each update so that their
	// global L2 norm (over every trainable parameter) is at most ClipNorm. It reads one
	// value per parameter back from the device each step.
	ClipNorm float32

	built   bool
	xb, yb  *rowsBuf // the batch gathered from the data set
	idx     *rowsBuf // the batch's example indices
	fitM    *metrics // training sums
	evalM   *metrics // evaluation sums
	stepFns map[int]func() error
	cur     step

	progress  Progress       // where the next Fit starts (Resume)
	pos       Progress       // where the running Fit is
	hist      *History       // the running Fit's history
	normBuf   *tensor.Tensor // ClipNorm's per-parameter squared norms
	normViews []*tensor.Tensor
	norms     []float32
}

// step is what the recorded step function reads: the batch size and data set of the
// step being run.
type step struct {
	rows int
	set  *deviceSet
}

// Config configures Fit.
type Config struct {
	// Epochs is the epoch Fit ends after (counting epochs trained before a Resume).
	Epochs int
	// ValidationSplit holds out the last fraction of the examples (before shuffling, as
	// Keras does) for validation. Ignored when Validation is given.
	ValidationSplit float64
	// Validation is an explicit validation set.
	Validation *Dataset
	// NoShuffle keeps the examples in order; by default each epoch draws a new order
	// from the Trainer's seed and the epoch number.
	NoShuffle bool
	// Callbacks are told of every epoch and batch, in order; they may stop training.
	Callbacks []Callback
	// OnEpoch, when set, is called after each epoch with its statistics (a shorthand
	// for a Callback with only OnEpochEnd).
	OnEpoch func(EpochStats)
	// CheckEvery is how many steps pass between reads of the running loss: each read
	// checks that the loss is finite and gives callbacks the running mean. 0 means 25;
	// reads wait for the device, so GPU runs want them rare.
	CheckEvery int
	// Context, when set, interrupts training when it is done: Fit returns after the step
	// in progress with an error wrapping ErrInterrupted, and Progress tells where it
	// stopped, so that a checkpoint can be saved and training resumed.
	Context context.Context
}

// ErrNotFinite is wrapped by Fit's error when the training loss becomes NaN or infinite.
var ErrNotFinite = errors.New("loss is not finite")

// ErrInterrupted is wrapped by Fit's error when Config.Context ends.
var ErrInterrupted = errors.New("training interrupted")

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

// Fit trains the model on d until epoch cfg.Epochs and returns the per-epoch history.
// After Resume it continues from the saved position, with the saved history.
//
// It stops early, returning the history so far, when a callback returns ErrStop (no
// error), when the training loss becomes NaN or infinite (an error wrapping
// ErrNotFinite that names the epoch and steps), or when cfg.Context ends (an error
// wrapping ErrInterrupted).
func (t *Trainer) Fit(d Dataset, cfg Config) (*History, error) {
	if cfg.Epochs <= 0 {
		return nil, fmt.Errorf("train: epochs must be positive, got %d", cfg.Epochs)
	}
	if !(cfg.ValidationSplit >= 0 && cfg.ValidationSplit < 1) {
		return nil, fmt.Errorf("train: validation split must be in [0, 1), got %v", cfg.ValidationSplit)
	}
	if cfg.CheckEvery < 0 {
		return nil, fmt.Errorf("train: CheckEvery must not be negative, got %d", cfg.CheckEvery)
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
	bs := t.batchSize()
	if err := set.batches(t.Dev, 0, nTrain, bs); err != nil {
		return nil, err
	}
	var valSet *deviceSet
	if valLo < val.n {
		// The validation batches run over their own index buffer; when the validation
		// examples are the tail of the training upload, they share its memory.
		valSet = &deviceSet{n: val.n, rowLen: val.rowLen, x: val.x, y: val.y, yLen: val.yLen, scale: val.scale}
		if err := valSet.batches(t.Dev, valLo, val.n, bs); err != nil {
			return nil, err
		}
		defer valSet.order.Free()
	}
	callbacks := cfg.Callbacks
	if cfg.OnEpoch != nil {
		callbacks = append(append([]Callback(nil), callbacks...), EpochFunc(cfg.OnEpoch))
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
	if p.Batch > len(set.orderV) {
		return nil, fmt.Errorf("train: resuming at batch %d of epoch %d, but an epoch has only %d batches (was the data or batch size changed?)",
			p.Batch, p.Epoch, len(set.orderV))
	}
	hist := p.History
	hist.Loss, hist.Classifies = t.Loss.Name(), t.Loss.Classifies()
	t.hist = &hist
	t.pos = p
	fail := func(err error) (*History, error) {
		for _, c := range callbacks {
			c.OnTrainEnd(t.hist, err)
		}
		return t.hist, err
	}
	if err := each(callbacks, func(c Callback) error { return c.OnTrainBegin(t) }); err != nil {
		if !errors.Is(err, ErrStop) {
			return fail(err)
		}
		p.Epoch = cfg.Epochs + 1 // train nothing
	}
	ids := make([]int32, nTrain)
	for ; p.Epoch <= cfg.Epochs; p.Epoch, p.Batch, p.LossSum, p.CorrectSum = p.Epoch+1, 0, 0, 0 {
		start := time.Now()
		t.pos = p
		if !cfg.NoShuffle {
			rng := rand.New(rand.NewPCG(t.Seed, uint64(p.Epoch)))
			for i := range ids {
				ids[i] = int32(i)
			}
			rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			if err := t.Dev.WriteInt32(set.order.Buffer(), ids); err != nil {
				return fail(err)
			}
		}
		if err := t.fitM.set(t.Dev, p.LossSum, p.CorrectSum); err != nil {
			return fail(err)
		}
		if err := each(callbacks, func(c Callback) error { return c.OnEpochBegin(p.Epoch) }); err != nil {
			if errors.Is(err, ErrStop) {
				break
			}
			return fail(err)
		}
		stopped := false
		first := p.Batch
		for b := first; b < len(set.orderV); b++ {
			if cfg.Context.Err() != nil {
				t.pos.Batch = b
				return fail(fmt.Errorf("train: epoch %d, batch %d of %d: %w", p.Epoch, b, len(set.orderV), ErrInterrupted))
			}
			bi := BatchStats{Epoch: p.Epoch, Batch: b + 1, Batches: len(set.orderV), Step: t.Optimizer.Iterations() + 1,
				Seen: min(b*bs, nTrain)}
			if err := each(callbacks, func(c Callback) error { return c.OnBatchBegin(bi) }); err != nil {
				if errors.Is(err, ErrStop) {
					stopped = true
					break
				}
				return fail(err)
			}
			if err := t.trainBatch(set, set.orderV[b]); err != nil {
				return fail(fmt.Errorf("train: epoch %d, batch %d: %w", p.Epoch, b+1, err))
			}
			t.pos.Batch = b + 1
			bi.Seen = min((b+1)*bs, nTrain) // only the last batch is partial
			if (b+1)%checkEvery == 0 || b+1 == len(set.orderV) {
				loss, correct, err := t.fitM.read(t.Dev)
				if err != nil {
					return fail(err)
				}
				bi.Loss, bi.Accuracy, bi.Known = loss/float64(bi.Seen), correct/float64(bi.Seen), true
				if math.IsNaN(loss) || math.IsInf(loss, 0) {
					lo := max(first, b+1-checkEvery) + 1
					return fail(fmt.Errorf("train: epoch %d, batches %d to %d (steps %d to %d): %w (%v)", p.Epoch, lo, b+1,
						t.Optimizer.Iterations()-(b+1-lo), t.Optimizer.Iterations(), ErrNotFinite, loss))
				}
				t.pos.LossSum, t.pos.CorrectSum = loss, correct
			}
			if err := each(callbacks, func(c Callback) error { return c.OnBatchEnd(bi) }); err != nil {
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
		es := EpochStats{Epoch: p.Epoch, Loss: t.pos.LossSum / float64(nTrain), Accuracy: t.pos.CorrectSum / float64(nTrain),
			Examples: nTrain, LearningRate: float64(t.Optimizer.LearningRate())}
		if valSet != nil {
			r, err := t.evaluate(valSet)
			if err != nil {
				return fail(fmt.Errorf("train: epoch %d validation: %w", p.Epoch, err))
			}
			es.ValLoss, es.ValAccuracy, es.HasValidation = r.Loss, r.Accuracy, true
		}
		es.Seconds = time.Since(start).Seconds()
		es.TrainSeconds = trainSeconds
		es.SamplesPerSecond = float64(nTrain) / es.Seconds
		t.hist.Epochs = append(t.hist.Epochs, es)
		t.pos = Progress{Epoch: p.Epoch + 1}
		if err := each(callbacks, func(c Callback) error { return c.OnEpochEnd(es) }); err != nil {
			if errors.Is(err, ErrStop) {
				break
			}
			return fail(err)
		}
	}
	for _, c := range callbacks {
		c.OnTrainEnd(t.hist, nil)
	}
	return t.hist, nil
}

// each calls f for every callback and returns the first error. ErrStop does not keep the
// later callbacks from the event (a logger still sees the epoch an early stopper ended):
// each returns it once every callback has been called. Any other error returns at once.
func each(cs []Callback, f func(Callback) error) error {
	var stop error
	for _, c := range cs {
		if err := f(c); err != nil {
			if !errors.Is(err, ErrStop) {
				return err
			}
			if stop == nil {
				stop = err
			}
		}
	}
	return stop
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
	if t.ClipNorm > 0 {
		if err := t.clip(); err != nil {
			return err
		}
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

// set sets the running sums (to continue a resumed epoch).
func (m *metrics) set(dev device.Backend, loss, correct float64) error {
	return dev.WriteFloat32(m.all.Buffer(), []float32{float32(loss), float32(correct), 0, 0})
}

// read returns the loss and correct sums (one read, which waits for the device).
func (m *metrics) read(dev device.Backend) (loss, correct float64, err error) {
	v := make([]float32, 4)
	if err := dev.ReadFloat32(v, m.all.Buffer()); err != nil {
		return 0, 0, err
	}
	return float64(v[0]), float64(v[1]), nil
}
