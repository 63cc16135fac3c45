package nn

import (
	"fmt"
	"math"
	"strings"

	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("gpt", func() Module { return &GPT{} })
}

// GPTStd is the standard deviation of GPT-2's (and nanoGPT's) initial weights.
const GPTStd = 0.02

// GPT is nanoGPT's GPT, a decoder-only transformer language model, described by a
// dozen numbers. For a window of T <= Context int32 token ids it gives the logits of
// the next token at every position, (T, Vocab):
//
//	x = drop(wte[ids] + wpe[0…T-1])                      token and learned position embeddings
//	x = h.0(x); …; x = h.{Layers-1}(x)                   pre-LayerNorm blocks (Block)
//	logits = lm_head(ln_f(x))                            lm_head: Linear Dim → Vocab
//
// with Heads heads of Dim/Heads values, an exact-GELU MLP of 4·Dim units, and dropout
// Dropout after the embeddings, on the attention weights and at the end of each
// residual branch. Without Bias, the layer norms and the Linears have no biases
// (nanoGPT's bias=False). The output head's weight is the token embedding's
// (weight tying). The parameters are named as nanoGPT's state_dict names them:
//
//	transformer.wte.weight (Vocab, Dim)     transformer.wpe.weight (Context, Dim)
//	transformer.h.0.ln_1.weight (Dim)       transformer.h.0.attn.c_attn.weight (3·Dim, Dim)
//	transformer.h.0.attn.c_proj.weight      transformer.h.0.ln_2.weight
//	transformer.h.0.mlp.c_fc.weight         transformer.h.0.mlp.c_proj.weight   …
//	transformer.ln_f.weight                 lm_head.weight (= transformer.wte.weight)
//
// and initialised as nanoGPT does: every weight from N(0, 0.02²) (GPTStd), the residual
// branches' output projections (c_proj) from N(0, (0.02/√(2·Layers))²), biases zero,
// layer norms' weights one.
type GPT struct {
	Vocab   int     `json:"vocab"`
	Context int     `json:"context"`
	Layers  int     `json:"layers"`
	Heads   int     `json:"heads"`
	Dim     int     `json:"dim"`
	Dropout float32 `json:"dropout,omitempty"`
	Bias    bool    `json:"bias,omitempty"`

	ctx   *Context
	trunk *Sequential  // "transformer": wte, wpe, drop, h, ln_f
	head  *LinearLayer // "lm_head"
}

// Kind implements Module.
func (m *GPT) Kind() string { return "gpt" }

// Params implements Module: the GPT has none of its own.
func (m *GPT) Params() []*Param { return nil }

// Validate checks the configuration without building it.
func (m *GPT) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"vocab", m.Vocab}, {"context", m.Context}, {"layers", m.Layers}, {"heads", m.Heads}, {"dim", m.Dim}} {
		if f.v <= 0 {
			return fmt.Errorf("%s must be positive, got %d", f.name, f.v)
		}
	}
	if m.Dim%m.Heads != 0 {
		return fmt.Errorf("dim %d is not a multiple of heads %d", m.Dim, m.Heads)
	}
	if !(m.Dropout >= 0 && m.Dropout < 1) {
		return fmt.Errorf("dropout must be in [0, 1), got %v", m.Dropout)
	}
	return nil
}

// inputOnly marks a GPT as a module without an input gradient (ids have none).
func (m *GPT) inputOnly() {}

// readsIDs marks a model that starts with a GPT as one that takes ids.
func (m *GPT) readsIDs() {}

// Build implements Module: in is (T), the ids of a window of T <= Context tokens.
func (m *GPT) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("nn: gpt: %w", err)
	}
	if len(in) != 1 || in[0] > m.Context {
		return nil, fmt.Errorf("nn: gpt: input shape %v, want (positions) of at most context=%d token ids", in, m.Context)
	}
	blocks := make([]Module, m.Layers)
	proj := float32(GPTStd / math.Sqrt(2*float64(m.Layers)))
	for i := range blocks {
		blocks[i] = &Block{Heads: m.Heads, Act: GELU, Dropout: m.Dropout, NoBias: !m.Bias, Std: GPTStd, ProjStd: proj}
	}
	m.ctx = ctx
	m.trunk = &Sequential{
		Layers: []Module{
			&Embedding{Num: m.Vocab, Dim: m.Dim, Std: GPTStd},
			&PositionEmbedding{Num: m.Context, Std: GPTStd},
			NewDropout(m.Dropout),
			NewSequential(blocks...),
			&LayerNorm{NoBias: !m.Bias},
		},
		Names: []string{"wte", "wpe", "drop", "h", "ln_f"},
	}
	out, err := ctx.Build("transformer", m.trunk, in)
	if err != nil {
		return nil, err
	}
	wte := "transformer.wte.weight"
	if p := strings.Join(ctx.path, "."); p != "" {
		wte = p + "." + wte
	}
	m.head = &LinearLayer{Out: m.Vocab, NoBias: true, TieWeight: wte}
	return ctx.Build("lm_head", m.head, out)
}

// Forward implements Module: x holds int32 ids; the result is the logits (T, Vocab)
// of each example.
func (m *GPT) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if m.ctx == nil {
		return nil, fmt.Errorf("nn: gpt used before Build")
	}
	h, err := m.trunk.Forward(x, train)
	if err != nil {
		return nil, fmt.Errorf("nn: transformer: %w", err)
	}
	y, err := m.head.Forward(h, train)
	if err != nil {
		return nil, fmt.Errorf("nn: lm_head: %w", err)
	}
	return y, nil
}

// Backward implements Module: there is no input gradient (ids have none).
func (m *GPT) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if m.ctx == nil {
		return nil, fmt.Errorf("nn: gpt used before Build")
	}
	if needDX {
		return nil, fmt.Errorf("nn: gpt: ids have no gradient (a gpt must come first in its model)")
	}
	dh, err := m.head.Backward(dy, true)
	if err != nil {
		return nil, fmt.Errorf("nn: lm_head: %w", err)
	}
	if _, err := m.trunk.Backward(dh, false); err != nil {
		return nil, fmt.Errorf("nn: transformer: %w", err)
	}
	return nil, nil
}

// ExportONNX implements Exporter: the transformer, then the head (reading the token
// embedding's initializer).
func (m *GPT) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if m.ctx == nil {
		return "", fmt.Errorf("nn: gpt: export before Build")
	}
	h, err := ExportChild(g, "transformer", m.trunk, x)
	if err != nil {
		return "", err
	}
	return ExportChild(g, "lm_head", m.head, h)
}
