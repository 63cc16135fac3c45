// Package nn holds the model side of the engine: modules (layers and containers of
// layers), the Model that builds and runs a tree of them, losses and JSON model
// descriptions.
//
// # Modules
//
// A Module is one part of a model: a layer (Dense, Conv2D, BatchNorm, …) or a container
// of modules (Sequential, Residual, or your own type). It is built once for a device, a
// per-example input shape and a largest batch size (Build), which allocates its
// parameters and every workspace it needs; Forward and Backward then run a batch with a
// handful of device.Backend calls and allocate nothing (smaller batches, such as the
// last of an epoch, use views of the same workspaces). nn imports device and tensor
// only: the same module runs on every backend.
//
// Containers build their children through Context.Build, giving each a name; a
// parameter's full name is the path of names down to it, exactly as PyTorch names the
// state_dict of the equivalent torch.nn.Module: "0.weight" in a Sequential,
// "blocks.0.attn.qkv.weight" in nested modules. A checkpoint therefore loads by name
// into the equivalent PyTorch model.
//
// # Gradients accumulate
//
// Backward ADDS each parameter's gradient into Param.Grad (dW += …); it never
// overwrites it. The code that owns the optimizer step zeroes the gradients once per
// step (Model.ZeroGrad: one fill of one flat buffer). So one parameter used by two
// modules (a token embedding tied to the output head) receives the sum of both
// gradients, and several micro-batches can be summed into one optimizer step. Input
// gradients (the dx that Backward returns) are fresh buffers, overwritten each time.
//
// # Describing models
//
// Every module type registers a name (Register) and describes its configuration through
// its exported, JSON-tagged fields; the Spec codec (ParseSpec, SpecOf) reads and writes
// any tree of registered modules, and checkpoints store that description. Adding a
// layer type touches one file: its struct, its methods and its Register call.
//
// # Exporting to ONNX
//
// ExportONNX writes a built model as an ONNX graph for inference (nn/onnx is the
// builder). Each module type writes its own part: it implements Exporter, a method
//
//	func (l *MyLayer) ExportONNX(g *onnx.Graph, x string) (string, error)
//
// next to its Forward, in its own file, which reads the input value x, adds its
// weights with ExportParam (named as in checkpoints) and its nodes with g.Node or the
// builder's helpers (onnx.Dense, onnx.LayerNorm, onnx.CausalSoftmax, onnx.LSTM…), and
// returns its output value; a container calls ExportChild for each child. A module
// without the method, or one that cannot be written, makes the export fail with an
// error naming its path and kind ("onnx: cannot export layer 3 (mylayer): …").
//
// Every layer and loss has a finite-difference gradient check in this package's tests.
package nn

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

// Module is one part of a model: a layer or a container of modules.
//
// A module's configuration is its exported fields (with json tags, see Register); its
// run-time state is unexported and made by Build.
type Module interface {
	// Kind is the module type's registered name ("dense", "conv2d", "residual").
	Kind() string
	// Build prepares the module for batches of up to ctx.MaxBatch examples of shape in
	// (without the batch dimension) and returns the per-example output shape. A
	// container builds each child with ctx.Build(name, child, shape).
	Build(ctx *Context, in tensor.Shape) (tensor.Shape, error)
	// Forward computes the output for the batch x, of shape (batch, in...). train
	// selects training behaviour (dropout masks, batch statistics). The result stays
	// valid until the next Forward.
	Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error)
	// Backward takes dL/dy for the last Forward, ADDS the gradients of the module's own
	// trainable parameters into their Grad (skipping frozen ones), and, when needDX,
	// returns dL/dx (else nil).
	Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error)
	// Params lists the module's own tensors (not its children's), by local name
	// ("weight", "bias", "running_mean"): trainable ones have a Grad, state such as
	// running statistics has none. A module that shares another module's parameter
	// (weight tying) lists that Param too. It is called after Build.
	Params() []*Param
}

// Layer is the name this package gave Module before modules could nest.
type Layer = Module

// pytorchModules is implemented by layers that stand for more or fewer than one module
// of the equivalent PyTorch nn.Sequential: a Dense with an activation is Linear + the
// activation (2), an augmentation is none (it lives in PyTorch's data pipeline). A
// Sequential without Names numbers its children by it, so that checkpoints carry the
// names a PyTorch user expects. A module that does not implement it counts as one.
type pytorchModules interface {
	Modules() int
}

// inputOnly is a layer without an input gradient (an augmentation): no layer with
// trainable parameters may come before it.
type inputOnly interface{ inputOnly() }

// Param is a named tensor of a module: a weight (with its gradient), state (Grad nil)
// such as running statistics, or a host-side counter (Value nil, Count set).
type Param struct {
	// Name is the full name once the model is built ("0.weight",
	// "blocks.0.attn.qkv.weight"); before that, the module's local name ("weight").
	Name  string
	Value *tensor.Tensor
	// Grad receives the gradient (accumulated, see the package documentation); nil for
	// state. In a built Model it is a view of the model's one flat gradient buffer.
	Grad *tensor.Tensor
	// Frozen keeps a trainable parameter out of the optimizer, and its module skips
	// computing its gradient (Model.Freeze).
	Frozen bool
	// Rows, for a sparse parameter (an Embedding with Sparse set), is its row set (an
	// int32 tensor of device.RowSetLen(rows) elements): the rows of the table that the
	// batches since the last optimizer step used. Its gradient is zero outside those
	// rows, so the optimizer steps only them (device.Backend.UpdateRows, a lazy update)
	// and ZeroGrad clears only them: their cost follows the rows used, not the table.
	// Every module that writes such a gradient adds the rows it writes (AddRows). nil
	// for a dense parameter.
	Rows *tensor.Tensor
	// Count, for a counter, returns its value. PyTorch's BatchNorm keeps one
	// (num_batches_tracked, an int64 scalar) that checkpoints write so that
	// load_state_dict accepts them as they are.
	Count func() int64
	// Half, in a model built in the BF16 or FP16 precision, is the 16-bit copy of a
	// weight that GEMMs read (Context.HalfOf makes it): the optimizer writes it with
	// every update (device.Hyper.Half), and Model.RefreshHalf rewrites it from Value
	// after anything else changed Value (loading weights; Fit, Evaluate and Predict call
	// it). Value stays the float32 master copy; checkpoints hold Value only.
	Half *tensor.Tensor

	local string // the module's own name for it
}

// Trainable reports whether the optimizer updates p: it has a gradient and is not frozen.
func (p *Param) Trainable() bool { return p.Grad != nil && !p.Frozen }

// Sparse reports whether p is a sparse parameter: its gradient lives on the rows of its
// row set (Rows).
func (p *Param) Sparse() bool { return p.Rows != nil }

// RowLen is the number of values in one row of a sparse parameter's table (its last
// dimension); 0 for a dense parameter.
func (p *Param) RowLen() int {
	if p.Rows == nil || p.Value == nil || len(p.Value.Shape()) == 0 {
		return 0
	}
	s := p.Value.Shape()
	return s[len(s)-1]
}

// needsGrad reports whether a module should compute p's gradient.
func (p *Param) needsGrad() bool { return p != nil && p.Grad != nil && !p.Frozen }

// Local is the name the module that owns p gives it ("weight").
func (p *Param) Local() string {
	if p.local == "" {
		return p.Name
	}
	return p.local
}

// Context is what the modules of one model share while they are built and run: the
// device, the largest batch, the random source for initial weights, the seed and step
// counter that make dropout and augmentation masks reproducible, and the parameters
// built so far (for weight tying).
type Context struct {
	Dev      device.Backend
	MaxBatch int
	// RNG draws initial weights, module by module in build order.
	RNG *rand.Rand
	// Seed is the base seed of the model's Philox streams; module i draws with Seed+i.
	Seed uint64
	// Step counts training forward passes; modules derive Philox offsets from it so
	// that a resumed run draws what the uninterrupted one would.
	Step uint64
	// LossScale is the weight, in the loss whose gradient the current Backward
	// propagates, of one example's loss: the scale the loss's Backward was given (the
	// Trainer's 1/(the examples of the accumulation group)), set by Model.SetLossScale;
	// 1 until set. A module whose loss has a term of its own, a per-example penalty
	// (nn.MF's l2), adds LossScale times that term's gradient, so that the penalty is
	// averaged over the examples as the loss is.
	LossScale float32
	// Layer is the index of the module being built: modules are numbered in build
	// order (depth first, parents before children), the root excluded, so that the
	// layers of a Sequential model are numbered 0, 1, 2…
	Layer int
	// Precision is the model's mixed-precision recipe (device.Precision; FP32 by
	// default): a module that multiplies matrices passes it to its Gemm calls
	// (device.GemmArgs.Precision) and, in BF16 and FP16, gives those GEMMs 16-bit
	// operands: its weights' copies (HalfOf) and its activations cast once (Dense keeps
	// its input's copy for the weight gradient). Everything else stays float32, as
	// PyTorch's autocast keeps softmax, losses, normalizations and reductions.
	Precision device.Precision

	next     int
	path     []string
	byName   map[string]*Param
	entries  []Entry
	modules  []ModuleInfo
	building int // depth of nested Build calls
}

// Entry is one name of a built model's state: a parameter, a state tensor or a counter.
// A tied parameter has an Entry under every name it is used by.
type Entry struct {
	Name  string
	Param *Param
}

// ModuleInfo records one module of a built model: its path ("" for the root, "0",
// "blocks.1.attn"), the module, and its per-example input and output shapes.
type ModuleInfo struct {
	Path    string
	Module  Module
	In, Out tensor.Shape
	Depth   int
}

// NewContext returns a context for dev with weights drawn from seed.
func NewContext(dev device.Backend, maxBatch int, seed uint64) *Context {
	return &Context{Dev: dev, MaxBatch: maxBatch, RNG: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), Seed: seed,
		LossScale: 1, byName: map[string]*Param{}}
}

// Build builds child, named name within the module being built, for per-example input
// shape in, and names its parameters "<path>.<name>.<local name>". Containers call it
// for each child; the error names the child's path.
func (c *Context) Build(name string, child Module, in tensor.Shape) (tensor.Shape, error) {
	if child == nil {
		return nil, fmt.Errorf("nn: %s: nil module", c.pathOf(name))
	}
	if name == "" && c.building > 0 {
		return nil, fmt.Errorf("nn: %s: a child module needs a name", c.pathOf(""))
	}
	if strings.Contains(name, ".") {
		return nil, fmt.Errorf("nn: module name %q contains a dot (names are joined with dots)", name)
	}
	if c.byName == nil {
		c.byName = map[string]*Param{}
	}
	if name != "" {
		c.path = append(c.path, name)
		defer func() { c.path = c.path[:len(c.path)-1] }()
		c.Layer = c.next
		c.next++
	}
	path := strings.Join(c.path, ".")
	info := len(c.modules)
	c.modules = append(c.modules, ModuleInfo{Path: path, Module: child, In: in.Clone(), Depth: c.building})
	c.building++
	out, err := child.Build(c, in)
	c.building--
	if err != nil {
		if name == "" {
			return nil, err
		}
		return nil, fmt.Errorf("module %s (%s): %w", path, child.Kind(), err)
	}
	c.modules[info].Out = out.Clone()
	for _, p := range child.Params() {
		if p == nil {
			return nil, fmt.Errorf("nn: module %s (%s) lists a nil parameter", path, child.Kind())
		}
		if p.local == "" {
			p.local = p.Name
		}
		full := p.local
		if path != "" {
			full = path + "." + p.local
		}
		if _, dup := c.byName[full]; dup {
			return nil, fmt.Errorf("nn: parameter name %s used twice (give the modules distinct names)", full)
		}
		if !c.known(p) {
			p.Name = full
		}
		c.byName[full] = p
		c.entries = append(c.entries, Entry{Name: full, Param: p})
	}
	return out, nil
}

// known reports whether p was registered under an earlier name (a tied parameter).
func (c *Context) known(p *Param) bool {
	for _, e := range c.entries {
		if e.Param == p {
			return true
		}
	}
	return false
}

func (c *Context) pathOf(name string) string {
	p := append(append([]string(nil), c.path...), name)
	s := strings.Trim(strings.Join(p, "."), ".")
	if s == "" {
		return "the model"
	}
	return "module " + s
}

// builtParams is a module's Params from its parameter fields, in order: those that
// exist (an optional bias may not), none before Build.
func builtParams(ps ...*Param) []*Param {
	var out []*Param
	for _, p := range ps {
		if p != nil {
			out = append(out, p)
		}
	}
	return out
}

// HalfOf returns p's 16-bit copy for the model's precision (allocating it, rounded
// from p.Value, on first use; a weight shared by two modules has one), or nil in FP32
// and TF32, whose GEMMs read float32.
func (c *Context) HalfOf(p *Param) (*tensor.Tensor, error) {
	dt := c.Precision.Half()
	if !dt.IsHalf() || p == nil || p.Value == nil {
		return nil, nil
	}
	if p.Half != nil && p.Half.DType() == dt {
		return p.Half, nil
	}
	h, err := tensor.New(c.Dev, dt, p.Value.Shape()...)
	if err != nil {
		return nil, fmt.Errorf("nn: %s copy of %s: %w", dt, p.Name, err)
	}
	if err := c.Dev.Cast(h.Buffer(), p.Value.Buffer()); err != nil {
		return nil, fmt.Errorf("nn: %s copy of %s: %w", dt, p.Name, err)
	}
	p.Half = h
	return h, nil
}

// Param returns the parameter of an already built module by its full name
// ("transformer.wte.weight"), for a module that shares it (weight tying). The error
// names the parameter and, when it does not exist (yet), the names that do.
func (c *Context) Param(name string) (*Param, error) {
	if p, ok := c.byName[name]; ok {
		return p, nil
	}
	var have []string
	for _, e := range c.entries {
		have = append(have, e.Name)
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("nn: no parameter %q: no module with parameters was built before this one", name)
	}
	if len(have) > 8 {
		have = append(have[:8], "…")
	}
	return nil, fmt.Errorf("nn: no parameter %q among those built before this module (%s)", name, strings.Join(have, ", "))
}

// batchBuf is a workspace of MaxBatch examples with cached views for smaller batches, so
// that no batch size allocates more than once.
type batchBuf struct {
	full  *tensor.Tensor
	views map[int]*tensor.Tensor
}

func newBatchBuf(dev device.Backend, dt device.DType, maxBatch int, per tensor.Shape) (*batchBuf, error) {
	t, err := tensor.New(dev, dt, append([]int{maxBatch}, per...)...)
	if err != nil {
		return nil, err
	}
	return &batchBuf{full: t, views: map[int]*tensor.Tensor{maxBatch: t}}, nil
}

// rows returns the workspace's first n examples.
func (b *batchBuf) rows(n int) (*tensor.Tensor, error) {
	if b == nil {
		return nil, fmt.Errorf("nn: module used before Build")
	}
	if v, ok := b.views[n]; ok {
		return v, nil
	}
	if n <= 0 || n > b.full.Dim(0) {
		return nil, fmt.Errorf("nn: batch of %d examples, but the model was built for at most %d", n, b.full.Dim(0))
	}
	v, err := b.full.Rows(0, n)
	if err != nil {
		return nil, err
	}
	b.views[n] = v
	return v, nil
}

// checkInput validates a batch against the shape the layer was built for; ctx is nil
// before Build.
func checkInput(kind string, ctx *Context, x *tensor.Tensor, in tensor.Shape) (int, error) {
	if ctx == nil {
		return 0, fmt.Errorf("nn: %s used before Build", kind)
	}
	if x == nil {
		return 0, fmt.Errorf("nn: %s: nil input", kind)
	}
	s := x.Shape()
	if len(s) != len(in)+1 || !s[1:].Equal(in) {
		return 0, fmt.Errorf("nn: %s: input shape %v, want (batch, %v)", kind, s, in)
	}
	if s[0] > ctx.MaxBatch {
		return 0, fmt.Errorf("nn: %s: batch of %d examples, built for at most %d", kind, s[0], ctx.MaxBatch)
	}
	return s[0], nil
}

// checkGrad validates dy against the output of the last Forward: n examples of shape out.
func checkGrad(kind string, n int, dy *tensor.Tensor, out tensor.Shape) error {
	if n == 0 {
		return fmt.Errorf("nn: %s: Backward before Forward", kind)
	}
	if dy == nil || dy.Len() != n*out.Len() {
		return fmt.Errorf("nn: %s backward: gradient %v, want %v", kind, shapeOf(dy), append(tensor.Shape{n}, out...))
	}
	return nil
}

// NewParam allocates a parameter of the given shape under the module's local name
// ("weight") and, when trainable, its gradient; init writes its initial values into w
// (nil leaves zeros), drawing from c.RNG in build order. On a device.Planner it makes
// no values at all: only the device buffers are counted, so that the memory a model
// needs is known without making it (train.Trainer.PlanMemory), even for a layer far
// too large for the host. Modules should make their parameters with it.
func (c *Context) NewParam(name string, trainable bool, init func(w []float32), shape ...int) (*Param, error) {
	if err := tensor.Shape(shape).Check(); err != nil {
		return nil, fmt.Errorf("nn: parameter %s: %w", name, err)
	}
	var values []float32 // nil: zeros, as Alloc gives them
	if init != nil && !device.IsPlanner(c.Dev) {
		values = make([]float32, tensor.Shape(shape).Len())
		init(values)
	}
	return newParam(c.Dev, name, trainable, values, shape...)
}

// newParam allocates a parameter of the given shape holding values (nil: zeros) and,
// when trainable, its gradient. Context.NewParam is the form that makes no values for
// a planning device.
func newParam(dev device.Backend, name string, trainable bool, values []float32, shape ...int) (*Param, error) {
	var v *tensor.Tensor
	var err error
	if values == nil {
		v, err = tensor.Zeros(dev, shape...)
	} else {
		v, err = tensor.FromFloat32(dev, values, shape...)
	}
	if err != nil {
		return nil, err
	}
	p := &Param{Name: name, Value: v, local: name}
	if trainable {
		if p.Grad, err = tensor.Zeros(dev, shape...); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// accumulator adds a freshly computed gradient into a parameter's Grad: device ops that
// overwrite their output (Reduce, BatchNormBackward) write into its scratch buffer,
// which is then added (Axpby) to the Grad.
type accumulator struct {
	tmp *tensor.Tensor
}

// scratch returns a buffer shaped like p.Grad to compute into.
func (a *accumulator) scratch(dev device.Backend, p *Param) (*tensor.Tensor, error) {
	if a.tmp == nil || a.tmp.Len() != p.Grad.Len() {
		t, err := tensor.Zeros(dev, p.Grad.Shape()...)
		if err != nil {
			return nil, err
		}
		a.tmp = t
	}
	return a.tmp, nil
}

// add adds the scratch buffer into p.Grad.
func (a *accumulator) add(dev device.Backend, p *Param) error {
	return dev.Axpby(1, a.tmp.Buffer(), 1, p.Grad.Buffer())
}
