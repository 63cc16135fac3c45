package checkpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/data"
)

// LoadWeights loads what matches by name and shape and reports the rest, as PyTorch's
// load_state_dict(strict=False); strict refuses and changes nothing.
func TestLoadWeightsReportsByName(t *testing.T) {
	src, _ := trained(t, 8, nn.ReLU, "adam")
	path := filepath.Join(t.TempDir(), "src.safetensors")
	require.NoError(t, Save(path, src, Settings{}))

	// The same body, a head of 5 classes, and one more layer.
	m := nn.NewModel(nn.NewSequential(nn.NewDense(8, nn.ReLU), nn.NewBatchNorm(), nn.NewDropout(0.25), nn.NewDense(5, nn.ReLU), nn.NewDense(2, nn.Softmax)))
	require.NoError(t, m.Build(cpu.New(cpu.Options{}), tensor.Shape{4}, 8, 1))
	before := map[string][]float32{}
	for _, p := range m.Params() {
		before[p.Name] = read(t, p.Value)
	}

	r, err := LoadWeights(m, path, true)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not fit the model: missing 6.bias, 6.weight; mismatched 4.bias (shape (3) in the file, (5) in the model)")
	for _, p := range m.Params() {
		assert.Equal(t, before[p.Name], read(t, p.Value), "strict: %s unchanged", p.Name)
	}

	r, err = LoadWeights(m, path, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"0.bias", "0.weight", "2.bias", "2.running_mean", "2.running_var", "2.weight"}, r.Loaded)
	assert.Equal(t, []string{"6.bias", "6.weight"}, r.Missing)
	assert.Empty(t, r.Unexpected, "the optimizer's state is not the model's, and not unexpected")
	assert.Equal(t, []string{"4.bias (shape (3) in the file, (5) in the model)", "4.weight (shape (3, 8) in the file, (5, 8) in the model)"}, r.Mismatched)
	want := snapshot(t, src)
	for _, p := range m.Params() {
		if _, ok := want[p.Name]; ok && p.Name[0] != '4' {
			assert.Equal(t, want[p.Name], read(t, p.Value), "%s loaded", p.Name)
		} else {
			assert.Equal(t, before[p.Name], read(t, p.Value), "%s kept its initial value", p.Name)
		}
	}

	_, err = LoadWeights(nn.NewModel(nn.NewSequential(nn.NewDense(2, nn.ReLU))), path, false)
	assert.ErrorContains(t, err, "the model is not built")
	other := nn.NewModel(nn.NewSequential(&nn.Sequential{Layers: []nn.Module{nn.NewDense(2, nn.Softmax)}, Names: []string{"head"}}))
	require.NoError(t, other.Build(cpu.New(cpu.Options{}), tensor.Shape{4}, 2, 1))
	_, err = LoadWeights(other, path, false)
	assert.ErrorContains(t, err, "no tensor matches the model by name and shape (the model has 0.head.bias, 0.head.weight)")
	_, err = LoadWeights(m, filepath.Join(t.TempDir(), "none.safetensors"), false)
	assert.ErrorContains(t, err, "none.safetensors")
}

// Fine-tuning: the head alone trains on new data; the frozen body stays bit for bit.
func TestFineTuneTheHead(t *testing.T) {
	src, _ := trained(t, 8, nn.ReLU, "adam")
	path := filepath.Join(t.TempDir(), "src.safetensors")
	require.NoError(t, Save(path, src, Settings{}))
	tr := newTrainer(mlp(8, nn.ReLU), "adam", 11)
	require.NoError(t, tr.Build([]int{4}))
	_, err := LoadWeights(tr.Net(), path, true)
	require.NoError(t, err)
	frozen, err := tr.Net().Freeze("0", "2")
	require.NoError(t, err)
	assert.Equal(t, []string{"0.weight", "0.bias", "2.weight", "2.bias"}, frozen)
	before := snapshot(t, tr)
	_, err = tr.Fit(blobs(5, 160, []int{4}, 3), train.Config{Epochs: 2})
	require.NoError(t, err)
	after := snapshot(t, tr)
	for _, name := range []string{"0.weight", "0.bias", "2.weight", "2.bias"} {
		assert.Equal(t, before[name], after[name], "%s is frozen", name)
	}
	assert.NotEqual(t, before["4.weight"], after["4.weight"], "the head learns")
	assert.NotEqual(t, before["2.running_mean"], after["2.running_mean"], "batch statistics still follow the data (state, not a weight)")
	for _, p := range tr.Optimizer.State() {
		assert.Contains(t, []string{"4.weight.m", "4.weight.v", "4.bias.m", "4.bias.v"}, p.Name, "frozen parameters have no optimizer state")
	}
}

// scaleLayer is a module defined outside package nn (y = x·w, one learned scalar).
type scaleLayer struct {
	Init float32 `json:"init"`

	w     *nn.Param
	x, y  *tensor.Tensor
	dx    *tensor.Tensor
	scale *tensor.Tensor
}

func init() {
	nn.Register("checkpoint_test_scale", func() nn.Module { return &scaleLayer{Init: 1} })
}

func (l *scaleLayer) Kind() string { return "checkpoint_test_scale" }

func (l *scaleLayer) Params() []*nn.Param {
	if l.w == nil {
		return nil
	}
	return []*nn.Param{l.w}
}

func (l *scaleLayer) Build(ctx *nn.Context, in tensor.Shape) (tensor.Shape, error) {
	v, err := tensor.FromFloat32(ctx.Dev, []float32{l.Init}, 1)
	if err != nil {
		return nil, err
	}
	g, err := tensor.Zeros(ctx.Dev, 1)
	if err != nil {
		return nil, err
	}
	l.w = &nn.Param{Name: "w", Value: v, Grad: g}
	if l.y, err = tensor.Zeros(ctx.Dev, append([]int{ctx.MaxBatch}, in...)...); err != nil {
		return nil, err
	}
	l.dx, err = tensor.Zeros(ctx.Dev, append([]int{ctx.MaxBatch}, in...)...)
	return in, err
}

// Forward scales on the device: y = 0·y + w[0]·x through a Broadcast over a (1, N, 1) view.
func (l *scaleLayer) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if l.w == nil {
		return nil, fmt.Errorf("checkpoint_test_scale used before Build")
	}
	l.x = x
	y, err := l.y.View(0, x.Shape()...)
	if err != nil {
		return nil, err
	}
	dev := x.Device()
	if err := dev.Fill(y.Buffer(), 0); err != nil {
		return nil, err
	}
	w := read(nil, l.w.Value)
	return y, dev.Axpby(w[0], x.Buffer(), 0, y.Buffer())
}

func (l *scaleLayer) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	xv, dv, w := read(nil, l.x), read(nil, dy), read(nil, l.w.Value)
	g := read(nil, l.w.Grad)
	for i := range xv {
		g[0] += xv[i] * dv[i]
	}
	if err := l.w.Grad.SetFloat32s(g); err != nil {
		return nil, err
	}
	if !needDX {
		return nil, nil
	}
	dx, err := l.dx.View(0, dy.Shape()...)
	if err != nil {
		return nil, err
	}
	dev := dy.Device()
	return dx, dev.Axpby(w[0], dy.Buffer(), 0, dx.Buffer())
}

// A module type registered outside package nn goes through a checkpoint: its
// description and its parameter; LoadModel rebuilds it with no Trainer.
func TestRegisteredModuleRoundTripsThroughACheckpoint(t *testing.T) {
	model := nn.NewSequential(nn.NewDense(6, nn.Tanh), &nn.Residual{Body: &scaleLayer{Init: 0.5}}, nn.NewDense(3, nn.Softmax))
	tr := newTrainer(model, "adam", 4)
	data := blobs(2, 96, []int{4}, 3)
	_, err := tr.Fit(data, train.Config{Epochs: 2})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "custom.safetensors")
	require.NoError(t, Save(path, tr, Settings{}))

	ck, err := Open(path)
	require.NoError(t, err)
	assert.Contains(t, ck.Modules, "2.body: checkpoint_test_scale init=0.5")
	f, err := ReadFile(path)
	require.NoError(t, err)
	w := f.Tensor("2.body.w")
	require.NotNil(t, w)
	assert.NotEqual(t, float32(0.5), w.F32[0], "the scalar trained")

	m, err := ck.LoadModel(cpu.New(cpu.Options{}), 0)
	require.NoError(t, err)
	got, err := m.Predict(data.X)
	require.NoError(t, err)
	want, err := tr.Predict(data.X)
	require.NoError(t, err)
	assert.Equal(t, want.Data(), got.Data(), "the rebuilt model predicts what the trained one does")
	assert.Equal(t, ck.Progress.ModelStep, m.Context().Step)
}

// A checkpoint from before modules could nest (layout 1, committed from eb6c353)
// still restores into the same Sequential, names unchanged.
func TestLayout1CheckpointStillLoads(t *testing.T) {
	ck, err := Open(filepath.Join("testdata", "layout1-mlp.safetensors"))
	require.NoError(t, err)
	assert.Equal(t, "1", ck.Version)
	assert.Nil(t, ck.Spec)
	assert.Equal(t, []string{"dense 8 relu", "batchnorm momentum 0.1 eps 1e-05", "dropout 0.25", "dense 3 softmax"}, ck.Layers)
	tr := newTrainer(mlp(8, nn.ReLU), "adam", 7)
	require.NoError(t, ck.Restore(tr))
	assert.Equal(t, ck.Progress.OptimizerSteps, tr.Optimizer.Iterations())
	f, err := ReadFile(filepath.Join("testdata", "layout1-mlp.safetensors"))
	require.NoError(t, err)
	for _, p := range tr.Net().Params() {
		assert.Equal(t, f.Tensor(p.Name).F32, read(t, p.Value), p.Name)
	}
	_, err = tr.Fit(blobs(1, 160, []int{4}, 3), train.Config{Epochs: ck.Progress.Epoch})
	require.NoError(t, err, "and training goes on")
	_, err = ck.LoadModel(cpu.New(cpu.Options{}), 0)
	assert.ErrorContains(t, err, "layout 1 holds no model description (build the model and use LoadWeights)")
}

// mnistTest is the first n MNIST test images as float32 in [0, 1], (n, 784), from the
// repository's data/mnist (make data); the test skips without it.
func mnistTest(t *testing.T, n int) ([]float32, []int32) {
	t.Helper()
	root, err := repoRoot()
	require.NoError(t, err)
	dir := filepath.Join(root, data.DefaultMNISTDir)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no MNIST in %s (make data)", dir)
	}
	set, err := data.Load("mnist", data.LoadOptions{Dir: dir})
	require.NoError(t, err)
	head, err := set.Test.Head(n)
	require.NoError(t, err)
	px := head.X.Data().([]uint8)
	x := make([]float32, len(px))
	for i, b := range px {
		x[i] = float32(b) / 255
	}
	var y []int32
	switch l := head.Y.Data().(type) {
	case []uint8:
		for _, v := range l {
			y = append(y, int32(v))
		}
	case []int32:
		y = l
	}
	return x, y
}

// Weights written by PyTorch (safetensors.torch.save_file of a state_dict) initialize
// the equivalent gputrain model, and both predict the same on 1,000 MNIST test images.
func TestPyTorchWeightsInitializeTheModel(t *testing.T) {
	py := interopPython(t)
	x, _ := mnistTest(t, 1000)
	dir := t.TempDir()
	inputs := filepath.Join(dir, "x.safetensors")
	require.NoError(t, WriteFile(inputs, &File{Tensors: []Tensor{{Name: "x", DType: F32, Shape: []int{1000, 784}, F32: x}}}))
	spec, err := json.Marshal([]map[string]any{{"type": "linear", "in": 784, "out": 128}, {"type": "relu"},
		{"type": "linear", "in": 128, "out": 64}, {"type": "relu"}, {"type": "linear", "in": 64, "out": 10}, {"type": "softmax"}})
	require.NoError(t, err)
	weights, outputs := filepath.Join(dir, "torch.safetensors"), filepath.Join(dir, "y.safetensors")
	root, err := repoRoot()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join(root, "train", "checkpoint", "testdata", "torch_init.py"), string(spec), inputs, weights, outputs)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), "torch_init.py:\n%s", stderr.String())

	var dev device.Backend = cpu.New(cpu.Options{})
	m := nn.NewModel(nn.MLPSpec(784, []int{128, 64}, 10).Root)
	require.NoError(t, m.Build(dev, tensor.Shape{784}, 64, 99))
	r, err := LoadWeights(m, weights, true)
	require.NoError(t, err)
	assert.Len(t, r.Loaded, 6)
	got, err := m.Predict(gt.New(gt.WithShape(1000, 784), gt.WithBacking(x)))
	require.NoError(t, err)
	f, err := ReadFile(outputs)
	require.NoError(t, err)
	want := f.Tensor("y").F32
	probs := got.Data().([]float32)
	require.Len(t, probs, len(want))
	agree := 0
	for i := 0; i < 1000; i++ {
		a, b := argmax(probs[i*10:(i+1)*10]), argmax(want[i*10:(i+1)*10])
		if a == b {
			agree++
		}
		for c := 0; c < 10; c++ {
			require.InDeltaf(t, want[i*10+c], probs[i*10+c], 1e-5, "image %d class %d", i, c)
		}
	}
	assert.Equal(t, 1000, agree, "the same predicted class for every image")
}

func argmax(v []float32) int {
	k := 0
	for i, x := range v {
		if x > v[k] {
			k = i
		}
	}
	return k
}

// read reads a float32 tensor; t may be nil inside a module (errors panic there, which
// the test then reports).
func read(t *testing.T, x *tensor.Tensor) []float32 {
	v, err := x.Float32s()
	if err != nil {
		if t == nil {
			panic(err)
		}
		require.NoError(t, err)
	}
	return v
}
