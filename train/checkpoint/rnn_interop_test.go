package checkpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
	"github.com/gputrain/gputrain/train"
)

// rnnConfig is a recurrent classifier's configuration as rnn_torch.py takes it: the
// lstm or gru preset (nn.RecurrentSpec) on sequences of (steps, inputs).
type rnnConfig struct {
	Cell    string `json:"cell"`
	Inputs  int    `json:"inputs"`
	Hidden  int    `json:"hidden"`
	Layers  int    `json:"layers"`
	Classes int    `json:"classes"`
	Seed    int    `json:"seed"`
	steps   int
}

func (c rnnConfig) model(t *testing.T) nn.Module {
	s, err := nn.RecurrentSpec(c.Cell, c.Hidden, c.Layers, []int{c.steps, c.Inputs}, c.Classes)
	require.NoError(t, err)
	return s.Root
}

// runRNNTorch runs testdata/rnn_torch.py with args and returns the loss it prints.
func runRNNTorch(t *testing.T, py string, args ...string) float64 {
	t.Helper()
	root, err := repoRoot()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{filepath.Join(root, "train", "checkpoint", "testdata", "rnn_torch.py")}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "rnn_torch.py %s:\n%s", args[0], stderr.String())
	var r struct{ Loss float64 }
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(out), &r), string(out))
	return r.Loss
}

// rnnBatch writes a batch of b sequences of c's shape (F32 "x") and labels (I64 "y")
// to path.
func rnnBatch(t *testing.T, c rnnConfig, b int, seed uint64, path string) (x []float32, y []int32) {
	t.Helper()
	d := blobs(seed, b, []int{c.steps, c.Inputs}, c.Classes)
	x, y = d.X.Data().([]float32), d.Y.Data().([]int32)
	labels := make([]int64, b)
	for i, v := range y {
		labels[i] = int64(v)
	}
	require.NoError(t, WriteFile(path, &File{Tensors: []Tensor{{Name: "x", DType: F32, Shape: []int{b, c.steps, c.Inputs}, F32: x},
		{Name: "y", DType: I64, Shape: []int{b}, I64: labels}}}))
	return x, y
}

// classifierLossAndGrads computes m's mean cross-entropy on the batch (inference mode
// when train is false) and, in training mode, every parameter's gradient by name.
func classifierLossAndGrads(t *testing.T, m *nn.Model, x []float32, y []int32, train bool) (float64, map[string][]float32) {
	t.Helper()
	dev, b := m.Device(), len(y)
	xs, err := tensor.FromFloat32(dev, x, append([]int{b}, m.InputShape()...)...)
	require.NoError(t, err)
	ys, err := tensor.FromInt32(dev, y, b)
	require.NoError(t, err)
	return meanLossAndGrads(t, m, &nn.SparseCategoricalCrossEntropy{}, xs, ys, b, train)
}

var rnnConfigs = []rnnConfig{
	{Cell: "lstm", Inputs: 5, Hidden: 8, Layers: 1, Classes: 3, steps: 7},
	{Cell: "lstm", Inputs: 4, Hidden: 6, Layers: 2, Classes: 4, steps: 5},
	{Cell: "gru", Inputs: 5, Hidden: 8, Layers: 1, Classes: 3, steps: 7},
	{Cell: "gru", Inputs: 3, Hidden: 6, Layers: 2, Classes: 4, steps: 6},
}

// The lstm and gru presets' checkpoints load into torch.nn.LSTM/GRU(batch_first) +
// Linear (bench/torch_rnn.py's model, load_state_dict strict) and give the same loss on
// a fixed batch within 1e-4 relative, after some training (every tensor has moved).
func TestRNNCheckpointLoadsIntoPyTorch(t *testing.T) {
	py := interopPython(t)
	dir := t.TempDir()
	for i, c := range rnnConfigs {
		tr := newTrainer(c.model(t), "adam", uint64(i+1))
		_, err := tr.Fit(blobs(uint64(30+i), 64, []int{c.steps, c.Inputs}, c.Classes), train.Config{Epochs: 2})
		require.NoError(t, err)
		ckpt := filepath.Join(dir, "rnn.safetensors")
		require.NoError(t, Save(ckpt, tr, Settings{Model: c.Cell}))
		batch := filepath.Join(dir, "batch.safetensors")
		x, y := rnnBatch(t, c, 5, uint64(40+i), batch)
		want, _ := classifierLossAndGrads(t, tr.Net(), x, y, false)
		cfg, err := json.Marshal(c)
		require.NoError(t, err)
		got := runRNNTorch(t, py, "load", string(cfg), batch, ckpt)
		t.Logf("%+v: loss gputrain %.7f, PyTorch %.7f", c, want, got)
		assert.InEpsilon(t, want, got, 1e-4)
	}
}

// The other way: the classifier initialised and written by PyTorch loads into
// gputrain's (LoadWeights, strict) and gives the same loss, and the same gradient of
// every parameter within 1e-3 relative (L2).
func TestPyTorchRNNWeightsLoadIntoGputrain(t *testing.T) {
	py := interopPython(t)
	dir := t.TempDir()
	for i, c := range rnnConfigs {
		c.Seed = i + 3
		cfg, err := json.Marshal(c)
		require.NoError(t, err)
		batch, weights, grads := filepath.Join(dir, "batch.safetensors"), filepath.Join(dir, "w.safetensors"), filepath.Join(dir, "g.safetensors")
		const b = 6
		x, y := rnnBatch(t, c, b, uint64(50+i), batch)
		want := runRNNTorch(t, py, "write", string(cfg), batch, weights, grads)

		m := nn.NewModel(c.model(t))
		require.NoError(t, m.Build(cpu.New(cpu.Options{}), tensor.Shape{c.steps, c.Inputs}, b, 1))
		r, err := LoadWeights(m, weights, true)
		require.NoError(t, err)
		assert.Contains(t, r.Loaded, "0.weight_hh_l0")
		got, gg := classifierLossAndGrads(t, m, x, y, true)
		t.Logf("%+v: loss PyTorch %.7f, gputrain %.7f", c, want, got)
		assert.InEpsilon(t, want, got, 1e-4)
		sameGrads(t, c.Cell, gg, grads)
	}
}

// A checkpoint of the recurrent presets rebuilds the model from its stored Spec alone
// (LoadModel): the same parameters by name and the same predictions, bit for bit.
func TestRNNCheckpointRebuildsTheModel(t *testing.T) {
	dir := t.TempDir()
	for i, c := range rnnConfigs {
		tr := newTrainer(c.model(t), "adam", uint64(i+1))
		d := blobs(uint64(60+i), 32, []int{c.steps, c.Inputs}, c.Classes)
		_, err := tr.Fit(d, train.Config{Epochs: 1})
		require.NoError(t, err)
		path := filepath.Join(dir, c.Cell+".safetensors")
		require.NoError(t, Save(path, tr, Settings{Model: c.Cell}))
		ck, err := Open(path)
		require.NoError(t, err)
		m, err := ck.LoadModel(cpu.New(cpu.Options{Threads: 2}), 0)
		require.NoError(t, err)
		require.Equal(t, len(tr.Net().Params()), len(m.Params()))
		for j, p := range tr.Net().Params() {
			assert.Equal(t, p.Name, m.Params()[j].Name)
		}
		want, err := tr.Predict(d.X)
		require.NoError(t, err)
		got, err := m.Predict(d.X)
		require.NoError(t, err)
		assert.Equal(t, want.Data(), got.Data(), "%s, %d layers", c.Cell, c.Layers)
	}
}

// The recurrent layers' gradients are the same bits for any CPU thread count (at a
// size where the cells and GEMMs are split between threads).
func TestRNNGradientsDoNotDependOnThreads(t *testing.T) {
	for _, c := range []rnnConfig{
		{Cell: "lstm", Inputs: 12, Hidden: 96, Layers: 2, Classes: 5, steps: 9},
		{Cell: "gru", Inputs: 12, Hidden: 96, Layers: 2, Classes: 5, steps: 9},
	} {
		var first map[string][]float32
		for _, threads := range []int{1, 2, 3} {
			m := nn.NewModel(c.model(t))
			require.NoError(t, m.Build(cpu.New(cpu.Options{Threads: threads}), tensor.Shape{c.steps, c.Inputs}, 48, 7))
			d := blobs(70, 48, []int{c.steps, c.Inputs}, c.Classes)
			_, grads := classifierLossAndGrads(t, m, d.X.Data().([]float32), d.Y.Data().([]int32), true)
			if first == nil {
				first = grads
				continue
			}
			assert.Equal(t, first, grads, "%s: gradients with %d threads", c.Cell, threads)
		}
	}
}

// The language model of -model lstm (or gru) on text (nn.RecurrentLMSpec: Embedding,
// the recurrent layers, a Linear on every step) against PyTorch's both ways: our trained checkpoint gives
// PyTorch the same loss (1e-4), PyTorch's weights give us the same loss (1e-4) and
// gradients (1e-3, L2).
func TestRecurrentLanguageModelAgainstPyTorch(t *testing.T) {
	py := interopPython(t)
	dir := t.TempDir()
	text := gptText(t, 12)
	for i, c := range []rnnConfig{{Cell: "lstm", Hidden: 16, Layers: 2}, {Cell: "gru", Hidden: 12, Layers: 1}} {
		vocab := text.Vocab.Size()
		lm := func() nn.Module {
			s, err := nn.RecurrentLMSpec(c.Cell, c.Hidden, c.Layers, vocab, text.Context)
			require.NoError(t, err)
			return s.Root
		}
		cfg, err := json.Marshal(struct {
			rnnConfig
			Vocab int `json:"vocab"`
		}{rnnConfig{Cell: c.Cell, Hidden: c.Hidden, Layers: c.Layers, Seed: i + 7}, vocab})
		require.NoError(t, err)
		const b = 3
		batch := filepath.Join(dir, "batch.safetensors")
		x, y := gptBatch(t, text, b, batch)

		// ours → PyTorch, after some training
		opt := train.NewAdam()
		opt.Hyper.LR = 1e-2
		tr := &train.Trainer{Model: lm(), Loss: &nn.SequenceCrossEntropy{}, Optimizer: opt, Dev: cpu.New(cpu.Options{}),
			BatchSize: 4, Seed: uint64(i + 1), ClipNorm: 1}
		_, err = tr.FitSteps(text.Stream(1), train.StepConfig{Steps: 30})
		require.NoError(t, err)
		ckpt := filepath.Join(dir, "lm.safetensors")
		require.NoError(t, Save(ckpt, tr, Settings{Model: c.Cell, Vocab: text.Vocab.Bytes}))
		want, _ := lossAndGrads(t, tr.Net(), x, y, b, false)
		got := runRNNTorch(t, py, "load", string(cfg), batch, ckpt)
		t.Logf("%s: loss gputrain %.7f, PyTorch %.7f", c.Cell, want, got)
		assert.InEpsilon(t, want, got, 1e-4)

		// PyTorch → ours
		weights, grads := filepath.Join(dir, "w.safetensors"), filepath.Join(dir, "g.safetensors")
		want = runRNNTorch(t, py, "write", string(cfg), batch, weights, grads)
		m := nn.NewModel(lm())
		require.NoError(t, m.Build(cpu.New(cpu.Options{}), tensor.Shape{text.Context}, b, 1))
		_, err = LoadWeights(m, weights, true)
		require.NoError(t, err)
		got, gg := lossAndGrads(t, m, x, y, b, true)
		t.Logf("%s: loss PyTorch %.7f, gputrain %.7f", c.Cell, want, got)
		assert.InEpsilon(t, want, got, 1e-4)
		sameGrads(t, c.Cell, gg, grads)
	}
}
