package tensorboard

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
	"github.com/gputrain/gputrain/train"
)

// The tags the Callback writes, Keras' names (its TensorBoard callback), so that a
// Keras user's dashboards read the same.
const (
	TagBatchLoss         = "batch_loss"          // the epoch's running mean loss, at the step
	TagBatchAccuracy     = "batch_accuracy"      // the epoch's running accuracy (losses that classify)
	TagBatchLearningRate = "batch_learning_rate" // the rate of the step
	TagEpochLoss         = "epoch_loss"          // train/ and validation/
	TagEpochAccuracy     = "epoch_accuracy"      // train/ and validation/ (losses that classify)
	TagEpochLearningRate = "epoch_learning_rate" // train/: the rate of the epoch's last step
	// train/, with a loss scaler (fp16, train.GradScaler): its scale at the epoch's end
	// and the steps it skipped in the epoch
	TagEpochLossScale    = "epoch_loss_scale"
	TagEpochSkippedSteps = "epoch_skipped_steps"
	// Histograms are tagged TagWeights + the parameter's name ("weights/0.weight") and
	// TagGradients + the name.
	TagWeights   = "weights/"
	TagGradients = "gradients/"
)

// The runs (subfolders of the log folder) the Callback writes, as Keras does, so that
// TensorBoard draws the training and validation curves of a tag in one chart.
const (
	TrainRun      = "train"
	ValidationRun = "validation"
)

// Options configure a Callback.
type Options struct {
	// Histograms, when positive, writes a histogram of every parameter and of every
	// trainable parameter's gradient every Histograms optimizer steps. Each reads the
	// parameters back from the device.
	Histograms int
	// Text holds markdown texts (tag → text), such as the model summary and the flags,
	// written to the train run once, when training begins, in the order of their tags.
	Text map[string]string
	// Writer configures both event files.
	Writer WriterOptions
}

// Callback is a train.Callback that logs a Fit for TensorBoard in DIR/train and
// DIR/validation (TrainRun, ValidationRun), with Keras' tags:
//
//   - every time Fit reads the running loss (train.Config.CheckEvery steps, and the
//     epoch's last step): batch_loss, batch_accuracy and batch_learning_rate at the
//     optimizer step;
//   - after each epoch, at the epoch number: epoch_loss, epoch_accuracy and
//     epoch_learning_rate in train, epoch_loss and epoch_accuracy in validation;
//   - every Options.Histograms steps: weights/NAME and gradients/NAME histograms;
//   - at the start: Options.Text as text summaries.
//
// Accuracies are left out for losses that do not classify. Under data-parallel
// training only rank 0 should have one. It flushes its files after every epoch and
// closes them when training ends; Err reports a failure to close.
type Callback struct {
	opt        Options
	dir        string
	train, val *Writer
	tr         *train.Trainer
	classifies bool
	host       []float32 // parameters read back for histograms
	err        error
}

var _ train.Callback = (*Callback)(nil)

// NewCallback creates dir and the train run's event file in it (the validation run's
// comes with the first validation). Errors name the path or the bad option.
func NewCallback(dir string, opt Options) (*Callback, error) {
	if opt.Histograms < 0 {
		return nil, fmt.Errorf("tensorboard: histogram interval must not be negative, got %d", opt.Histograms)
	}
	w, err := NewWriter(filepath.Join(dir, TrainRun), opt.Writer)
	if err != nil {
		return nil, err
	}
	return &Callback{opt: opt, dir: dir, train: w}, nil
}

// AddText adds a markdown text to write under tag when training begins (as
// Options.Text); call it before Fit.
func (c *Callback) AddText(tag, markdown string) {
	if c.opt.Text == nil {
		c.opt.Text = map[string]string{}
	}
	c.opt.Text[tag] = markdown
}

// Dir is the log folder (what `tensorboard --logdir` takes).
func (c *Callback) Dir() string { return c.dir }

// Files are the paths of the event files written so far.
func (c *Callback) Files() []string {
	out := []string{c.train.Path()}
	if c.val != nil {
		out = append(out, c.val.Path())
	}
	return out
}

// Err is the error of closing the files at the end of training, if any.
func (c *Callback) Err() error { return c.err }

// params are the model's parameters, named as in checkpoints: the one place that knows
// how a Trainer reaches them.
func params(t *train.Trainer) []*nn.Param { return t.Net().Params() }

// OnTrainBegin writes the texts.
func (c *Callback) OnTrainBegin(t *train.Trainer) error {
	c.tr = t
	c.classifies = t.Loss.Classifies()
	tags := make([]string, 0, len(c.opt.Text))
	for tag := range c.opt.Text {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	step := int64(t.Optimizer.Iterations())
	for _, tag := range tags {
		if err := c.train.Text(tag, step, c.opt.Text[tag]); err != nil {
			return err
		}
	}
	return c.train.Flush()
}

// OnEpochBegin does nothing.
func (c *Callback) OnEpochBegin(int) error { return nil }

// OnBatchBegin does nothing.
func (c *Callback) OnBatchBegin(train.BatchStats) error { return nil }

// OnBatchEnd writes the running loss, accuracy and learning rate when Fit read them,
// and the histograms every Options.Histograms steps.
func (c *Callback) OnBatchEnd(b train.BatchStats) error {
	step := int64(b.Step)
	if b.Known {
		if err := c.train.Scalar(TagBatchLoss, step, b.Loss); err != nil {
			return err
		}
		if c.classifies {
			if err := c.train.Scalar(TagBatchAccuracy, step, b.Accuracy); err != nil {
				return err
			}
		}
		if err := c.train.Scalar(TagBatchLearningRate, step, float64(c.tr.Optimizer.LearningRate())); err != nil {
			return err
		}
	}
	if c.opt.Histograms > 0 && b.Step%c.opt.Histograms == 0 {
		return c.histograms(step)
	}
	return nil
}

// histograms reads every parameter and gradient back from the device and writes their
// histograms.
func (c *Callback) histograms(step int64) error {
	for _, p := range params(c.tr) {
		if err := c.histogram(TagWeights+p.Name, step, p.Value); err != nil {
			return err
		}
		if p.Trainable() {
			if err := c.histogram(TagGradients+p.Name, step, p.Grad); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Callback) histogram(tag string, step int64, t *tensor.Tensor) error {
	n := t.Len()
	if cap(c.host) < n {
		c.host = make([]float32, n)
	}
	host := c.host[:n]
	if err := c.tr.Dev.ReadFloat32(host, t.Buffer()); err != nil {
		return fmt.Errorf("tensorboard: reading %s for its histogram: %w", tag, err)
	}
	return c.train.HistogramOf(tag, step, host)
}

// OnEpochEnd writes the epoch's figures and flushes the files.
func (c *Callback) OnEpochEnd(e train.EpochStats) error {
	step := int64(e.Epoch)
	if err := c.train.Scalar(TagEpochLoss, step, e.Loss); err != nil {
		return err
	}
	if c.classifies {
		if err := c.train.Scalar(TagEpochAccuracy, step, e.Accuracy); err != nil {
			return err
		}
	}
	if err := c.train.Scalar(TagEpochLearningRate, step, e.LearningRate); err != nil {
		return err
	}
	if e.LossScale != 0 {
		if err := c.train.Scalar(TagEpochLossScale, step, e.LossScale); err != nil {
			return err
		}
		if err := c.train.Scalar(TagEpochSkippedSteps, step, float64(e.SkippedSteps)); err != nil {
			return err
		}
	}
	if err := c.train.Flush(); err != nil {
		return err
	}
	if !e.HasValidation {
		return nil
	}
	if c.val == nil {
		w, err := NewWriter(filepath.Join(c.dir, ValidationRun), c.opt.Writer)
		if err != nil {
			return err
		}
		c.val = w
	}
	if err := c.val.Scalar(TagEpochLoss, step, e.ValLoss); err != nil {
		return err
	}
	if c.classifies {
		if err := c.val.Scalar(TagEpochAccuracy, step, e.ValAccuracy); err != nil {
			return err
		}
	}
	return c.val.Flush()
}

// OnTrainEnd closes the files; Err reports a failure.
func (c *Callback) OnTrainEnd(*train.History, error) {
	errs := []error{c.train.Close()}
	if c.val != nil {
		errs = append(errs, c.val.Close())
	}
	c.err = errors.Join(errs...)
}

// Close closes the files if training never ended (Fit returned before OnTrainBegin);
// it is harmless after OnTrainEnd.
func (c *Callback) Close() error {
	c.OnTrainEnd(nil, nil)
	return c.err
}
