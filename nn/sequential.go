package nn

import (
	"fmt"
	"strconv"

	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("sequential", func() Module { return &Sequential{} })
}

// Sequential is a stack of modules, each feeding the next: PyTorch's nn.Sequential.
//
// Its children are named as PyTorch names those of the equivalent nn.Sequential: by
// module index, where a layer that stands for two PyTorch modules (a Dense with an
// activation is Linear + ReLU) takes two indices and an augmentation none ("0.weight",
// "0.bias", "2.weight"…). With Names, child i is named Names[i] instead, as in
// nn.Sequential(OrderedDict(...)).
type Sequential struct {
	Layers []Module `json:"layers"`
	Names  []string `json:"names,omitempty"`

	ctx    *Context
	in     tensor.Shape
	params [][]*Param // every parameter under each child (for which children need dx)
	hd     seqHead    // the softmax head, when the last module is one (head)
}

// NewSequential returns a model made of layers, in order.
func NewSequential(layers ...Module) *Sequential { return &Sequential{Layers: layers} }

// Kind implements Module.
func (m *Sequential) Kind() string { return "sequential" }

// Params implements Module: a Sequential has none of its own.
func (m *Sequential) Params() []*Param { return nil }

// Validate checks the configuration without building it.
func (m *Sequential) Validate() error {
	if len(m.Layers) == 0 {
		return fmt.Errorf("no layers")
	}
	if m.Names != nil {
		if len(m.Names) != len(m.Layers) {
			return fmt.Errorf("%d names for %d layers", len(m.Names), len(m.Layers))
		}
		seen := map[string]bool{}
		for _, n := range m.Names {
			if n == "" || seen[n] {
				return fmt.Errorf("names must be distinct and not empty, got %q", m.Names)
			}
			seen[n] = true
		}
	}
	return nil
}

// childNames names the children (see Sequential).
func (m *Sequential) childNames() []string {
	if m.Names != nil {
		return m.Names
	}
	names := make([]string, len(m.Layers))
	module := 0
	for i, l := range m.Layers {
		names[i] = strconv.Itoa(module)
		if pm, ok := l.(pytorchModules); ok {
			module += pm.Modules()
		} else {
			module++
		}
	}
	return names
}

// Build implements Module.
func (m *Sequential) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("nn: sequential: %w", err)
	}
	m.ctx, m.in, m.params = ctx, in.Clone(), make([][]*Param, len(m.Layers))
	names := m.childNames()
	shape := in.Clone()
	for i, l := range m.Layers {
		if _, ok := l.(inputOnly); ok {
			if j := m.firstTrainable(); j < i {
				return nil, fmt.Errorf("nn: layer %d (%s) must come before every layer with weights (layer %d, %s, has some): it has no input gradient",
					i, l.Kind(), j, m.Layers[j].Kind())
			}
		}
		before := len(ctx.entries)
		out, err := ctx.Build(names[i], l, shape)
		if err != nil {
			return nil, fmt.Errorf("nn: layer %d (%s) on input %v: %w", i, kindOf(l), shape, err)
		}
		for _, e := range ctx.entries[before:] {
			m.params[i] = append(m.params[i], e.Param)
		}
		shape = out
	}
	return shape, nil
}

func kindOf(m Module) string {
	if m == nil {
		return "nil"
	}
	return m.Kind()
}

// Forward implements Module.
func (m *Sequential) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if m.ctx == nil {
		return nil, fmt.Errorf("nn: sequential used before Build")
	}
	y := x
	var err error
	for i, l := range m.Layers {
		if y, err = l.Forward(y, train); err != nil {
			return nil, fmt.Errorf("nn: layer %d: %w", i, err)
		}
	}
	return y, nil
}

// firstTrainable is the index of the first child with a trainable (not frozen)
// parameter, len(Layers) if none: the backward pass need not go further back.
func (m *Sequential) firstTrainable() int {
	for i, ps := range m.params {
		for _, p := range ps {
			if p.Trainable() {
				return i
			}
		}
	}
	return len(m.Layers)
}

// Backward implements Module. It stops at the first child with trainable parameters
// unless needDX: the children before it have nothing to learn.
func (m *Sequential) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	return m.backwardFrom(len(m.Layers)-1, dy, needDX)
}

// backwardFrom runs the backward pass from child last down.
func (m *Sequential) backwardFrom(last int, dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if m.ctx == nil {
		return nil, fmt.Errorf("nn: sequential used before Build")
	}
	stop := 0
	if !needDX {
		stop = m.firstTrainable()
	}
	var err error
	for i := last; i >= stop; i-- {
		if dy, err = m.Layers[i].Backward(dy, needDX || i > stop); err != nil {
			return nil, fmt.Errorf("nn: layer %d: %w", i, err)
		}
	}
	if !needDX {
		return nil, nil
	}
	return dy, nil
}

// head implements the softmax-head lookup: a Sequential whose last module ends in a
// softmax ends in one.
func (m *Sequential) head() (softmaxHead, bool) {
	if len(m.Layers) == 0 {
		return nil, false
	}
	h, ok := headOf(m.Layers[len(m.Layers)-1])
	if !ok {
		return nil, false
	}
	if m.hd.m != m || m.hd.last != h {
		m.hd = seqHead{m, h}
	}
	return &m.hd, true
}

// seqHead is a Sequential seen through its last module's softmax.
type seqHead struct {
	m    *Sequential
	last softmaxHead
}

func (h *seqHead) logits() *tensor.Tensor { return h.last.logits() }

func (h *seqHead) backwardLogits(dz *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	m := h.m
	last := len(m.Layers) - 1
	stop := 0
	if !needDX {
		stop = m.firstTrainable()
	}
	if last < stop {
		return nil, nil
	}
	dy, err := h.last.backwardLogits(dz, needDX || last > stop)
	if err != nil {
		return nil, fmt.Errorf("nn: layer %d: %w", last, err)
	}
	if last == stop && !needDX {
		return nil, nil
	}
	return m.backwardFrom(last-1, dy, needDX)
}

// ExportONNX implements Exporter: each child in turn, under the name it was built with.
func (m *Sequential) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if m.ctx == nil {
		return "", fmt.Errorf("nn: sequential: export before Build")
	}
	names := m.childNames()
	var err error
	for i, l := range m.Layers {
		if x, err = ExportChild(g, names[i], l, x); err != nil {
			return "", err
		}
	}
	return x, nil
}
