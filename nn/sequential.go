package nn

import (
	"fmt"
	"strings"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

// Sequential is a stack of layers, each feeding the next.
type Sequential struct {
	Layers []Layer

	ctx     *Context
	in, out tensor.Shape
	params  []*Param
	// first is the index of the first layer with trainable parameters: Backward stops
	// there, as no earlier layer has anything to learn.
	first int
}

// inputOnly is a layer without an input gradient (an augmentation): no layer with
// trainable parameters may come before it.
type inputOnly interface{ inputOnly() }

// NewSequential returns a model made of layers, in order.
func NewSequential(layers ...Layer) *Sequential { return &Sequential{Layers: layers} }

// Build builds every layer for examples of shape in, batches of up to maxBatch, on dev,
// with initial weights drawn from seed. It names the parameters as PyTorch names those of
// the equivalent nn.Sequential: "<module index>.<name>" ("0.weight", "0.bias", "2.weight"…).
func (m *Sequential) Build(dev device.Backend, in tensor.Shape, maxBatch int, seed uint64) error {
	if len(m.Layers) == 0 {
		return fmt.Errorf("nn: model has no layers")
	}
	if maxBatch <= 0 {
		return fmt.Errorf("nn: batch size must be positive, got %d", maxBatch)
	}
	if err := in.Check(); err != nil {
		return fmt.Errorf("nn: input shape: %w", err)
	}
	m.ctx = NewContext(dev, maxBatch, seed)
	m.in, m.params, m.first = in.Clone(), nil, len(m.Layers)
	shape, module := in.Clone(), 0
	for i, l := range m.Layers {
		m.ctx.Layer = i
		if _, ok := l.(inputOnly); ok && m.first < i {
			return fmt.Errorf("nn: layer %d (%s) must come before every layer with weights (layer %d, %s, has some): it has no input gradient",
				i, l.Kind(), m.first, m.Layers[m.first].Kind())
		}
		out, err := l.Build(m.ctx, shape)
		if err != nil {
			return fmt.Errorf("nn: layer %d (%s) on input %v: %w", i, l.Kind(), shape, err)
		}
		for _, p := range l.Params() {
			p.Name = fmt.Sprintf("%d.%s", module, localName(p.Name))
			m.params = append(m.params, p)
			if p.Trainable() && m.first > i {
				m.first = i
			}
		}
		module += l.Modules()
		shape = out
	}
	m.out = shape
	return nil
}

func localName(name string) string {
	if i := strings.IndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// Built reports whether Build has run.
func (m *Sequential) Built() bool { return m.ctx != nil }

// Device is the backend the model was built on.
func (m *Sequential) Device() device.Backend { return m.ctx.Dev }

// Context is the model's shared layer context (step counter, seed).
func (m *Sequential) Context() *Context { return m.ctx }

// InputShape is the per-example input shape.
func (m *Sequential) InputShape() tensor.Shape { return m.in }

// OutputShape is the per-example output shape.
func (m *Sequential) OutputShape() tensor.Shape { return m.out }

// MaxBatch is the largest batch the model was built for.
func (m *Sequential) MaxBatch() int { return m.ctx.MaxBatch }

// Params lists every parameter and state tensor, in layer order, with their model names.
func (m *Sequential) Params() []*Param { return m.params }

// Forward runs the batch x (batch, in...) through every layer. In training mode it
// advances the step counter that dropout and augmentation streams are drawn from.
func (m *Sequential) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if m.ctx == nil {
		return nil, fmt.Errorf("nn: model used before Build")
	}
	y := x
	var err error
	for i, l := range m.Layers {
		if y, err = l.Forward(y, train); err != nil {
			return nil, fmt.Errorf("nn: layer %d: %w", i, err)
		}
	}
	if train {
		m.ctx.Step++
	}
	return y, nil
}

// Logits returns the input of the model's final softmax for the last Forward, or nil if
// the model does not end in a softmax.
func (m *Sequential) Logits() *tensor.Tensor {
	if h, ok := m.head(); ok {
		return h.logits()
	}
	return nil
}

func (m *Sequential) head() (softmaxHead, bool) {
	last := m.Layers[len(m.Layers)-1]
	switch l := last.(type) {
	case *Dense:
		if l.Act == Softmax {
			return l, true
		}
	case *ActivationLayer:
		if l.Fn == Softmax {
			return l, true
		}
	}
	return nil, false
}

// Backward propagates dy = dL/d(output) (or, with fromLogits, dL/d(Logits())) back
// through the layers, writing every parameter's gradient. It stops at the first layer
// with trainable parameters: the layers before it have nothing to learn.
func (m *Sequential) Backward(dy *tensor.Tensor, fromLogits bool) error {
	if m.ctx == nil {
		return fmt.Errorf("nn: model used before Build")
	}
	last := len(m.Layers) - 1
	var err error
	if fromLogits {
		h, ok := m.head()
		if !ok {
			return fmt.Errorf("nn: gradient with respect to logits, but the model does not end in a softmax")
		}
		if dy, err = h.backwardLogits(dy, last > m.first); err != nil {
			return fmt.Errorf("nn: layer %d: %w", last, err)
		}
		last--
	}
	for i := last; i >= m.first; i-- {
		if dy, err = m.Layers[i].Backward(dy, i > m.first); err != nil {
			return fmt.Errorf("nn: layer %d: %w", i, err)
		}
	}
	return nil
}

// Summary describes the model, one line per layer, with parameter counts.
func (m *Sequential) Summary() string {
	var b strings.Builder
	total := 0
	shape := m.in
	fmt.Fprintf(&b, "input %v\n", shape)
	for i, l := range m.Layers {
		n := 0
		for _, p := range l.Params() {
			if p.Trainable() {
				n += p.Value.Len()
			}
		}
		total += n
		desc := l.Kind()
		if d, ok := l.(*Dense); ok {
			desc = fmt.Sprintf("dense %d %s", d.Units, d.Act)
		}
		fmt.Fprintf(&b, "%2d %-24s %8d params\n", i, desc, n)
	}
	fmt.Fprintf(&b, "output %v, %d trainable parameters", m.out, total)
	return b.String()
}
