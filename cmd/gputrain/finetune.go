package main

// Fine-tuning and the optimizer step's shape: -init, -freeze, -accum-steps, -decay.
//
// -init FILE loads, before training, every tensor of a safetensors file (a gputrain
// checkpoint or a file written by PyTorch) whose name and shape match the model's, and
// prints the names loaded, missing, unexpected and mismatched, as PyTorch's
// load_state_dict(strict=False) reports them. -freeze PREFIX[,PREFIX…] keeps the
// parameters under those names out of the optimizer. -accum-steps N sums N batches'
// gradients into each optimizer step. -decay says which parameters -l2 and AdamW's
// weight decay apply to.

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/checkpoint"
)

// finetuneOptions are the flags of this file.
type finetuneOptions struct {
	init       string
	freeze     []string
	accumSteps int
	decay      string
}

func (f *finetuneOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&f.init, "init", "", "initialize the model from the tensors of `FILE.safetensors` (a checkpoint, or PyTorch's safetensors) that match by name and shape; prints what loaded")
	fs.Var((*prefixList)(&f.freeze), "freeze", "keep the parameters under these names out of training: `PREFIX[,PREFIX…]` (\"0\" is module 0's weight and bias; see the summary's module column)")
	intFlag(fs, &f.accumSteps, "accum-steps", 1, atLeast(1), "sum the gradients of `N` batches into each optimizer step (an effective batch N times -batch)")
	fs.StringVar(&f.decay, "decay", "matrices", "parameters that -l2 and adamw's weight decay apply to: matrices (2 or more dimensions: not biases or normalization scales), all or none")
}

// prefixList is a comma-separated flag value.
type prefixList []string

func (l *prefixList) String() string { return strings.Join(*l, ",") }

func (l *prefixList) Set(s string) error {
	*l = nil
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// check validates the flags once parsed.
func (f *finetuneOptions) check(o *options) error {
	switch {
	case f.init != "" && o.ckpt.resume != "":
		return usageError{"-init starts a new run from a file's weights; -resume continues a run: give one of them"}
	}
	if _, err := decayRule(f.decay); err != nil {
		return err
	}
	return nil
}

// decayRule is -decay's rule.
func decayRule(name string) (func(*nn.Param) bool, error) {
	switch name {
	case "matrices":
		return train.DecayMatrices, nil
	case "all":
		return train.DecayAll, nil
	case "none":
		return train.DecayNone, nil
	}
	return nil, usageError{fmt.Sprintf("-decay %q: want matrices, all or none", name)}
}

// apply loads -init's weights into the built model and freezes -freeze's parameters,
// reporting both on stdout.
func (f *finetuneOptions) apply(tr *train.Trainer, stdout io.Writer) error {
	m := tr.Net()
	if f.init != "" {
		r, err := checkpoint.LoadWeights(m, f.init, false)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "init from %s: loaded %d tensors", f.init, len(r.Loaded))
		for _, l := range []struct {
			what  string
			names []string
		}{{"missing (kept their initial values)", r.Missing}, {"unexpected (ignored)", r.Unexpected}, {"mismatched (not loaded)", r.Mismatched}} {
			if len(l.names) > 0 {
				fmt.Fprintf(stdout, "; %s: %s", l.what, strings.Join(l.names, ", "))
			}
		}
		fmt.Fprintln(stdout)
	}
	if len(f.freeze) > 0 {
		before := m.TrainableCount()
		names, err := m.Freeze(f.freeze...)
		if err != nil {
			return usageError{"-freeze: " + strings.TrimPrefix(err.Error(), "nn: freeze: ")}
		}
		fmt.Fprintf(stdout, "frozen: %s (%d values); training %d values\n", strings.Join(names, ", "), before-m.TrainableCount(), m.TrainableCount())
	}
	return nil
}
