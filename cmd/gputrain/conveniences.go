package main

// The training conveniences' flags: early stopping, learning-rate schedules, gradient
// clipping, the progress bar, the history and plot files written after training, and
// the TensorBoard logs written during it.
// run.go calls register and check while parsing, callbacks before Fit, finish after.

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/plot"
	"github.com/gputrain/gputrain/train/progbar"
	"github.com/gputrain/gputrain/train/tensorboard"
)

// conveniences are the flags of this file, parsed.
type conveniences struct {
	plot        string
	history     string
	earlyStop   int
	monitor     string
	minDelta    float64
	lrSchedule  string
	warmup      float64
	clipNorm    float64
	progress    string
	schedKind   string  // "none", "step", "cosine"
	stepEvery   int     // step: epochs between decays
	stepFactor  float64 // step: the factor
	cosineFloor float64 // cosine: the floor
	tensorboard string  // -tensorboard DIR
	tbHist      int     // -tb-histograms N
	stopper     *train.EarlyStopping
	schedule    train.Schedule
	tb          *tensorboard.Callback
	fs          *flag.FlagSet // for the flags' values in TensorBoard
}

// register defines the flags on fs.
func (c *conveniences) register(fs *flag.FlagSet) {
	fs.StringVar(&c.plot, "plot", "", "write a PNG plot of training and validation loss and accuracy per epoch to `FILE.png`")
	fs.StringVar(&c.history, "history", "", "write the per-epoch history to `FILE` (.csv or .json)")
	intFlag(fs, &c.earlyStop, "early-stop", 0, atLeast(1).orZero("off"), "stop when the monitored figure has not improved for `N` epochs, and restore the best epoch's weights")
	fs.StringVar(&c.monitor, "early-stop-monitor", "val_loss", "figure -early-stop watches: val_loss, val_accuracy, loss or accuracy")
	floatFlag(fs, &c.minDelta, "early-stop-min-delta", 0, atLeast(0), "smallest change of the monitored figure that counts as an improvement")
	fs.StringVar(&c.lrSchedule, "lr-schedule", "none", "learning-rate schedule: none, step:EVERY:FACTOR (multiply by FACTOR every EVERY epochs) or cosine[:FLOOR] (down to FLOOR, default 0, at the last epoch)")
	floatFlag(fs, &c.warmup, "warmup", 0, atLeast(0), "raise the learning rate linearly over the first `EPOCHS` epochs (fractions allowed; below -epochs; with text data, whole steps below -steps), then follow -lr-schedule; 0: none")
	floatFlag(fs, &c.clipNorm, "clip-norm", 0, above(0).orZero("off"), "rescale the gradients so that their global L2 norm is at most `X`")
	fs.StringVar(&c.progress, "progress", "auto", "progress bar within each epoch: auto (on a terminal, not with -json), on or off")
	fs.StringVar(&c.tensorboard, "tensorboard", "", "write TensorBoard logs to `DIR` (DIR/train, DIR/validation): loss, accuracy and learning rate, the model and the flags; view with tensorboard --logdir DIR")
	intFlag(fs, &c.tbHist, "tb-histograms", 0, atLeast(1).orZero("none"), "with -tensorboard, write histograms of the weights and gradients every `N` steps")
	c.fs = fs
}

// check validates the flags once parsed; errors are usage errors naming the flag.
func (c *conveniences) check(o *options) error {
	bad := func(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }
	for _, f := range []struct{ flag, path, ext string }{{"-plot", c.plot, ".png"}, {"-history", c.history, ""}} {
		if f.path == "" {
			continue
		}
		if launchRank() != 0 {
			continue // rank 0 of a data-parallel job writes them, maybe on another machine
		}
		ext := strings.ToLower(filepath.Ext(f.path))
		if f.ext != "" && ext != f.ext {
			return bad("%s %q: the file must end in %s", f.flag, f.path, f.ext)
		}
		if f.ext == "" && ext != ".csv" && ext != ".json" {
			return bad("%s %q: the file must end in .csv or .json", f.flag, f.path)
		}
		if fi, err := os.Stat(filepath.Dir(f.path)); err != nil || !fi.IsDir() {
			return bad("%s %q: the folder %s does not exist", f.flag, f.path, filepath.Dir(f.path))
		}
	}
	if c.tensorboard != "" {
		if fi, err := os.Stat(c.tensorboard); err == nil && !fi.IsDir() {
			return bad("-tensorboard %q: not a folder", c.tensorboard)
		}
	}
	if c.tbHist > 0 && c.tensorboard == "" {
		return bad("-tb-histograms needs -tensorboard DIR")
	}
	switch c.monitor {
	case train.MonitorValLoss, train.MonitorValAccuracy, train.MonitorLoss, train.MonitorAccuracy:
	default:
		return bad("-early-stop-monitor: unknown figure %q (want val_loss, val_accuracy, loss or accuracy)", c.monitor)
	}
	if c.earlyStop > 0 && strings.HasPrefix(c.monitor, "val_") && o.valSplit == 0 {
		return bad("-early-stop monitors %s, which needs a validation split (-val-split > 0)", c.monitor)
	}
	switch {
	case isText(o) && !(c.warmup >= 0 && c.warmup < float64(o.text.steps) && c.warmup == math.Trunc(c.warmup)):
		return bad("-warmup counts steps with text data: it must be a whole number in [0, -steps=%d), got %v", o.text.steps, c.warmup)
	case !isText(o) && !(c.warmup >= 0 && c.warmup < float64(o.epochs)):
		return bad("-warmup must be in [0, -epochs=%d), got %v", o.epochs, c.warmup)
	}
	switch c.progress {
	case "auto", "on", "off":
	default:
		return bad("-progress must be auto, on or off, got %q", c.progress)
	}
	return c.parseSchedule(baseLR(o))
}

// baseLR is the run's learning rate before any schedule: -lr, or the optimizer's
// default when -lr is not given, as the optimizer holds it (float32).
func baseLR(o *options) float64 {
	if opt, err := train.NewOptimizer(o.optimizer, float32(o.lr)); err == nil {
		return float64(opt.LearningRate())
	}
	return o.lr
}

// parseSchedule reads -lr-schedule for the learning rate lr.
func (c *conveniences) parseSchedule(lr float64) error {
	bad := func(why string) error {
		return usageError{fmt.Sprintf("-lr-schedule %q: %s (want none, step:EVERY:FACTOR or cosine[:FLOOR])", c.lrSchedule, why)}
	}
	parts := strings.Split(c.lrSchedule, ":")
	c.schedKind = parts[0]
	switch {
	case parts[0] == "none" && len(parts) == 1:
	case parts[0] == "step" && len(parts) == 3:
		every, err := strconv.Atoi(parts[1])
		if err != nil || every < 1 {
			return bad(fmt.Sprintf("EVERY %q is not a whole number of epochs >= 1", parts[1]))
		}
		factor, err := strconv.ParseFloat(parts[2], 64)
		if err != nil || !(factor > 0 && factor <= 1) {
			return bad(fmt.Sprintf("FACTOR %q is not in (0, 1]", parts[2]))
		}
		c.stepEvery, c.stepFactor = every, factor
	case parts[0] == "cosine" && len(parts) <= 2:
		if len(parts) == 2 {
			floor, err := strconv.ParseFloat(parts[1], 64)
			if err != nil || !(floor >= 0) {
				return bad(fmt.Sprintf("FLOOR %q is not a learning rate >= 0", parts[1]))
			}
			if floor > lr {
				return bad(fmt.Sprintf("FLOOR %v is above the learning rate %v", floor, lr))
			}
			c.cosineFloor = floor
		}
	default:
		return bad("unknown form")
	}
	return nil
}

// callbacks configures tr (gradient clipping) and returns the callbacks to run before
// the epoch printer: the progress bar (first, so that it clears its line before the
// epoch's summary), the learning-rate schedule, early stopping.
func (c *conveniences) callbacks(o *options, tr *train.Trainer, stdout io.Writer) ([]train.Callback, error) {
	tr.ClipNorm = float32(c.clipNorm)
	var out []train.Callback
	if c.progress == "on" || (c.progress == "auto" && !o.json) {
		bar := progbar.New(stdout, progbar.Options{Epochs: o.epochs, Force: c.progress == "on"})
		if bar.Enabled() {
			out = append(out, bar)
		}
	}
	// The schedule starts from the run's own learning rate (-lr, or the optimizer's
	// default), not from the optimizer's current one: after -resume that is the
	// checkpoint's, already scheduled, rate.
	lr := baseLR(o)
	switch c.schedKind {
	case "step":
		c.schedule = train.StepDecay{Initial: lr, Factor: c.stepFactor, Every: c.stepEvery}
	case "cosine":
		c.schedule = train.CosineDecay{Initial: lr, Floor: c.cosineFloor, Epochs: float64(o.epochs) - c.warmup}
	}
	if c.warmup > 0 {
		then := c.schedule
		if then == nil {
			then = train.Constant(lr)
		}
		c.schedule = train.Warmup{Epochs: c.warmup, Then: then}
	}
	return c.sharedCallbacks(o, lr, out)
}

// sharedCallbacks appends to out the callbacks that epoch- and step-based runs share:
// the learning-rate schedule set in c.schedule (checked against the base rate lr),
// early stopping and TensorBoard (rank 0's alone in a data-parallel job).
func (c *conveniences) sharedCallbacks(o *options, lr float64, out []train.Callback) ([]train.Callback, error) {
	if c.schedule != nil {
		if err := c.schedule.Check(); err != nil {
			return nil, fmt.Errorf("-lr-schedule %q with learning rate %g: %w", c.lrSchedule, lr, err)
		}
		out = append(out, train.NewLearningRateSchedule(c.schedule))
	}
	if c.earlyStop > 0 {
		c.stopper = &train.EarlyStopping{Monitor: c.monitor, MinDelta: c.minDelta, Patience: c.earlyStop, RestoreBest: true}
		out = append(out, c.stopper)
	}
	if c.tensorboard != "" && o.dist.rank() == 0 {
		tb, err := tensorboard.NewCallback(c.tensorboard, tensorboard.Options{Histograms: c.tbHist,
			Text: map[string]string{"flags": flagTable(c.fs)}})
		if err != nil {
			return nil, fmt.Errorf("-tensorboard: %w", err)
		}
		c.tb = tb
		out = append(out, tb)
	}
	return out, nil
}

// stepCallbacks configures tr (gradient clipping) and returns the callbacks of a
// step-based run (text data): the learning-rate schedule by step, early stopping (an
// evaluation interval counts as an epoch), TensorBoard. -lr-schedule cosine[:FLOOR]
// with -warmup N is nanoGPT's schedule (train.WarmupCosine: N warm-up steps, then a
// cosine down to FLOOR at the last step); none with -warmup N warms up then holds the
// rate; step:EVERY:FACTOR decays every EVERY steps.
func (c *conveniences) stepCallbacks(o *options, tr *train.Trainer) ([]train.Callback, error) {
	tr.ClipNorm = float32(c.clipNorm)
	var out []train.Callback
	// the schedule's peak is the run's -lr, not the optimizer's rate now: a resumed
	// run's optimizer holds the rate the schedule had reached
	lr := baseLR(o)
	warm, steps := int(c.warmup), o.text.steps
	switch c.schedKind {
	case "cosine":
		floor := c.cosineFloor
		if floor == 0 {
			floor = lr * 1e-6 // the schedules want a positive rate
		}
		c.schedule = train.WarmupCosine{Peak: lr, Floor: floor, Warmup: warm, Steps: steps}
	case "step":
		var s train.Schedule = train.StepDecay{Initial: lr, Factor: c.stepFactor, Every: c.stepEvery}
		if warm > 0 {
			s = train.Warmup{Epochs: float64(warm), Then: s}
		}
		c.schedule = perStep{s}
	default:
		if warm > 0 {
			c.schedule = train.WarmupCosine{Peak: lr, Floor: lr, Warmup: warm, Steps: steps}
		}
	}
	return c.sharedCallbacks(o, lr, out)
}

// perStep is a schedule of epochs read as steps: its epochs are one step long.
type perStep struct{ train.Schedule }

func (p perStep) Rate(step, _ int) float64 { return p.Schedule.Rate(step, 1) }

// describeModel gives TensorBoard the model's summary: the line printed before
// training, the module table, its parameters, its JSON description.
func (c *conveniences) describeModel(line string, m *nn.Model) {
	if c.tb == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n```\n%s\n```\n\n| parameter | shape | values |\n|---|---|---|\n", line, m.Summary())
	for _, p := range m.Params() {
		fmt.Fprintf(&b, "| %s | %v | %d |\n", p.Name, p.Value.Shape(), p.Value.Len())
	}
	if spec, err := nn.SpecOf(m); err == nil {
		fmt.Fprintf(&b, "\n```json\n%s```\n", spec.JSON())
	}
	c.tb.AddText("model", b.String())
}

// flagTable is the flags' values as a markdown table, the ones given on the command
// line in bold.
func flagTable(fs *flag.FlagSet) string {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var b strings.Builder
	b.WriteString("| flag | value |\n|---|---|\n")
	fs.VisitAll(func(f *flag.Flag) {
		v := strings.ReplaceAll(f.Value.String(), "|", "\\|")
		if set[f.Name] {
			fmt.Fprintf(&b, "| **-%s** | **%s** |\n", f.Name, v)
		} else {
			fmt.Fprintf(&b, "| -%s | %s |\n", f.Name, v)
		}
	})
	return b.String()
}

// finish reports early stopping and, when write is set (rank 0 of a data-parallel job,
// or one process), writes the history and plot files, after Fit.
func (c *conveniences) finish(hist *train.History, title string, write bool, stdout io.Writer) error {
	if s := c.stopper; s != nil && len(hist.Epochs) > 0 {
		if err := s.Err(); err != nil {
			return err
		}
		last := hist.Epochs[len(hist.Epochs)-1].Epoch
		if s.StoppedEpoch > 0 {
			fmt.Fprintf(stdout, "early stopping: %s has not improved for %d epochs; stopped after epoch %d\n", s.Monitor, s.Patience, s.StoppedEpoch)
		}
		if s.Restored && s.BestEpoch != last {
			fmt.Fprintf(stdout, "restored the weights of epoch %d (best %s %.4f)\n", s.BestEpoch, s.Monitor, s.Best)
		}
	}
	if !write {
		return nil
	}
	if c.tb != nil {
		if err := c.tb.Err(); err != nil {
			return fmt.Errorf("-tensorboard: %w", err)
		}
		fmt.Fprintf(stdout, "tensorboard logs written to %s (view them with: tensorboard --logdir %s)\n", c.tensorboard, c.tensorboard)
	}
	if c.history != "" {
		if err := hist.Save(c.history); err != nil {
			return fmt.Errorf("-history: %w", err)
		}
		fmt.Fprintf(stdout, "history written to %s\n", c.history)
	}
	if c.plot != "" {
		if err := plot.SavePNG(c.plot, hist, plot.Options{Title: title}); err != nil {
			return fmt.Errorf("-plot: %w", err)
		}
		fmt.Fprintf(stdout, "plot written to %s\n", c.plot)
	}
	return nil
}
