package nn

import (
	"fmt"
	"math"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

func init() {
	Register("causal_self_attention", func() Module { return &CausalSelfAttention{} })
}

// CausalSelfAttention is GPT's masked multi-head self-attention (nanoGPT's
// CausalSelfAttention) on sequences x of per-example shape (T, C), with Heads heads of
// D = C/Heads values:
//
//	q, k, v = split(c_attn(x))                  c_attn: Linear C → 3C, split into heads (B, H, T, D)
//	A = causal_softmax(q·kᵀ/√D)                 (B, H, T, T); position i attends to j <= i
//	y = c_proj(merge(dropout(A)·v))             c_proj: Linear C → C; merge: (B, H, T, D) → (B, T, C)
//	y = dropout(y)
//
// The children are named as nanoGPT names them: "c_attn" and "c_proj" (weights
// "c_attn.weight" (3C, C) with q, k and v one after the other, "c_proj.weight" (C, C),
// and biases unless NoBias), and, when Dropout > 0, "attn_dropout" and
// "resid_dropout" (no parameters). c_attn's weight is drawn from N(0, Std²) and
// c_proj's from N(0, ProjStd²) (0: Std); Std 0 means PyTorch's default initialisation
// of both.
//
// The heads are split and merged with Backend.Permute ((B,T,3,H,D) → (3,B,H,T,D)), the
// scores and their product with v are batched GEMMs over the B·H heads, and the mask,
// the scale and the softmax are one Backend.CausalSoftmax. The backward pass runs the
// same steps in reverse (the softmax's scale is folded into the GEMMs of dq and dk).
type CausalSelfAttention struct {
	Heads   int     `json:"heads"`
	Dropout float32 `json:"dropout,omitempty"`
	NoBias  bool    `json:"no_bias,omitempty"`
	Std     float32 `json:"std,omitempty"`
	ProjStd float32 `json:"proj_std,omitempty"`

	ctx                *Context
	in                 tensor.Shape
	t, c, d            int // T, C, D
	cAttn, cProj       *LinearLayer
	attnDrop, residDrp *Dropout
	heads, dheads      *headBufs // (3, B, H, T, D): q, k, v and their gradients
	att, datt          *batchBuf // (B, H, T, T): the attention weights A and dL/dA
	yh, dyh            *batchBuf // (B, H, T, D): A·v and its gradient
	ym                 *batchBuf // (B, T, C): A·v with the heads merged, c_proj's input
	dqkv               *batchBuf // (B, T, 3C): c_attn's output gradient
	pd                 *tensor.Tensor
	n                  int
}

// Kind implements Module.
func (a *CausalSelfAttention) Kind() string { return "causal_self_attention" }

// Params implements Module: the attention has none of its own (its Linear children do).
func (a *CausalSelfAttention) Params() []*Param { return nil }

// Validate checks the configuration without building it.
func (a *CausalSelfAttention) Validate() error {
	if a.Heads <= 0 {
		return fmt.Errorf("heads must be positive, got %d", a.Heads)
	}
	if !(a.Dropout >= 0 && a.Dropout < 1) {
		return fmt.Errorf("dropout must be in [0, 1), got %v", a.Dropout)
	}
	if err := checkStd(a.Std); err != nil {
		return err
	}
	if err := checkStd(a.ProjStd); err != nil {
		return fmt.Errorf("proj_%w", err)
	}
	return nil
}

// Build implements Module: in is (T, C) with C a multiple of Heads.
func (a *CausalSelfAttention) Build(ctx *Context, in tensor.Shape) (tensor.Shape, error) {
	if err := a.Validate(); err != nil {
		return nil, fmt.Errorf("nn: causal_self_attention: %w", err)
	}
	if len(in) != 2 || in[1]%a.Heads != 0 {
		return nil, fmt.Errorf("nn: causal_self_attention: input shape %v, want (positions, features) with the features a multiple of heads=%d", in, a.Heads)
	}
	a.ctx, a.in = ctx, in.Clone()
	a.t, a.c, a.d = in[0], in[1], in[1]/a.Heads
	proj := a.ProjStd
	if proj == 0 {
		proj = a.Std
	}
	a.cAttn = &LinearLayer{Out: 3 * a.c, NoBias: a.NoBias, Std: a.Std}
	a.cProj = &LinearLayer{Out: a.c, NoBias: a.NoBias, Std: proj}
	if _, err := ctx.Build("c_attn", a.cAttn, in); err != nil {
		return nil, err
	}
	a.attnDrop, a.residDrp = nil, nil
	if a.Dropout > 0 {
		a.attnDrop = NewDropout(a.Dropout)
		if _, err := ctx.Build("attn_dropout", a.attnDrop, tensor.Shape{a.Heads, a.t, a.t}); err != nil {
			return nil, err
		}
	}
	if _, err := ctx.Build("c_proj", a.cProj, in); err != nil {
		return nil, err
	}
	if a.Dropout > 0 {
		a.residDrp = NewDropout(a.Dropout)
		if _, err := ctx.Build("resid_dropout", a.residDrp, in); err != nil {
			return nil, err
		}
	}
	dev, mb := ctx.Dev, ctx.MaxBatch
	hd := a.Heads * a.t * a.d
	var err error
	if a.heads, err = newHeadBufs(dev, mb, hd); err != nil {
		return nil, err
	}
	if a.dheads, err = newHeadBufs(dev, mb, hd); err != nil {
		return nil, err
	}
	for _, b := range []struct {
		p   **batchBuf
		per tensor.Shape
	}{
		{&a.att, tensor.Shape{a.Heads, a.t, a.t}}, {&a.datt, tensor.Shape{a.Heads, a.t, a.t}},
		{&a.yh, tensor.Shape{a.Heads, a.t, a.d}}, {&a.dyh, tensor.Shape{a.Heads, a.t, a.d}},
		{&a.ym, in}, {&a.dqkv, tensor.Shape{a.t, 3 * a.c}},
	} {
		if *b.p, err = newBatchBuf(dev, device.Float32, mb, b.per); err != nil {
			return nil, err
		}
	}
	return in.Clone(), nil
}

// splitHeads is the permutation of c_attn's output (B, T, 3, H, D) into q, k and v,
// each (B, H, T, D), one after the other: (3, B, H, T, D).
func (a *CausalSelfAttention) splitHeads(n int) device.PermuteArgs {
	return device.PermuteArgs{Rank: 5, Shape: [device.MaxRank]int{n, a.t, 3, a.Heads, a.d}, Perm: [device.MaxRank]int{2, 0, 3, 1, 4}}
}

// mergeHeads is the permutation (B, H, T, D) → (B, T, H, D) = (B, T, C).
func (a *CausalSelfAttention) mergeHeads(n int) device.PermuteArgs {
	return device.PermuteArgs{Rank: 4, Shape: [device.MaxRank]int{n, a.Heads, a.t, a.d}, Perm: [device.MaxRank]int{0, 2, 1, 3}}
}

// scale is the scores' factor 1/√D.
func (a *CausalSelfAttention) scale() float32 { return float32(1 / math.Sqrt(float64(a.d))) }

// bgemm is a batched GEMM over the n·H heads: C_i = alpha·op(A_i)·op(B_i) + beta·C_i,
// each operand's products StrideX apart (their M×K, K×N and M×N sizes).
func (a *CausalSelfAttention) bgemm(n int, transA, transB bool, m, nn, k int, alpha float32, A, B, C device.Buffer) error {
	return a.ctx.Dev.Gemm(device.GemmArgs{TransA: transA, TransB: transB, M: m, N: nn, K: k, Alpha: alpha,
		A: A, B: B, C: C, Batch: n * a.Heads, StrideA: m * k, StrideB: k * nn, StrideC: m * nn})
}

// Forward implements Module.
func (a *CausalSelfAttention) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	n, err := checkInput("causal_self_attention", a.ctx, x, a.in)
	if err != nil {
		return nil, err
	}
	a.n = n
	dev, t, d := a.ctx.Dev, a.t, a.d
	qkv, err := a.cAttn.Forward(x, train)
	if err != nil {
		return nil, fmt.Errorf("nn: c_attn: %w", err)
	}
	h, err := a.heads.get(dev, n)
	if err != nil {
		return nil, err
	}
	if err := dev.Permute(qkv.Buffer(), h.all, a.splitHeads(n)); err != nil {
		return nil, fmt.Errorf("nn: causal_self_attention forward: %w", err)
	}
	att, _ := a.att.rows(n)
	yh, _ := a.yh.rows(n)
	ym, err := a.ym.rows(n)
	if err != nil {
		return nil, err
	}
	// scores (T×T) = q (T×D) · kᵀ (D×T), per head; then A = causal_softmax(scores/√D)
	if err := a.bgemm(n, false, true, t, t, d, 1, h.q, h.k, att.Buffer()); err != nil {
		return nil, fmt.Errorf("nn: causal_self_attention forward: %w", err)
	}
	if err := dev.CausalSoftmax(att.Buffer(), att.Buffer(), n*a.Heads, t, a.scale()); err != nil {
		return nil, fmt.Errorf("nn: causal_self_attention forward: %w", err)
	}
	a.pd = att
	if a.attnDrop != nil {
		if a.pd, err = a.attnDrop.Forward(att, train); err != nil {
			return nil, fmt.Errorf("nn: attn_dropout: %w", err)
		}
	}
	// yh (T×D) = A (T×T) · v (T×D), per head; merged into (B, T, C)
	if err := a.bgemm(n, false, false, t, d, t, 1, a.pd.Buffer(), h.v, yh.Buffer()); err != nil {
		return nil, fmt.Errorf("nn: causal_self_attention forward: %w", err)
	}
	if err := dev.Permute(yh.Buffer(), ym.Buffer(), a.mergeHeads(n)); err != nil {
		return nil, fmt.Errorf("nn: causal_self_attention forward: %w", err)
	}
	y, err := a.cProj.Forward(ym, train)
	if err != nil {
		return nil, fmt.Errorf("nn: c_proj: %w", err)
	}
	if a.residDrp != nil {
		if y, err = a.residDrp.Forward(y, train); err != nil {
			return nil, fmt.Errorf("nn: resid_dropout: %w", err)
		}
	}
	return y, nil
}

// Backward implements Module.
func (a *CausalSelfAttention) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if err := checkGrad("causal_self_attention", a.n, dy, a.in); err != nil {
		return nil, err
	}
	n, t, d := a.n, a.t, a.d
	dev := a.ctx.Dev
	var err error
	if a.residDrp != nil {
		if dy, err = a.residDrp.Backward(dy, true); err != nil {
			return nil, fmt.Errorf("nn: resid_dropout: %w", err)
		}
	}
	dym, err := a.cProj.Backward(dy, true)
	if err != nil {
		return nil, fmt.Errorf("nn: c_proj: %w", err)
	}
	h, _ := a.heads.get(dev, n)
	dh, err := a.dheads.get(dev, n)
	if err != nil {
		return nil, err
	}
	att, _ := a.att.rows(n)
	datt, _ := a.datt.rows(n)
	dyh, _ := a.dyh.rows(n)
	dqkv, err := a.dqkv.rows(n)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*tensor.Tensor, error) {
		return nil, fmt.Errorf("nn: causal_self_attention backward: %w", err)
	}
	// dyh (B, H, T, D) from c_proj's input gradient (B, T, H, D)
	if err := dev.Permute(dym.Buffer(), dyh.Buffer(), a.mergeHeads(n).Inverse()); err != nil {
		return fail(err)
	}
	// dA (T×T) = dyh (T×D) · vᵀ (D×T); dv (T×D) = Aᵀ (T×T) · dyh (T×D), per head
	if err := a.bgemm(n, false, true, t, t, d, 1, dyh.Buffer(), h.v, datt.Buffer()); err != nil {
		return fail(err)
	}
	if err := a.bgemm(n, true, false, t, d, t, 1, a.pd.Buffer(), dyh.Buffer(), dh.v); err != nil {
		return fail(err)
	}
	ds := datt
	if a.attnDrop != nil {
		if ds, err = a.attnDrop.Backward(datt, true); err != nil {
			return nil, fmt.Errorf("nn: attn_dropout: %w", err)
		}
	}
	// dscores/scale = A ⊙ (dA - Σ_j dA·A): 0 above the diagonal, where A is 0
	if err := dev.SoftmaxBackward(att.Buffer(), ds.Buffer(), datt.Buffer(), n*a.Heads*t, t); err != nil {
		return fail(err)
	}
	// dq (T×D) = scale · dS (T×T) · k (T×D); dk (T×D) = scale · dSᵀ (T×T) · q (T×D)
	if err := a.bgemm(n, false, false, t, d, t, a.scale(), datt.Buffer(), h.k, dh.q); err != nil {
		return fail(err)
	}
	if err := a.bgemm(n, true, false, t, d, t, a.scale(), datt.Buffer(), h.q, dh.k); err != nil {
		return fail(err)
	}
	// (3, B, H, T, D) → c_attn's output gradient (B, T, 3, H, D)
	if err := dev.Permute(dh.all, dqkv.Buffer(), a.splitHeads(n).Inverse()); err != nil {
		return fail(err)
	}
	dx, err := a.cAttn.Backward(dqkv, needDX)
	if err != nil {
		return nil, fmt.Errorf("nn: c_attn: %w", err)
	}
	return dx, nil
}

// ExportONNX implements Exporter: c_attn, the heads split with Reshape and Transpose,
// MatMul, the scale, onnx.CausalSoftmax, MatMul, the heads merged, c_proj; dropout is
// the identity.
func (a *CausalSelfAttention) ExportONNX(g *onnx.Graph, x string) (string, error) {
	if a.ctx == nil {
		return "", fmt.Errorf("nn: causal_self_attention: export before Build")
	}
	qkv, err := ExportChild(g, "c_attn", a.cAttn, x) // (N, T, 3C)
	if err != nil {
		return "", err
	}
	split := g.Int64s("split_shape", []int{5}, 0, 0, 3, int64(a.Heads), int64(a.d))
	heads := g.Node("Transpose", []string{g.Node("Reshape", []string{qkv, split})}, onnx.Ints("perm", 2, 0, 3, 1, 4)) // (3, N, H, T, D)
	part := func(i int) string {
		return g.Node("Gather", []string{heads, g.Int64s(fmt.Sprintf("part%d", i), nil, int64(i))}, onnx.Int("axis", 0))
	}
	q, k, v := part(0), part(1), part(2)
	kT := g.Node("Transpose", []string{k}, onnx.Ints("perm", 0, 1, 3, 2))
	scores := g.Node("Mul", []string{g.Node("MatMul", []string{q, kT}), g.Const("scale", nil, a.scale())})
	y := g.Node("MatMul", []string{onnx.CausalSoftmax(g, scores), v}) // (N, H, T, D)
	merged := g.Int64s("merge_shape", []int{3}, 0, 0, int64(a.c))
	y = g.Node("Reshape", []string{g.Node("Transpose", []string{y}, onnx.Ints("perm", 0, 2, 1, 3)), merged})
	return ExportChild(g, "c_proj", a.cProj, y)
}

// headBufs is a (3, batch, H, T, D) workspace for up to MaxBatch examples, with cached
// views, for each batch size n, of its first 3·n·H·T·D values and of their q, k and v
// thirds.
type headBufs struct {
	full  *tensor.Tensor
	per   int // H·T·D: one example's values of one of q, k, v
	views map[int]*headViews
}

// headViews are the buffers of one batch size.
type headViews struct {
	all, q, k, v device.Buffer
}

func newHeadBufs(dev device.Backend, maxBatch, per int) (*headBufs, error) {
	t, err := tensor.New(dev, device.Float32, 3*maxBatch*per)
	if err != nil {
		return nil, err
	}
	return &headBufs{full: t, per: per, views: map[int]*headViews{}}, nil
}

// get returns the views for a batch of n examples.
func (h *headBufs) get(dev device.Backend, n int) (*headViews, error) {
	if v, ok := h.views[n]; ok {
		return v, nil
	}
	if n <= 0 || 3*n*h.per > h.full.Len() {
		return nil, fmt.Errorf("nn: batch of %d examples, but the attention was built for at most %d", n, h.full.Len()/(3*h.per))
	}
	m := n * h.per
	v := &headViews{}
	var err error
	for i, p := range []*device.Buffer{&v.all, &v.q, &v.k, &v.v} {
		off, size := (i-1)*m, m
		if i == 0 {
			off, size = 0, 3*m
		}
		if *p, err = dev.View(h.full.Buffer(), off, size); err != nil {
			return nil, err
		}
	}
	h.views[n] = v
	return v, nil
}
