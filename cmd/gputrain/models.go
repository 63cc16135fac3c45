package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
	"github.com/gputrain/gputrain/train/data"
)

// modelOptions are the flags that choose the data set and the model.
type modelOptions struct {
	model   string // mlp, cnn, resnet or a JSON file
	dataset string // mnist, fashion-mnist or csv:FILE…
	augment int    // largest random shift in pixels; 0: none
	// explicit records the flags given on the command line (not those -resume set).
	explicit map[string]bool
}

// addModelFlags registers -model, -dataset and -augment on fs.
func addModelFlags(fs *flag.FlagSet, o *modelOptions) {
	fs.StringVar(&o.model, "model", "mlp", "model: mlp (dense layers of -hidden widths), cnn (a LeNet-style convolutional network), resnet (a small residual network), lstm[:hidden=128,layers=1] or gru[:…] (recurrent layers then a dense head on the last state; images are read row by row, see docs/rnn.md), for ratings mf[:dim=32,l2=0.2,bias_l2=0.02,std=0.01] (matrix factorization) or twotower[:dim=32,hidden=64,l2=1,std=0.01,side=true], a JSON model description file (see docs/cnn.md, docs/recommenders.md), or for text data gpt[:layers=4,heads=4,dim=128,context=64,dropout=0] (nanoGPT's GPT, see docs/text.md)")
	fs.StringVar(&o.dataset, "dataset", "mnist", "data set: mnist, fashion-mnist, csv:FILE[:label=COL][:test=FILE] (features and a label column; without test= the last 10% of the shuffled rows are the test set), ratings: insteval or ratings:FILE[:user=COL,item=COL,rating=COL] (split 80/10/10 by -seed), or text:FILE (a text for a character-level language model, trained by -steps; make data-text writes "+data.DefaultTextFile+")")
	intFlag(fs, &o.augment, "augment", 0, atLeast(0), "augment training images with random shifts of up to `N` pixels (and left-right mirroring for fashion-mnist, not for digits); 0: none")
}

// checkModelFlags validates the flags of addModelFlags after fs.Parse and -resume.
func checkModelFlags(o *options) error {
	switch {
	case o.model == "":
		return usageError{"-model must name mlp, cnn, resnet or a JSON file"}
	case o.explicit["hidden"] && o.model != "mlp":
		return usageError{fmt.Sprintf("-hidden applies to -model mlp only, not %s", o.model)}
	case o.explicit["data"] && strings.HasPrefix(o.dataset, "csv:"):
		return usageError{"-data names the folder of IDX files; a csv data set names its file in -dataset csv:FILE"}
	}
	if isRecurrentModel(o.model) {
		if _, err := parseRecurrent(o.model); err != nil {
			return err
		}
	}
	if !presetModel(o.model) && !recsysPreset(o.model) {
		if _, err := os.Stat(o.model); err != nil {
			return usageError{fmt.Sprintf("-model %q is not mlp, cnn, resnet, mf or twotower, and not a readable file: %v", o.model, err)}
		}
	}
	return checkRatingsFlags(o) // recsys.go
}

// loadSet reads the data set the flags name, cut to -limit training examples.
func loadSet(o *options) (*data.Set, error) {
	set, err := data.Load(o.dataset, data.LoadOptions{Dir: o.dataDir, Seed: o.seed})
	if err != nil {
		return nil, err
	}
	if o.limit > 0 {
		if set.Train, err = set.Train.Head(o.limit); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// presetModel reports whether name is a built-in model rather than a JSON file.
func presetModel(name string) bool {
	return name == "mlp" || name == "cnn" || name == "resnet" || isTextModel(name) || isRecurrentModel(name)
}

// isRecurrentModel reports whether name is a recurrent preset (-model lstm[:…] or gru[:…]).
func isRecurrentModel(name string) bool {
	cell, _, _ := strings.Cut(name, ":")
	return cell == "lstm" || cell == "gru"
}

// recurrentModel is a -model lstm[:hidden=128,layers=1] or gru[:…] preset.
type recurrentModel struct {
	cell           string
	hidden, layers int
}

// keyValues splits a -model preset's options, "key=value,key=value" (empty items
// ignored), into their pairs in order; why, when not empty, says what is wrong with the
// first item that is not key=value or names a key already given.
func keyValues(opts string) (kvs [][2]string, why string) {
	seen := map[string]bool{}
	for _, kv := range strings.Split(opts, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, found := strings.Cut(kv, "=")
		if !found {
			return nil, fmt.Sprintf("%q is not key=value", kv)
		}
		if seen[k] {
			return nil, fmt.Sprintf("%s given twice", k)
		}
		seen[k] = true
		kvs = append(kvs, [2]string{k, v})
	}
	return kvs, ""
}

// parseRecurrent reads -model lstm[:key=value,…] or gru[:…] (hidden, layers; defaults
// 128 and 1).
func parseRecurrent(name string) (recurrentModel, error) {
	cell, rest, _ := strings.Cut(name, ":")
	m := recurrentModel{cell: cell, hidden: 128, layers: 1}
	bad := func(why string) error {
		return usageError{fmt.Sprintf("-model %q: %s (want %s:hidden=128[,layers=1])", name, why, cell)}
	}
	kvs, why := keyValues(rest)
	if why != "" {
		return m, bad(why)
	}
	for _, kv := range kvs {
		k, v := kv[0], kv[1]
		n, err := strconv.Atoi(v)
		switch {
		case k != "hidden" && k != "layers":
			return m, bad(fmt.Sprintf("unknown key %q", k))
		case err != nil || n <= 0:
			return m, bad(fmt.Sprintf("%s=%s is not a positive whole number", k, v))
		case k == "hidden":
			m.hidden = n
		default:
			m.layers = n
		}
	}
	return m, nil
}

// modelSpec describes the model the flags ask for, for examples of set's shape.
func modelSpec(o *options, set *data.Set) (*nn.Spec, error) {
	shape := set.Train.Shape()
	images := len(shape) == 3
	var spec *nn.Spec
	var err error
	model := o.model
	if isRecurrentModel(model) {
		model, _, _ = strings.Cut(model, ":")
	}
	switch model {
	case "mlp":
		spec = nn.MLPSpec(tensor.Shape(shape).Len(), o.hidden, set.Classes)
		if o.augment > 0 && images {
			// Shift the images, then flatten them for the dense layers.
			spec.Input = shape
			seq := spec.Root.(*nn.Sequential)
			seq.Layers = append([]nn.Module{nn.NewFlatten()}, seq.Layers...)
		}
	case "cnn", "resnet":
		preset := nn.CNNSpec
		if o.model == "resnet" {
			preset = nn.ResNetSpec
		}
		if spec, err = preset(shape, set.Classes); err != nil {
			return nil, fmt.Errorf("%w (%s examples have shape %v: use -model mlp, or a JSON model that starts with a reshape layer)", err, set.Name, shape)
		}
	case "lstm", "gru":
		r, err := parseRecurrent(o.model)
		if err != nil {
			return nil, err
		}
		if spec, err = nn.RecurrentSpec(r.cell, r.hidden, r.layers, shape, set.Classes); err != nil {
			return nil, fmt.Errorf("%w (%s examples have shape %v)", err, set.Name, shape)
		}
	default:
		if spec, err = nn.ReadSpecFile(o.model); err != nil {
			return nil, err
		}
		if spec.Input == nil {
			spec.Input = shape
		}
		for i, l := range spec.Layers() {
			if l.Kind() == "random_shift" && o.augment > 0 {
				return nil, usageError{fmt.Sprintf("-augment: the model %s already augments its input (layer %d is a random_shift)", o.model, i)}
			}
		}
	}
	if o.augment > 0 {
		if len(spec.Input) != 3 {
			return nil, usageError{fmt.Sprintf("-augment shifts images, but the model takes examples of shape %v (want channels, height, width)", spec.Input)}
		}
		shift := nn.NewRandomShift(o.augment, set.Mirror)
		if seq, ok := spec.Root.(*nn.Sequential); ok && seq.Names == nil {
			seq.Layers = append([]nn.Module{shift}, seq.Layers...)
		} else {
			// A random shift is no module of the PyTorch model: it numbers nothing.
			spec.Root = nn.NewSequential(shift, spec.Root)
		}
	}
	return spec, nil
}

// shapeFor views set's examples with the model's input shape.
func shapeFor(set *data.Set, spec *nn.Spec, model string) error {
	tr, err := set.Train.Reshape(spec.Input...)
	if err != nil {
		return fmt.Errorf("-model %s takes examples of shape %v (%d values), but %s has examples of shape %v (%d values)",
			model, spec.Input, tensor.Shape(spec.Input).Len(), set.Name, set.Train.Shape(), tensor.Shape(set.Train.Shape()).Len())
	}
	te, err := set.Test.Reshape(spec.Input...)
	if err != nil {
		return err
	}
	set.Train, set.Test = tr, te
	return nil
}

// describeModel is the one line the program prints about the model.
func describeModel(o *options, m *nn.Model, set *data.Set) string {
	s := fmt.Sprintf("model %s: %d modules on input %v, %d trainable parameters", o.model, len(m.Modules())-1, m.InputShape(), m.TrainableCount())
	if o.augment > 0 {
		s += fmt.Sprintf("; augmentation: random shifts of up to %d pixels", o.augment)
		if set.Mirror {
			s += " and left-right mirroring"
		}
	}
	return s
}
