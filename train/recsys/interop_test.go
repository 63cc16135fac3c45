package recsys_test

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/internal/interop"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
	"github.com/gputrain/gputrain/train"
)

// The lazy Adam of sparse tables is PyTorch's SparseAdam: nn.MF trained for 3 epochs
// of 7 batches (in order; most rows are missing from most batches, so their moments
// must wait, and their bias correction must still use the step count) ends with the
// weights of testdata/mf_sparseadam.py's nn.Embedding(sparse=True) twin started from
// the same weights, within float32 rounding.
func TestLazyAdamIsSparseAdam(t *testing.T) {
	py := interop.Python(t, "torch", "import torch")
	const users, items, n, batch, epochs = 30, 20, 100, 16, 3
	rng := rand.New(rand.NewPCG(8, 9))
	x := make([]int32, 2*n)
	us, is, rs := make([]int, n), make([]int, n), make([]float32, n)
	for r := range n {
		us[r], is[r] = rng.IntN(users), rng.IntN(items)
		x[2*r], x[2*r+1] = int32(us[r]), int32(is[r])
		rs[r] = float32(1 + rng.IntN(5))
	}
	mf := &nn.MF{Users: users, Items: items, Dim: 4, Std: 0.5, Mean: 3, L2: 0.1, BiasL2: 0.05}
	opt, err := train.NewOptimizer("adam", 0.05)
	require.NoError(t, err)
	tr := &train.Trainer{Model: mf, Loss: &nn.MSE{}, Optimizer: opt, Dev: cpu.New(cpu.Options{Threads: 2}), BatchSize: batch, Seed: 3}
	require.NoError(t, tr.BuildModel(tensor.Shape{2}))
	read := func() map[string][]float32 {
		out := map[string][]float32{}
		for _, p := range tr.Net().Params() {
			v, err := p.Value.Float32s()
			require.NoError(t, err)
			out[p.Name] = v
		}
		return out
	}
	// random biases, so that they matter from the first step
	for _, p := range tr.Net().Params() {
		v := make([]float32, p.Value.Len())
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.3)
		}
		require.NoError(t, p.Value.SetFloat32s(v))
	}
	start := read()
	shaped := map[string]any{}
	for name, v := range start {
		switch name {
		case "bias":
			shaped[name] = v
		default:
			p := tr.Net().Params()
			for _, q := range p {
				if q.Name == name {
					rows, cols := q.Value.Dim(0), q.Value.Dim(1)
					m := make([][]float32, rows)
					for r := range rows {
						m[r] = v[r*cols : (r+1)*cols]
					}
					shaped[name] = m
				}
			}
		}
	}
	d := train.Dataset{X: gt.New(gt.WithShape(n, 2), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n, 1), gt.WithBacking(append([]float32(nil), rs...)))}
	_, err = tr.Fit(d, train.Config{Epochs: epochs, NoShuffle: true})
	require.NoError(t, err)
	got := read()

	cfg, err := json.Marshal(map[string]any{"weights": shaped, "users": us, "items": is, "ratings": rs, "epochs": epochs, "batch": batch,
		"lr": 0.05, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7, "l2": 0.1, "bias_l2": 0.05})
	require.NoError(t, err)
	root, err := interop.RepoRoot()
	require.NoError(t, err)
	cmd := exec.Command(py, filepath.Join(root, "train", "recsys", "testdata", "mf_sparseadam.py"))
	cmd.Stdin = bytes.NewReader(cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "mf_sparseadam.py: %s", stderr.String())
	var want map[string][]float64
	require.NoError(t, json.Unmarshal(out, &want))
	require.Len(t, want, len(got))
	for name, w := range want {
		g := got[name]
		require.Len(t, g, len(w), name)
		worst, moved := 0.0, 0.0
		for i := range w {
			worst = math.Max(worst, math.Abs(float64(g[i])-w[i]))
			moved = math.Max(moved, math.Abs(w[i]-float64(start[name][i])))
		}
		t.Logf("%s: largest difference from PyTorch %.2g (largest move %.3g)", name, worst, moved)
		require.Less(t, worst, 2e-5, "%s differs from PyTorch's SparseAdam", name)
		require.Greater(t, moved, 0.05, "%s trained", name)
	}
}
