// Package checkpoint saves and restores training runs in the safetensors format, so
// that a run can be resumed bit for bit and its weights loaded by PyTorch.
//
// A checkpoint file holds:
//
//   - the model's parameters and state under the names nn.Sequential gives them, which
//     are those of PyTorch's state_dict() for the equivalent torch.nn.Sequential
//     ("0.weight", "0.bias", "3.running_mean"…), F32; each BatchNorm also gets
//     "<module>.num_batches_tracked" (I64 scalar: the training steps taken), as PyTorch
//     has it, so that load_state_dict(strict=True) accepts the model part as it is;
//   - the optimizer's per-parameter state as "optimizer.<param>.<slot>"
//     ("optimizer.0.weight.m"), names no PyTorch module has: a PyTorch user drops the
//     keys that start with "optimizer.";
//   - in the header's "__metadata__" (string to string): "format" "pt" (what PyTorch
//     tools look for) and, JSON-encoded, the run's Settings ("gputrain.settings"), the
//     layer list ("gputrain.layers"), the optimizer's name, hyper-parameters and step
//     count ("gputrain.optimizer") and train.Progress ("gputrain.progress").
//
// Save captures a Trainer and writes the file atomically (a temporary file in the same
// directory, fsync, rename): a failed save leaves the previous checkpoint untouched.
// Open reads a file into host memory and checks it; Restore then checks it against a
// Trainer (names, shapes, layers, optimizer) before it writes anything, so that a
// checkpoint that does not fit changes nothing, and resumes the run where it stopped.
//
// The safetensors codec (Encode, Decode) is this package's own: the format is an
// 8-byte little-endian header length, a JSON header and raw little-endian data.
package checkpoint

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
	"github.com/gputrain/gputrain/train"
)

// The metadata keys of a checkpoint.
const (
	keyFormat    = "format"
	keyVersion   = "gputrain.version"
	keySettings  = "gputrain.settings"
	keyLayers    = "gputrain.layers"
	keyOptimizer = "gputrain.optimizer"
	keyProgress  = "gputrain.progress"
)

// maxInput bounds the per-example input size a checkpoint may ask Restore to build a
// model for (2^24 values: 64 MiB per example).
const maxInput = 1 << 24

// inputLen is the product of shape, saturating at maxInput+1.
func inputLen(shape []int) int {
	n := 1
	for _, d := range shape {
		if d > maxInput || n*d > maxInput {
			return maxInput + 1
		}
		n *= d
	}
	return n
}

// version is the checkpoint layout this package writes and reads.
const version = "1"

// OptimizerPrefix starts the names of the optimizer's state tensors.
const OptimizerPrefix = "optimizer."

// numBatchesTracked is the suffix of PyTorch's BatchNorm step counter.
const numBatchesTracked = "num_batches_tracked"

// Settings describe the run a checkpoint belongs to: what is needed to build the same
// model and go on training it the same way.
type Settings struct {
	// Model and Dataset describe the model and the data in the caller's words (the
	// command line's -model and -dataset).
	Model   string `json:"model"`
	Dataset string `json:"dataset"`
	// Input is the per-example input shape, Loss the loss's name; Save fills them in.
	Input []int  `json:"input"`
	Loss  string `json:"loss"`
	// Seed and BatchSize are the Trainer's; Save fills them in.
	Seed      uint64 `json:"seed"`
	BatchSize int    `json:"batch_size"`
	// Flags holds caller-defined settings, such as the command-line flags a resumed
	// run must reuse.
	Flags map[string]string `json:"flags,omitempty"`
}

// OptimizerState is the optimizer part of a checkpoint's metadata.
type OptimizerState struct {
	Name         string  `json:"name"`
	LearningRate float32 `json:"lr"`
	Steps        int     `json:"steps"`
	// Hyper and L2 are train.Optim's; nil for other optimizers.
	Hyper *device.Hyper `json:"hyper,omitempty"`
	L2    float32       `json:"l2,omitempty"`
}

// Checkpoint is a checkpoint file read into host memory: its tensors and its parsed
// metadata.
type Checkpoint struct {
	// Path is the file it was read from ("" when parsed from bytes).
	Path      string
	File      *File
	Settings  Settings
	Layers    []string
	Optimizer OptimizerState
	Progress  train.Progress
}

// Save writes tr's model, optimizer state and progress, with s, to path, atomically.
// It can be called from a callback during Fit or after Fit returns. s.Input, s.Loss,
// s.Seed and s.BatchSize are taken from tr. The model must be built; the optimizer's
// state is allocated if it is not yet.
func Save(path string, tr *train.Trainer, s Settings) error {
	f, err := Capture(tr, s)
	if err != nil {
		return err
	}
	return WriteFile(path, f)
}

// Capture copies tr's state to the host as the content of a checkpoint file (see
// Save).
func Capture(tr *train.Trainer, s Settings) (*File, error) {
	if tr == nil || tr.Model == nil || !tr.Model.Built() || tr.Optimizer == nil || tr.Loss == nil {
		return nil, fmt.Errorf("checkpoint: save needs a Trainer with a built model, a loss and an optimizer")
	}
	m := tr.Model
	if err := tr.Optimizer.Allocate(m.Device(), m.Params()); err != nil {
		return nil, fmt.Errorf("checkpoint: optimizer state: %w", err)
	}
	p := tr.Progress()
	s.Input = slices.Clone([]int(m.InputShape()))
	s.Loss = tr.Loss.Name()
	s.Seed = tr.Seed
	s.BatchSize = tr.BatchSize
	if s.BatchSize == 0 {
		s.BatchSize = 32
	}
	f := &File{Metadata: map[string]string{keyFormat: "pt", keyVersion: version}}
	for _, t := range expected(tr) {
		v := t.value
		if v == nil { // num_batches_tracked: the model's training steps
			f.Tensors = append(f.Tensors, Tensor{Name: t.name, DType: I64, Shape: []int{}, I64: []int64{int64(p.ModelStep)}})
			continue
		}
		data, err := v.Float32s()
		if err != nil {
			return nil, fmt.Errorf("checkpoint: reading %s from the device: %w", t.name, err)
		}
		f.Tensors = append(f.Tensors, Tensor{Name: t.name, DType: F32, Shape: slices.Clone([]int(v.Shape())), F32: data})
	}
	opt := OptimizerState{Name: tr.Optimizer.Name(), LearningRate: tr.Optimizer.LearningRate(), Steps: tr.Optimizer.Iterations()}
	if o, ok := tr.Optimizer.(*train.Optim); ok {
		h := o.Hyper
		h.Step = 0
		opt.Hyper, opt.L2 = &h, o.L2
	}
	for key, v := range map[string]any{keySettings: s, keyLayers: Layers(m), keyOptimizer: opt, keyProgress: p} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: metadata %s: %w", key, err)
		}
		f.Metadata[key] = string(b)
	}
	return f, nil
}

// Layers describes each layer of m in one line ("dense 128 relu", "conv2d 32 k3 s1 p0
// relu"), as the checkpoint records them to tell models apart whose tensors have the
// same names and shapes (another activation, another pooling).
func Layers(m *nn.Sequential) []string {
	out := make([]string, len(m.Layers))
	for i, l := range m.Layers {
		out[i] = describeLayer(l)
	}
	return out
}

func describeLayer(l nn.Layer) string {
	act := func(a nn.Activation, slope float32) string {
		if a == nn.LeakyReLU {
			if slope == 0 {
				slope = nn.DefaultLeakySlope
			}
			return fmt.Sprintf("%s %g", a, slope)
		}
		return a.String()
	}
	switch l := l.(type) {
	case *nn.Dense:
		return fmt.Sprintf("dense %d %s", l.Units, act(l.Act, l.Slope))
	case *nn.Conv2D:
		return fmt.Sprintf("conv2d %d k%d s%d p%d %s", l.Filters, l.Kernel, max(l.Stride, 1), l.Padding, act(l.Act, l.Slope))
	case *nn.Pool2D:
		s := l.Stride
		if s == 0 {
			s = l.Size
		}
		return fmt.Sprintf("%s k%d s%d p%d", l.Kind(), l.Size, s, l.Padding)
	case *nn.BatchNorm:
		m, e := l.Momentum, l.Eps
		if m == 0 {
			m = 0.1
		}
		if e == 0 {
			e = 1e-5
		}
		return fmt.Sprintf("batchnorm momentum %g eps %g", m, e)
	case *nn.Dropout:
		return fmt.Sprintf("dropout %g", l.Rate)
	case *nn.ActivationLayer:
		return act(l.Fn, l.Slope)
	}
	return l.Kind()
}

// want is a tensor a checkpoint of a given Trainer holds: a model parameter or state,
// a BatchNorm counter (value nil) or an optimizer slot.
type want struct {
	name     string
	value    *tensor.Tensor
	optional bool
}

// expected lists the tensors of a checkpoint of tr, in file order: the model's in
// layer order (each BatchNorm's counter after its running_var), then the optimizer's.
func expected(tr *train.Trainer) []want {
	var out []want
	for _, l := range tr.Model.Layers {
		ps := l.Params()
		for _, p := range ps {
			out = append(out, want{name: p.Name, value: p.Value})
		}
		if _, ok := l.(*nn.BatchNorm); ok && len(ps) > 0 {
			prefix := ps[0].Name[:strings.LastIndexByte(ps[0].Name, '.')+1]
			out = append(out, want{name: prefix + numBatchesTracked, optional: true})
		}
	}
	for _, p := range tr.Optimizer.State() {
		out = append(out, want{name: OptimizerPrefix + p.Name, value: p.Value})
	}
	return out
}

// Open reads the checkpoint at path into host memory and parses its metadata. Its
// errors start "checkpoint: <path>: " and name the problem: an unreadable, truncated or
// corrupt file (see Decode), a file that is not a gputrain checkpoint, or metadata that
// does not parse.
func Open(path string) (*Checkpoint, error) {
	f, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := parse(f)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// Parse decodes a checkpoint from the bytes of a file (see Open).
func Parse(b []byte) (*Checkpoint, error) {
	f, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	c, err := parse(f)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return c, nil
}

func parse(f *File) (*Checkpoint, error) {
	c := &Checkpoint{File: f}
	if f.Metadata[keyVersion] == "" {
		return nil, fmt.Errorf("not a gputrain checkpoint (no %q in the header's metadata)", keyVersion)
	}
	if v := f.Metadata[keyVersion]; v != version {
		return nil, fmt.Errorf("checkpoint layout version %q, this program reads %q", truncate(v), version)
	}
	for _, m := range []struct {
		key string
		v   any
	}{{keySettings, &c.Settings}, {keyLayers, &c.Layers}, {keyOptimizer, &c.Optimizer}, {keyProgress, &c.Progress}} {
		s, ok := f.Metadata[m.key]
		if !ok {
			return nil, fmt.Errorf("metadata %q is missing", m.key)
		}
		if err := json.Unmarshal([]byte(s), m.v); err != nil {
			return nil, fmt.Errorf("metadata %q: %w", m.key, err)
		}
	}
	p, s := c.Progress, c.Settings
	switch {
	case p.Epoch < 1 || p.Batch < 0 || p.OptimizerSteps < 0:
		return nil, fmt.Errorf("metadata %q: bad position: epoch %d, batch %d, optimizer steps %d", keyProgress, p.Epoch, p.Batch, p.OptimizerSteps)
	case c.Optimizer.Steps != p.OptimizerSteps:
		return nil, fmt.Errorf("metadata: the optimizer has taken %d steps but the progress says %d", c.Optimizer.Steps, p.OptimizerSteps)
	case s.BatchSize <= 0:
		return nil, fmt.Errorf("metadata %q: batch size %d", keySettings, s.BatchSize)
	case tensor.Shape(s.Input).Check() != nil:
		return nil, fmt.Errorf("metadata %q: input shape %v: %v", keySettings, s.Input, tensor.Shape(s.Input).Check())
	case inputLen(s.Input) > maxInput:
		return nil, fmt.Errorf("metadata %q: input shape %v has more than %d values per example", keySettings, s.Input, maxInput)
	}
	return c, nil
}

// Restore loads the checkpoint into tr and makes tr's next Fit continue the run where
// it stopped (train.Trainer.Resume): the model's parameters and state, the optimizer's
// state, hyper-parameters, learning rate and step count, the model's step counter, the
// position in the epoch and the history.
//
// tr needs a Model, Loss, Optimizer and Dev, with the checkpoint's seed and batch size.
// An unbuilt model is built for the checkpoint's input shape (at most maxInput values
// per example); to take nothing from a file but values, build it first (Trainer.Build)
// for the data's shape, which Restore then compares. Everything is checked before
// anything is written, so that on error tr's model and optimizer hold what they held
// (the model may have been built, and the optimizer's state allocated, zeroed, as its
// first step would). The error names what does not fit: seed, batch size, loss, input shape,
// optimizer, a layer (as Layers describes it), or tensors missing, unexpected or of
// another shape or dtype, with the checkpoint's and the model's values.
func (c *Checkpoint) Restore(tr *train.Trainer) error {
	if err := c.restore(tr, true); err != nil {
		return fmt.Errorf("checkpoint: %s: %w", c.name(), err)
	}
	return nil
}

// RestoreModel loads only the model's parameters and state into tr's model, checked as
// Restore does; the optimizer and the position are left alone (to fine-tune or
// evaluate from a checkpoint).
func (c *Checkpoint) RestoreModel(tr *train.Trainer) error {
	if err := c.restore(tr, false); err != nil {
		return fmt.Errorf("checkpoint: %s: %w", c.name(), err)
	}
	return nil
}

func (c *Checkpoint) name() string {
	if c.Path == "" {
		return "checkpoint"
	}
	return c.Path
}

func (c *Checkpoint) restore(tr *train.Trainer, resume bool) error {
	if tr == nil || tr.Model == nil || tr.Loss == nil || tr.Optimizer == nil || tr.Dev == nil {
		return fmt.Errorf("restore needs a Trainer with a Model, a Loss, an Optimizer and a Dev")
	}
	s := c.Settings
	bs := tr.BatchSize
	if bs == 0 {
		bs = 32
	}
	var problems []string
	if resume {
		if tr.Seed != s.Seed {
			problems = append(problems, fmt.Sprintf("seed %d in the checkpoint, %d in the trainer", s.Seed, tr.Seed))
		}
		if bs != s.BatchSize {
			problems = append(problems, fmt.Sprintf("batch size %d in the checkpoint, %d in the trainer", s.BatchSize, bs))
		}
		if tr.Optimizer.Name() != c.Optimizer.Name {
			problems = append(problems, fmt.Sprintf("optimizer %s in the checkpoint, %s in the trainer", c.Optimizer.Name, tr.Optimizer.Name()))
		}
		if _, ok := tr.Optimizer.(*train.Optim); ok && c.Optimizer.Hyper == nil {
			problems = append(problems, fmt.Sprintf("the checkpoint has no hyper-parameters for optimizer %s", c.Optimizer.Name))
		}
	}
	if tr.Loss.Name() != s.Loss {
		problems = append(problems, fmt.Sprintf("loss %s in the checkpoint, %s in the trainer", s.Loss, tr.Loss.Name()))
	}
	if tr.Model.Built() && !tr.Model.InputShape().Equal(s.Input) {
		problems = append(problems, fmt.Sprintf("input shape %v in the checkpoint, %v in the model", tensor.Shape(s.Input), tr.Model.InputShape()))
	}
	if len(problems) > 0 {
		return fmt.Errorf("does not fit this run: %s", strings.Join(problems, "; "))
	}
	if !tr.Model.Built() {
		if err := tr.Build(s.Input); err != nil {
			return err
		}
	}
	if resume {
		if err := tr.Optimizer.Allocate(tr.Dev, tr.Model.Params()); err != nil {
			return fmt.Errorf("optimizer state: %w", err)
		}
	}

	// Compare every tensor, then the layers, before writing anything.
	wants := expected(tr)
	type write struct {
		value *tensor.Tensor
		data  []float32
	}
	var writes []write
	var bad, unexpected, layers []string
	known := map[string]bool{}
	for _, w := range wants {
		if !resume && strings.HasPrefix(w.name, OptimizerPrefix) {
			continue
		}
		known[w.name] = true
		t := c.File.Tensor(w.name)
		if t == nil {
			if !w.optional {
				bad = append(bad, fmt.Sprintf("tensor %s is missing", w.name))
			}
			continue
		}
		if w.value == nil { // num_batches_tracked: PyTorch's counter, checked, not used
			if t.DType != I64 || len(t.Shape) != 0 || t.I64[0] < 0 {
				bad = append(bad, fmt.Sprintf("tensor %s is %s %v, want a non-negative I64 scalar", w.name, t.DType, t.Shape))
			}
			continue
		}
		if t.DType != F32 {
			bad = append(bad, fmt.Sprintf("tensor %s has dtype %s in the checkpoint, want F32", w.name, t.DType))
			continue
		}
		if !w.value.Shape().Equal(t.Shape) {
			bad = append(bad, fmt.Sprintf("tensor %s has shape %v in the checkpoint, %v in the model", w.name, tensor.Shape(t.Shape), w.value.Shape()))
			continue
		}
		writes = append(writes, write{w.value, t.F32})
	}
	for _, t := range c.File.Tensors {
		if !known[t.Name] && (resume || !strings.HasPrefix(t.Name, OptimizerPrefix)) {
			unexpected = append(unexpected, t.Name)
		}
	}
	have := Layers(tr.Model)
	for i := 0; i < max(len(have), len(c.Layers)); i++ {
		switch {
		case i >= len(c.Layers):
			layers = append(layers, fmt.Sprintf("layer %d (%s) is not in the checkpoint, which has %d layers", i, have[i], len(c.Layers)))
		case i >= len(have):
			layers = append(layers, fmt.Sprintf("the checkpoint's layer %d (%s) is not in the model, which has %d layers", i, c.Layers[i], len(have)))
		case have[i] != c.Layers[i]:
			layers = append(layers, fmt.Sprintf("layer %d is %q in the checkpoint, %q in the model", i, c.Layers[i], have[i]))
		}
	}
	problems = append(problems, atMost(bad, 4, "tensor problems")...)
	if len(unexpected) > 0 {
		sort.Strings(unexpected)
		problems = append(problems, "unexpected tensors "+strings.Join(atMost(unexpected, 6, ""), ", "))
	}
	problems = append(problems, atMost(layers, 3, "layer differences")...)
	if len(problems) > 0 {
		return fmt.Errorf("does not fit the model: %s", strings.Join(problems, "; "))
	}

	for _, w := range writes {
		if err := w.value.SetFloat32s(w.data); err != nil {
			return err
		}
	}
	if !resume {
		return nil
	}
	if o, ok := tr.Optimizer.(*train.Optim); ok {
		o.Hyper, o.L2 = *c.Optimizer.Hyper, c.Optimizer.L2
	}
	tr.Optimizer.SetLearningRate(c.Optimizer.LearningRate)
	return tr.Resume(c.Progress)
}

// atMost returns the first n of list, followed by "and k more <what>" if it is longer.
func atMost(list []string, n int, what string) []string {
	if len(list) <= n {
		return list
	}
	return append(slices.Clone(list[:n]), strings.TrimSpace(fmt.Sprintf("and %d more %s", len(list)-n, what)))
}
