package main

// Recommenders on the command line: -dataset insteval or ratings:FILE[:user=COL,…]
// with -model mf[:dim=32,…] or twotower[:dim=32,hidden=64,…], and the recommend
// subcommand (recommend.go).
//
// A ratings data set is split 80/10/10 by -seed (data.Ratings.Split): the model trains
// on the first part, the validation part gives each epoch's val_loss (the MSE) and
// val_rmse, val_mae, val_hr@10 and val_ndcg@10 (train/recsys: 100 negatives per user,
// seeded), and the test part the final figures, next to the global-mean and the tuned
// user+item bias baselines. Unless given, -batch is 256 and -lr 0.002 for ratings
// (the run prints them); -val-split does not apply.

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/comm"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/data"
	"github.com/gputrain/gputrain/train/recsys"
)

// isRatings reports whether a -dataset names ratings (a recommender's data).
func isRatings(dataset string) bool {
	return dataset == "insteval" || strings.HasPrefix(dataset, "ratings:")
}

// recsysPresets are the recommender presets and their options with defaults: the
// settings the docs/recommenders.md figures use.
var recsysPresets = map[string]map[string]string{
	"mf":       {"dim": "32", "l2": "0.2", "bias_l2": "0.02", "std": "0.01"},
	"twotower": {"dim": "32", "hidden": "64", "l2": "1", "std": "0.01", "side": "true"},
}

// The ratings data sets' defaults for -batch and -lr, used unless the flags are given.
const (
	ratingsBatch = 256
	ratingsLR    = 0.002
)

// parsePreset splits a model preset "name" or "name:key=value,key=value" and checks
// its keys against the preset's options. (A minimal parser: the rnn branch's preset
// parser may replace it.)
func parsePreset(s string) (name string, opts map[string]string, err error) {
	name, rest, _ := strings.Cut(s, ":")
	defaults, ok := recsysPresets[name]
	if !ok {
		return "", nil, fmt.Errorf("unknown preset %q", name)
	}
	opts = map[string]string{}
	for k, v := range defaults {
		opts[k] = v
	}
	if strings.TrimSpace(rest) == "" {
		return name, opts, nil
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, found := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if _, known := defaults[k]; !known {
			return "", nil, fmt.Errorf("-model %s: unknown option %q (want %s)", s, k, strings.Join(sortedKeys(defaults), ", "))
		}
		if !found || v == "" {
			return "", nil, fmt.Errorf("-model %s: option %s has no value (write %s=VALUE)", s, k, k)
		}
		if seen[k] {
			return "", nil, fmt.Errorf("-model %s: option %s given twice", s, k)
		}
		seen[k], opts[k] = true, v
	}
	return name, opts, nil
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// recsysPreset reports whether -model names a recommender preset.
func recsysPreset(model string) bool {
	name, _, _ := strings.Cut(model, ":")
	_, ok := recsysPresets[name]
	return ok
}

// checkRatingsFlags validates the flags of a ratings run (after -resume applied).
func checkRatingsFlags(o *options) error {
	bad := func(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }
	if !isRatings(o.dataset) {
		if recsysPreset(o.model) {
			return bad("-model %s is a recommender: it needs a ratings data set (-dataset insteval or ratings:FILE[:user=COL,item=COL,rating=COL])", o.model)
		}
		return nil
	}
	switch {
	case o.explicit["val-split"]:
		return bad("-val-split does not apply to %s: a ratings data set is split 80/10/10 (training, validation, test) by -seed", o.dataset)
	case o.augment > 0:
		return bad("-augment shifts images; %s holds ratings", o.dataset)
	case o.explicit["data"]:
		return bad("-data names the folder of IDX files; a ratings data set names its file in -dataset")
	case o.model == "mlp" && !o.explicit["model"] && o.ckpt.ck == nil:
		return bad("-dataset %s needs a recommender: -model mf[:dim=32,l2=0.2,bias_l2=0.02,std=0.01] or twotower[:dim=32,hidden=64,l2=1,std=0.01,side=true] (or a JSON file of one)", o.dataset)
	case presetModel(o.model):
		return bad("-model %s takes images or feature vectors; for %s use -model mf or twotower", o.model, o.dataset)
	}
	if recsysPreset(o.model) {
		if _, err := parsePresetOptions(o.model); err != nil {
			return err
		}
	}
	return nil
}

// ratingsDefaults gives a ratings run its -batch and -lr defaults when the command line
// names a ratings data set and not the flags (a resumed run takes them from its
// checkpoint instead).
func ratingsDefaults(fs *flag.FlagSet, given map[string]bool) error {
	if given["resume"] || !given["dataset"] || !isRatings(fs.Lookup("dataset").Value.String()) {
		return nil
	}
	for name, v := range map[string]string{"batch": strconv.Itoa(ratingsBatch), "lr": strconv.FormatFloat(ratingsLR, 'g', -1, 64)} {
		if !given[name] {
			if err := fs.Set(name, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// ratingsData is a ratings data set, split, with what a run needs of it.
type ratingsData struct {
	all, train, val, test *data.Ratings
	feat                  *recsys.Features
	valEval, testEval     *recsys.Evaluator
}

// loadRatings reads and splits the data set, and prepares the evaluators.
func loadRatings(dataset string, seed uint64, side bool, limit int) (*ratingsData, error) {
	all, err := data.LoadRatings(dataset)
	if err != nil {
		return nil, err
	}
	d := &ratingsData{all: all, feat: recsys.NewFeatures(all, side)}
	d.train, d.val, d.test = all.Split(seed)
	if d.val.N == 0 || d.test.N == 0 {
		return nil, fmt.Errorf("%s has %d ratings: too few for a training, a validation and a test part (80/10/10)", dataset, all.N)
	}
	if limit > 0 && limit < d.train.N {
		idx := make([]int, limit)
		for i := range idx {
			idx[i] = i
		}
		d.train = d.train.Rows(idx)
	}
	vs, ts := recsys.PartSeeds(seed)
	if d.valEval, err = recsys.NewEvaluator(all, d.val, recsys.DefaultNegatives, recsys.DefaultK, vs); err != nil {
		return nil, err
	}
	if d.testEval, err = recsys.NewEvaluator(all, d.test, recsys.DefaultNegatives, recsys.DefaultK, ts); err != nil {
		return nil, err
	}
	return d, nil
}

// idsFingerprint identifies a ratings file's id tables (the numbering of users and
// items by first appearance), so that recommend refuses a data file that numbers them
// otherwise than the one a model was trained on.
func idsFingerprint(r *data.Ratings) string {
	h := sha256.New()
	for _, ids := range [][]string{r.UserIDs, r.ItemIDs} {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(ids)))
		h.Write(n[:])
		for _, id := range ids {
			io.WriteString(h, id)
			h.Write([]byte{0})
		}
	}
	return fmt.Sprintf("%d users, %d items, sha256 %x", r.NumUsers(), r.NumItems(), h.Sum(nil)[:12])
}

// presetOptions are a recommender preset's options, parsed and checked.
type presetOptions struct {
	name            string
	dim, hidden     int
	l2, biasL2, std float64
	side            bool
}

// parsePresetOptions parses -model's preset and checks its values.
func parsePresetOptions(model string) (*presetOptions, error) {
	name, opts, err := parsePreset(model)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	p := &presetOptions{name: name}
	for _, f := range []struct {
		key      string
		v        *float64
		positive bool
	}{{"l2", &p.l2, false}, {"bias_l2", &p.biasL2, false}, {"std", &p.std, true}} {
		s, ok := opts[f.key]
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(v, 0) || !(v >= 0) || (f.positive && v == 0) {
			return nil, usageError{fmt.Sprintf("-model %s: %s=%s is not a %s number", model, f.key, s, map[bool]string{true: "positive", false: "non-negative"}[f.positive])}
		}
		*f.v = v
	}
	for _, f := range []struct {
		key string
		v   *int
	}{{"dim", &p.dim}, {"hidden", &p.hidden}} {
		s, ok := opts[f.key]
		if !ok {
			continue
		}
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			return nil, usageError{fmt.Sprintf("-model %s: %s=%s is not a positive whole number", model, f.key, s)}
		}
		*f.v = v
	}
	if s, ok := opts["side"]; ok {
		if p.side, err = strconv.ParseBool(s); err != nil {
			return nil, usageError{fmt.Sprintf("-model %s: side=%s is not true or false", model, s)}
		}
	}
	return p, nil
}

// sideOf reports whether -model uses side fields: twotower unless side=false, or a JSON
// model whose root is a TwoTower with fields.
func sideOf(model string) (bool, error) {
	if recsysPreset(model) {
		p, err := parsePresetOptions(model)
		if err != nil {
			return false, err
		}
		return p.side, nil
	}
	spec, err := nn.ReadSpecFile(model)
	if err != nil {
		return false, err
	}
	if tt, ok := spec.Root.(*nn.TwoTower); ok {
		return len(tt.UserFields)+len(tt.ItemFields) > 0, nil
	}
	return false, nil
}

// recsysSpec describes the model -model asks for, sized by the data.
func recsysSpec(model string, d *ratingsData) (*nn.Spec, error) {
	users, items, mean := d.all.NumUsers(), d.all.NumItems(), float32(d.train.Mean())
	if !recsysPreset(model) {
		spec, err := nn.ReadSpecFile(model)
		if err != nil {
			return nil, err
		}
		var u, i int
		switch m := spec.Root.(type) {
		case *nn.MF:
			u, i = m.Users, m.Items
		case *nn.TwoTower:
			u, i = m.Users, m.Items
		default:
			return nil, usageError{fmt.Sprintf("-model %s: a ratings data set needs a model whose root is mf or twotower, not %s", model, spec.Root.Kind())}
		}
		if u < users || i < items {
			return nil, usageError{fmt.Sprintf("-model %s has tables of %d users and %d items; %s has %d and %d", model, u, i, d.all.Name, users, items)}
		}
		spec.Input = []int{d.feat.Width()}
		return spec, nil
	}
	p, err := parsePresetOptions(model)
	if err != nil {
		return nil, err
	}
	var root nn.Module
	switch p.name {
	case "mf":
		root = &nn.MF{Users: users, Items: items, Dim: p.dim, Std: float32(p.std), Mean: mean, L2: float32(p.l2), BiasL2: float32(p.biasL2)}
	case "twotower":
		uf, itf := d.feat.Levels()
		root = &nn.TwoTower{Users: users, Items: items, UserFields: uf, ItemFields: itf, Dim: p.dim, Hidden: p.hidden,
			Std: float32(p.std), Mean: mean, L2: float32(p.l2)}
	}
	return &nn.Spec{Input: []int{d.feat.Width()}, Root: root}, nil
}

// recsysReport is the recommender part of the -json output.
type recsysReport struct {
	Users        int                `json:"users"`
	Items        int                `json:"items"`
	TrainRatings int                `json:"train_ratings"`
	ValRatings   int                `json:"val_ratings"`
	TestRatings  int                `json:"test_ratings"`
	Inputs       string             `json:"inputs"`
	Test         map[string]float64 `json:"test"`
	GlobalMean   map[string]float64 `json:"baseline_global_mean"`
	Biases       map[string]float64 `json:"baseline_biases"`
	BiasLambda   float64            `json:"baseline_biases_lambda"`
}

// ratingsEpochPrinter prints one line per epoch with the validation figures.
func ratingsEpochPrinter(o *options, k int, stdout io.Writer) train.Callback {
	return train.EpochFunc(func(e train.EpochStats) {
		m := e.Metrics
		fmt.Fprintf(stdout, "epoch %d/%d  loss %.4f  val_loss %.4f  val_rmse %.4f  val_mae %.4f  val_hr@%d %.4f  val_ndcg@%d %.4f  %.2fs (train %.2fs)  %.0f samples/s\n",
			e.Epoch, o.epochs, e.Loss, e.ValLoss, m["val_rmse"], m["val_mae"], k, m[fmt.Sprintf("val_hr@%d", k)], k, m[fmt.Sprintf("val_ndcg@%d", k)],
			e.Seconds, e.TrainSeconds, float64(e.Examples)/e.TrainSeconds)
	})
}

// trainRatings is train1 for a ratings data set. It trains on one process: the sparse
// tables' row sets are not merged across ranks (train.Trainer refuses them in a
// data-parallel Fit), so a multi-rank launch or -dist mpi|nccl is an error.
func trainRatings(o *options, stdout io.Writer) error {
	if l := comm.Detect(); l.Size > 1 || o.dist.kind == "mpi" || o.dist.kind == "nccl" {
		return usageError{fmt.Sprintf("%s trains on one process: data-parallel training of the recommenders' sparse tables is not supported (run without a launcher, -dist auto or none)", o.dataset)}
	}
	opt, err := train.NewOptimizer(o.optimizer, float32(o.lr))
	if err != nil {
		return setup(err)
	}
	opt.L2 = float32(o.l2)
	if opt.Decay, err = decayRule(o.tune.decay); err != nil {
		return err
	}
	dev, err := device.Open(o.device, device.Options{Threads: o.threads})
	if err != nil {
		return setup(err)
	}
	defer dev.Close()
	side, err := sideOf(o.model)
	if err != nil {
		return setup(err)
	}
	d, err := loadRatings(o.dataset, o.seed, side, o.limit)
	if err != nil {
		return setup(err)
	}
	spec, err := recsysSpec(o.model, d)
	if err != nil {
		return setup(err)
	}
	model, err := spec.Model()
	if err != nil {
		return setup(err)
	}
	tr := &train.Trainer{Model: model, Loss: &nn.MSE{}, Optimizer: opt, Dev: dev, BatchSize: o.batch, AccumSteps: o.tune.accumSteps, Seed: o.seed,
		ClipNorm: float32(o.conv.clipNorm)}
	trainSet, valSet := d.feat.Dataset(d.train), d.feat.Dataset(d.val)
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1)) // checkMemory may set it
	if err := checkMemory(o, tr, trainSet, train.Config{Validation: &valSet}, stdout); err != nil {
		return err
	}
	removeStale(o, func(s string) { fmt.Fprintln(stdout, s) })
	in := tensor.Shape{d.feat.Width()}
	if err := tr.Build(in); err != nil {
		return setup(err)
	}
	if err := o.tune.apply(tr, stdout); err != nil {
		return setup(err)
	}
	if err := restoreCheckpoint(o, tr, in, stdout); err != nil {
		return setup(err)
	}
	extra, err := o.conv.callbacks(o, tr, stdout)
	if err != nil {
		return setup(err)
	}
	o.ckpt.settings["ratings"] = idsFingerprint(d.all)
	fmt.Fprintf(stdout, "device %s\n", dev.Describe())
	fmt.Fprintf(stdout, "data %s: %d ratings of %d items by %d users; split 80/10/10 by seed %d: %d training, %d validation, %d test\n",
		d.all.Name, d.all.N, d.all.NumItems(), d.all.NumUsers(), o.seed, d.train.N, d.val.N, d.test.N)
	fmt.Fprintf(stdout, "%s\n", d.feat.Describe(d.all))
	desc := fmt.Sprintf("model %s: %s, %d trainable parameters; %s, batch %d, lr %g", o.model, nn.Describe(spec.Root), tr.Net().TrainableCount(),
		opt.Name(), o.batch, opt.LearningRate())
	fmt.Fprintln(stdout, desc)
	o.conv.describeModel(desc, tr.Net())
	hist, err := fit(o, tr, d.all.Name, trainSet, train.Config{
		Epochs: o.epochs, Validation: &valSet,
		Metrics: func(m *nn.Model) (map[string]float64, error) {
			s, err := d.valEval.Evaluate(recsys.ModelScorer(m, d.feat))
			if err != nil {
				return nil, err
			}
			return d.valEval.Metrics("val_", s), nil
		},
		Callbacks: append(extra, ratingsEpochPrinter(o, d.valEval.K(), stdout)),
	}, stdout)
	if err != nil {
		return err
	}
	// A file that cannot be written after all (a disk gone full) does not cost the test
	// evaluation: its error is returned at the end.
	finishErr := o.conv.finish(hist, fmt.Sprintf("gputrain on %s: %s, batch %d", d.all.Name, opt.Name(), o.batch), true, stdout)
	test, err := d.testEval.Evaluate(recsys.ModelScorer(tr.Net(), d.feat))
	if err != nil {
		return err
	}
	biases, _, err := recsys.TuneBiases(d.train, d.valEval)
	if err != nil {
		return err
	}
	sb, err := d.testEval.Evaluate(biases.Scorer())
	if err != nil {
		return err
	}
	sm, err := d.testEval.Evaluate(recsys.GlobalMean(d.train.Mean()))
	if err != nil {
		return err
	}
	k := d.testEval.K()
	line := func(name string, s recsys.Scores) {
		fmt.Fprintf(stdout, "%-28s rmse %.4f  mae %.4f  hr@%d %.4f  ndcg@%d %.4f\n", name, s.RMSE, s.MAE, k, s.HitRate, k, s.NDCG)
	}
	fmt.Fprintf(stdout, "test (%d ratings; ranking: %d users, each best test item against %d sampled unrated items)\n", test.Ratings, test.Users, recsys.DefaultNegatives)
	line("  "+strings.SplitN(o.model, ":", 2)[0], test)
	line("  baseline: user+item biases", sb)
	line("  baseline: global mean", sm)
	fmt.Fprintf(stdout, "  (biases: shrinkage λ %g chosen on the validation part from %v)\n", biases.Lambda, recsys.BiasLambdas)
	r := report{Device: dev.Name(), DeviceInfo: dev.Describe(), Epochs: o.epochs, Batch: o.batch,
		Optimizer: opt.Name(), LearningRate: float64(opt.LearningRate()), Seed: o.seed,
		Model: o.model, ModelSpec: spec, Dataset: d.all.Name, Threads: o.threads, TestLoss: test.RMSE * test.RMSE,
		History: hist.Epochs, Diagnosis: hist.Diagnose().String(),
		Recsys: &recsysReport{Users: d.all.NumUsers(), Items: d.all.NumItems(), TrainRatings: d.train.N, ValRatings: d.val.N,
			TestRatings: d.test.N, Inputs: d.feat.Describe(d.all), Test: d.testEval.Metrics("", test),
			GlobalMean: d.testEval.Metrics("", sm), Biases: d.testEval.Metrics("", sb), BiasLambda: biases.Lambda}}
	var examples int
	var seconds float64
	for _, e := range hist.Epochs {
		r.EpochSeconds = append(r.EpochSeconds, e.Seconds)
		r.TrainEpochSeconds = append(r.TrainEpochSeconds, e.TrainSeconds)
		examples += e.Examples
		seconds += e.Seconds
	}
	if len(hist.Epochs) > 0 {
		r.TrainExamples = hist.Epochs[0].Examples
		r.MedianEpochSec = median(r.EpochSeconds)
		r.SamplesPerSecond = float64(examples) / seconds
		fmt.Fprintf(stdout, "median epoch %.2fs (training steps %.2fs), %.0f samples/s\n", r.MedianEpochSec, median(r.TrainEpochSeconds), r.SamplesPerSecond)
	}
	if o.json {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
	}
	return finishErr
}
