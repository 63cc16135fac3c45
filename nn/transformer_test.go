package nn_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
)

// The sequence-model layers: finite-difference gradient checks of each (parameters and
// input), the attention against a float64 reference and its causality, and the GPT's
// names and gradients through the sequence cross-entropy.

func TestLinearLayerGradients(t *testing.T) {
	t.Run("bias", func(t *testing.T) { checkLayer(t, nn.NewLinearLayer(4), tensor.Shape{3, 5}, 2, 1) })
	t.Run("no_bias_std", func(t *testing.T) {
		checkLayer(t, &nn.LinearLayer{Out: 3, NoBias: true, Std: 0.5}, tensor.Shape{2, 2, 4}, 3, 1)
	})
	t.Run("flat", func(t *testing.T) { checkLayer(t, nn.NewLinearLayer(2), tensor.Shape{6}, 4, 1) })
}

func TestLayerNormGradients(t *testing.T) {
	t.Run("bias", func(t *testing.T) { checkLayer(t, nn.NewLayerNorm(), tensor.Shape{3, 6}, 2, 2) })
	t.Run("no_bias", func(t *testing.T) { checkLayer(t, &nn.LayerNorm{NoBias: true, Eps: 1e-3}, tensor.Shape{5}, 4, 2) })
}

func TestPositionEmbeddingGradients(t *testing.T) {
	checkLayer(t, &nn.PositionEmbedding{Num: 6, Std: 0.3}, tensor.Shape{4, 3}, 3, 1)
}

func TestCausalSelfAttentionGradients(t *testing.T) {
	t.Run("bias", func(t *testing.T) {
		checkLayer(t, &nn.CausalSelfAttention{Heads: 2, Std: 0.4}, tensor.Shape{5, 6}, 3, 1)
	})
	t.Run("no_bias_dropout", func(t *testing.T) {
		checkLayer(t, &nn.CausalSelfAttention{Heads: 3, NoBias: true, Dropout: 0.25, Std: 0.4, ProjStd: 0.2}, tensor.Shape{4, 6}, 2, 1)
	})
	t.Run("one_head_one_position", func(t *testing.T) {
		checkLayer(t, &nn.CausalSelfAttention{Heads: 1}, tensor.Shape{1, 4}, 2, 1)
	})
}

func TestMLPGradients(t *testing.T) {
	t.Run("gelu", func(t *testing.T) { checkLayer(t, &nn.MLP{Act: nn.GELU, Std: 0.3}, tensor.Shape{3, 4}, 2, 1) })
	t.Run("gelu_tanh_dropout", func(t *testing.T) {
		checkLayer(t, &nn.MLP{Act: nn.GELUTanh, Hidden: 7, Dropout: 0.3, NoBias: true}, tensor.Shape{2, 5}, 3, 1)
	})
}

func TestBlockGradients(t *testing.T) {
	t.Run("bias", func(t *testing.T) {
		checkLayer(t, &nn.Block{Heads: 2, Act: nn.GELU, Std: 0.3}, tensor.Shape{4, 6}, 2, 1)
	})
	t.Run("no_bias_dropout", func(t *testing.T) {
		checkLayer(t, &nn.Block{Heads: 2, Act: nn.GELU, NoBias: true, Dropout: 0.2, Std: 0.3, ProjStd: 0.1}, tensor.Shape{3, 4}, 2, 1)
	})
}

// attentionRef computes causal self-attention in float64 on the host from the layer's
// weights: x (B, T, C), wqkv (3C, C), bqkv (3C), wo (C, C), bo (C).
func attentionRef(x []float32, b, tt, c, heads int, wqkv, bqkv, wo, bo []float32) []float64 {
	d := c / heads
	qkv := make([]float64, b*tt*3*c)
	for r := range b * tt {
		for o := range 3 * c {
			s := float64(bqkv[o])
			for i := range c {
				s += float64(x[r*c+i]) * float64(wqkv[o*c+i])
			}
			qkv[r*3*c+o] = s
		}
	}
	merged := make([]float64, b*tt*c)
	for bi := range b {
		for h := range heads {
			at := func(t, part, j int) float64 { return qkv[(bi*tt+t)*3*c+part*c+h*d+j] }
			for i := range tt {
				scores := make([]float64, i+1)
				m := math.Inf(-1)
				for j := 0; j <= i; j++ {
					s := 0.0
					for k := range d {
						s += at(i, 0, k) * at(j, 1, k)
					}
					scores[j] = s / math.Sqrt(float64(d))
					m = math.Max(m, scores[j])
				}
				z := 0.0
				for j := range scores {
					scores[j] = math.Exp(scores[j] - m)
					z += scores[j]
				}
				for k := range d {
					s := 0.0
					for j := range scores {
						s += scores[j] / z * at(j, 2, k)
					}
					merged[(bi*tt+i)*c+h*d+k] = s
				}
			}
		}
	}
	y := make([]float64, b*tt*c)
	for r := range b * tt {
		for o := range c {
			s := float64(bo[o])
			for i := range c {
				s += merged[r*c+i] * float64(wo[o*c+i])
			}
			y[r*c+o] = s
		}
	}
	return y
}

// The attention's output is the formula's, computed in float64 from its weights, and
// position t's output does not depend on the inputs after t.
func TestCausalSelfAttentionMatchesReference(t *testing.T) {
	const b, tt, c, heads = 2, 5, 8, 2
	dev := newDev(t)
	m := nn.NewModel(&nn.CausalSelfAttention{Heads: heads, Std: 0.3})
	require.NoError(t, m.Build(dev, tensor.Shape{tt, c}, b, 4))
	randomize(t, m, 5)
	byName := map[string][]float32{}
	for _, p := range m.Params() {
		byName[p.Name] = read(t, p.Value)
	}
	assert.ElementsMatch(t, []string{"c_attn.weight", "c_attn.bias", "c_proj.weight", "c_proj.bias"}, keys(byName))
	rng := rand.New(rand.NewPCG(3, 4))
	xv := randn(rng, b*tt*c, 1)
	x, err := tensor.FromFloat32(dev, xv, b, tt, c)
	require.NoError(t, err)
	y, err := m.Forward(x, false)
	require.NoError(t, err)
	got := read(t, y)
	want := attentionRef(xv, b, tt, c, heads, byName["c_attn.weight"], byName["c_attn.bias"], byName["c_proj.weight"], byName["c_proj.bias"])
	for i := range want {
		require.InDeltaf(t, want[i], got[i], 1e-5*math.Max(1, math.Abs(want[i])), "y[%d]", i)
	}
	// change the last two positions of every example: the first three outputs stay
	for bi := range b {
		for i := (bi*tt + 3) * c; i < (bi+1)*tt*c; i++ {
			xv[i] += 1
		}
	}
	require.NoError(t, x.SetFloat32s(xv))
	y, err = m.Forward(x, false)
	require.NoError(t, err)
	again := read(t, y)
	for bi := range b {
		lo, hi := bi*tt*c, (bi*tt+3)*c
		assert.Equal(t, got[lo:hi], again[lo:hi], "outputs before the change")
		assert.NotEqual(t, got[hi:(bi+1)*tt*c], again[hi:(bi+1)*tt*c], "outputs after it")
	}
}

func keys(m map[string][]float32) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSequenceLossGradients(t *testing.T) {
	dev := newDev(t)
	rng := rand.New(rand.NewPCG(8, 9))
	t.Run("sequence_crossentropy", func(t *testing.T) {
		logits, err := tensor.FromFloat32(dev, randn(rng, 3*4*5, 2), 3, 4, 5)
		require.NoError(t, err)
		ids := make([]int32, 12)
		for i := range ids {
			ids[i] = int32(rng.IntN(5))
		}
		targets, err := tensor.FromInt32(dev, ids, 3, 4)
		require.NoError(t, err)
		checkLoss(t, &nn.SequenceCrossEntropy{}, logits, targets)
	})
	t.Run("bce_with_logits", func(t *testing.T) {
		logits, err := tensor.FromFloat32(dev, randn(rng, 4*3, 2), 4, 3)
		require.NoError(t, err)
		tv := make([]float32, 12)
		for i := range tv {
			tv[i] = float32(rng.Float64())
		}
		target, err := tensor.FromFloat32(dev, tv, 4, 3)
		require.NoError(t, err)
		checkLoss(t, &nn.BCEWithLogits{}, logits, target)
	})
}

// The sequence cross-entropy's known answer: uniform logits cost log V per position,
// and a position whose target has the largest logit counts as correct.
func TestSequenceCrossEntropyKnownAnswer(t *testing.T) {
	dev := newDev(t)
	logits, err := tensor.FromFloat32(dev, []float32{0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 2, 2, 4)
	require.NoError(t, err)
	targets, err := tensor.FromInt32(dev, []int32{3, 0, 1, 3}, 2, 2)
	require.NoError(t, err)
	l := &nn.SequenceCrossEntropy{}
	require.NoError(t, l.Build(dev, 2, tensor.Shape{2, 4}))
	res, err := l.Forward(logits, nil, targets)
	require.NoError(t, err)
	lse := func(v ...float64) float64 {
		s := 0.0
		for _, x := range v {
			s += math.Exp(x)
		}
		return math.Log(s)
	}
	want0 := (math.Log(4) + lse(2, 0, 0, 0) - 2) / 2
	want1 := (math.Log(4) + lse(0, 0, 0, 1) - 1) / 2
	loss := read(t, res.Loss)
	assert.InDelta(t, want0, loss[0], 1e-6)
	assert.InDelta(t, want1, loss[1], 1e-6)
	// example 0: position 0 ties (argmax 0 ≠ 3), position 1 right; example 1: position 1 right
	assert.Equal(t, []float32{0.5, 0.5}, read(t, res.Correct))
}

// nanoGPT's state_dict names, in order, for a 2-layer GPT without biases.
var gptNames = []string{
	"transformer.wte.weight", "transformer.wpe.weight",
	"transformer.h.0.ln_1.weight", "transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_proj.weight",
	"transformer.h.0.ln_2.weight", "transformer.h.0.mlp.c_fc.weight", "transformer.h.0.mlp.c_proj.weight",
	"transformer.h.1.ln_1.weight", "transformer.h.1.attn.c_attn.weight", "transformer.h.1.attn.c_proj.weight",
	"transformer.h.1.ln_2.weight", "transformer.h.1.mlp.c_fc.weight", "transformer.h.1.mlp.c_proj.weight",
	"transformer.ln_f.weight", "lm_head.weight",
}

// The GPT's parameters carry nanoGPT's names (the head tied to the token embedding),
// its initialisation follows nanoGPT's, and its gradients through the sequence
// cross-entropy match finite differences, the tied table's included.
func TestGPTNamesAndGradients(t *testing.T) {
	const vocab, tt, batch = 7, 5, 3
	dev := newDev(t)
	for _, c := range []struct {
		name string
		gpt  *nn.GPT
	}{
		{"no_bias", &nn.GPT{Vocab: vocab, Context: 6, Layers: 2, Heads: 2, Dim: 8}},
		{"bias_dropout", &nn.GPT{Vocab: vocab, Context: tt, Layers: 1, Heads: 1, Dim: 4, Dropout: 0.2, Bias: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := nn.NewModel(c.gpt)
			require.NoError(t, m.Build(dev, tensor.Shape{tt}, batch, 3))
			var names []string
			for _, e := range m.StateDict() {
				names = append(names, e.Name)
			}
			if !c.gpt.Bias {
				assert.Equal(t, gptNames, names)
				assert.Same(t, m.StateDict()[0].Param, m.StateDict()[len(names)-1].Param, "lm_head.weight is transformer.wte.weight")
				for _, p := range m.Params() {
					v := read(t, p.Value)
					switch {
					case strings.Contains(p.Name, "ln_"):
						assert.Equal(t, float32(1), v[0], p.Name)
					case strings.HasSuffix(p.Name, "c_proj.weight"):
						assert.InDelta(t, 0.02/math.Sqrt(4), stddev(v), 0.004, p.Name)
					default:
						assert.InDelta(t, 0.02, stddev(v), 0.006, p.Name)
					}
				}
			} else {
				assert.Contains(t, names, "transformer.h.0.attn.c_attn.bias")
				assert.Contains(t, names, "transformer.ln_f.bias")
				assert.NotContains(t, names, "lm_head.bias")
			}
			assert.Equal(t, tensor.Shape{tt, vocab}, m.OutputShape())
			randomize(t, m, 2)
			scaleWeights(t, m, 20) // 0.02 is too small for finite differences to see much
			rng := rand.New(rand.NewPCG(1, 1))
			ids, tg := make([]int32, batch*tt), make([]int32, batch*tt)
			for i := range ids {
				ids[i], tg[i] = int32(rng.IntN(vocab)), int32(rng.IntN(vocab))
			}
			x, err := tensor.FromInt32(dev, ids, batch, tt)
			require.NoError(t, err)
			y, err := tensor.FromInt32(dev, tg, batch, tt)
			require.NoError(t, err)
			loss := &nn.SequenceCrossEntropy{}
			require.NoError(t, loss.Build(dev, batch, m.OutputShape()))
			mean := func() float64 {
				m.Context().Step = 0 // the same dropout masks every time
				out, err := m.Forward(x, true)
				require.NoError(t, err)
				res, err := loss.Forward(out, nil, y)
				require.NoError(t, err)
				s := 0.0
				for _, v := range read(t, res.Loss) {
					s += float64(v)
				}
				return s / batch
			}
			mean()
			g, _, err := loss.Backward(1 / float32(batch))
			require.NoError(t, err)
			require.NoError(t, m.ZeroGrad())
			require.NoError(t, m.Backward(g, false))
			for _, p := range m.Params() {
				grad, v := read(t, p.Grad), read(t, p.Value)
				for _, i := range rng.Perm(len(v))[:min(len(v), 12)] {
					orig := v[i]
					v[i] = orig + fdStep
					require.NoError(t, p.Value.SetFloat32s(v))
					lp := mean()
					v[i] = orig - fdStep
					require.NoError(t, p.Value.SetFloat32s(v))
					lm := mean()
					v[i] = orig
					require.NoError(t, p.Value.SetFloat32s(v))
					num := (lp - lm) / (2 * fdStep)
					require.LessOrEqualf(t, math.Abs(float64(grad[i])-num), fdTol*math.Max(1, math.Abs(num)),
						"%s[%d]: analytic %v, numeric %v", p.Name, i, grad[i], num)
				}
			}
		})
	}
}

func stddev(v []float32) float64 {
	s, ss := 0.0, 0.0
	for _, x := range v {
		s += float64(x)
		ss += float64(x) * float64(x)
	}
	n := float64(len(v))
	return math.Sqrt(ss/n - (s/n)*(s/n))
}

// scaleWeights multiplies every matrix of m by f.
func scaleWeights(t *testing.T, m *nn.Model, f float32) {
	for _, p := range m.Params() {
		if len(p.Value.Shape()) < 2 {
			continue
		}
		v := read(t, p.Value)
		for i := range v {
			v[i] *= f
		}
		require.NoError(t, p.Value.SetFloat32s(v))
	}
}

// A GPT checks its configuration and its input.
func TestGPTErrors(t *testing.T) {
	dev := newDev(t)
	for _, c := range []struct {
		gpt  *nn.GPT
		in   tensor.Shape
		want string
	}{
		{&nn.GPT{Vocab: 5, Context: 4, Layers: 1, Heads: 3, Dim: 8}, tensor.Shape{4}, "dim 8 is not a multiple of heads 3"},
		{&nn.GPT{Vocab: 5, Context: 4, Layers: 0, Heads: 2, Dim: 8}, tensor.Shape{4}, "layers must be positive, got 0"},
		{&nn.GPT{Vocab: 5, Context: 4, Layers: 1, Heads: 2, Dim: 8, Dropout: 1}, tensor.Shape{4}, "dropout must be in [0, 1), got 1"},
		{&nn.GPT{Vocab: 5, Context: 4, Layers: 1, Heads: 2, Dim: 8}, tensor.Shape{5}, "input shape (5), want (positions) of at most context=4 token ids"},
		{&nn.GPT{Vocab: 5, Context: 4, Layers: 1, Heads: 2, Dim: 8}, tensor.Shape{2, 2}, "want (positions)"},
	} {
		err := nn.NewModel(c.gpt).Build(dev, c.in, 2, 1)
		assert.ErrorContains(t, err, c.want)
	}
	_, err := nn.ParseSpec(strings.NewReader(`{"input": [4], "model": {"type": "gpt", "vocab": 5, "context": 4, "layers": 1, "heads": 2, "dim": 7}}`))
	assert.ErrorContains(t, err, "model (gpt): dim 7 is not a multiple of heads 2")
	_, err = nn.ParseSpec(strings.NewReader(`{"input": [4, 6], "model": {"type": "causal_self_attention", "heads": 0}}`))
	assert.ErrorContains(t, err, "model (causal_self_attention): heads must be positive, got 0")
	m := nn.NewModel(&nn.CausalSelfAttention{Heads: 4})
	assert.ErrorContains(t, m.Build(dev, tensor.Shape{3, 6}, 2, 1), "want (positions, features) with the features a multiple of heads=4")
	m = nn.NewModel(&nn.PositionEmbedding{Num: 3})
	assert.ErrorContains(t, m.Build(dev, tensor.Shape{4, 6}, 2, 1), "4 positions, but the table has 3 (num)")
}
