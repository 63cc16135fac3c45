package nn

import (
	"fmt"

	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("mlp", func() Module { return &MLP{Act: GELU} })
}

// MLP is a transformer block's feed-forward part (nanoGPT's MLP) on x of per-example
// shape (…, C):
//
//	y = dropout(c_proj(act(c_fc(x))))      c_fc: Linear C → Hidden, c_proj: Linear Hidden → C
//
// Hidden 0 means 4·C; Act is the exact GELU unless given (gelu_tanh is GPT-2's
// approximation). The children are named as nanoGPT names them, "c_fc", "gelu" (the
// activation, named by its kind when it is another one), "c_proj" and, when Dropout > 0,
// "dropout". c_fc's weight is drawn from N(0, Std²) and c_proj's from N(0, ProjStd²)
// (0: Std); Std 0 means PyTorch's default initialisation of both.
type MLP struct {
	Hidden  int        `json:"hidden,omitempty"`
	Act     Activation `json:"activation"`
	Dropout float32    `json:"dropout,omitempty"`
	NoBias  bool       `json:"no_bias,omitempty"`
	Std     float32    `json:"std,omitempty"`
	ProjStd float32    `json:"proj_std,omitempty"`

	ctx         *Context
	children    []Module
	names       []string
	fc, proj    *LinearLayer
	act         *ActivationLayer
	dropout     *Dropout
	hiddenWidth int
}

// Kind implements Module.
func (m *MLP) Kind() string { return "mlp" }

// Params implements Module: the MLP has none of its own.
func (m *MLP) Params() []*Param { return nil }

// Validate checks the configuration without building it.
func (m *MLP) Validate() error {
	if m.Hidden < 0 {
		return fmt.Errorf("hidden must not be negative, got %d", m.Hidden)
	}
	if m.Act == Softmax {
		return fmt.Errorf("activation softmax is not an elementwise activation")
	}
	if err := m.Act.validate(0); err != nil {
		return err
	}
	if !(m.Dropout >= 0 && m.Dropout < 1) {
		return fmt.Errorf("dropout must be in [0, 1), got %v", m.Dropout)
	}
	if err := checkStd(m.Std); err != nil {
		return err
	}
	if err := checkStd(m.ProjStd); err != nil {
		return fmt.Errorf("proj_%w", err)
	}
	return nil
}

// Build implements Module: in is (…, C).
func (m *MLP) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("nn: mlp: %w", err)
	}
	if len(in) == 0 {
		return nil, fmt.Errorf("nn: mlp: input shape %v, want (…, features)", in)
	}
	c := in[len(in)-1]
	m.hiddenWidth = m.Hidden
	if m.hiddenWidth == 0 {
		m.hiddenWidth = 4 * c
	}
	proj := m.ProjStd
	if proj == 0 {
		proj = m.Std
	}
	m.ctx = ctx
	m.fc = &LinearLayer{Out: m.hiddenWidth, NoBias: m.NoBias, Std: m.Std}
	m.act = NewActivation(m.Act)
	m.proj = &LinearLayer{Out: c, NoBias: m.NoBias, Std: proj}
	actName := m.Act.String()
	m.children, m.names = []Module{m.fc, m.act, m.proj}, []string{"c_fc", actName, "c_proj"}
	m.dropout = nil
	if m.Dropout > 0 {
		m.dropout = NewDropout(m.Dropout)
		m.children, m.names = append(m.children, m.dropout), append(m.names, "dropout")
	}
	shape := in
	for i, child := range m.children {
		var err error
		if shape, err = ctx.Build(m.names[i], child, shape); err != nil {
			return nil, err
		}
	}
	return shape, nil
}

// Forward implements Module.
func (m *MLP) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if m.ctx == nil {
		return nil, fmt.Errorf("nn: mlp used before Build")
	}
	var err error
	for i, child := range m.children {
		if x, err = child.Forward(x, train); err != nil {
			return nil, fmt.Errorf("nn: mlp %s: %w", m.names[i], err)
		}
	}
	return x, nil
}

// Backward implements Module.
func (m *MLP) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if m.ctx == nil {
		return nil, fmt.Errorf("nn: mlp used before Build")
	}
	var err error
	for i := len(m.children) - 1; i >= 0; i-- {
		if dy, err = m.children[i].Backward(dy, needDX || i > 0); err != nil {
			return nil, fmt.Errorf("nn: mlp %s: %w", m.names[i], err)
		}
	}
	return dy, nil
}

// ExportONNX implements Exporter: each child in turn.
func (m *MLP) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if m.ctx == nil {
		return "", fmt.Errorf("nn: mlp: export before Build")
	}
	var err error
	for i, child := range m.children {
		if x, err = ExportChild(g, m.names[i], child, x); err != nil {
			return "", err
		}
	}
	return x, nil
}
