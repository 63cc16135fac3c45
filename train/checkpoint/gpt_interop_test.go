package checkpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/data"
)

// gptConfig is a GPT's configuration as gpt_torch.py takes it.
type gptConfig struct {
	Vocab   int     `json:"vocab"`
	Context int     `json:"context"`
	Layers  int     `json:"layers"`
	Heads   int     `json:"heads"`
	Dim     int     `json:"dim"`
	Dropout float32 `json:"dropout"`
	Bias    bool    `json:"bias"`
	Seed    int     `json:"seed"`
}

func (c gptConfig) gpt() *nn.GPT {
	return &nn.GPT{Vocab: c.Vocab, Context: c.Context, Layers: c.Layers, Heads: c.Heads, Dim: c.Dim, Dropout: c.Dropout, Bias: c.Bias}
}

// runGPTTorch runs testdata/gpt_torch.py with args and returns the loss it prints.
func runGPTTorch(t *testing.T, py string, args ...string) float64 {
	t.Helper()
	root, err := repoRoot()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{filepath.Join(root, "train", "checkpoint", "testdata", "gpt_torch.py")}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "gpt_torch.py %s:\n%s", args[0], stderr.String())
	var r struct{ Loss float64 }
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(out), &r), string(out))
	return r.Loss
}

// gptBatch draws a batch of windows of text and writes it as I64 "x" and "y" to path.
func gptBatch(t *testing.T, text *data.Text, b int, path string) (x, y []int32) {
	t.Helper()
	x, y = make([]int32, b*text.Context), make([]int32, b*text.Context)
	require.NoError(t, text.Sampler(99).Next(x, y))
	wide := func(v []int32) []int64 {
		out := make([]int64, len(v))
		for i, id := range v {
			out[i] = int64(id)
		}
		return out
	}
	shape := []int{b, text.Context}
	require.NoError(t, WriteFile(path, &File{Tensors: []Tensor{{Name: "x", DType: I64, Shape: shape, I64: wide(x)},
		{Name: "y", DType: I64, Shape: shape, I64: wide(y)}}}))
	return x, y
}

// lossAndGrads computes m's mean sequence cross-entropy on the batch (inference mode
// when train is false) and, in training mode, every parameter's gradient by name.
func lossAndGrads(t *testing.T, m *nn.Model, x, y []int32, b int, train bool) (float64, map[string][]float32) {
	t.Helper()
	dev, tt := m.Device(), m.InputShape()[0]
	xs, err := tensor.FromInt32(dev, x, b, tt)
	require.NoError(t, err)
	ys, err := tensor.FromInt32(dev, y, b, tt)
	require.NoError(t, err)
	return meanLossAndGrads(t, m, &nn.SequenceCrossEntropy{}, xs, ys, b, train)
}

func gptText(t *testing.T, context int) *data.Text {
	t.Helper()
	text, err := data.NewText([]byte(strings.Repeat("First Citizen:\nBefore we proceed any further, hear me speak.\n", 30)), "citizen", context)
	require.NoError(t, err)
	return text
}

// The char-GPT's checkpoints load into nanoGPT's GPT in PyTorch (bench/torch_gpt.py's,
// load_state_dict strict) and give the same loss on a fixed batch within 1e-4
// relative; with and without biases, after some training (so that every tensor,
// layer norms included, has moved from its initial value).
func TestGPTCheckpointLoadsIntoPyTorch(t *testing.T) {
	py := interopPython(t)
	dir := t.TempDir()
	for i, c := range []gptConfig{
		{Layers: 2, Heads: 2, Dim: 16, Context: 16},
		{Layers: 1, Heads: 4, Dim: 8, Context: 12, Dropout: 0.1, Bias: true},
	} {
		text := gptText(t, 12)
		c.Vocab = text.Vocab.Size()
		opt := train.NewAdamW()
		opt.Hyper.LR = 1e-2
		tr := &train.Trainer{Model: c.gpt(), Loss: &nn.SequenceCrossEntropy{}, Optimizer: opt, Dev: cpu.New(cpu.Options{}),
			BatchSize: 4, Seed: uint64(i + 1), ClipNorm: 1}
		_, err := tr.FitSteps(text.Stream(1), train.StepConfig{Steps: 30})
		require.NoError(t, err)
		ckpt := filepath.Join(dir, "gpt.safetensors")
		require.NoError(t, Save(ckpt, tr, Settings{Model: "gpt", Vocab: text.Vocab.Bytes}))
		batch := filepath.Join(dir, "batch.safetensors")
		const b = 3
		x, y := gptBatch(t, text, b, batch)
		// the model's window is 12, the batch's too; the GPT's context may be longer
		want, _ := lossAndGrads(t, tr.Net(), x, y, b, false)
		cfg, err := json.Marshal(c)
		require.NoError(t, err)
		got := runGPTTorch(t, py, "load", string(cfg), batch, ckpt)
		t.Logf("%+v: loss gputrain %.7f, PyTorch %.7f", c, want, got)
		assert.InEpsilon(t, want, got, 1e-4)
	}
}

// The other way: nanoGPT's GPT initialised and written by PyTorch loads into
// gputrain's (LoadWeights, strict) and gives the same loss, and the same gradient of
// every parameter (the tied table's included) within 1e-3 relative.
func TestPyTorchGPTWeightsLoadIntoGputrain(t *testing.T) {
	py := interopPython(t)
	dir := t.TempDir()
	text := gptText(t, 16)
	for _, c := range []gptConfig{
		{Vocab: text.Vocab.Size(), Layers: 2, Heads: 2, Dim: 16, Context: 16, Seed: 3},
		{Vocab: text.Vocab.Size(), Layers: 1, Heads: 4, Dim: 8, Context: 20, Bias: true, Seed: 4},
	} {
		cfg, err := json.Marshal(c)
		require.NoError(t, err)
		batch, weights, grads := filepath.Join(dir, "batch.safetensors"), filepath.Join(dir, "w.safetensors"), filepath.Join(dir, "g.safetensors")
		const b = 4
		x, y := gptBatch(t, text, b, batch)
		want := runGPTTorch(t, py, "write", string(cfg), batch, weights, grads)

		m := nn.NewModel(c.gpt())
		require.NoError(t, m.Build(cpu.New(cpu.Options{}), tensor.Shape{text.Context}, b, 1))
		r, err := LoadWeights(m, weights, true)
		require.NoError(t, err)
		assert.Contains(t, r.Loaded, "lm_head.weight")
		got, gg := lossAndGrads(t, m, x, y, b, true)
		t.Logf("%+v: loss PyTorch %.7f, gputrain %.7f", c, want, got)
		assert.InEpsilon(t, want, got, 1e-4)
		sameGrads(t, fmt.Sprintf("%+v", c), gg, grads)
	}
}

// sameGrads checks the gradients gg, by name, against those PyTorch wrote to the
// safetensors file path: the same names, and each within 1e-3 relative (L2).
func sameGrads(t *testing.T, label string, gg map[string][]float32, path string) {
	t.Helper()
	tg, err := ReadFile(path)
	require.NoError(t, err)
	require.Len(t, gg, len(tg.Tensors), "%s: a gradient for every name", label)
	for _, wt := range tg.Tensors {
		g, ok := gg[wt.Name]
		require.True(t, ok, "%s: no gradient %s in gputrain's model", label, wt.Name)
		require.Len(t, g, len(wt.F32), wt.Name)
		diff, norm := 0.0, 0.0
		for i, w := range wt.F32 {
			diff += (float64(g[i]) - float64(w)) * (float64(g[i]) - float64(w))
			norm += float64(w) * float64(w)
		}
		rel := math.Sqrt(diff / norm)
		assert.LessOrEqual(t, rel, 1e-3, "%s %s: gradients differ by %.3g relative (L2)", label, wt.Name, rel)
	}
}

// meanLossAndGrads runs m on xs and loss against ys (inference mode when train is
// false) and returns the batch's mean loss and, in training mode, every parameter's
// gradient by name: the tail of the interop tests' loss-and-gradient helpers.
func meanLossAndGrads(t *testing.T, m *nn.Model, loss nn.Loss, xs, ys *tensor.Tensor, b int, train bool) (float64, map[string][]float32) {
	t.Helper()
	require.NoError(t, loss.Build(m.Device(), b, m.OutputShape()))
	out, err := m.Forward(xs, train)
	require.NoError(t, err)
	res, err := loss.Forward(out, m.Logits(), ys)
	require.NoError(t, err)
	per, err := res.Loss.Float32s()
	require.NoError(t, err)
	mean := 0.0
	for _, v := range per {
		mean += float64(v) / float64(b)
	}
	if !train {
		return mean, nil
	}
	g, fromLogits, err := loss.Backward(1 / float32(b))
	require.NoError(t, err)
	require.NoError(t, m.ZeroGrad())
	require.NoError(t, m.Backward(g, fromLogits))
	grads := map[string][]float32{}
	for _, e := range m.StateDict() {
		if e.Param.Grad != nil {
			v, err := e.Param.Grad.Float32s()
			require.NoError(t, err)
			grads[e.Name] = v
		}
	}
	return mean, grads
}
