package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

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
	device       string
	epochs       int
	batch        int
	lr           float64
	l2           float64
	optimizer    string
	hidden       []int
	valSplit     float64
	seed         uint64
	threads      int
	dataDir      string
	limit        int
	json         bool
	conv         conveniences    // conveniences.go
	ckpt         ckptOptions     // -save, -resume (checkpoint.go)
	tune         finetuneOptions // -init, -freeze, -accum-steps, -decay (finetune.go)
	text         textOptions     // -steps, -eval-every, -context (text.go)
	dist         distOptions     // -dist (dist.go)
	modelOptions                 // -model, -dataset, -augment (models.go)
}

// errVersionShown ends a run after -version, with exit status 0 (as -help).
var errVersionShown = fmt.Errorf("version shown: %w", flag.ErrHelp)

// usageError is a bad flag or argument: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func parseFlags(args []string, stdout io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("gputrain", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.device, "device", "auto", "device to train on: auto (the best present), cpu or cuda")
	fs.IntVar(&o.epochs, "epochs", 10, "number of epochs")
	fs.IntVar(&o.batch, "batch", 32, "batch size (256 for a ratings data set)")
	fs.Float64Var(&o.lr, "lr", 0, "learning rate (0: the optimizer's Keras default; 0.002 for a ratings data set)")
	fs.Float64Var(&o.l2, "l2", 0, "L2 weight decay: adds X·w to every weight's gradient (not the biases'), as PyTorch's weight_decay")
	fs.StringVar(&o.optimizer, "optimizer", "adam", "optimizer: sgd, momentum, adam or adamw")
	hidden := fs.String("hidden", "128,64", "hidden layer widths, comma-separated (ReLU); empty for none")
	fs.Float64Var(&o.valSplit, "val-split", 0.1, "fraction of the training set held out for validation (the last examples)")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed for weights, shuffling and dropout")
	fs.IntVar(&o.threads, "threads", 0, "CPU threads for the cpu device (0: all cores)")
	fs.StringVar(&o.dataDir, "data", "", "folder holding the four IDX files (gzip or raw) of mnist or fashion-mnist (default "+data.DefaultMNISTDir+" or "+data.DefaultFashionMNISTDir+")")
	fs.IntVar(&o.limit, "limit", 0, "train on the first N training examples only (0: all), for quick runs")
	fs.BoolVar(&o.json, "json", false, "print the run's figures as one JSON object on the last line")
	showVersion := fs.Bool("version", false, "print the version, commit and build tags, and exit")
	addModelFlags(fs, &o.modelOptions)
	o.conv.register(fs)
	o.tune.register(fs)
	o.text.register(fs)
	o.dist.register(fs)
	addCheckpointFlags(fs, o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "usage: gputrain [flags]")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return nil, err
		}
		return nil, usageError{err.Error()}
	}
	if *showVersion {
		fmt.Fprintln(stdout, version.Get())
		return nil, errVersionShown
	}
	o.explicit = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { o.explicit[f.Name] = true })
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Sprintf("unexpected argument %q (flags only; see -h)", fs.Arg(0))}
	}
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
	if o.hidden, err = parseWidths(*hidden); err != nil {
		return nil, err
	}
	if err := checkModelFlags(o); err != nil {
		return nil, err
	}
	switch {
	case o.epochs <= 0:
		return nil, usageError{fmt.Sprintf("-epochs must be positive, got %d", o.epochs)}
	case o.batch <= 0:
		return nil, usageError{fmt.Sprintf("-batch must be positive, got %d", o.batch)}
	case o.lr < 0:
		return nil, usageError{fmt.Sprintf("-lr must not be negative, got %v", o.lr)}
	case o.l2 < 0:
		return nil, usageError{fmt.Sprintf("-l2 must not be negative, got %v", o.l2)}
	case !(o.valSplit >= 0 && o.valSplit < 1):
		return nil, usageError{fmt.Sprintf("-val-split must be in [0, 1), got %v", o.valSplit)}
	case o.limit < 0:
		return nil, usageError{fmt.Sprintf("-limit must not be negative, got %d", o.limit)}
	case o.threads < 0:
		return nil, usageError{fmt.Sprintf("-threads must not be negative, got %d", o.threads)}
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

// run is the whole program; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	stderr = &lockedWriter{w: stderr}
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
	if err := o.conv.finish(hist, fmt.Sprintf("gputrain on %s: %s, batch %d", ds.Name, opt.Name(), o.batch*c.Size()), o.dist.rank() == 0, stdout); err != nil {
		return err
	}
	res, err := tr.Evaluate(train.Dataset{X: ds.Test.X, Y: ds.Test.Y})
	if err != nil {
		return err
	}
	diag := hist.Diagnose()
	r := report{Device: dev.Name(), DeviceInfo: dev.Describe(), Epochs: o.epochs, Batch: o.batch,
		Optimizer: opt.Name(), LearningRate: float64(opt.LearningRate()), Hidden: o.hidden, Seed: o.seed,
		Model: o.model, ModelSpec: spec, Dataset: ds.Name, Augment: o.augment,
		Threads: o.threads, TestAccuracy: res.Accuracy, TestLoss: res.Loss, History: hist.Epochs,
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
	return nil
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
		Dev: dev, BatchSize: o.batch, AccumSteps: o.tune.accumSteps, Seed: o.seed, Comm: o.dist.c}
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
