package onnx

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/internal/interop"
)

// interopPython finds a Python with onnx, onnxruntime and torch (internal/interop.Python).
func interopPython(t *testing.T) string {
	return interop.Python(t, "onnx, onnxruntime and torch", "import numpy, onnx, onnx.checker, onnxruntime, torch")
}

// weights are a model's parameters as a Go model holds them: PyTorch's names and
// layouts, float32.
type weights struct {
	rng   *rand.Rand
	names []string
	shape map[string][]int
	data  map[string][]float32
}

func newWeights(seed uint64) *weights {
	return &weights{rng: rand.New(rand.NewPCG(seed, 7)), shape: map[string][]int{}, data: map[string][]float32{}}
}

// normal draws a named parameter of the given shape, N(mean, std²).
func (w *weights) normal(name string, mean, std float64, shape ...int) []float32 {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(mean + std*w.rng.NormFloat64())
	}
	w.names = append(w.names, name)
	w.shape[name], w.data[name] = shape, v
	return v
}

// param draws a parameter and adds it to g as the initializer name in scope s.
func (w *weights) param(s *Graph, name string, mean, std float64, shape ...int) string {
	full := s.join(name, ".")
	return s.Initializer(name, shape, w.normal(full, mean, std, shape...))
}

// interopCase is one model: how to build it, its input, its tolerance.
type interopCase struct {
	name  string
	opset int
	// build adds the model to g reading input x and returns its outputs, with their
	// symbolic shapes.
	build func(g *Graph, w *weights, x string) (outs []string, shapes [][]Dim)
	in    []Dim
	inLen []int // the input's actual shape
	ids   int   // > 0: the input is int64 token ids below ids
	tol   float64
}

// conv2d is Conv with PyTorch's weight (Out, In, K, K) and bias, stride 1.
func conv2d(g *Graph, w *weights, x string, in, out, k, pad int) string {
	fan := float64(in * k * k)
	return g.Node("Conv", []string{x, w.param(g, "weight", 0, 1/math.Sqrt(fan), out, in, k, k), w.param(g, "bias", 0, 0.1, out)},
		Ints("kernel_shape", k, k), Ints("pads", pad, pad, pad, pad), Ints("strides", 1, 1))
}

func dense(g *Graph, w *weights, x string, in, out int) string {
	return Dense(g, x, w.param(g, "weight", 0, 1/math.Sqrt(float64(in)), out, in), w.param(g, "bias", 0, 0.1, out))
}

func mlpGelu(g *Graph, w *weights, x string) ([]string, [][]Dim) {
	h := Gelu(g.Scope("1"), dense(g.Scope("0"), w, x, 20, 16))
	return []string{dense(g.Scope("2"), w, h, 16, 10)}, [][]Dim{{Batch, Size(10)}}
}

func transformer(g *Graph, w *weights, ids string) ([]string, [][]Dim) {
	const V, C, H, D = 11, 8, 2, 4
	h := Embedding(g, w.param(g.Scope("wte"), "weight", 0, 1, V, C), ids) // (N, T, C)
	ln := g.Scope("ln")
	a := LayerNorm(ln, h, w.param(ln, "weight", 1, 0.1, C), w.param(ln, "bias", 0, 0.1, C), 1e-5)
	attn := g.Scope("attn")
	heads := attn.Int64s("heads", []int{4}, 0, 0, H, D) // (N, T, C) → (N, T, H, D)
	proj := func(p string, x string) string {
		s := attn.Scope(p)
		return Linear(s, x, w.param(s, "weight", 0, 1/math.Sqrt(C), C, C), w.param(s, "bias", 0, 0.1, C))
	}
	split := func(p string) string { // (N, H, T, D)
		return attn.Node("Transpose", []string{attn.Node("Reshape", []string{proj(p, a), heads})}, Ints("perm", 0, 2, 1, 3))
	}
	q, k, v := split("q"), split("k"), split("v")
	kT := attn.Node("Transpose", []string{k}, Ints("perm", 0, 1, 3, 2))
	scores := attn.Node("Mul", []string{attn.Node("MatMul", []string{q, kT}), attn.Const("scale", nil, float32(1/math.Sqrt(D)))})
	y := attn.Node("MatMul", []string{CausalSoftmax(attn, scores), v}) // (N, H, T, D)
	y = attn.Node("Reshape", []string{attn.Node("Transpose", []string{y}, Ints("perm", 0, 2, 1, 3)), attn.Int64s("merge", []int{3}, 0, 0, C)})
	h = g.Node("Add", []string{h, proj("proj", y)})
	logits := Linear(g.Scope("head"), h, w.param(g.Scope("head"), "weight", 0, 1/math.Sqrt(C), V, C), "")
	return []string{logits}, [][]Dim{{Batch, Param("seq"), Size(V)}}
}

// rnnWeights draws PyTorch's weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0.
func rnnWeights(w *weights, prefix string, gates, in, hidden int) RNNWeights {
	std := 1 / math.Sqrt(float64(hidden))
	return RNNWeights{Input: in, Hidden: hidden,
		WeightIH: w.normal(prefix+".weight_ih_l0", 0, std, gates*hidden, in),
		WeightHH: w.normal(prefix+".weight_hh_l0", 0, std, gates*hidden, hidden),
		BiasIH:   w.normal(prefix+".bias_ih_l0", 0, std, gates*hidden),
		BiasHH:   w.normal(prefix+".bias_hh_l0", 0, std, gates*hidden)}
}

var interopCases = []interopCase{
	{name: "mlp", in: []Dim{Batch, Size(20)}, inLen: []int{1000, 20}, tol: 1e-5,
		build: func(g *Graph, w *weights, x string) ([]string, [][]Dim) {
			h := g.Scope("1").Node("Relu", []string{dense(g.Scope("0"), w, x, 20, 16)})
			y := g.Scope("3").Node("Softmax", []string{dense(g.Scope("2"), w, h, 16, 10)}, Int("axis", 1))
			return []string{y}, [][]Dim{{Batch, Size(10)}}
		}},
	{name: "mlp-gelu", in: []Dim{Batch, Size(20)}, inLen: []int{1000, 20}, tol: 1e-5, build: mlpGelu},
	{name: "mlp-gelu-opset20", opset: 20, in: []Dim{Batch, Size(20)}, inLen: []int{1000, 20}, tol: 1e-5, build: mlpGelu},
	{name: "cnn", in: []Dim{Batch, Size(1), Size(8), Size(8)}, inLen: []int{1000, 1, 8, 8}, tol: 1e-5,
		build: func(g *Graph, w *weights, x string) ([]string, [][]Dim) {
			h := g.Scope("1").Node("Relu", []string{conv2d(g.Scope("0"), w, x, 1, 4, 3, 1)})
			bn := g.Scope("2")
			h = BatchNorm(bn, h, w.param(bn, "weight", 1, 0.2, 4), w.param(bn, "bias", 0, 0.2, 4),
				w.param(bn, "running_mean", 0, 0.3, 4), bn.Initializer("running_var", []int{4}, w.normal("2.running_var", 1, 0.2, 4)), 1e-5)
			h = g.Scope("3").Node("MaxPool", []string{h}, Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)) // (N, 4, 4, 4)
			h = Gelu(g.Scope("5"), conv2d(g.Scope("4"), w, h, 4, 6, 3, 0))                                   // (N, 6, 2, 2)
			h = g.Scope("6").Node("AveragePool", []string{h}, Ints("kernel_shape", 2, 2), Ints("strides", 2, 2))
			h = g.Scope("7").Node("Flatten", []string{h}, Int("axis", 1))
			y := g.Scope("9").Node("Softmax", []string{dense(g.Scope("8"), w, h, 6, 3)}, Int("axis", 1))
			return []string{y}, [][]Dim{{Batch, Size(3)}}
		}},
	{name: "residual-cnn", in: []Dim{Batch, Size(2), Size(6), Size(6)}, inLen: []int{1000, 2, 6, 6}, tol: 1e-5,
		build: func(g *Graph, w *weights, x string) ([]string, [][]Dim) {
			h := g.Scope("1").Node("Relu", []string{conv2d(g.Scope("0"), w, x, 2, 2, 3, 1)})
			h = g.Scope("3").Node("Relu", []string{g.Node("Add", []string{conv2d(g.Scope("2"), w, h, 2, 2, 3, 1), x})})
			h = g.Scope("4").Node("GlobalAveragePool", []string{h})
			h = g.Scope("4").Node("Reshape", []string{h, g.Scope("4").Int64s("shape", []int{2}, 0, -1)})
			return []string{dense(g.Scope("5"), w, h, 2, 3)}, [][]Dim{{Batch, Size(3)}}
		}},
	{name: "transformer", in: []Dim{Batch, Param("seq")}, inLen: []int{1000, 7}, ids: 11, tol: 1e-5, build: transformer},
	{name: "transformer-short", in: []Dim{Batch, Param("seq")}, inLen: []int{50, 2}, ids: 11, tol: 1e-5, build: transformer},
	{name: "lstm", in: []Dim{Batch, Param("seq"), Size(5)}, inLen: []int{1000, 7, 5}, tol: 1e-4,
		build: func(g *Graph, w *weights, x string) ([]string, [][]Dim) {
			y, h, c := LSTM(g.Scope("lstm"), x, rnnWeights(w, "lstm", 4, 5, 6), true)
			return []string{y, h, c}, [][]Dim{{Batch, Param("seq"), Size(6)}, {Batch, Size(6)}, {Batch, Size(6)}}
		}},
	{name: "gru", in: []Dim{Batch, Param("seq"), Size(5)}, inLen: []int{1000, 7, 5}, tol: 1e-4,
		build: func(g *Graph, w *weights, x string) ([]string, [][]Dim) {
			y, h := GRU(g.Scope("gru"), x, rnnWeights(w, "gru", 3, 5, 6), true)
			return []string{y, h}, [][]Dim{{Batch, Param("seq"), Size(6)}, {Batch, Size(6)}}
		}},
}

// fileSpec names a raw little-endian array file.
type fileSpec struct {
	File  string `json:"file"`
	Shape []int  `json:"shape"`
	DType string `json:"dtype"`
}

type manifest struct {
	Name    string              `json:"name"`
	Model   string              `json:"model"`
	Input   fileSpec            `json:"input"`
	Weights map[string]fileSpec `json:"weights"`
	Tol     float64             `json:"tol"`
}

type checkResult struct {
	Name      string    `json:"name"`
	Opset     int       `json:"opset"`
	IRVersion int       `json:"ir_version"`
	Outputs   []string  `json:"outputs"`
	Shapes    [][]int   `json:"shapes"`
	FewShapes [][]int   `json:"few_shapes"`
	Worst     []float64 `json:"worst"`
	MaxAbs    []float64 `json:"max_abs"`
	FewEqual  []bool    `json:"few_equal"`
}

func writeRaw(t *testing.T, path string, data any) {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, binary.Write(&b, binary.LittleEndian, data))
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
}

// Every model, built from weights held in Go, passes onnx.checker and runs in
// onnxruntime on its inputs (1,000 rows for most) within the tolerance of a float64
// PyTorch reference computed from the same weights (testdata/check_onnx.py).
func TestONNXRuntimeRunsModels(t *testing.T) {
	py := interopPython(t)
	dir := t.TempDir()
	if d := os.Getenv("GPUTRAIN_ONNX_KEEP"); d != "" {
		dir = d // keep the models to look at
	}
	var args []string
	for i, c := range interopCases {
		g := New(c.name, c.opset)
		w := newWeights(uint64(100 + i))
		dt := Float32
		if c.ids > 0 {
			dt = Int64
		}
		x := g.Input("input", dt, c.in...)
		outs, shapes := c.build(g, w, x)
		outNames := []string{"output", "h", "c"}
		for j, o := range outs {
			g.Output(outNames[j], o, Float32, shapes[j]...)
		}
		require.NoError(t, g.WriteFile(filepath.Join(dir, c.name+".onnx"), ModelInfo{Producer: "gputrain", Doc: c.name}), c.name)

		m := manifest{Name: c.name, Model: c.name + ".onnx", Weights: map[string]fileSpec{}, Tol: c.tol}
		rng := rand.New(rand.NewPCG(uint64(i), 9))
		n := 1
		for _, d := range c.inLen {
			n *= d
		}
		m.Input = fileSpec{File: c.name + ".input", Shape: c.inLen, DType: "float32"}
		if c.ids > 0 {
			ids := make([]int64, n)
			for j := range ids {
				ids[j] = int64(rng.IntN(c.ids))
			}
			m.Input.DType = "int64"
			writeRaw(t, filepath.Join(dir, m.Input.File), ids)
		} else {
			xs := make([]float32, n)
			for j := range xs {
				xs[j] = float32(rng.NormFloat64())
			}
			writeRaw(t, filepath.Join(dir, m.Input.File), xs)
		}
		for j, name := range w.names {
			f := fileSpec{File: c.name + ".w" + string(rune('a'+j)), Shape: w.shape[name], DType: "float32"}
			writeRaw(t, filepath.Join(dir, f.File), w.data[name])
			m.Weights[name] = f
		}
		b, err := json.Marshal(m)
		require.NoError(t, err)
		mp := filepath.Join(dir, c.name+".json")
		require.NoError(t, os.WriteFile(mp, b, 0o644))
		args = append(args, mp)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{filepath.Join("testdata", "check_onnx.py")}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "check_onnx.py: %s", stderr.String())
	var results []checkResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r checkResult
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "check_onnx.py printed %q", sc.Text())
		results = append(results, r)
	}
	require.Len(t, results, len(interopCases))
	for i, c := range interopCases {
		r := results[i]
		require.Equal(t, c.name, r.Name)
		opset := c.opset
		if opset == 0 {
			opset = DefaultOpset
		}
		assert.Equal(t, opset, r.Opset, c.name)
		assert.Equal(t, int(irVersion[opset]), r.IRVersion, c.name)
		for j := range r.Outputs {
			want := []int{c.inLen[0]}
			if j == 0 && len(c.in) == 3 || c.ids > 0 {
				want = append(want, c.inLen[1]) // per position
			}
			assert.Equal(t, want, r.Shapes[j][:len(want)], "%s output %s shape %v", c.name, r.Outputs[j], r.Shapes[j])
			assert.Equal(t, 3, r.FewShapes[j][0], "%s output %s: a batch of 3", c.name, r.Outputs[j])
			assert.LessOrEqual(t, r.Worst[j], 1.0, "%s output %s: max |ort - ref| %.3g, %.3g of the tolerance %g",
				c.name, r.Outputs[j], r.MaxAbs[j], r.Worst[j], c.tol)
			assert.True(t, r.FewEqual[j], "%s output %s: the first 3 rows alone", c.name, r.Outputs[j])
		}
		t.Logf("%-18s opset %d: worst error %.3g of tolerance %g (max abs %.3g)", c.name, r.Opset, maxOf(r.Worst), c.tol, maxOf(r.MaxAbs))
	}
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}
