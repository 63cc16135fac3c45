package checkpoint

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/internal/interop"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// interopPython finds a Python with torch, safetensors and numpy (internal/interop).
func interopPython(t *testing.T) string {
	return interop.Python(t, "torch and safetensors", "import torch, safetensors.torch, safetensors.numpy, numpy")
}

func repoRoot() (string, error) { return interop.RepoRoot() }

// torchResult is what testdata/load_torch.py prints for one model.
type torchResult struct {
	NumpyNames []string          `json:"numpy_names"`
	TorchNames []string          `json:"torch_names"`
	DTypes     map[string]string `json:"dtypes"`
	Format     string            `json:"format"`
	Shape      []int             `json:"shape"`
	Output     []float64         `json:"output"`
}

// PyTorch loads the checkpoints with strict=True into the equivalent nn.Sequential and
// computes what Predict computes.
func TestPyTorchLoadsCheckpoint(t *testing.T) {
	py := interopPython(t)
	type module = map[string]any
	conv := func(in, out, kernel, stride, padding int) module {
		return module{"type": "conv2d", "in": in, "out": out, "kernel": kernel, "stride": stride, "padding": padding}
	}
	bn := func(c int) module { return module{"type": "batchnorm2d", "features": c} }
	relu := module{"type": "relu"}
	cases := []struct {
		name  string
		model func() nn.Module
		in    []int
		torch []module // the equivalent torch.nn.Sequential, written out by hand
	}{
		{"mlp", func() nn.Module { return nn.NewSequential(nn.NewDense(16, nn.ReLU), nn.NewDense(3, nn.Softmax)) }, []int{5},
			[]module{{"type": "linear", "in": 5, "out": 16}, {"type": "relu"}, {"type": "linear", "in": 16, "out": 3}, {"type": "softmax"}}},
		{"mlp-batchnorm-dropout", func() nn.Module { return mlp(8, nn.Tanh) }, []int{4},
			[]module{{"type": "linear", "in": 4, "out": 8}, {"type": "tanh"}, {"type": "batchnorm1d", "features": 8},
				{"type": "dropout", "p": 0.25}, {"type": "linear", "in": 8, "out": 3}, {"type": "softmax"}}},
		{"cnn", func() nn.Module { return cnn() }, []int{1, 8, 8},
			[]module{{"type": "conv2d", "in": 1, "out": 4, "kernel": 3, "padding": 1}, {"type": "relu"}, {"type": "batchnorm2d", "features": 4},
				{"type": "maxpool2d", "kernel": 2}, {"type": "flatten"}, {"type": "linear", "in": 64, "out": 3}, {"type": "softmax"}}},
		// The resnet preset: residual blocks with and without a projection, global
		// average pooling; torch's Residual has attributes body and shortcut.
		{"resnet", func() nn.Module {
			s, err := nn.ResNetSpec([]int{1, 8, 8}, 3)
			require.NoError(t, err)
			m, err := s.Model()
			require.NoError(t, err)
			return m
		}, []int{1, 8, 8}, []module{
			conv(1, 24, 3, 1, 1), {"type": "maxpool2d", "kernel": 2}, bn(24), relu,
			{"type": "residual", "body": []module{conv(24, 24, 3, 1, 1), bn(24), relu, conv(24, 24, 3, 1, 1), bn(24)}, "shortcut": nil}, relu,
			{"type": "residual", "body": []module{conv(24, 48, 3, 2, 1), bn(48), relu, conv(48, 48, 3, 1, 1), bn(48)},
				"shortcut": []module{conv(24, 48, 1, 2, 0), bn(48)}}, relu,
			{"type": "adaptiveavgpool2d"}, {"type": "flatten"}, {"type": "linear", "in": 48, "out": 3}, {"type": "softmax"}}},
		// A weight shared by two layers: one tensor in PyTorch, listed under both names.
		{"tied", func() nn.Module {
			return nn.NewSequential(nn.NewDense(5, nn.Tanh), &nn.Dense{Units: 5, Act: nn.Tanh, NoBias: true, TieWeight: "0.weight"}, nn.NewDense(3, nn.Softmax))
		}, []int{5}, []module{{"type": "linear", "in": 5, "out": 5}, {"type": "tanh"},
			{"type": "linear", "in": 5, "out": 5, "bias": false, "tie": []int{0}}, {"type": "tanh"},
			{"type": "linear", "in": 5, "out": 3}, {"type": "softmax"}}},
	}
	dir := t.TempDir()
	var args []string
	var predictions [][]float32
	var files []*File
	for i, c := range cases {
		data := blobs(uint64(10+i), 96, c.in, 3)
		tr := newTrainer(c.model(), "adam", 3)
		_, err := tr.Fit(data, train.Config{Epochs: 2}) // trained weights and running statistics
		require.NoError(t, err)
		ckpt := filepath.Join(dir, c.name+".safetensors")
		require.NoError(t, Save(ckpt, tr, Settings{Model: c.name}))
		f, err := ReadFile(ckpt)
		require.NoError(t, err)
		files = append(files, f)

		x := blobs(uint64(20+i), 7, c.in, 3).X
		p, err := tr.Predict(x)
		require.NoError(t, err)
		predictions = append(predictions, p.Data().([]float32))
		inputs := filepath.Join(dir, c.name+"-x.safetensors")
		require.NoError(t, WriteFile(inputs, &File{Tensors: []Tensor{{Name: "x", DType: F32, Shape: x.Shape(), F32: x.Data().([]float32)}}}))
		spec, err := json.Marshal(c.torch)
		require.NoError(t, err)
		specPath := filepath.Join(dir, c.name+"-spec.json")
		require.NoError(t, os.WriteFile(specPath, spec, 0o644))
		args = append(args, ckpt, inputs, specPath)
	}
	root, err := repoRoot()
	require.NoError(t, err)
	script := filepath.Join(root, "train", "checkpoint", "testdata", "load_torch.py")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{script}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "load_torch.py failed:\n%s", stderr.String())

	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for i, c := range cases {
		require.True(t, sc.Scan(), "one line of output per model")
		var r torchResult
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), c.name)
		want := names(files[i])
		sort.Strings(want)
		assert.Equal(t, want, r.NumpyNames, "%s: safetensors.numpy sees every tensor", c.name)
		assert.Equal(t, want, r.TorchNames, "%s: safetensors.torch sees every tensor", c.name)
		for name, dt := range r.DTypes {
			if files[i].Tensor(name).DType == I64 {
				assert.Equal(t, "torch.int64", dt, name)
			} else {
				assert.Equal(t, "torch.float32", dt, name)
			}
		}
		assert.Equal(t, "pt", r.Format)
		require.Equal(t, []int{7, 3}, r.Shape, c.name)
		if c.name == "tied" {
			assert.Equal(t, files[i].Tensor("0.weight").F32, files[i].Tensor("2.weight").F32, "the tied weight under both names")
		}
		require.Len(t, r.Output, len(predictions[i]))
		for j, v := range predictions[i] {
			assert.InDelta(t, float64(v), r.Output[j], 1e-5, "%s: output %d: Go %v, PyTorch %v", c.name, j, v, r.Output[j])
		}
	}
}
