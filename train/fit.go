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
	"github.com/gputrain/gputrain/device/comm"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
)

// Trainer binds a model to a loss, an optimizer and a device.
type Trainer struct {
	// Model is the model's root module: a Sequential, a Residual, any Module. Build
	// wraps it in an nn.Model (Net) for the data's shape.
	Model     nn.Module
	Loss      nn.Loss
	Optimizer Optimizer
	Dev       device.Backend
	// BatchSize is the number of examples per forward and backward pass (32 when 0).
	BatchSize int
	// AccumSteps is how many batches' gradients are summed into one optimizer step
	// (1 when 0): with AccumSteps N, a step equals one step on a batch N times larger
	// (the loss is scaled by 1/(the examples of all N batches)), for the memory of one.
	AccumSteps int
	// Seed draws the initial weights, the shuffles and the dropout masks.
	Seed uint64
	// ClipNorm, when positive, rescales the gradients before each update so that their
	// global L2 norm (over every trainable parameter) is at most ClipNorm, on the device
	// (it reads nothing back).
	ClipNorm float32
	// Precision is the model's mixed-precision recipe (device.Precision, see
	// nn.Context.Precision): FP32 (the default: float32 everywhere, the engine's results
	// as they always were), TF32, BF16 or FP16. The optimizer keeps float32 master
	// weights and state and writes the weights' 16-bit copies as it updates them. FP16
	// trains with a loss scaler (Scaler).
	Precision device.Precision
	// Scaler, when set (by default in FP16, see GradScaler), scales the loss and skips
	// the steps whose gradients overflow. It is updated in place. Each step with a
	// scaler reads one value back from the device (as PyTorch's GradScaler does).
	Scaler *GradScaler
	// Comm, when set (to any kind but local), makes Fit and Evaluate data-parallel (dist.go,
	// docs/distributed.md): every rank runs the same Trainer on the same data, with Comm
	// bound to Dev, set before the model is built. BatchSize is then the batch of one
	// rank: each optimizer step takes a global batch of Size·BatchSize examples, of
	// which rank r trains rows [r·BatchSize, (r+1)·BatchSize) of the epoch's shuffled
	// order, the same on every rank; the epoch's last, smaller global batch of R
	// examples is split as evenly as possible in rank order (the first R mod Size ranks
	// take one more; a rank may get none). Each loss is scaled by 1/(the examples of the
	// whole global group), the flat gradient buffer is all-reduced (summed) once per
	// optimizer step, then clipped by its global norm and applied on every rank, so N
	// ranks with batch b follow one process with batch N·b up to float rounding. Fit
	// starts by checking that the ranks agree on the model, the data and the settings
	// (an error wrapping ErrRanksDisagree otherwise) and broadcasting rank 0's weights.
	// Each rank draws its own dropout and augmentation streams from Seed and its rank;
	// BatchNorm statistics are per rank (rank 0's are broadcast before each
	// evaluation). Loss and accuracy are summed over the ranks when read, so every rank
	// reports, and its callbacks see, the same figures. Every rank must call Fit and
	// Evaluate together. Nil, or the local kind, is one process; any other kind runs
	// this path even with one rank (its results are one process's).
	Comm comm.Comm

	net     *nn.Model
	built   bool
	xb, yb  *rowsBuf // the batch gathered from the data set
	xbIDs   *rowsBuf // the batch of an integer (ids) data set
	idx     *rowsBuf // the batch's example indices
	fitM    *metrics // training sums
	evalM   *metrics // evaluation sums
	stepFns map[stepKey]stepFn
	cur     step

	progress  Progress     // where the next Fit starts (Resume)
	callbacks []Callback   // the running (or last) Fit's callbacks, for State
	pos       Progress     // where the running Fit is
	hist      *History     // the running Fit's history
	clipBufs  clipBufs     // ClipNorm's scalars
	updateFn  func() error // the data-parallel "update" step: clip, optimizer step
	streamRun              // FitSteps' state (stream.go)

	found     *tensor.Tensor // the loss scaler's flag: a gradient was Inf or NaN
	foundHost []float32
	unscaleFn func() error // the loss scaler's "unscale" step of a data-parallel job
	skip0     int          // Scaler.Skipped when the running epoch began
}

// step is what the recorded step function reads: the batch size and data set of the
// step being run, the loss's gradient scale (1/the examples of its accumulation group,
// times the loss scaler's Scale) and the gradients' unscaling factor (1/Scale).
type step struct {
	rows  int
	set   *deviceSet
	scale float32
	inv   float32
}

// stepKey identifies a kind of training step: its batch size and its place in an
// accumulation group (the first zeroes the gradients, the last updates the weights).
type stepKey struct {
	rows        int
	first, last bool
}

// stepFn is the function a kind of step runs, with the key Backend.Step records it
// under.
type stepFn struct {
	key string
	fn  func() error
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
	// Metrics, when set, is called after each epoch's training and validation with the
	// model; the figures it returns go into EpochStats.Metrics (so into the History, its
	// CSV and JSON files and the callbacks' view of the epoch), and its time into the
	// epoch's Seconds. A recommender's ranking metrics come this way (train/recsys).
	Metrics func(m *nn.Model) (map[string]float64, error)
	// Context, when set, interrupts training when it is done: Fit returns after the step
	// in progress with an error wrapping ErrInterrupted, and Progress tells where it
	// stopped, so that a checkpoint can be saved and training resumed. Fit stops only
	// where an accumulation group ends, so that it resumes exactly.
	Context context.Context
	// DivergenceFactor stops training when the loss grows by orders of magnitude before
	// it becomes NaN: when the mean loss of the batches between two reads (see
	// CheckEvery) exceeds DivergenceFactor times the loss of the Fit's first batch
	// (read once, after that batch), Fit returns an error wrapping ErrDiverged that names
	// the epoch, the batches and the steps. 0 means DefaultDivergenceFactor; a negative
	// value turns the check off.
	DivergenceFactor float64
}

// DefaultDivergenceFactor is Config.DivergenceFactor's default: four orders of
// magnitude above the first batch's loss. A softmax classifier starts near ln(classes)
// and only falls; a loss ten thousand times that is a run that has left the basin (Adam
// at lr 1e6 on MNIST reaches 1e21 within a few dozen steps).
const DefaultDivergenceFactor = 1e4

// ErrNotFinite is wrapped by Fit's error when the training loss becomes NaN or infinite.
var ErrNotFinite = errors.New("loss is not finite")

// ErrInterrupted is wrapped by Fit's error when Config.Context ends.
var ErrInterrupted = errors.New("training interrupted")

// ErrDiverged is wrapped by Fit's error when the training loss has grown by
// Config.DivergenceFactor.
var ErrDiverged = errors.New("loss diverged")

// lossWatch is the check Fit and FitSteps make at each read of the running loss sum:
// it must be finite, and the mean loss of the window since the previous read must not
// exceed factor times the first window's (the call's first batch or step, read alone).
type lossWatch struct {
	factor float64 // a non-positive factor: no divergence check
	unit   string  // what the first window is, for the error: "batch" or "step"
	first  float64 // the first window's mean loss
	sum    float64 // the running sum at the previous read
	seen   int     // and the examples it covered
}

// newLossWatch makes the check for a Config's or StepConfig's DivergenceFactor (0: the
// default).
func newLossWatch(factor float64, unit string) *lossWatch {
	if factor == 0 {
		factor = DefaultDivergenceFactor
	}
	return &lossWatch{factor: factor, unit: unit}
}

// on reports whether the divergence check is on (and so the first window is read).
func (w *lossWatch) on() bool { return w.factor > 0 }

// from starts the window at the running sum sum over seen examples.
func (w *lossWatch) from(sum float64, seen int) { w.sum, w.seen = sum, seen }

// read checks the running sum loss over seen examples, the first window's when first
// is set; where names the window for the errors (ErrNotFinite, ErrDiverged).
func (w *lossWatch) read(loss float64, seen int, first bool, where func() string) error {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("train: %s: %w (%v)", where(), ErrNotFinite, loss)
	}
	window := (loss - w.sum) / float64(max(seen-w.seen, 1))
	switch {
	case first:
		w.first = window
	case w.on() && w.first > 0 && window > w.factor*w.first:
		return fmt.Errorf("train: %s: %w: their mean loss %.4g is %.3g times the first %s's %.4g (more than %g times; lower the learning rate?)",
			where(), ErrDiverged, window, window/w.first, w.unit, w.first, w.factor)
	}
	w.from(loss, seen)
	return nil
}

func (t *Trainer) batchSize() int {
	if t.BatchSize == 0 {
		return 32
	}
	return t.BatchSize
}

func (t *Trainer) accumSteps() int {
	if t.AccumSteps <= 0 {
		return 1
	}
	return t.AccumSteps
}

// Net is the built model (nil before Build): its parameters by name, gradients,
// Predict, Freeze, Summary.
func (t *Trainer) Net() *nn.Model { return t.net }

// BuildModel builds the model alone (if it is not built yet) for examples of shape in,
// on Dev with Seed, for batches of BatchSize: what Predict needs, and what loading
// weights into the model needs. It needs no loss and no optimizer.
func (t *Trainer) BuildModel(in tensor.Shape) error {
	if t.Model == nil || t.Dev == nil {
		return fmt.Errorf("train: Trainer needs a Model and a Dev")
	}
	bs := t.batchSize()
	if bs <= 0 {
		return fmt.Errorf("train: batch size must be positive, got %d", bs)
	}
	if t.AccumSteps < 0 {
		return fmt.Errorf("train: AccumSteps must not be negative, got %d", t.AccumSteps)
	}
	if t.net != nil {
		if !t.net.InputShape().Equal(in) {
			return fmt.Errorf("train: the model takes examples of shape %v, the data has %v", t.net.InputShape(), in)
		}
		if t.net.Device() != t.Dev || t.net.MaxBatch() < bs {
			return fmt.Errorf("train: the model was built for another device or a smaller batch")
		}
		return nil
	}
	if err := t.checkComm(); err != nil {
		return err
	}
	net := nn.NewModel(t.Model)
	if err := net.SetPrecision(t.Precision); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := net.Build(t.Dev, in, bs, t.buildSeed()); err != nil {
		return err
	}
	t.net = net
	return nil
}

// UseModel makes m, a model already built (for example with weights loaded into it),
// the Trainer's model: Model becomes m's root.
func (t *Trainer) UseModel(m *nn.Model) error {
	if m == nil || !m.Built() {
		return fmt.Errorf("train: UseModel needs a built model")
	}
	if t.net != nil && t.net != m {
		return fmt.Errorf("train: the Trainer already has a built model")
	}
	if t.Dev != nil && m.Device() != t.Dev {
		return fmt.Errorf("train: the model was built on another device")
	}
	if t.Precision != m.Precision() && t.Precision != device.FP32 {
		return fmt.Errorf("train: the model was built in precision %s, the Trainer asks for %s", m.Precision(), t.Precision)
	}
	t.Precision = m.Precision()
	t.Model, t.net, t.Dev = m.Root(), m, m.Device()
	if t.BatchSize == 0 {
		t.BatchSize = m.MaxBatch()
	}
	return nil
}

// Build builds the model (if it is not built yet) for examples of shape in, the loss
// and the batch workspaces. Fit and Evaluate call it with the data's shape. It needs a
// Model, a Loss and a Dev (Fit also needs an Optimizer).
func (t *Trainer) Build(in tensor.Shape) error {
	if t.Model == nil || t.Loss == nil || t.Dev == nil {
		return fmt.Errorf("train: Trainer needs a Model, a Loss and a Dev")
	}
	if t.built {
		if !t.net.InputShape().Equal(in) {
			return fmt.Errorf("train: the model takes examples of shape %v, the data has %v", t.net.InputShape(), in)
		}
		return nil
	}
	if err := t.BuildModel(in); err != nil {
		return err
	}
	bs := t.batchSize()
	if err := t.Loss.Build(t.Dev, bs, t.net.OutputShape()); err != nil {
		return err
	}
	if err := t.buildBuffers(in); err != nil {
		return err
	}
	var err error
	if t.fitM, err = newMetrics(t.Dev); err != nil {
		return err
	}
	if t.Precision != t.net.Precision() {
		return fmt.Errorf("train: the model was built in precision %s, the Trainer asks for %s", t.net.Precision(), t.Precision)
	}
	if t.Scaler == nil && t.Precision == device.FP16 {
		s := NewGradScaler()
		t.Scaler = &s
	}
	if t.found, err = tensor.Zeros(t.Dev, 1); err != nil {
		return err
	}
	t.foundHost = make([]float32, 1)
	t.updateFn = t.update
	t.unscaleFn = t.unscale
	t.stepFns = map[stepKey]stepFn{}
	t.built = true
	return nil
}

// buildBuffers makes the batch workspaces and the evaluation sums.
func (t *Trainer) buildBuffers(in tensor.Shape) error {
	bs := t.batchSize()
	var err error
	if t.xb, err = newRowsBuf(t.Dev, device.Float32, bs, in.Len()); err != nil {
		return err
	}
	ydt, ylen := device.Float32, t.net.OutputShape().Len()
	if t.Loss != nil && t.Loss.Classifies() {
		ydt, ylen = device.Int32, 1
	}
	if t.yb, err = newRowsBuf(t.Dev, ydt, bs, ylen); err != nil {
		return err
	}
	if t.idx, err = newRowsBuf(t.Dev, device.Int32, bs, 1); err != nil {
		return err
	}
	t.evalM, err = newMetrics(t.Dev)
	return err
}

func (t *Trainer) classes() int {
	if t.Loss.Classifies() {
		return t.net.OutputShape().Len()
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
	if t.Optimizer == nil {
		return nil, fmt.Errorf("train: Fit needs an Optimizer")
	}
	if cfg.Epochs <= 0 {
		return nil, fmt.Errorf("train: epochs must be positive, got %d", cfg.Epochs)
	}
	if !(cfg.ValidationSplit >= 0 && cfg.ValidationSplit < 1) {
		return nil, fmt.Errorf("train: validation split must be in [0, 1), got %v", cfg.ValidationSplit)
	}
	if cfg.CheckEvery < 0 {
		return nil, fmt.Errorf("train: CheckEvery must not be negative, got %d", cfg.CheckEvery)
	}
	if math.IsNaN(cfg.DivergenceFactor) || (cfg.DivergenceFactor > 0 && cfg.DivergenceFactor <= 1) {
		return nil, fmt.Errorf("train: DivergenceFactor must be above 1 (or 0 for the default, negative for none), got %v", cfg.DivergenceFactor)
	}
	if d.X == nil || len(d.X.Shape()) < 2 {
		return nil, fmt.Errorf("train: training data X must have shape (examples, features…)")
	}
	if d.Len() == 0 {
		return nil, fmt.Errorf("train: training data has no examples")
	}
	if cfg.Validation != nil && cfg.Validation.Len() == 0 {
		return nil, fmt.Errorf("train: validation data has no examples (leave Config.Validation nil for none)")
	}
	if err := t.Build(tensor.Shape(d.X.Shape()[1:])); err != nil {
		return nil, err
	}
	if err := t.checkComm(); err != nil {
		return nil, err
	}
	if err := t.checkSparse(); err != nil {
		return nil, err
	}
	if err := t.Scaler.Check(); err != nil {
		return nil, err
	}
	// the weights' 16-bit copies, from whatever the weights are now (loaded, resumed)
	if err := t.net.RefreshHalf(); err != nil {
		return nil, err
	}
	set, err := upload(t.Dev, "training", d, t.net.InputShape(), t.net.OutputShape(), t.classes())
	if err != nil {
		return nil, err
	}
	defer set.free()
	nTrain := set.n
	val, valLo := set, set.n
	if cfg.Validation != nil {
		if val, err = upload(t.Dev, "validation", *cfg.Validation, t.net.InputShape(), t.net.OutputShape(), t.classes()); err != nil {
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
	ranks, rank := t.ranks()
	global := ranks * bs // the examples of one optimizer step without accumulation
	if err := set.shard(t.Dev, 0, nTrain, bs, ranks, rank); err != nil {
		return nil, err
	}
	var valSet *deviceSet
	if valLo < val.n {
		// The validation batches run over their own index buffer; when the validation
		// examples are the tail of the training upload, they share its memory.
		valSet = &deviceSet{n: val.n, rowLen: val.rowLen, x: val.x, y: val.y, yLen: val.yLen, scale: val.scale}
		if err := valSet.shard(t.Dev, valLo, val.n, bs, ranks, rank); err != nil {
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
	t.stream = nil
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
	if t.dist() {
		if err := t.agree(d, cfg, checkEvery, p); err != nil {
			return fail(err)
		}
		if err := t.broadcastWeights(); err != nil {
			return fail(err)
		}
	}
	t.callbacks = callbacks
	err = each(callbacks, func(c Callback) error { return c.OnTrainBegin(t) })
	if err == nil {
		err = t.loadCallbackStates(callbacks, p.Callbacks)
	}
	if err != nil {
		if !errors.Is(err, ErrStop) {
			return fail(err)
		}
		p.Epoch = cfg.Epochs + 1 // train nothing
	}
	watch := newLossWatch(cfg.DivergenceFactor, "batch")
	startEpoch := p.Epoch
	ids := make([]int32, nTrain)
	accum := t.accumSteps()
	if err := t.net.ZeroGrad(); err != nil { // whatever Backward ran before Fit
		return fail(err)
	}
	// stopAll: the ranks of a data-parallel job learned at their last reading of the
	// sums that one of them was interrupted; they all stop at the next step's start.
	stopAll := false
	for ; p.Epoch <= cfg.Epochs; p.Epoch, p.Batch, p.LossSum, p.CorrectSum, p.EpochSkipped = p.Epoch+1, 0, 0, 0, 0 {
		start := time.Now()
		t.pos = p
		if t.Scaler != nil {
			t.skip0 = t.Scaler.Skipped - p.EpochSkipped
		}
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
		lossSum, correctSum := p.LossSum, p.CorrectSum
		if rank != 0 {
			lossSum, correctSum = 0, 0 // the ranks' sums are added when read
		}
		if err := t.fitM.set(t.Dev, lossSum, correctSum); err != nil {
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
		nb := len(set.orderV)
		// The window of batches since the last read of the running sums.
		watch.from(p.LossSum, min(first*global, nTrain))
		winFrom := first // the window's first batch, 0-based
		for b := first; b < nb; b++ {
			g0 := b / accum * accum // the accumulation group of batch b: [g0, g1)
			g1 := min(g0+accum, nb)
			if b == g0 || b == first {
				if t.dist() && stopAll {
					// every rank stops here; the sums so far, for Progress
					loss, correct, _, err := t.readSums(t.fitM, false)
					if err != nil {
						return fail(err)
					}
					t.pos.Batch, t.pos.LossSum, t.pos.CorrectSum = b, loss, correct
					return fail(fmt.Errorf("train: epoch %d, batch %d of %d: %w", p.Epoch, b, nb, ErrInterrupted))
				}
				if !t.dist() && cfg.Context.Err() != nil {
					t.pos.Batch = b
					return fail(fmt.Errorf("train: epoch %d, batch %d of %d: %w", p.Epoch, b, nb, ErrInterrupted))
				}
			}
			bi := BatchStats{Epoch: p.Epoch, Batch: b + 1, Batches: nb, Step: t.Optimizer.Iterations() + 1,
				Steps: (nb + accum - 1) / accum, Seen: min(b*global, nTrain)}
			if err := each(callbacks, func(c Callback) error { return c.OnBatchBegin(bi) }); err != nil {
				if errors.Is(err, ErrStop) {
					stopped = true
					break
				}
				return fail(err)
			}
			groupRows := min(g1*global, nTrain) - g0*global
			ph := stepKey{first: b == g0 || b == first, last: b == g1-1}
			if err := t.trainBatch(set, set.orderV[b], ph, 1/float32(groupRows)); err != nil {
				return fail(fmt.Errorf("train: epoch %d, batch %d: %w", p.Epoch, b+1, err))
			}
			t.pos.Batch = b + 1
			bi.Seen = min((b+1)*global, nTrain) // only the last batch is partial
			firstOfFit := p.Epoch == startEpoch && b == first
			scheduled := (b+1)%checkEvery == 0 || b+1 == nb
			// In a data-parallel job a read is a collective: every rank makes the same
			// reads, since the schedule, the first batch and the factor are agreed.
			if scheduled || (firstOfFit && watch.on()) {
				loss, correct, stop, err := t.readSums(t.fitM, cfg.Context.Err() != nil)
				if err != nil {
					return fail(err)
				}
				stopAll = stopAll || stop
				if scheduled { // callbacks see the figures on the CheckEvery schedule only
					bi.Loss, bi.Accuracy, bi.Known = loss/float64(bi.Seen), correct/float64(bi.Seen), true
				}
				lo := winFrom + 1 // the window's batches, 1-based: lo to b+1
				steps := func() string {
					return fmt.Sprintf("epoch %d, batches %d to %d (steps %d to %d)", p.Epoch, lo, b+1,
						t.Optimizer.Iterations()-(b+1-lo)/accum, t.Optimizer.Iterations())
				}
				if err := watch.read(loss, bi.Seen, firstOfFit, steps); err != nil {
					return fail(err)
				}
				winFrom = b + 1
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
		if t.Scaler != nil {
			es.LossScale, es.SkippedSteps = t.Scaler.Scale, t.Scaler.Skipped-t.skip0
		}
		if valSet != nil {
			r, err := t.evaluate(valSet)
			if err != nil {
				return fail(fmt.Errorf("train: epoch %d validation: %w", p.Epoch, err))
			}
			es.ValLoss, es.ValAccuracy, es.HasValidation = r.Loss, r.Accuracy, true
		}
		if cfg.Metrics != nil {
			if es.Metrics, err = cfg.Metrics(t.net); err != nil {
				return fail(fmt.Errorf("train: epoch %d metrics: %w", p.Epoch, err))
			}
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

// trainBatch runs one training step on the examples whose indices order holds: forward
// and backward, with the loss scaled by scale; the first of an accumulation group
// zeroes the gradients first, the last updates the weights. In a data-parallel job
// order holds this rank's share of the global batch (nil for none), and the last
// batch of a group sums the ranks' gradients before the update (syncAndUpdate).
func (t *Trainer) trainBatch(set *deviceSet, order *tensor.Tensor, ph stepKey, scale float32) error {
	dist := t.dist()
	if order == nil {
		// no examples for this rank in the epoch's last global batch: it adds a zero
		// gradient, and its step counter moves on as the other ranks' do
		if ph.first {
			if err := t.net.ZeroGrad(); err != nil {
				return err
			}
		}
		t.net.Context().Step++
	} else if err := t.trainRows(set, order, ph.first, ph.last && !dist, scale); err != nil {
		return err
	}
	if dist && ph.last {
		return t.syncAndUpdate()
	}
	return nil
}

// trainRows runs the recorded step for the rows of order: see trainBatch; update says
// whether the step ends with the update.
func (t *Trainer) trainRows(set *deviceSet, order *tensor.Tensor, first, update bool, scale float32) error {
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
	t.cur = step{rows: rows, set: set, scale: scale}
	if t.Scaler != nil {
		t.cur.scale, t.cur.inv = scale*float32(t.Scaler.Scale), float32(1/t.Scaler.Scale)
	}
	ph := stepKey{rows: rows, first: first, last: update}
	sf, ok := t.stepFns[ph]
	if !ok {
		sf.fn = func() error { return t.runStep(t.cur.set, t.cur.rows, ph.first, ph.last, t.cur.scale) }
		sf.key = "train"
		if rows != t.batchSize() {
			sf.key = fmt.Sprintf("train-%d", rows)
		}
		switch {
		case ph.first && !ph.last:
			sf.key += "/first"
		case !ph.first && !ph.last:
			sf.key += "/accumulate"
		case !ph.first && ph.last:
			sf.key += "/last"
		}
		t.stepFns[ph] = sf
	}
	if err := t.Dev.Step(sf.key, sf.fn); err != nil || !ph.last || t.Scaler == nil {
		return err
	}
	return t.scaledUpdate()
}

// scaledUpdate is the loss scaler's decision after the gradients were unscaled (one
// read, as PyTorch's GradScaler.step makes), then the update as a step of its own
// ("update"), or none.
func (t *Trainer) scaledUpdate() error {
	if err := t.Dev.ReadFloat32(t.foundHost, t.found.Buffer()); err != nil {
		return err
	}
	if !t.Scaler.Update(t.foundHost[0] != 0) {
		return nil // skipped: no update, the optimizer's step count stays
	}
	return t.Dev.Step("update", t.updateFn)
}

// runStep queues one training step: gather, then learn.
func (t *Trainer) runStep(set *deviceSet, rows int, first, update bool, scale float32) error {
	x, y, err := t.gather(set, rows)
	if err != nil {
		return err
	}
	return t.learn(x, y, first, update, scale)
}

// learn queues the step on the batch x, y: forward, loss, metrics, backward and, when
// update is set (the end of an accumulation group in one process), clipping and the
// update; the first of a group zeroes the gradients first.
func (t *Trainer) learn(x, y *tensor.Tensor, first, update bool, scale float32) error {
	if first {
		if err := t.net.ZeroGrad(); err != nil {
			return err
		}
	}
	out, err := t.net.Forward(x, true)
	if err != nil {
		return err
	}
	res, err := t.Loss.Forward(out, t.net.Logits(), y)
	if err != nil {
		return err
	}
	if err := t.accumulate(res, t.fitM); err != nil {
		return err
	}
	grad, fromLogits, err := t.Loss.Backward(scale)
	if err != nil {
		return err
	}
	if err := t.net.SetLossScale(scale); err != nil { // for the modules' own penalties
		return err
	}
	if err := t.net.Backward(grad, fromLogits); err != nil {
		return err
	}
	if !update {
		return nil
	}
	if t.Scaler != nil {
		return t.unscale() // trainRows reads the flag, then updates or skips
	}
	return t.update()
}

// unscale multiplies the gradients by cur.inv (1/the loss scaler's Scale, which the
// loss was multiplied by), noting in found whether any gradient was Inf or NaN.
func (t *Trainer) unscale() error {
	if err := t.Dev.Fill(t.found.Buffer(), 0); err != nil {
		return err
	}
	if g := t.net.Grads(); g != nil {
		return t.Dev.Unscale(g.Buffer(), t.found.Buffer(), t.cur.inv)
	}
	return nil
}

// update clips the gradients (ClipNorm) and applies the optimizer's step.
func (t *Trainer) update() error {
	if t.ClipNorm > 0 {
		if err := t.clip(); err != nil {
			return err
		}
	}
	return t.Optimizer.Step(t.Dev, t.net.Params())
}

// gather copies the examples named by the index buffer's first rows entries into the
// batch workspaces.
func (t *Trainer) gather(set *deviceSet, rows int) (x, y *tensor.Tensor, err error) {
	idx, _ := t.idx.rows(rows) // made by trainBatch for these rows: a lookup that cannot fail
	xb := t.xb
	if set.x.DType() == device.Int32 {
		if t.xbIDs == nil {
			if t.xbIDs, err = newRowsBuf(t.Dev, device.Int32, t.batchSize(), t.net.InputShape().Len()); err != nil {
				return nil, nil, err
			}
		}
		xb = t.xbIDs
	}
	if x, err = xb.rows(rows); err != nil {
		return nil, nil, err
	}
	if y, err = t.yb.rows(rows); err != nil {
		return nil, nil, err
	}
	if err := t.Dev.Gather(x.Buffer(), set.x.Buffer(), idx.Buffer(), set.rowLen, set.scale); err != nil {
		return nil, nil, err
	}
	if err := t.Dev.Gather(y.Buffer(), set.y.Buffer(), idx.Buffer(), set.yLen, 1); err != nil {
		return nil, nil, err
	}
	xs, err := xb.shaped(rows, t.net.InputShape())
	if err != nil {
		return nil, nil, err
	}
	if t.Loss != nil && !t.Loss.Classifies() {
		if y, err = t.yb.shaped(rows, t.net.OutputShape()); err != nil {
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

// metrics are running sums on the device: [loss, correct] and one batch's [loss, correct];
// global is [loss, correct, stop] summed over the ranks of a data-parallel job (readSums).
type metrics struct {
	all                     *tensor.Tensor
	sums, batch             *tensor.Tensor
	batchLoss, batchCorrect *tensor.Tensor
	global                  *tensor.Tensor
	globalSums, globalStop  *tensor.Tensor
	host                    []float32
}

func newMetrics(dev device.Backend) (*metrics, error) {
	all, err := tensor.Zeros(dev, 4)
	if err != nil {
		return nil, err
	}
	global, err := tensor.Zeros(dev, 3)
	if err != nil {
		return nil, err
	}
	m := &metrics{all: all, global: global, host: make([]float32, 4)}
	for _, v := range []struct {
		t      **tensor.Tensor
		of     *tensor.Tensor
		off, n int
	}{{&m.sums, all, 0, 2}, {&m.batch, all, 2, 2}, {&m.batchLoss, all, 2, 1}, {&m.batchCorrect, all, 3, 1},
		{&m.globalSums, global, 0, 2}, {&m.globalStop, global, 2, 1}} {
		if *v.t, err = v.of.View(v.off, v.n); err != nil {
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
	v := m.host
	if err := dev.ReadFloat32(v, m.all.Buffer()); err != nil {
		return 0, 0, err
	}
	return float64(v[0]), float64(v[1]), nil
}
