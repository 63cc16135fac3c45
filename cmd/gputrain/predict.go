package main

// gputrain predict: inference from a checkpoint, without training.
//
//	gputrain predict -resume FILE [-dataset …] [-data DIR] [-n N] [-json] [-device …]
//
// It rebuilds the checkpoint's model from the description the checkpoint holds (for
// checkpoints of layout 1, which hold none, from the -model flags saved with it), loads
// its weights, and runs the test split of the data set the checkpoint was trained on
// (or -dataset's): it prints the test loss and accuracy, and with -json one JSON object
// with them and, per example, the predicted class and the class probabilities.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"

	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/checkpoint"
	"github.com/gputrain/gputrain/train/data"
)

// predictReport is predict's -json output.
type predictReport struct {
	Checkpoint    string      `json:"checkpoint"`
	Device        string      `json:"device"`
	Dataset       string      `json:"dataset"`
	Examples      int         `json:"examples"`
	TestAccuracy  float64     `json:"test_accuracy"`
	TestLoss      float64     `json:"test_loss"`
	Predictions   []int       `json:"predictions"`
	Probabilities [][]float32 `json:"probabilities"`
}

// predictFlags are predict's flags.
type predictFlags struct {
	resume, device, dataset, dataDir string
	threads, batch, n                int
	json                             bool
}

// predictFlagSet defines predict's flags into f.
func predictFlagSet(f *predictFlags) *flag.FlagSet {
	fs := newFlagSet("gputrain predict")
	fs.StringVar(&f.resume, "resume", "", "the checkpoint to predict with (required)")
	fs.StringVar(&f.device, "device", "auto", "device: auto, cpu or cuda")
	intFlag(fs, &f.threads, "threads", 0, atLeast(1).orZero("all cores"), "CPU threads for the cpu device")
	fs.StringVar(&f.dataset, "dataset", "", "data set whose test split to predict (default: the checkpoint's)")
	fs.StringVar(&f.dataDir, "data", "", "folder of the IDX files (default: the checkpoint's)")
	intFlag(fs, &f.batch, "batch", 0, atLeast(1).orZero("the checkpoint's batch size"), "examples per forward pass")
	intFlag(fs, &f.n, "n", 0, atLeast(1).orZero("all"), "predict the first `N` test examples only")
	fs.BoolVar(&f.json, "json", false, "print one JSON object with the figures and every prediction")
	return fs
}

// runPredict is the predict subcommand; it returns the exit status.
func runPredict(args []string, stdout, stderr io.Writer) int {
	var f predictFlags
	fs := predictFlagSet(&f)
	usage := func(err error) int {
		fmt.Fprintf(stderr, "gputrain predict: %v\n", oneLine(err))
		return 2
	}
	if err := parseArgs(fs, args, "usage: gputrain predict -resume FILE [flags]", stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return usage(err)
	}
	if f.resume == "" {
		return usage(fmt.Errorf("-resume FILE names the checkpoint to predict with"))
	}
	resume, devName, threads, dataset, dataDir, batch, n, asJSON := &f.resume, &f.device, &f.threads, &f.dataset, &f.dataDir, &f.batch, &f.n, &f.json
	ck, err := checkpoint.Open(*resume)
	if err != nil {
		return usage(err)
	}
	dev, err := device.Open(*devName, device.Options{Threads: *threads})
	if err != nil {
		return usage(err)
	}
	defer dev.Close()
	r, err := predict(ck, dev, predictOptions{dataset: *dataset, dataDir: *dataDir, batch: *batch, n: *n})
	if err != nil {
		fmt.Fprintf(stderr, "gputrain predict: %v\n", oneLine(err))
		if errors.Is(err, errSetup) {
			return 2
		}
		return 1
	}
	fmt.Fprintf(stdout, "checkpoint %s on %s: %s\n", ck.Path, r.Dataset, dev.Describe())
	fmt.Fprintf(stdout, "test  loss %.4f  acc %.4f  (%d examples)\n", r.TestLoss, r.TestAccuracy, r.Examples)
	if *asJSON {
		r.Checkpoint, r.Device = ck.Path, dev.Name()
		b, err := json.Marshal(r)
		if err != nil {
			fmt.Fprintf(stderr, "gputrain predict: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, string(b))
	}
	return 0
}

type predictOptions struct {
	dataset, dataDir string
	batch, n         int
}

// predict rebuilds ck's model on dev and runs the test split through it.
func predict(ck *checkpoint.Checkpoint, dev device.Backend, po predictOptions) (*predictReport, error) {
	o, err := storedOptions(ck, po.dataset, po.dataDir)
	if err != nil {
		return nil, err
	}
	if isRatings(o.dataset) {
		return nil, setup(fmt.Errorf("%s is a recommender on %s: use gputrain recommend -resume %s -user ID", ck.Path, o.dataset, ck.Path))
	}
	set, err := data.Load(o.dataset, data.LoadOptions{Dir: o.dataDir, Seed: o.seed})
	if err != nil {
		return nil, setup(err)
	}
	bs := po.batch
	if bs == 0 {
		bs = ck.Settings.BatchSize
	}
	m, err := rebuildModel(ck, dev, bs, o, set)
	if err != nil {
		return nil, err
	}
	test, err := set.Test.Reshape(m.InputShape()...)
	if err != nil {
		return nil, setup(fmt.Errorf("the model takes examples of shape %v, but %s has examples of shape %v", m.InputShape(), set.Name, set.Test.Shape()))
	}
	x, y := test.X, test.Y
	if po.n > 0 && po.n < test.Len() {
		head, err := test.Head(po.n)
		if err != nil {
			return nil, err
		}
		x, y = head.X, head.Y
	}
	tr := &train.Trainer{Loss: &nn.SparseCategoricalCrossEntropy{}, Dev: dev, BatchSize: bs}
	if err := tr.UseModel(m); err != nil {
		return nil, err
	}
	res, err := tr.Evaluate(train.Dataset{X: x, Y: y})
	if err != nil {
		return nil, err
	}
	probs, err := m.Predict(x)
	if err != nil {
		return nil, err
	}
	r := &predictReport{Dataset: set.Name, Examples: res.Examples, TestAccuracy: res.Accuracy, TestLoss: res.Loss}
	r.Predictions, r.Probabilities = argmaxRows(probs)
	return r, nil
}

// argmaxRows returns each row's first largest index, and the rows.
func argmaxRows(p *gt.Dense) ([]int, [][]float32) {
	v := p.Data().([]float32)
	rows := p.Shape()[0]
	per := tensor.Shape(p.Shape()[1:]).Len()
	classes := make([]int, rows)
	out := make([][]float32, rows)
	for r := range rows {
		row := v[r*per : (r+1)*per]
		out[r] = row
		for c, x := range row {
			if x > row[classes[r]] {
				classes[r] = c
			}
		}
	}
	return classes, out
}

// storedOptions are the data set flags a checkpoint was trained with, overridden by
// dataset and dataDir when they are not empty.
func storedOptions(ck *checkpoint.Checkpoint, dataset, dataDir string) (*options, error) {
	stored := ck.Settings.Flags
	if stored == nil {
		return nil, setup(fmt.Errorf("%s was not saved by gputrain (it has no command-line settings)", ck.Path))
	}
	o := &options{seed: ck.Settings.Seed, dataDir: dataDir}
	o.dataset = dataset
	if o.dataset == "" {
		o.dataset = stored["dataset"]
	}
	if o.dataDir == "" {
		o.dataDir = stored["data"]
	}
	return o, nil
}

// rebuildModel rebuilds ck's model on dev for batches of up to bs and loads its
// weights: from the description the checkpoint holds, or, for checkpoints of layout 1,
// which hold none, from the -model flags saved with it, for set's examples (set may be
// nil for a checkpoint with a description).
func rebuildModel(ck *checkpoint.Checkpoint, dev device.Backend, bs int, o *options, set *data.Set) (*nn.Model, error) {
	if ck.Spec != nil {
		m, err := ck.LoadModel(dev, bs)
		if err != nil {
			return nil, setup(err)
		}
		return m, nil
	}
	// Layout 1: rebuild the model from the flags it was made with.
	stored := ck.Settings.Flags
	if stored == nil {
		return nil, setup(fmt.Errorf("%s was not saved by gputrain (it has no command-line settings)", ck.Path))
	}
	var err error
	o.model = stored["model"]
	if o.hidden, err = parseWidths(stored["hidden"]); err != nil {
		return nil, setup(err)
	}
	if o.augment, err = strconv.Atoi(stored["augment"]); err != nil && stored["augment"] != "" {
		return nil, setup(fmt.Errorf("%s: stored -augment %q: %v", ck.Path, stored["augment"], err))
	}
	spec, err := modelSpec(o, set)
	if err != nil {
		return nil, setup(err)
	}
	m, err := spec.Build(dev, bs, ck.Settings.Seed)
	if err != nil {
		return nil, setup(err)
	}
	if err := ck.LoadInto(m); err != nil {
		return nil, setup(err)
	}
	return m, nil
}
