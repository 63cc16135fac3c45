// Package checkpoint saves and restores training runs in the safetensors format, so
// that a run can be resumed bit for bit, its model rebuilt without the code that made
// it, and its weights loaded by PyTorch.
//
// A checkpoint file holds:
//
//   - the model's state under the names nn.Model gives it (Model.StateDict), which are
//     those of PyTorch's state_dict() for the equivalent torch.nn.Module ("0.weight",
//     "blocks.1.body.0.weight", "3.running_mean"…), F32; a tied parameter under each
//     of its names; BatchNorm's counter "<module>.num_batches_tracked" as an I64
//     scalar (the training steps taken), so that load_state_dict(strict=True) accepts
//     the model part as it is;
//   - the optimizer's per-parameter state as "optimizer.<param>.<slot>"
//     ("optimizer.0.weight.m"), and the state of the training callbacks that have some
//     (train.Stateful) as "train.<key>.<name>" ("train.early_stopping.0.weight": the
//     best epoch's weights), names no PyTorch module has: a PyTorch user drops the keys
//     that start with "optimizer." or "train.";
//   - in the header's "__metadata__" (string to string): "format" "pt" (what PyTorch
//     tools look for), the layout version ("gputrain.version"), the version of the
//     gputrain that wrote the file ("gputrain.writer": internal/version.Version, such
//     as v1.2.0, a pseudo-version, or "(devel)" for a build without one), and, JSON-encoded, the
//     run's Settings ("gputrain.settings"), the model's description as an nn.Spec
//     ("gputrain.spec": enough to rebuild the model, LoadModel), one line per module
//     ("gputrain.modules"), the optimizer's name, hyper-parameters and step count
//     ("gputrain.optimizer") and train.Progress ("gputrain.progress").
//
// Save captures a Trainer and writes the file atomically (a temporary file in the same
// directory, fsync, rename): a failed save leaves the previous checkpoint untouched.
// Open reads a file into host memory and checks it; Restore then checks it against a
// Trainer (names, shapes, modules, optimizer) before it writes anything, so that a
// checkpoint that does not fit changes nothing, and resumes the run where it stopped.
// LoadModel rebuilds a model from a checkpoint alone (to predict); LoadWeights loads
// the tensors of any safetensors file, ours or PyTorch's, that match a model by name
// and shape (to fine-tune).
//
// Layout versions: 2 (this one) adds the spec and the module lines; files of layout 1
// (which described the layers of a Sequential in "gputrain.layers") still load, with
// their tensors checked by name and shape. A file of a newer layout is refused with an
// error that names the gputrain version that wrote it and this one's; so is a file
// from a newer gputrain whose contents this one does not understand (a module type it
// does not know).
//
// The safetensors codec (Encode, Decode) is this package's own: the format is an
// 8-byte little-endian header length, a JSON header and raw little-endian data.
package checkpoint

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/gputrain/gputrain/device"
	binver "github.com/gputrain/gputrain/internal/version"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
	"github.com/gputrain/gputrain/train"
)

// The metadata keys of a checkpoint.
const (
	keyFormat    = "format"
	keyVersion   = "gputrain.version"
	keyWriter    = "gputrain.writer"
	keySettings  = "gputrain.settings"
	keySpec      = "gputrain.spec"
	keyModules   = "gputrain.modules"
	keyLayers    = "gputrain.layers" // layout 1
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

// version is the checkpoint layout this package writes; it reads it and version1.
const (
	version  = "2"
	version1 = "1"
)

// binaryVersion is the version of the running gputrain (version.Version); tests
// replace it.
var binaryVersion = binver.Version

// OptimizerPrefix starts the names of the optimizer's state tensors.
const OptimizerPrefix = "optimizer."

// CallbackPrefix starts the names of the tensors of the training callbacks' state
// (train.Stateful): "train.<key>.<name>", such as "train.early_stopping.0.weight", the
// best epoch's weights that early stopping puts back at the end. Like the optimizer's,
// no PyTorch module has them: a PyTorch user keeps the keys that start with neither.
const CallbackPrefix = "train."

// trainingState reports whether a tensor name is the optimizer's or a callback's, not
// the model's.
func trainingState(name string) bool {
	return strings.HasPrefix(name, OptimizerPrefix) || strings.HasPrefix(name, CallbackPrefix)
}

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
	// Ranks is the number of ranks of the data-parallel job that saved the run (its
	// Trainer's Comm; absent, 0, for one process); Save fills it in. BatchSize is then
	// per rank, and a run resumes only with as many ranks.
	Ranks int `json:"ranks,omitempty"`
	// Flags holds caller-defined settings, such as the command-line flags a resumed
	// run must reuse.
	Flags map[string]string `json:"flags,omitempty"`
	// Vocab is a text model's vocabulary: the bytes its token ids stand for, in id
	// order (train/data's Vocab.Bytes), so that a checkpoint alone can encode a prompt
	// and decode what the model writes. Empty for other models.
	Vocab []byte `json:"vocab,omitempty"`
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
	Path    string
	File    *File
	Version string // the layout version
	// Writer is the version of the gputrain that wrote the file ("gputrain.writer":
	// v1.2.0, a pseudo-version, "(devel)"); "" for files written before it was
	// recorded.
	Writer   string
	Settings Settings
	// Spec describes the model (nil in layout 1 files).
	Spec *nn.Spec
	// Modules describes each module of the model in one line (Modules); Layers, in
	// layout 1 files, each layer of the Sequential.
	Modules   []string
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
	if tr == nil || tr.Net() == nil || tr.Optimizer == nil || tr.Loss == nil {
		return nil, fmt.Errorf("checkpoint: save needs a Trainer with a built model, a loss and an optimizer")
	}
	m := tr.Net()
	if err := tr.Optimizer.Allocate(m.Device(), m.Params()); err != nil {
		return nil, fmt.Errorf("checkpoint: optimizer state: %w", err)
	}
	spec, err := nn.SpecOf(m)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: describing the model: %w", err)
	}
	p, err := tr.State()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	s.Input = slices.Clone([]int(m.InputShape()))
	s.Loss = tr.Loss.Name()
	s.Seed = tr.Seed
	s.BatchSize = tr.BatchSize
	s.Ranks = 0
	if tr.Comm != nil && tr.Comm.Size() > 1 {
		s.Ranks = tr.Comm.Size()
	}
	if s.BatchSize == 0 {
		s.BatchSize = 32
	}
	f := &File{Metadata: map[string]string{keyFormat: "pt", keyVersion: version, keyWriter: binaryVersion(), keySpec: string(mustJSON(spec))}}
	tensors, err := capture(m, tr.Optimizer)
	if err != nil {
		return nil, err
	}
	f.Tensors = tensors
	keys := slices.Sorted(maps.Keys(p.Callbacks))
	for _, key := range keys {
		for _, x := range p.Callbacks[key].Tensors {
			if len(x.Data) != tensor.Shape(x.Shape).Len() {
				return nil, fmt.Errorf("checkpoint: state tensor %s of %s: %d values for shape %v", x.Name, key, len(x.Data), x.Shape)
			}
			f.Tensors = append(f.Tensors, Tensor{Name: CallbackPrefix + key + "." + x.Name, DType: F32, Shape: slices.Clone(x.Shape), F32: x.Data})
		}
	}
	opt := OptimizerState{Name: tr.Optimizer.Name(), LearningRate: tr.Optimizer.LearningRate(), Steps: tr.Optimizer.Iterations()}
	if o, ok := tr.Optimizer.(*train.Optim); ok {
		h := o.Hyper
		h.Step = 0
		opt.Hyper, opt.L2 = &h, o.L2
	}
	for key, v := range map[string]any{keySettings: s, keyModules: Modules(m), keyOptimizer: opt, keyProgress: p} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: metadata %s: %w", key, err)
		}
		f.Metadata[key] = string(b)
	}
	return f, nil
}

func mustJSON(s *nn.Spec) []byte {
	b, err := s.MarshalJSON()
	if err != nil { // SpecOf succeeded, so the modules encode
		panic(err)
	}
	return b
}

// capture reads the model's state (every name of its StateDict) and the optimizer's
// to the host, in file order.
func capture(m *nn.Model, opt train.Optimizer) ([]Tensor, error) {
	var out []Tensor
	for _, w := range expected(m, opt) {
		if w.count != nil {
			out = append(out, Tensor{Name: w.name, DType: I64, Shape: []int{}, I64: []int64{w.count()}})
			continue
		}
		data, err := w.value.Float32s()
		if err != nil {
			return nil, fmt.Errorf("checkpoint: reading %s from the device: %w", w.name, err)
		}
		out = append(out, Tensor{Name: w.name, DType: F32, Shape: slices.Clone([]int(w.value.Shape())), F32: data})
	}
	return out, nil
}

// Modules describes each module of m in one line, "<path>: <kind and configuration>"
// ("0: dense units=128 activation=relu"), as checkpoints record them to tell models
// apart whose tensors have the same names and shapes (another activation, another
// pooling).
func Modules(m *nn.Model) []string {
	var out []string
	for _, mi := range m.Modules() {
		path := mi.Path
		if path == "" {
			path = "(root)"
		}
		out = append(out, path+": "+nn.Describe(mi.Module))
	}
	return out
}

// want is a tensor a checkpoint of a given model holds: a model parameter or state,
// a counter (value nil, count set), or an optimizer slot. optional ones may be
// missing from a file: counters, and the second and later names of a tied parameter.
type want struct {
	name     string
	value    *tensor.Tensor
	count    func() int64
	optional bool
	alias    bool
}

// expected lists the tensors of a checkpoint of m and opt (nil: the model alone), in
// file order: the model's in build order, then the optimizer's.
func expected(m *nn.Model, opt train.Optimizer) []want {
	var out []want
	seen := map[*nn.Param]bool{}
	for _, e := range m.StateDict() {
		p := e.Param
		w := want{name: e.Name, value: p.Value, count: p.Count}
		if p.Value == nil {
			w.optional = true
		} else if seen[p] {
			w.optional, w.alias = true, true
		}
		seen[p] = true
		out = append(out, w)
	}
	if opt != nil {
		for _, p := range opt.State() {
			out = append(out, want{name: OptimizerPrefix + p.Name, value: p.Value})
		}
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
	c := &Checkpoint{File: f, Writer: f.Metadata[keyWriter]}
	v := f.Metadata[keyVersion]
	if v == "" {
		return nil, fmt.Errorf("not a gputrain checkpoint (no %q in the header's metadata)", keyVersion)
	}
	if v != version && v != version1 {
		if n, err := strconv.Atoi(v); err == nil && n > must(strconv.Atoi(version)) {
			return nil, fmt.Errorf("checkpoint layout %s, written by %s, is newer than this gputrain %s reads (layouts %s and %s): upgrade gputrain to load it",
				v, c.writer(), binaryVersion(), version1, version)
		}
		return nil, fmt.Errorf("checkpoint layout %q, written by %s, is not one this gputrain %s reads (layouts %s and %s)",
			truncate(v), c.writer(), binaryVersion(), version1, version)
	}
	c.Version = v
	if err := c.parseMetadata(); err != nil {
		return nil, c.fromNewer(err)
	}
	return c, nil
}

func must(n int, err error) int {
	if err != nil {
		panic(err)
	}
	return n
}

// writer names the gputrain that wrote the file, for messages.
func (c *Checkpoint) writer() string {
	if c.Writer == "" {
		return "a gputrain that did not record its version"
	}
	return "gputrain " + truncate(c.Writer)
}

// fromNewer adds to err, when a newer gputrain than this one wrote the file, that it
// did and both versions: what it wrote may be what this one does not know. A
// development build ("(devel)") has no version to compare and gets no such advice.
func (c *Checkpoint) fromNewer(err error) error {
	ours := binaryVersion()
	if err == nil || !binver.Valid(c.Writer) || !binver.Valid(ours) || binver.Compare(c.Writer, ours) <= 0 {
		return err
	}
	return fmt.Errorf("%w (the file was written by gputrain %s, newer than this gputrain %s: upgrade gputrain to load it)",
		err, truncate(c.Writer), ours)
}

// parseMetadata reads the metadata of a file of a known layout.
func (c *Checkpoint) parseMetadata() error {
	f, v := c.File, c.Version
	keys := []struct {
		key string
		v   any
	}{{keySettings, &c.Settings}, {keyOptimizer, &c.Optimizer}, {keyProgress, &c.Progress}}
	if v == version1 {
		keys = append(keys, struct {
			key string
			v   any
		}{keyLayers, &c.Layers})
	} else {
		keys = append(keys, struct {
			key string
			v   any
		}{keyModules, &c.Modules})
	}
	for _, m := range keys {
		s, ok := f.Metadata[m.key]
		if !ok {
			return fmt.Errorf("metadata %q is missing", m.key)
		}
		if err := json.Unmarshal([]byte(s), m.v); err != nil {
			return fmt.Errorf("metadata %q: %w", m.key, err)
		}
	}
	if v != version1 {
		raw, ok := f.Metadata[keySpec]
		if !ok {
			return fmt.Errorf("metadata %q is missing", keySpec)
		}
		spec, err := nn.ParseSpec(strings.NewReader(raw))
		if err != nil {
			return fmt.Errorf("metadata %q: %w", keySpec, err)
		}
		c.Spec = spec
	}
	// The callbacks' tensors, in file order, back into their states.
	for _, t := range f.Tensors {
		key, name, ok := strings.Cut(strings.TrimPrefix(t.Name, CallbackPrefix), ".")
		if !strings.HasPrefix(t.Name, CallbackPrefix) {
			continue
		}
		st, known := c.Progress.Callbacks[key]
		if !ok || !known {
			return fmt.Errorf("tensor %s: no callback state %q in metadata %q", t.Name, key, keyProgress)
		}
		if t.DType != F32 {
			return fmt.Errorf("tensor %s has dtype %s, want F32", t.Name, t.DType)
		}
		st.Tensors = append(st.Tensors, train.StateTensor{Name: name, Shape: slices.Clone(t.Shape), Data: t.F32})
		c.Progress.Callbacks[key] = st
	}
	p, s := c.Progress, c.Settings
	switch {
	case p.Epoch < 1 || p.Batch < 0 || p.OptimizerSteps < 0:
		return fmt.Errorf("metadata %q: bad position: epoch %d, batch %d, optimizer steps %d", keyProgress, p.Epoch, p.Batch, p.OptimizerSteps)
	case c.Optimizer.Steps != p.OptimizerSteps:
		return fmt.Errorf("metadata: the optimizer has taken %d steps but the progress says %d", c.Optimizer.Steps, p.OptimizerSteps)
	case s.BatchSize <= 0:
		return fmt.Errorf("metadata %q: batch size %d", keySettings, s.BatchSize)
	case tensor.Shape(s.Input).Check() != nil:
		return fmt.Errorf("metadata %q: input shape %v: %v", keySettings, s.Input, tensor.Shape(s.Input).Check())
	case inputLen(s.Input) > maxInput:
		return fmt.Errorf("metadata %q: input shape %v has more than %d values per example", keySettings, s.Input, maxInput)
	}
	return nil
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
		return fmt.Errorf("checkpoint: %s: %w", c.name(), c.fromNewer(err))
	}
	return nil
}

// RestoreModel loads only the model's parameters and state into tr's model, checked as
// Restore does; the optimizer and the position are left alone (to fine-tune or
// evaluate from a checkpoint).
func (c *Checkpoint) RestoreModel(tr *train.Trainer) error {
	if err := c.restore(tr, false); err != nil {
		return fmt.Errorf("checkpoint: %s: %w", c.name(), c.fromNewer(err))
	}
	return nil
}

// ranksOf is the number of ranks tr trains with.
func ranksOf(tr *train.Trainer) int {
	if tr.Comm == nil {
		return 1
	}
	return tr.Comm.Size()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (c *Checkpoint) name() string {
	if c.Path == "" {
		return "checkpoint"
	}
	return c.Path
}

func (c *Checkpoint) restore(tr *train.Trainer, resume bool) error {
	if tr == nil || tr.Model == nil || tr.Loss == nil || tr.Dev == nil || (resume && tr.Optimizer == nil) {
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
		if saved, have := max(s.Ranks, 1), ranksOf(tr); saved != have {
			problems = append(problems, fmt.Sprintf("saved by a job of %d rank%s (global batch %d = %d × %d), this one has %d: resume with %d rank%s (each epoch's steps and the examples of each rank follow from the number of ranks)",
				saved, plural(saved), saved*s.BatchSize, saved, s.BatchSize, have, saved, plural(saved)))
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
	if m := tr.Net(); m != nil && !m.InputShape().Equal(s.Input) {
		problems = append(problems, fmt.Sprintf("input shape %v in the checkpoint, %v in the model", tensor.Shape(s.Input), m.InputShape()))
	}
	if len(problems) > 0 {
		return fmt.Errorf("does not fit this run: %s", strings.Join(problems, "; "))
	}
	if tr.Net() == nil {
		if err := tr.Build(s.Input); err != nil {
			return err
		}
	}
	m := tr.Net()
	var opt train.Optimizer
	if resume {
		if err := tr.Optimizer.Allocate(tr.Dev, m.Params()); err != nil {
			return fmt.Errorf("optimizer state: %w", err)
		}
		opt = tr.Optimizer
	}
	if err := c.load(m, opt); err != nil {
		return err
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

// load checks every tensor of m (and opt's state, when opt is not nil) against the
// file, and the modules against the file's descriptions, then writes them; nothing is
// written if anything does not fit.
func (c *Checkpoint) load(m *nn.Model, opt train.Optimizer) error {
	type write struct {
		value *tensor.Tensor
		data  []float32
	}
	var writes []write
	var bad, unexpected []string
	known := map[string]bool{}
	for _, w := range expected(m, opt) {
		known[w.name] = true
		t := c.File.Tensor(w.name)
		if t == nil {
			if !w.optional {
				bad = append(bad, fmt.Sprintf("tensor %s is missing", w.name))
			}
			continue
		}
		if w.value == nil { // a counter (num_batches_tracked): checked, not used
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
		if w.alias {
			continue // the same tensor as an earlier name: loaded once
		}
		writes = append(writes, write{w.value, t.F32})
	}
	for _, t := range c.File.Tensors {
		if !known[t.Name] && !strings.HasPrefix(t.Name, CallbackPrefix) && (opt != nil || !strings.HasPrefix(t.Name, OptimizerPrefix)) {
			unexpected = append(unexpected, t.Name)
		}
	}
	var problems []string
	problems = append(problems, atMost(bad, 4, "tensor problems")...)
	if len(unexpected) > 0 {
		sort.Strings(unexpected)
		problems = append(problems, "unexpected tensors "+strings.Join(atMost(unexpected, 6, ""), ", "))
	}
	if c.Version != version1 {
		problems = append(problems, atMost(moduleDiffs(Modules(m), c.Modules), 3, "module differences")...)
	}
	if len(problems) > 0 {
		return fmt.Errorf("does not fit the model: %s", strings.Join(problems, "; "))
	}
	for _, w := range writes {
		if err := w.value.SetFloat32s(w.data); err != nil {
			return err
		}
	}
	return nil
}

// moduleDiffs compares the module lines of a model with a checkpoint's.
func moduleDiffs(have, saved []string) []string {
	var out []string
	for i := 0; i < max(len(have), len(saved)); i++ {
		switch {
		case i >= len(saved):
			out = append(out, fmt.Sprintf("module %q is not in the checkpoint, which has %d modules", have[i], len(saved)))
		case i >= len(have):
			out = append(out, fmt.Sprintf("the checkpoint's module %q is not in the model, which has %d modules", saved[i], len(have)))
		case have[i] != saved[i]:
			out = append(out, fmt.Sprintf("module %q in the checkpoint, %q in the model", saved[i], have[i]))
		}
	}
	return out
}

// LoadInto loads the checkpoint's model state into m, a model built the way the
// checkpoint's was (the same modules, names and shapes), checked as Restore checks it;
// the optimizer's state is left out.
func (c *Checkpoint) LoadInto(m *nn.Model) error {
	if m == nil || !m.Built() {
		return fmt.Errorf("checkpoint: %s: load into a model that is not built", c.name())
	}
	if err := c.load(m, nil); err != nil {
		return fmt.Errorf("checkpoint: %s: %w", c.name(), c.fromNewer(err))
	}
	return nil
}

// LoadModel rebuilds the checkpoint's model on dev from its description, for batches
// of up to maxBatch (the checkpoint's batch size when 0), and loads its weights and
// state: a model ready to Predict, without a Trainer, a loss or an optimizer. A
// layout-1 checkpoint holds no description: build the model the way it was made and
// call LoadWeights.
func (c *Checkpoint) LoadModel(dev device.Backend, maxBatch int) (*nn.Model, error) {
	if c.Spec == nil {
		return nil, fmt.Errorf("checkpoint: %s: layout %s holds no model description (build the model and use LoadWeights)", c.name(), c.Version)
	}
	if maxBatch <= 0 {
		maxBatch = c.Settings.BatchSize
	}
	root, err := c.Spec.Model()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", c.name(), c.fromNewer(err))
	}
	m := nn.NewModel(root)
	if err := m.Build(dev, tensor.Shape(c.Settings.Input), maxBatch, c.Settings.Seed); err != nil {
		return nil, fmt.Errorf("checkpoint: %s: building its model: %w", c.name(), c.fromNewer(err))
	}
	m.Context().Step = c.Progress.ModelStep
	if err := c.load(m, nil); err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", c.name(), c.fromNewer(err))
	}
	return m, nil
}

// LoadReport says what LoadWeights did, as PyTorch's load_state_dict(strict=False)
// does: the model's names loaded and missing from the file, the file's names the model
// does not have, and the names whose shape or dtype differ (not loaded).
type LoadReport struct {
	Loaded, Missing, Unexpected, Mismatched []string
}

// LoadWeights loads into m every tensor of the safetensors file at path (a gputrain
// checkpoint or a file written by PyTorch's safetensors) whose name and shape match one
// of m's (Model.StateDict; counters and optimizer state are skipped). With strict, any
// missing, unexpected or mismatched name is an error and nothing is loaded. The report
// lists each kind of name, sorted.
func LoadWeights(m *nn.Model, path string, strict bool) (*LoadReport, error) {
	if m == nil || !m.Built() {
		return nil, fmt.Errorf("checkpoint: load weights: the model is not built")
	}
	f, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &LoadReport{}
	type write struct {
		value *tensor.Tensor
		data  []float32
	}
	var writes []write
	have := map[string]bool{}
	for _, w := range expected(m, nil) {
		if w.value == nil {
			have[w.name] = true // counters: accepted, not loaded
			continue
		}
		have[w.name] = true
		t := f.Tensor(w.name)
		switch {
		case t == nil:
			r.Missing = append(r.Missing, w.name)
		case t.DType != F32:
			r.Mismatched = append(r.Mismatched, fmt.Sprintf("%s (dtype %s, want F32)", w.name, t.DType))
		case !w.value.Shape().Equal(t.Shape):
			r.Mismatched = append(r.Mismatched, fmt.Sprintf("%s (shape %v in the file, %v in the model)", w.name, tensor.Shape(t.Shape), w.value.Shape()))
		default:
			r.Loaded = append(r.Loaded, w.name)
			if !w.alias {
				writes = append(writes, write{w.value, t.F32})
			}
		}
	}
	for _, t := range f.Tensors {
		if !have[t.Name] && !trainingState(t.Name) {
			r.Unexpected = append(r.Unexpected, t.Name)
		}
	}
	for _, l := range [][]string{r.Loaded, r.Missing, r.Unexpected, r.Mismatched} {
		sort.Strings(l)
	}
	if strict && (len(r.Missing) > 0 || len(r.Unexpected) > 0 || len(r.Mismatched) > 0) {
		var problems []string
		if len(r.Missing) > 0 {
			problems = append(problems, "missing "+strings.Join(atMost(r.Missing, 6, ""), ", "))
		}
		if len(r.Unexpected) > 0 {
			problems = append(problems, "unexpected "+strings.Join(atMost(r.Unexpected, 6, ""), ", "))
		}
		if len(r.Mismatched) > 0 {
			problems = append(problems, "mismatched "+strings.Join(atMost(r.Mismatched, 6, ""), ", "))
		}
		return r, fmt.Errorf("checkpoint: %s does not fit the model: %s", path, strings.Join(problems, "; "))
	}
	if len(r.Loaded) == 0 {
		return r, fmt.Errorf("checkpoint: %s: no tensor matches the model by name and shape (the model has %s)", path, strings.Join(atMost(m.Names(), 4, "names"), ", "))
	}
	for _, w := range writes {
		if err := w.value.SetFloat32s(w.data); err != nil {
			return r, err
		}
	}
	return r, nil
}

// atMost returns the first n of list, followed by "and k more <what>" if it is longer.
func atMost(list []string, n int, what string) []string {
	if len(list) <= n {
		return list
	}
	return append(slices.Clone(list[:n]), strings.TrimSpace(fmt.Sprintf("and %d more %s", len(list)-n, what)))
}
