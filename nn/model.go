package nn

import (
	"fmt"
	"sort"
	"strings"

	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

// Model is a built tree of modules: the root module (any Module: a Sequential, a
// Residual, your own container) built for one device, input shape and largest batch,
// with its parameters named by their path, one flat gradient buffer, and the
// operations the code around a model needs: Forward, Backward, ZeroGrad, Freeze,
// Predict, Summary and Spec.
//
//	m := nn.NewModel(nn.NewSequential(nn.NewDense(128, nn.ReLU), nn.NewDense(10, nn.Softmax)))
//	err := m.Build(dev, tensor.Shape{784}, 32, 1)
//
// Every method returns an error (or a zero value) before Build, and none panics.
type Model struct {
	root Module

	ctx      *Context
	in, out  tensor.Shape
	params   []*Param // unique, in build order
	entries  []Entry  // every name, aliases and counters included
	modules  []ModuleInfo
	grads    *tensor.Tensor // every trainable parameter's gradient, packed
	dense    *tensor.Tensor // the dense parameters' part of grads (its head); nil if none
	sparse   []*Param       // the sparse parameters, whose gradients are grads' tail
	hasGrads bool
}

// NewModel returns an unbuilt model whose root is root.
func NewModel(root Module) *Model { return &Model{root: root} }

// Root is the model's root module.
func (m *Model) Root() Module { return m.root }

// Build builds the root module for examples of shape in, batches of up to maxBatch, on
// dev, with initial weights drawn from seed; then it names every parameter by its path
// and packs the gradients into one buffer. A model is built once.
func (m *Model) Build(dev device.Backend, in tensor.Shape, maxBatch int, seed uint64) error {
	switch {
	case m == nil || m.root == nil:
		return fmt.Errorf("nn: model has no root module")
	case m.ctx != nil:
		return fmt.Errorf("nn: model is already built")
	case dev == nil:
		return fmt.Errorf("nn: model: no device")
	case maxBatch <= 0:
		return fmt.Errorf("nn: batch size must be positive, got %d", maxBatch)
	}
	if err := in.Check(); err != nil {
		return fmt.Errorf("nn: input shape: %w", err)
	}
	ctx := NewContext(dev, maxBatch, seed)
	out, err := ctx.Build("", m.root, in)
	if err != nil {
		return err
	}
	m.in, m.out = in.Clone(), out.Clone()
	m.entries, m.modules = ctx.entries, ctx.modules
	seen := map[*Param]bool{}
	for _, e := range m.entries {
		p := e.Param
		if seen[p] {
			continue
		}
		seen[p] = true
		if p.Value == nil && p.Count == nil {
			return fmt.Errorf("nn: parameter %s has neither a value nor a count", e.Name)
		}
		if p.Value != nil {
			m.params = append(m.params, p)
		}
	}
	if err := m.packGrads(dev); err != nil {
		return err
	}
	m.ctx = ctx
	return nil
}

// packGrads moves every gradient into one flat buffer, each Grad becoming a view of it,
// so that zeroing, clipping and all-reducing the gradients are one op each. The dense
// parameters' gradients come first and the sparse ones' (Param.Rows) last, so that
// ZeroGrad fills the dense head and clears only the used rows of the tail.
func (m *Model) packGrads(dev device.Backend) error {
	n, nDense := 0, 0
	for _, p := range m.params {
		if p.Grad != nil {
			if p.Grad.Len() != p.Value.Len() {
				return fmt.Errorf("nn: parameter %s: gradient %v for a value of shape %v", p.Name, p.Grad.Shape(), p.Value.Shape())
			}
			if p.Sparse() {
				if p.RowLen() == 0 || p.Rows.DType() != device.Int32 || p.Rows.Len() != device.RowSetLen(p.Value.Len()/p.RowLen()) {
					return fmt.Errorf("nn: sparse parameter %s: its row set %v %v is not one of %d rows", p.Name, p.Rows.DType(), p.Rows.Shape(), p.Value.Len()/max(p.RowLen(), 1))
				}
			} else {
				nDense += p.Value.Len()
			}
			n += p.Value.Len()
		}
	}
	if n == 0 {
		return nil
	}
	flat, err := tensor.Zeros(dev, n)
	if err != nil {
		return fmt.Errorf("nn: gradients of %d values: %w", n, err)
	}
	off := [2]int{0, nDense} // where the next dense and sparse gradients go
	for _, p := range m.params {
		if p.Grad == nil {
			continue
		}
		part := 0
		if p.Sparse() {
			part = 1
			m.sparse = append(m.sparse, p)
		}
		v, err := flat.View(off[part], p.Value.Shape()...)
		if err != nil {
			return err
		}
		old := p.Grad
		p.Grad = v
		old.Free()
		off[part] += p.Value.Len()
	}
	if nDense > 0 {
		if m.dense, err = flat.View(0, nDense); err != nil {
			return err
		}
	}
	m.grads, m.hasGrads = flat, true
	return nil
}

// Built reports whether Build has run.
func (m *Model) Built() bool { return m != nil && m.ctx != nil }

func (m *Model) check() error {
	if m == nil || m.ctx == nil {
		return fmt.Errorf("nn: model used before Build")
	}
	return nil
}

// Device is the backend the model was built on (nil before Build).
func (m *Model) Device() device.Backend {
	if m.ctx == nil {
		return nil
	}
	return m.ctx.Dev
}

// Context is the model's shared module context (step counter, seed); nil before Build.
func (m *Model) Context() *Context { return m.ctx }

// InputShape is the per-example input shape (nil before Build).
func (m *Model) InputShape() tensor.Shape { return m.in }

// OutputShape is the per-example output shape (nil before Build).
func (m *Model) OutputShape() tensor.Shape { return m.out }

// MaxBatch is the largest batch the model was built for (0 before Build).
func (m *Model) MaxBatch() int {
	if m.ctx == nil {
		return 0
	}
	return m.ctx.MaxBatch
}

// Params lists every parameter and state tensor once, in build order, with its full
// name (a tied parameter under the first name it was built with). Counters are not
// listed (see StateDict).
func (m *Model) Params() []*Param { return m.params }

// StateDict lists every name of the model's state, in build order, as PyTorch's
// state_dict() does: a tied parameter under each of its names, and counters
// (BatchNorm's num_batches_tracked).
func (m *Model) StateDict() []Entry { return m.entries }

// Modules lists the model's modules in build order, the root first.
func (m *Model) Modules() []ModuleInfo { return m.modules }

// Grads is the flat buffer that holds every parameter's gradient (nil when the model
// has no trainable parameter).
func (m *Model) Grads() *tensor.Tensor { return m.grads }

// ZeroGrad sets every gradient to zero: one fill of the dense parameters' part of the
// flat buffer, and for each sparse parameter a ClearRows of the rows its row set lists
// (its gradient is zero elsewhere), which empties the set.
func (m *Model) ZeroGrad() error {
	if err := m.check(); err != nil {
		return err
	}
	if !m.hasGrads {
		return nil
	}
	if m.dense != nil {
		if err := m.ctx.Dev.Fill(m.dense.Buffer(), 0); err != nil {
			return err
		}
	}
	for _, p := range m.sparse {
		if err := m.ctx.Dev.ClearRows(p.Grad.Buffer(), p.Rows.Buffer(), p.RowLen()); err != nil {
			return fmt.Errorf("nn: clearing the gradient of %s: %w", p.Name, err)
		}
	}
	return nil
}

// Forward runs the batch x (batch, in...) through the model. In training mode it
// advances the step counter that dropout and augmentation streams are drawn from.
func (m *Model) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if x == nil {
		return nil, fmt.Errorf("nn: model forward: nil input")
	}
	y, err := m.root.Forward(x, train)
	if err != nil {
		return nil, err
	}
	if train {
		m.ctx.Step++
	}
	return y, nil
}

// Logits returns the input of the model's final softmax for the last Forward, or nil if
// the model does not end in a softmax (or is not built).
func (m *Model) Logits() *tensor.Tensor {
	if m == nil || m.ctx == nil {
		return nil
	}
	if h, ok := headOf(m.root); ok {
		return h.logits()
	}
	return nil
}

// Backward propagates dy = dL/d(output) (or, with fromLogits, dL/d(Logits())) back
// through the model, adding every trainable parameter's gradient into its Grad. No
// input gradient is computed for the model's input.
func (m *Model) Backward(dy *tensor.Tensor, fromLogits bool) error {
	if err := m.check(); err != nil {
		return err
	}
	if dy == nil {
		return fmt.Errorf("nn: model backward: nil gradient")
	}
	if fromLogits {
		h, ok := headOf(m.root)
		if !ok {
			return fmt.Errorf("nn: gradient with respect to logits, but the model does not end in a softmax")
		}
		_, err := h.backwardLogits(dy, false)
		return err
	}
	_, err := m.root.Backward(dy, false)
	return err
}

// SetLossScale tells the modules the weight of one example in the loss whose gradient
// the next Backward propagates (Context.LossScale): the scale given to the loss's
// Backward. Modules with a per-example penalty of their own (nn.MF, nn.TwoTower) scale
// its gradient by it. The Trainer sets it before every Backward.
func (m *Model) SetLossScale(scale float32) error {
	if err := m.check(); err != nil {
		return err
	}
	m.ctx.LossScale = scale
	return nil
}

// Freeze marks the trainable parameters whose names start with one of prefixes as
// frozen (kept out of the optimizer; their gradients are not computed) and returns
// their names. A prefix matches a whole name or a path ("0" matches "0.weight" and
// "0.bias", not "10.weight"; "blocks.1." matches everything under blocks.1). A prefix
// that matches no trainable parameter is an error that lists the model's top-level
// names. Freeze before the optimizer's first step.
func (m *Model) Freeze(prefixes ...string) ([]string, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	var frozen []string
	for _, pre := range prefixes {
		pre = strings.TrimSpace(pre)
		if pre == "" {
			return nil, fmt.Errorf("nn: freeze: empty name prefix")
		}
		hit := false
		for _, p := range m.params {
			if p.Grad != nil && matchPrefix(p.Name, pre) {
				hit = true
				if !p.Frozen {
					p.Frozen = true
					frozen = append(frozen, p.Name)
				}
			}
		}
		if !hit {
			return nil, fmt.Errorf("nn: freeze: no trainable parameter is named %q or starts with %q (the model's modules: %s)",
				pre, strings.TrimSuffix(pre, ".")+".", strings.Join(m.topNames(), ", "))
		}
	}
	return frozen, nil
}

// matchPrefix reports whether name is prefix or lies under it.
func matchPrefix(name, prefix string) bool {
	if strings.HasSuffix(prefix, ".") {
		return strings.HasPrefix(name, prefix)
	}
	return name == prefix || strings.HasPrefix(name, prefix+".")
}

// topNames lists the first segment of every parameter name, in order, once each.
func (m *Model) topNames() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range m.params {
		top, _, _ := strings.Cut(p.Name, ".")
		if !seen[top] && p.Grad != nil {
			seen[top] = true
			out = append(out, top)
		}
	}
	return out
}

// TrainableCount is the number of trainable (not frozen) values.
func (m *Model) TrainableCount() int {
	n := 0
	for _, p := range m.params {
		if p.Trainable() {
			n += p.Value.Len()
		}
	}
	return n
}

// Predict runs x (N, in…), Float32, Float64, Uint8 (pixel bytes, scaled by 1/255 as
// the Trainer does) or integer ids (an Embedding's input), through the model in inference mode, in batches of MaxBatch, and
// returns the (N, out…) Float32 outputs: class probabilities for a softmax model. It
// needs no loss and no optimizer.
func (m *Model) Predict(x *gt.Dense) (*gt.Dense, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if x == nil || len(x.Shape()) < 2 {
		return nil, fmt.Errorf("nn: predict: X must have shape (examples, features…)")
	}
	xs := x.Shape()
	if !tensor.Shape(xs[1:]).Equal(m.in) {
		return nil, fmt.Errorf("nn: predict: examples of shape %v, the model takes %v", tensor.Shape(xs[1:]), m.in)
	}
	n, per, outPer := xs[0], m.in.Len(), m.out.Len()
	if n == 0 {
		return nil, fmt.Errorf("nn: predict: no examples (X has shape %v)", tensor.Shape(xs))
	}
	var scale float32 = 1
	var src []float32
	var ids []int32
	switch v := x.Data().(type) {
	case []float32:
		src = v
	case []float64:
		src = make([]float32, len(v))
		for i, f := range v {
			src[i] = float32(f)
		}
	case []uint8:
		scale = 1.0 / 255
		src = make([]float32, len(v))
		for i, b := range v {
			src[i] = float32(b)
		}
	default:
		t, err := tensor.FromDense(m.ctx.Dev, x) // integer ids
		if err != nil || t.DType() != device.Int32 {
			return nil, fmt.Errorf("nn: predict: X has element type %v, want float32, float64, uint8 or integer ids", x.Dtype())
		}
		defer t.Free()
		if ids, err = t.Int32s(); err != nil {
			return nil, err
		}
	}
	dev, bs := m.ctx.Dev, m.ctx.MaxBatch
	dt := device.Float32
	if ids != nil {
		dt = device.Int32
	}
	buf, err := tensor.New(dev, dt, bs*per)
	if err != nil {
		return nil, err
	}
	defer buf.Free()
	out := make([]float32, n*outPer)
	chunk := make([]float32, 0, bs*per)
	for lo := 0; lo < n; lo += bs {
		rows := min(bs, n-lo)
		xb, err := buf.View(0, append([]int{rows}, m.in...)...)
		if err != nil {
			return nil, err
		}
		if ids != nil {
			err = dev.WriteInt32(xb.Buffer(), ids[lo*per:(lo+rows)*per])
		} else {
			chunk = chunk[:rows*per]
			for i, v := range src[lo*per : (lo+rows)*per] {
				chunk[i] = v * scale
			}
			err = dev.WriteFloat32(xb.Buffer(), chunk)
		}
		if err != nil {
			return nil, err
		}
		y, err := m.Forward(xb, false)
		if err != nil {
			return nil, err
		}
		if err := dev.ReadFloat32(out[lo*outPer:(lo+rows)*outPer], y.Buffer()); err != nil {
			return nil, err
		}
	}
	return gt.New(gt.WithShape(append([]int{n}, m.out...)...), gt.WithBacking(out)), nil
}

// Summary describes the model: one line per module (indented by depth) with its
// configuration, output shape and trainable parameter count, then the totals.
func (m *Model) Summary() string {
	if m == nil || m.ctx == nil {
		return "model (not built)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "input %v\n", m.in)
	owned := map[string]int{} // trainable values by owning module path
	for _, e := range m.entries {
		if e.Param.Trainable() && e.Param.Name == e.Name {
			owned[pathOfName(e.Name)] += e.Param.Value.Len()
		}
	}
	fmt.Fprintf(&b, "%-16s %-16s %9s  %s\n", "module", "output", "params", "kind")
	for _, mi := range m.modules {
		if mi.Path == "" && len(m.modules) > 1 {
			continue
		}
		name := mi.Path
		if name == "" {
			name = "(root)"
		}
		name = strings.Repeat("  ", max(mi.Depth-1, 0)) + name
		fmt.Fprintf(&b, "%-16s %-16v %9d  %s\n", name, mi.Out, owned[mi.Path], Describe(mi.Module))
	}
	fmt.Fprintf(&b, "output %v, %d trainable parameters", m.out, m.TrainableCount())
	if frozen := m.frozenCount(); frozen > 0 {
		fmt.Fprintf(&b, " (%d frozen)", frozen)
	}
	return b.String()
}

func (m *Model) frozenCount() int {
	n := 0
	for _, p := range m.params {
		if p.Grad != nil && p.Frozen {
			n += p.Value.Len()
		}
	}
	return n
}

// pathOfName is the module path of a full parameter name ("0.weight" → "0").
func pathOfName(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[:i]
	}
	return ""
}

// Names lists the model's state names (StateDict), sorted.
func (m *Model) Names() []string {
	var out []string
	for _, e := range m.entries {
		out = append(out, e.Name)
	}
	sort.Strings(out)
	return out
}

// softmaxHead is a module whose output is softmax(z). A cross-entropy loss on its
// output works from z directly (Keras does the same): the loss is more accurate and the
// softmax backward pass disappears.
type softmaxHead interface {
	// logits is z of the last Forward.
	logits() *tensor.Tensor
	// backwardLogits is Backward given dL/dz instead of dL/dy.
	backwardLogits(dz *tensor.Tensor, needDX bool) (*tensor.Tensor, error)
}

// headOf returns m as a softmax head when its output is a softmax: a Dense or an
// activation layer with Softmax, or a container whose last module is one.
func headOf(m Module) (softmaxHead, bool) {
	type maybeHead interface{ head() (softmaxHead, bool) }
	if h, ok := m.(maybeHead); ok {
		return h.head()
	}
	return nil, false
}
