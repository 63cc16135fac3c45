package main

// Text and sequence models: -dataset text:FILE, -context, -model gpt:…, -steps,
// -eval-every.
//
// A text data set trains a language model by optimizer steps instead of epochs: each
// step draws -batch random windows of -context characters (bytes) from the first 90%
// of the file (train/data's TextStream, seeded by -seed) and the model learns to
// predict each next character. Every -eval-every steps, and after the last, the
// validation loss is computed over the whole last 10% of the file cut into
// non-overlapping windows: val_loss is the mean per-character cross-entropy in nats,
// and bits per character is val_loss/ln 2, so that runs compare across engines.
//
//	-model gpt[:layers=4,heads=4,dim=128,context=64,dropout=0,bias=false]
//	-model lstm[:hidden=128,layers=1]   (or gru: an embedding, the recurrent layers, a Linear head per step; -context 64)
//
// is nanoGPT's GPT (nn.GPT) with these defaults (its CPU recipe's model), trained as
// nanoGPT trains it unless the flags say otherwise: AdamW (lr 1e-3, β 0.9/0.99, ε 1e-8,
// weight decay 0.1 on matrices only), 100 warm-up steps (a tenth of runs of 100 steps or fewer) and a cosine down to 1e-4 at
// the last step (-warmup counts steps, -lr-schedule cosine:FLOOR), gradient clipping
// at 1.0. The vocabulary, the sorted set of the file's distinct bytes, is stored in
// checkpoints, which `gputrain sample` (sample.go) generates text from.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/comm"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/data"
)

// textOptions are the flags of this file.
type textOptions struct {
	steps     int
	evalEvery int
	context   int
}

func (t *textOptions) register(fs *flag.FlagSet) {
	intFlag(fs, &t.steps, "steps", 0, atLeast(1).orZero("not set (data sets of examples train by -epochs)"), "train a text model for `N` optimizer steps (text data trains by steps, not epochs)")
	intFlag(fs, &t.evalEvery, "eval-every", 250, atLeast(1).orZero("after the last step only"), "with -steps: compute the validation loss every `N` steps and after the last")
	intFlag(fs, &t.context, "context", 0, atLeast(1).orZero("the model's context"), "text data: windows of `N` characters")
}

// isText reports whether the run trains a text model (-dataset text:FILE).
func isText(o *options) bool { return strings.HasPrefix(o.dataset, "text:") }

// isTextModel reports whether name is a text model preset (-model gpt[:…]).
func isTextModel(name string) bool { return name == "gpt" || strings.HasPrefix(name, "gpt:") }

// recurrentTextContext is the window of -model lstm or gru on text (nn.RecurrentLMSpec)
// when -context does not say.
const recurrentTextContext = 64

// gptDefaults is -model gpt's configuration when the flag gives no other values:
// nanoGPT's CPU recipe.
var gptDefaults = nn.GPT{Layers: 4, Heads: 4, Dim: 128, Context: 64}

// parseGPT reads -model gpt[:key=value,…] (layers, heads, dim, context, dropout, bias).
func parseGPT(name string) (*nn.GPT, error) {
	g := gptDefaults
	rest, ok := strings.CutPrefix(name, "gpt")
	if !ok || (rest != "" && !strings.HasPrefix(rest, ":")) {
		return nil, usageError{fmt.Sprintf("-model %q is not gpt[:key=value,…]", name)}
	}
	bad := func(why string) error {
		return usageError{fmt.Sprintf("-model %q: %s (want gpt:layers=4,heads=4,dim=128,context=64[,dropout=0][,bias=false])", name, why)}
	}
	kvs, why := keyValues(strings.TrimPrefix(rest, ":"))
	if why != "" {
		return nil, bad(why)
	}
	for _, kv := range kvs {
		k, v := kv[0], kv[1]
		switch k {
		case "layers", "heads", "dim", "context":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, bad(fmt.Sprintf("%s=%s is not a positive whole number", k, v))
			}
			*map[string]*int{"layers": &g.Layers, "heads": &g.Heads, "dim": &g.Dim, "context": &g.Context}[k] = n
		case "dropout":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f >= 0 && f < 1) {
				return nil, bad(fmt.Sprintf("dropout=%s is not in [0, 1)", v))
			}
			g.Dropout = float32(f)
		case "bias":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, bad(fmt.Sprintf("bias=%s is not true or false", v))
			}
			g.Bias = b
		default:
			return nil, bad(fmt.Sprintf("unknown key %q", k))
		}
	}
	if g.Dim%g.Heads != 0 {
		return nil, bad(fmt.Sprintf("dim=%d is not a multiple of heads=%d", g.Dim, g.Heads))
	}
	return &g, nil
}

// textRecipe is what a text model preset is trained with for steps steps when the
// flags do not say otherwise, flag by flag: 100 warm-up steps (a tenth of a run of 100
// steps or fewer).
func textRecipe(model string, steps int) map[string]string {
	if !isTextModel(model) && !isRecurrentModel(model) {
		return nil
	}
	warmup := 100
	if steps <= 100 {
		warmup = steps / 10
	}
	if isRecurrentModel(model) {
		// char-rnn's recipe: Adam (no weight decay) at 2e-3, clipped
		return map[string]string{"optimizer": "adam", "lr": "0.002", "clip-norm": "1", "lr-schedule": "cosine:0.0001", "warmup": strconv.Itoa(warmup)}
	}
	return map[string]string{"optimizer": "adamw", "lr": "0.001", "clip-norm": "1", "lr-schedule": "cosine:0.0001", "warmup": strconv.Itoa(warmup)}
}

// applyTextDefaults checks the flags of a text run and sets the recipe's values of
// the flags neither the command line nor -resume's checkpoint gave (then records the
// run's settings again, for checkpoints). It runs after applyResume.
func applyTextDefaults(fs *flag.FlagSet, o *options) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if ck := o.ckpt.ck; ck != nil {
		// A resumed run's flags are the checkpoint's, including those it stored at
		// their defaults (applyResume leaves those unset): no recipe value replaces them.
		for name := range ck.Settings.Flags {
			set[name] = true
		}
	}
	if !isText(o) {
		for _, name := range []string{"steps", "eval-every", "context"} {
			if o.explicit[name] {
				return usageError{fmt.Sprintf("-%s applies to text data (-dataset text:FILE), not %s", name, o.dataset)}
			}
		}
		if isTextModel(o.model) {
			return usageError{fmt.Sprintf("-model %s is a text model: give -dataset text:FILE", o.model)}
		}
		return nil
	}
	if k := o.dist.kind; k == "mpi" || k == "nccl" {
		return usageError{fmt.Sprintf("-dist %s: text models train in one process (data-parallel training takes data sets of examples)", k)}
	}
	if l := comm.Detect(); l.Size > 1 {
		return usageError{fmt.Sprintf("-dataset %s: text models train in one process, but the launcher started %d ranks", o.dataset, l.Size)}
	}
	for _, name := range []string{"epochs", "val-split", "hidden", "augment", "limit", "data"} {
		if o.explicit[name] {
			return usageError{fmt.Sprintf("-%s does not apply to text data (%s trains by -steps on its first 90%%, and validates on the rest)", name, o.dataset)}
		}
	}
	if !set["model"] {
		if err := fs.Set("model", "gpt"); err != nil {
			return err
		}
	}
	if !isTextModel(o.model) && !isRecurrentModel(o.model) {
		return usageError{fmt.Sprintf("-dataset %s trains a text model: -model must be gpt[:…], lstm[:…] or gru[:…], not %s", o.dataset, o.model)}
	}
	if isTextModel(o.model) {
		if _, err := parseGPT(o.model); err != nil {
			return err
		}
	}
	for name, v := range textRecipe(o.model, o.text.steps) {
		if !set[name] {
			if err := fs.Set(name, v); err != nil {
				return err
			}
		}
	}
	switch t := o.text; {
	case t.steps <= 0:
		return usageError{fmt.Sprintf("text data trains by steps: give -steps N (N > 0), got %d", t.steps)}
	case t.evalEvery < 0:
		return usageError{fmt.Sprintf("-eval-every must not be negative, got %d", t.evalEvery)}
	case t.context < 0:
		return usageError{fmt.Sprintf("-context must not be negative, got %d", t.context)}
	}
	recordSettings(fs, o)
	return nil
}

// textReport is the -json output of a text run.
type textReport struct {
	Device       string             `json:"device"`
	DeviceInfo   string             `json:"device_info"`
	Model        string             `json:"model"`
	ModelSpec    *nn.Spec           `json:"model_spec"`
	Dataset      string             `json:"dataset"`
	Vocab        int                `json:"vocab"`
	Context      int                `json:"context"`
	Steps        int                `json:"steps"`
	Batch        int                `json:"batch"`
	Optimizer    string             `json:"optimizer"`
	LearningRate float64            `json:"lr"`
	Seed         uint64             `json:"seed"`
	Threads      int                `json:"threads,omitempty"`
	Precision    string             `json:"precision"`
	Parameters   int                `json:"parameters"`
	Loss         float64            `json:"loss"`
	ValLoss      float64            `json:"val_loss"`
	BitsPerChar  float64            `json:"bits_per_char"`
	StepMS       float64            `json:"step_ms"`
	ValWindows   int                `json:"val_windows"`
	Seconds      float64            `json:"seconds"`
	History      []train.EpochStats `json:"history"`
}

// trainText is train1 for text data.
func trainText(o *options, stdout io.Writer) error {
	var gpt *nn.GPT
	ctxLen := o.text.context
	if isRecurrentModel(o.model) {
		if ctxLen == 0 {
			ctxLen = recurrentTextContext
		}
	} else {
		var err error
		if gpt, err = parseGPT(o.model); err != nil {
			return setup(err)
		}
		if ctxLen == 0 {
			ctxLen = gpt.Context
		}
		if ctxLen > gpt.Context {
			return setup(usageError{fmt.Sprintf("-context %d is longer than the model's context=%d (its learned positions)", ctxLen, gpt.Context)})
		}
	}
	text, err := data.LoadText(strings.TrimPrefix(o.dataset, "text:"), ctxLen)
	if err != nil {
		return setup(err)
	}
	vocab := text.Vocab.Size()
	var root nn.Module = gpt
	if gpt != nil {
		gpt.Vocab = vocab
	} else {
		r, err := parseRecurrent(o.model)
		if err != nil {
			return setup(err)
		}
		spec, err := nn.RecurrentLMSpec(r.cell, r.hidden, r.layers, vocab, ctxLen)
		if err != nil {
			return setup(err)
		}
		root = spec.Root
	}
	if ck := o.ckpt.ck; ck != nil && string(ck.Settings.Vocab) != string(text.Vocab.Bytes) {
		return setup(fmt.Errorf("-resume %s: the checkpoint's vocabulary (%d bytes) is not %s's (%d bytes): the file changed", ck.Path, len(ck.Settings.Vocab), o.dataset, text.Vocab.Size()))
	}
	opt, err := train.NewOptimizer(o.optimizer, float32(o.lr))
	if err != nil {
		return setup(err)
	}
	opt.L2 = float32(o.l2)
	if opt.Decay, err = decayRule(o.tune.decay); err != nil {
		return err
	}
	if opt.Op == device.AdamW || opt.Op == device.Adam {
		// nanoGPT's AdamW: β2 0.99, PyTorch's ε; weight decay 0.1 (on matrices, -decay)
		opt.Hyper.Beta2, opt.Hyper.Eps = 0.99, 1e-8
		if opt.Op == device.AdamW {
			opt.Hyper.WeightDecay = 0.1
		}
	}
	dev, err := device.Open(o.device, device.Options{Threads: o.threads})
	if err != nil {
		return setup(err)
	}
	defer dev.Close()
	spec := &nn.Spec{Input: []int{ctxLen}, Root: root}
	model, err := spec.Model()
	if err != nil {
		return setup(err)
	}
	tr := &train.Trainer{Model: model, Loss: &nn.SequenceCrossEntropy{}, Optimizer: opt,
		Dev: dev, BatchSize: o.batch, AccumSteps: o.tune.accumSteps, Seed: o.seed, Precision: o.precision}
	if err := tr.Build([]int{ctxLen}); err != nil {
		return setup(err)
	}
	if err := o.tune.apply(tr, stdout); err != nil {
		return setup(err)
	}
	if err := restoreCheckpoint(o, tr, []int{ctxLen}, stdout); err != nil {
		return setup(err)
	}
	if ck := o.ckpt.ck; ck != nil {
		done := ck.Progress.OptimizerSteps
		if sc := ck.Progress.Scaler; sc != nil {
			done += sc.Skipped // fp16 steps the loss scaler skipped count as steps too
		}
		if done >= o.text.steps {
			return setup(usageError{fmt.Sprintf("-resume: %s has trained %d steps; -steps %d trains nothing more", ck.Path, done, o.text.steps)})
		}
	}
	callbacks, err := o.conv.stepCallbacks(o, tr)
	if err != nil {
		return setup(err)
	}
	fmt.Fprintf(stdout, "device %s\n", dev.Describe())
	if o.precision != device.FP32 {
		fmt.Fprintf(stdout, "precision %s\n", describePrecision(o.precision))
	}
	fmt.Fprintf(stdout, "data %s: %d characters (%d distinct), the first %d train and the last %d validate (%d windows of %d)\n",
		o.dataset, len(text.Train)+len(text.Val), text.Vocab.Size(), len(text.Train), len(text.Val), text.ValWindows(), ctxLen)
	desc := fmt.Sprintf("model %s: vocabulary %d, context %d, %d trainable parameters", o.model, vocab, ctxLen, tr.Net().TrainableCount())
	fmt.Fprintln(stdout, desc)
	o.conv.describeModel(desc, tr.Net())
	printer := train.EpochFunc(func(e train.EpochStats) {
		line := fmt.Sprintf("step %d/%d  loss %.4f", e.Step, o.text.steps, e.Loss)
		if e.HasValidation {
			line += fmt.Sprintf("  val_loss %.4f  (%.3f bits/char)", e.ValLoss, e.ValLoss/math.Ln2)
		}
		if e.LossScale != 0 {
			line += fmt.Sprintf("  loss_scale %g  skipped %d", e.LossScale, e.SkippedSteps)
		}
		fmt.Fprintf(stdout, "%s  lr %.3g  %.1f ms/step\n", line, e.LearningRate, e.StepMS)
	})
	hist, err := fitSteps(o, tr, text, train.StepConfig{Steps: o.text.steps, EvalEvery: o.text.evalEvery,
		Callbacks: append(callbacks, printer)}, stdout)
	if err != nil {
		return err
	}
	if len(hist.Epochs) == 0 {
		return errors.New("no step was trained")
	}
	if err := o.conv.finish(hist, fmt.Sprintf("gputrain on %s: %s, batch %d", o.dataset, o.model, o.batch), true, stdout); err != nil {
		return err
	}
	last := hist.Epochs[len(hist.Epochs)-1]
	r := textReport{Device: dev.Name(), DeviceInfo: dev.Describe(), Model: o.model, ModelSpec: spec, Dataset: o.dataset,
		Vocab: vocab, Context: ctxLen, Steps: o.text.steps, Batch: o.batch, Optimizer: opt.Name(),
		LearningRate: o.lr, Seed: o.seed, Threads: o.threads, Precision: o.precision.String(), Parameters: tr.Net().TrainableCount(),
		Loss: last.Loss, ValLoss: last.ValLoss, BitsPerChar: last.ValLoss / math.Ln2,
		StepMS: train.MedianMillis(tr.StepMillis()), ValWindows: text.ValWindows(), History: hist.Epochs}
	for _, e := range hist.Epochs {
		r.Seconds += e.Seconds
	}
	fmt.Fprintf(stdout, "validation loss %.4f nats/char (%.3f bits/char) over %d windows; median step %.2f ms\n",
		r.ValLoss, r.BitsPerChar, r.ValWindows, r.StepMS)
	if o.json {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, string(b))
	}
	return nil
}
