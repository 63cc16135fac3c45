package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/comm"
	"github.com/gputrain/gputrain/internal/version"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/data"

	// The backends register themselves with the device registry.
	_ "github.com/gputrain/gputrain/cpu"
	_ "github.com/gputrain/gputrain/device/cuda"
)

// options are the parsed flags.
type options struct {
	device        string
	epochs        int
	batch         int
	lr            float64
	l2            float64
	optimizer     string
	hiddenFlag    string
	hidden        []int
	valSplit      float64
	seed          uint64
	threads       int
	dataDir       string
	limit         int
	json          bool
	showVersion   bool
	maxMemory     int64            // -max-memory, bytes; 0: what the device reports free
	diverge       float64          // -diverge: train.Config.DivergenceFactor; 0: off
	precision     device.Precision // -precision
	precisionFlag string
	conv          conveniences    // conveniences.go
	ckpt          ckptOptions     // -save, -resume, -save-every, -overwrite (checkpoint.go)
	tune          finetuneOptions // -init, -freeze, -accum-steps, -decay (finetune.go)
	text          textOptions     // -steps, -eval-every, -context (text.go)
	dist          distOptions     // -dist (dist.go)
	modelOptions                  // -model, -dataset, -augment (models.go)
	proc          *process        // the process the run is part of
}

// errVersionShown ends a run after -version, with exit status 0 (as -help).
var errVersionShown = fmt.Errorf("version shown: %w", flag.ErrHelp)

// usageError is a bad flag or argument: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// trainFlagSet defines the training command's flags on a new flag set, into o.
// Numeric flags state their range (flags.go).
func trainFlagSet(o *options) *flag.FlagSet {
	fs := newFlagSet("gputrain")
	fs.StringVar(&o.device, "device", "auto", "device to train on: auto (the best present), cpu or cuda")
	intFlag(fs, &o.epochs, "epochs", 10, atLeast(1), "number of epochs")
	intFlag(fs, &o.batch, "batch", 32, atLeast(1), "batch size (256 for a ratings data set)")
	floatFlag(fs, &o.lr, "lr", 0, above(0).absentMeans("the optimizer's Keras default, 0.01 for sgd and momentum, 0.001 for adam and adamw; 0.002 for a ratings data set"), "learning rate")
	floatFlag(fs, &o.l2, "l2", 0, atLeast(0), "L2 weight decay: adds X·w to every weight's gradient (not the biases'), as PyTorch's weight_decay")
	fs.StringVar(&o.optimizer, "optimizer", "adam", "optimizer: sgd, momentum, adam or adamw")
	fs.StringVar(&o.hiddenFlag, "hidden", "128,64", "hidden layer widths, comma-separated (ReLU); empty for none")
	floatFlag(fs, &o.valSplit, "val-split", 0.1, atLeast(0).below(1), "fraction of the training set held out for validation (the last examples)")
	uintFlag(fs, &o.seed, "seed", 1, atLeast(0), "random seed for weights, shuffling and dropout")
	intFlag(fs, &o.threads, "threads", 0, atLeast(1).orZero("all cores"), "CPU threads for the cpu device")
	fs.StringVar(&o.dataDir, "data", "", "folder holding the four IDX files (gzip or raw) of mnist or fashion-mnist (default "+data.DefaultMNISTDir+" or "+data.DefaultFashionMNISTDir+")")
	intFlag(fs, &o.limit, "limit", 0, atLeast(1).orZero("all"), "train on the first `N` training examples only, for quick runs")
	fs.BoolVar(&o.json, "json", false, "print the run's figures as one JSON object on the last line")
	fs.BoolVar(&o.showVersion, "version", false, "print the version, commit and build tags, and exit")
	fs.Var(&sizeValue{&o.maxMemory}, "max-memory", "the memory the run may take (on the cpu device, a job's ranks on one machine together), a `SIZE` such as 16GB or 512MiB, instead of what the device reports free ("+sizeBounds.String()+"); a run that needs more is refused before it allocates")
	floatFlag(fs, &o.diverge, "diverge", train.DefaultDivergenceFactor, above(1).orZero("off"),
		"stop when the mean loss of the batches between two readings (every 25) exceeds `X` times the first batch's")
	fs.StringVar(&o.precisionFlag, "precision", "fp32", "arithmetic of the dense and linear layers' GEMMs: fp32; tf32; bf16 or fp16 (16-bit operands, float32 accumulation, "+
		"float32 master weights, optimizer and everything else; fp16 with dynamic loss scaling)")
	addModelFlags(fs, &o.modelOptions)
	o.conv.register(fs)
	o.tune.register(fs)
	o.text.register(fs)
	o.dist.register(fs)
	addCheckpointFlags(fs, o)
	return fs
}

func parseFlags(args []string, stdout io.Writer) (*options, error) {
	o := &options{}
	fs := trainFlagSet(o)
	if err := parseArgs(fs, args, "usage: gputrain [flags]", stdout); err != nil && !o.showVersion {
		return nil, err
	}
	if o.showVersion { // before any other flag's error
		fmt.Fprintln(stdout, version.Get())
		return nil, errVersionShown
	}
	o.explicit = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.explicit[f.Name] = true })
	if err := ratingsDefaults(fs, o.explicit); err != nil { // -batch 256 -lr 0.002 (recsys.go)
		return nil, err
	}
	if err := applyResume(fs, o); err != nil {
		return nil, err
	}
	if err := applyTextDefaults(fs, o); err != nil {
		return nil, err
	}
	var err error
	if o.hidden, err = parseWidths(o.hiddenFlag); err != nil {
		return nil, err
	}
	if o.precision, err = device.ParsePrecision(o.precisionFlag); err != nil {
		return nil, usageError{fmt.Sprintf("-precision %q: want fp32, tf32, bf16 or fp16", o.precisionFlag)}
	}
	if err := checkModelFlags(o); err != nil {
		return nil, err
	}
	if err := o.conv.check(o); err != nil {
		return nil, err
	}
	if err := o.tune.check(o); err != nil {
		return nil, err
	}
	if err := o.dist.check(); err != nil {
		return nil, err
	}
	if err := o.ckpt.check(); err != nil {
		return nil, err
	}
	if err := checkFiles(o); err != nil {
		return nil, err
	}
	return o, nil
}

func parseWidths(s string) ([]int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, usageError{fmt.Sprintf("-hidden: %q is not a positive layer width (want e.g. 128,64)", f)}
		}
		out = append(out, n)
	}
	return out, nil
}

// report is the -json output.
type report struct {
	Device           string             `json:"device"`
	DeviceInfo       string             `json:"device_info"`
	Epochs           int                `json:"epochs"`
	Batch            int                `json:"batch"`
	Optimizer        string             `json:"optimizer"`
	LearningRate     float64            `json:"lr"`
	Hidden           []int              `json:"hidden"`
	Model            string             `json:"model"`
	ModelSpec        *nn.Spec           `json:"model_spec"`
	Dataset          string             `json:"dataset"`
	Augment          int                `json:"augment"`
	Seed             uint64             `json:"seed"`
	Threads          int                `json:"threads,omitempty"`
	Precision        string             `json:"precision"`
	Ranks            int                `json:"ranks,omitempty"`        // of a data-parallel job (-dist)
	GlobalBatch      int                `json:"global_batch,omitempty"` // ranks × batch
	Dist             string             `json:"dist,omitempty"`
	TrainExamples    int                `json:"train_examples"`
	TestAccuracy     float64            `json:"test_accuracy"`
	TestLoss         float64            `json:"test_loss"`
	EpochSeconds     []float64          `json:"epoch_seconds"`
	MedianEpochSec   float64            `json:"median_epoch_seconds"`
	SamplesPerSecond float64            `json:"samples_per_second"`
	History          []train.EpochStats `json:"history"`
	Diagnosis        string             `json:"diagnosis"`
	// a ratings run (recsys.go): the training steps' seconds per epoch, and the test
	// figures with the baselines'
	TrainEpochSeconds []float64     `json:"train_epoch_seconds,omitempty"`
	Recsys            *recsysReport `json:"recsys,omitempty"`
}

// process is what a run takes from the process it runs in: the output streams, the
// signals it handles while it trains, and how it ends at once. main gives it the real
// ones (run); a test gives its own, and callbacks that watch or steer training.
type process struct {
	stdout, stderr io.Writer
	// notify delivers sigs (of signalsHandled, checkpoint.go) to c until stop is called.
	notify func(c chan<- os.Signal, sigs []os.Signal) (stop func())
	// exit ends the process at once (a second interrupt).
	exit func(code int)
	// callbacks are added to Fit's (tests).
	callbacks []train.Callback
	// handled counts the signals the handler has acted on, for tests to wait on.
	handled atomic.Int32
}

// osSignals delivers the process's signals sigs to c.
func osSignals(c chan<- os.Signal, sigs []os.Signal) func() {
	signal.Notify(c, sigs...)
	return func() { signal.Stop(c) }
}

// run is the whole program with the process's own streams, signals and exit; it
// returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	return (&process{stdout: stdout, stderr: stderr, notify: osSignals, exit: os.Exit}).run(args)
}

// run runs the program; it returns the exit status. A failure to write the output
// (a full disk, a closed pipe) is an error: exit status 1.
func (p *process) run(args []string) int {
	stdout := &checkedWriter{w: p.stdout}
	stderr := &lockedWriter{w: p.stderr}
	code := p.command(args, stdout, stderr)
	if err := stdout.err; err != nil && code == 0 {
		fmt.Fprintf(stderr, "gputrain: writing the output: %v\n", err)
		code = 1
	}
	return code
}

// command runs the subcommand args name, or training.
func (p *process) command(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "predict" {
		return runPredict(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "export" {
		return runExport(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "sample" {
		return runSample(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "recommend" {
		return runRecommend(args[1:], stdout, stderr)
	}
	o, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "gputrain: %v\n", err)
		return 2
	}
	o.proc = p
	o.ckpt.stderr = stderr
	if err := train1(o, stdout); err != nil {
		code := exitCode(err)
		if !o.dist.said {
			say(stderr, err)
		}
		if c := o.dist.c; c != nil && c.Size() > 1 && !collective(err) {
			c.Abort(code) // this rank alone failed: the launcher ends the job
		}
		return code
	}
	return 0
}

// checkedWriter keeps the first error of its writer: the program's output goes on
// being written (a progress bar need not check), and run reports the error at the end.
type checkedWriter struct {
	w   io.Writer
	err error
}

// Fd is the file descriptor of the writer's file, for the progress bar's terminal
// test; an invalid one when it writes to no file.
func (c *checkedWriter) Fd() uintptr {
	if f, ok := c.w.(interface{ Fd() uintptr }); ok {
		return f.Fd()
	}
	return ^uintptr(0)
}

func (c *checkedWriter) Write(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	c.err = err
	return n, err
}

// exitCode is the exit status for train1's error.
func exitCode(err error) int {
	var ee exitError
	var ue usageError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue) || errors.Is(err, errSetup):
		return 2
	}
	return 1
}

// say prints err as gputrain's one line on stderr (nothing for an empty message: a rank
// other than 0 interrupted, for which rank 0 speaks).
func say(stderr io.Writer, err error) {
	if err.Error() != "" {
		fmt.Fprintf(stderr, "gputrain: %v\n", oneLine(err))
	}
}

// errSetup marks failures before training starts (device, data): exit status 2.
var errSetup = errors.New("setup")

type setupError struct{ err error }

func (e setupError) Error() string   { return e.err.Error() }
func (e setupError) Unwrap() []error { return []error{e.err, errSetup} }

func setup(err error) error { return setupError{err} }

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// median is the middle value of v (the mean of the two middle ones for even lengths).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// loadData reads the data set the flags name (see models.go).
func loadData(o *options) (*data.Set, error) { return loadSet(o) }

// buildModel makes the model the flags describe, for the data set's classes, and views
// the data set's examples with the model's input shape (see models.go).
func buildModel(o *options, set *data.Set) (nn.Module, *nn.Spec, error) {
	spec, err := modelSpec(o, set)
	if err != nil {
		return nil, nil, err
	}
	if err := shapeFor(set, spec, o.model); err != nil {
		return nil, nil, err
	}
	m, err := spec.Model()
	return m, spec, err
}

// epochPrinter prints one line per epoch.
func epochPrinter(o *options, stdout io.Writer) train.Callback {
	return train.EpochFunc(func(e train.EpochStats) {
		line := fmt.Sprintf("epoch %d/%d  loss %.4f  acc %.4f", e.Epoch, o.epochs, e.Loss, e.Accuracy)
		if e.HasValidation {
			line += fmt.Sprintf("  val_loss %.4f  val_acc %.4f", e.ValLoss, e.ValAccuracy)
		}
		if e.LossScale != 0 {
			line += fmt.Sprintf("  loss_scale %g  skipped %d", e.LossScale, e.SkippedSteps)
		}
		fmt.Fprintf(stdout, "%s  %.2fs  %.0f samples/s\n", line, e.Seconds, e.SamplesPerSecond)
	})
}

func train1(o *options, stdout io.Writer) (err error) {
	if isText(o) {
		return trainText(o, stdout)
	}
	if isRatings(o.dataset) {
		return trainRatings(o, stdout) // recsys.go
	}
	opt, err := train.NewOptimizer(o.optimizer, float32(o.lr))
	if err != nil {
		return setup(err)
	}
	opt.L2 = float32(o.l2)
	if opt.Decay, err = decayRule(o.tune.decay); err != nil {
		return err
	}
	// a rank of a data-parallel job takes GPU LocalRank (modulo the GPUs it sees)
	dev, err := device.Open(o.device, device.Options{Threads: o.threads, GPU: comm.Detect().LocalRank})
	if err != nil {
		return setup(err)
	}
	defer dev.Close()
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1)) // checkMemory may set it
	if err := o.dist.openJob(dev); err != nil {
		return setup(err)
	}
	c := o.dist.c
	defer func() {
		if err != nil && c.Size() > 1 {
			// say it before MPI_Finalize: once the first rank has exited non-zero the
			// launcher ends the others, maybe before they have said why
			say(o.ckpt.stderr, err)
			o.dist.said = true
		}
		if err == nil || c.Size() == 1 || collective(err) {
			if cerr := c.Close(); err == nil {
				err = cerr
			}
		} // else run() ends the job (Comm.Abort)
	}()
	if c.Rank() != 0 {
		stdout = io.Discard // rank 0 alone prints
	}
	if o.dist.joined() {
		if err := agreeFlags(o, o.conv.fs); err != nil {
			return err
		}
	}
	tr, ds, spec, extra, err := prepare(o, opt, dev, stdout)
	if o.dist.joined() {
		err = agreeSetup(c, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "device %s\n", dev.Describe())
	if o.precision != device.FP32 {
		fmt.Fprintf(stdout, "precision %s\n", describePrecision(o.precision))
	}
	if o.dist.joined() {
		fmt.Fprintln(stdout, describeJob(o))
	}
	fmt.Fprintf(stdout, "data %s: %d training examples (the last %.0f%% held out for validation), %d test; %s\n",
		ds.Name, ds.Train.Len(), 100*o.valSplit, ds.Test.Len(), ds.About)
	desc := describeModel(o, tr.Net(), ds)
	fmt.Fprintln(stdout, desc)
	o.conv.describeModel(desc, tr.Net())
	hist, err := fit(o, tr, ds.Name, train.Dataset{X: ds.Train.X, Y: ds.Train.Y}, train.Config{
		Epochs: o.epochs, ValidationSplit: o.valSplit,
		Callbacks: append(extra, epochPrinter(o, stdout)),
	}, stdout)
	if err != nil {
		return err
	}
	// A file that cannot be written after all (a disk gone full) does not cost the test
	// evaluation: its error is returned at the end.
	finishErr := o.conv.finish(hist, fmt.Sprintf("gputrain on %s: %s, batch %d", ds.Name, opt.Name(), o.batch*c.Size()), o.dist.rank() == 0, stdout)
	res, err := tr.Evaluate(train.Dataset{X: ds.Test.X, Y: ds.Test.Y})
	if err != nil {
		return err
	}
	diag := hist.Diagnose()
	r := report{Device: dev.Name(), DeviceInfo: dev.Describe(), Epochs: o.epochs, Batch: o.batch,
		Optimizer: opt.Name(), LearningRate: float64(opt.LearningRate()), Hidden: o.hidden, Seed: o.seed,
		Model: o.model, ModelSpec: spec, Dataset: ds.Name, Augment: o.augment,
		Threads: o.threads, Precision: o.precision.String(), TestAccuracy: res.Accuracy, TestLoss: res.Loss, History: hist.Epochs,
		Diagnosis: diag.String()}
	if o.dist.joined() {
		r.Ranks, r.GlobalBatch, r.Dist = c.Size(), c.Size()*o.batch, c.Describe()
	}
	var examples int
	var seconds float64
	for _, e := range hist.Epochs {
		r.EpochSeconds = append(r.EpochSeconds, e.Seconds)
		examples += e.Examples
		seconds += e.Seconds
	}
	r.TrainExamples = hist.Epochs[0].Examples
	r.MedianEpochSec = median(r.EpochSeconds)
	r.SamplesPerSecond = float64(examples) / seconds
	fmt.Fprintf(stdout, "test  loss %.4f  acc %.4f  (%d examples)\n", res.Loss, res.Accuracy, res.Examples)
	fmt.Fprintf(stdout, "median epoch %.2fs, %.0f samples/s\n", r.MedianEpochSec, r.SamplesPerSecond)
	fmt.Fprintf(stdout, "diagnosis: %s\n", diag)
	if o.json {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
	}
	return finishErr
}

// checkMemory plans the run's memory (train.Trainer.PlanMemory) before anything is
// allocated and refuses, as a usage error, a run that needs more than the device has
// free (device.MemoryInfo), or than -max-memory; where the device cannot tell, the run
// goes ahead. On the cpu device the Go runtime is then held to the limit too
// (debug.SetMemoryLimit), so that garbage collection works harder near it rather
// than the process growing past it; train1 restores the runtime's limit at its end.
func checkMemory(o *options, tr *train.Trainer, d train.Dataset, cfg train.Config, stdout io.Writer) error {
	limit, source := o.maxMemory, "-max-memory"
	if limit == 0 {
		info, ok := tr.Dev.(device.MemoryInfo)
		if !ok {
			return nil
		}
		free, err := info.AvailableMemory()
		if err != nil {
			fmt.Fprintf(stdout, "memory: not checked (%v)\n", err)
			return nil
		}
		limit, source = free, "available"
	}
	plan, err := tr.PlanMemory(d, cfg)
	if err != nil {
		return setup(fmt.Errorf("planning the memory: %w", err))
	}
	need := plan.Peak
	if o.conv.earlyStop > 0 {
		need += plan.Parameters // the best epoch's snapshot
	}
	// The ranks of a job on one machine share its memory on the cpu device (each GPU
	// has its own): they need it together, and -max-memory is what they may take
	// together.
	ranks, what := int64(1), ""
	if c := o.dist.c; c != nil && c.LocalSize() > 1 && tr.Dev.Name() == "cpu" {
		ranks = int64(c.LocalSize())
		what = fmt.Sprintf(" (%d ranks on this machine, %s each)", ranks, device.FormatBytes(need))
	}
	if need*ranks > limit {
		return usageError{fmt.Sprintf("needs %s on %s%s; %s %s; lower -batch or the model size (%s)",
			device.FormatBytes(need*ranks), plan.Device, what, device.FormatBytes(limit), source, plan)}
	}
	if tr.Dev.Name() == "cpu" {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		debug.SetMemoryLimit(int64(ms.Sys) + limit/ranks) // what the process has, and what it may add
	}
	return nil
}

// describePrecision says what -precision does, for the run's header.
func describePrecision(p device.Precision) string {
	switch p {
	case device.TF32:
		return "tf32: dense and linear layers' GEMMs with operands rounded to TF32 (10-bit mantissa), float32 accumulation"
	case device.BF16:
		return "bf16: dense and linear layers' GEMMs on bfloat16 weights and activations, float32 accumulation; float32 master weights and optimizer"
	case device.FP16:
		return "fp16: dense and linear layers' GEMMs on float16 weights and activations, float32 accumulation; float32 master weights and optimizer; dynamic loss scaling (initial 65536)"
	}
	return p.String()
}

// prepare loads the data, builds the model and the Trainer (with the job's Comm),
// applies -init, -freeze and -resume, and makes the callbacks: everything a rank sets
// up by itself before training. Its errors are setup errors (exit status 2).
func prepare(o *options, opt *train.Optim, dev device.Backend, stdout io.Writer) (*train.Trainer, *data.Set, *nn.Spec, []train.Callback, error) {
	ds, err := loadData(o)
	if err != nil {
		return nil, nil, nil, nil, setup(err)
	}
	model, spec, err := buildModel(o, ds)
	if err != nil {
		return nil, nil, nil, nil, setup(err)
	}
	tr := &train.Trainer{Model: model, Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: opt,
		Dev: dev, BatchSize: o.batch, AccumSteps: o.tune.accumSteps, Seed: o.seed, Comm: o.dist.c,
		ClipNorm: float32(o.conv.clipNorm), Precision: o.precision}
	if err := checkMemory(o, tr, train.Dataset{X: ds.Train.X, Y: ds.Train.Y}, train.Config{ValidationSplit: o.valSplit}, stdout); err != nil {
		return nil, nil, nil, nil, err
	}
	if o.dist.rank() == 0 {
		removeStale(o, func(s string) { fmt.Fprintln(stdout, s) })
	}
	if err := tr.Build(tensor.Shape(ds.Train.Shape())); err != nil {
		return nil, nil, nil, nil, setup(err)
	}
	if err := o.tune.apply(tr, stdout); err != nil {
		return nil, nil, nil, nil, setup(err)
	}
	if err := restoreCheckpoint(o, tr, ds.Train.Shape(), stdout); err != nil {
		return nil, nil, nil, nil, setup(err)
	}
	extra, err := o.conv.callbacks(o, tr, stdout)
	if err != nil {
		return nil, nil, nil, nil, setup(err)
	}
	return tr, ds, spec, extra, nil
}
