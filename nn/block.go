package nn

import (
	"fmt"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("transformer_block", func() Module { return &Block{Act: GELU} })
}

// Block is a pre-LayerNorm transformer block (GPT-2's and nanoGPT's Block) on
// sequences x of per-example shape (T, C):
//
//	x = x + attn(ln_1(x))
//	y = x + mlp(ln_2(x))
//
// with attn a CausalSelfAttention of Heads heads and mlp an MLP of Hidden (0: 4·C)
// units and activation Act (the exact GELU unless given). The children are named
// "ln_1", "attn", "ln_2" and "mlp", as in nanoGPT, so that the parameters are
// "ln_1.weight", "attn.c_attn.weight", "mlp.c_fc.weight" and so on. NoBias leaves out
// every bias (the layer norms' and the Linears'); Dropout, Std and ProjStd are passed to
// attn and mlp (ProjStd initialises their output projections, the residual branches'
// last layers).
type Block struct {
	Heads   int        `json:"heads"`
	Hidden  int        `json:"hidden,omitempty"`
	Act     Activation `json:"activation"`
	Dropout float32    `json:"dropout,omitempty"`
	NoBias  bool       `json:"no_bias,omitempty"`
	Std     float32    `json:"std,omitempty"`
	ProjStd float32    `json:"proj_std,omitempty"`

	ctx      *Context
	in       tensor.Shape
	ln1, ln2 *LayerNorm
	attn     *CausalSelfAttention
	mlp      *MLP
	n        int
	x1, y    *batchBuf // the sums after the attention and after the MLP
	dx1, dx  *batchBuf
}

// Kind implements Module.
func (b *Block) Kind() string { return "transformer_block" }

// Params implements Module: a block has none of its own.
func (b *Block) Params() []*Param { return nil }

// Validate checks the configuration without building it.
func (b *Block) Validate() error {
	a := CausalSelfAttention{Heads: b.Heads, Dropout: b.Dropout, Std: b.Std, ProjStd: b.ProjStd}
	if err := a.Validate(); err != nil {
		return err
	}
	m := MLP{Hidden: b.Hidden, Act: b.Act}
	return m.Validate()
}

// Build implements Module: in is (T, C).
func (b *Block) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("nn: transformer_block: %w", err)
	}
	b.ctx, b.in = ctx, in.Clone()
	b.ln1, b.ln2 = &LayerNorm{NoBias: b.NoBias}, &LayerNorm{NoBias: b.NoBias}
	b.attn = &CausalSelfAttention{Heads: b.Heads, Dropout: b.Dropout, NoBias: b.NoBias, Std: b.Std, ProjStd: b.ProjStd}
	b.mlp = &MLP{Hidden: b.Hidden, Act: b.Act, Dropout: b.Dropout, NoBias: b.NoBias, Std: b.Std, ProjStd: b.ProjStd}
	for _, c := range []struct {
		name string
		m    Module
	}{{"ln_1", b.ln1}, {"attn", b.attn}, {"ln_2", b.ln2}, {"mlp", b.mlp}} {
		out, err := ctx.Build(c.name, c.m, in)
		if err != nil {
			return nil, err
		}
		if !out.Equal(in) {
			return nil, fmt.Errorf("nn: transformer_block: %s maps %v to %v", c.name, in, out)
		}
	}
	var err error
	for _, p := range []**batchBuf{&b.x1, &b.y, &b.dx1, &b.dx} {
		if *p, err = newBatchBuf(ctx.Dev, device.Float32, ctx.MaxBatch, in); err != nil {
			return nil, err
		}
	}
	return in.Clone(), nil
}

// Forward implements Module.
func (b *Block) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("transformer_block", b.ctx, x, b.in)
	if err != nil {
		return nil, err
	}
	b.n = n
	dev := b.ctx.Dev
	x1, _ := b.x1.rows(n)
	y, err := b.y.rows(n)
	if err != nil {
		return nil, err
	}
	h, err := b.ln1.Forward(x, train)
	if err != nil {
		return nil, fmt.Errorf("nn: ln_1: %w", err)
	}
	if h, err = b.attn.Forward(h, train); err != nil {
		return nil, fmt.Errorf("nn: attn: %w", err)
	}
	// x1 = x + attn(ln_1(x))
	if err := dev.Binary(device.Add, x.Buffer(), h.Buffer(), x1.Buffer()); err != nil {
		return nil, fmt.Errorf("nn: transformer_block forward: %w", err)
	}
	if h, err = b.ln2.Forward(x1, train); err != nil {
		return nil, fmt.Errorf("nn: ln_2: %w", err)
	}
	if h, err = b.mlp.Forward(h, train); err != nil {
		return nil, fmt.Errorf("nn: mlp: %w", err)
	}
	// y = x1 + mlp(ln_2(x1))
	if err := dev.Binary(device.Add, x1.Buffer(), h.Buffer(), y.Buffer()); err != nil {
		return nil, fmt.Errorf("nn: transformer_block forward: %w", err)
	}
	return y, nil
}

// Backward implements Module: each residual branch's input gradient is added to the
// gradient that skips it.
func (b *Block) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("transformer_block", b.n, dy, b.in); err != nil {
		return nil, err
	}
	dev := b.ctx.Dev
	dx1, _ := b.dx1.rows(b.n)
	dx, err := b.dx.rows(b.n)
	if err != nil {
		return nil, err
	}
	dh, err := b.mlp.Backward(dy, true)
	if err != nil {
		return nil, fmt.Errorf("nn: mlp: %w", err)
	}
	if dh, err = b.ln2.Backward(dh, true); err != nil {
		return nil, fmt.Errorf("nn: ln_2: %w", err)
	}
	// dx1 = dy + d(mlp(ln_2(x1)))/dx1
	if err := dev.Binary(device.Add, dy.Buffer(), dh.Buffer(), dx1.Buffer()); err != nil {
		return nil, fmt.Errorf("nn: transformer_block backward: %w", err)
	}
	if dh, err = b.attn.Backward(dx1, true); err != nil {
		return nil, fmt.Errorf("nn: attn: %w", err)
	}
	if dh, err = b.ln1.Backward(dh, needDX); err != nil {
		return nil, fmt.Errorf("nn: ln_1: %w", err)
	}
	if !needDX {
		return nil, nil
	}
	// dx = dx1 + d(attn(ln_1(x)))/dx
	if err := dev.Binary(device.Add, dx1.Buffer(), dh.Buffer(), dx.Buffer()); err != nil {
		return nil, fmt.Errorf("nn: transformer_block backward: %w", err)
	}
	return dx, nil
}

// ExportONNX implements Exporter: the two residual branches, each added to its input.
func (b *Block) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if b.ctx == nil {
		return "", fmt.Errorf("nn: transformer_block: export before Build")
	}
	h, err := ExportChild(g, "ln_1", b.ln1, x)
	if err != nil {
		return "", err
	}
	if h, err = ExportChild(g, "attn", b.attn, h); err != nil {
		return "", err
	}
	x = g.Node("Add", []string{x, h})
	if h, err = ExportChild(g, "ln_2", b.ln2, x); err != nil {
		return "", err
	}
	if h, err = ExportChild(g, "mlp", b.mlp, h); err != nil {
		return "", err
	}
	return g.Node("Add", []string{x, h}), nil
}
