package nn_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/internal/interop"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/nn/onnx"
	"github.com/gputrain/gputrain/tensor"
)

// onnxModel is what a test reads back from an encoded ModelProto: the graph's
// initializer names, node op types, input and output names, in file order.
type onnxModel struct {
	inits, ops, inputs, outputs []string
}

// fields calls f for each field of the protobuf message b; bytes fields get their
// payload.
func fields(t *testing.T, b []byte, f func(num protowire.Number, v []byte)) {
	t.Helper()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		require.GreaterOrEqual(t, n, 0, "bad tag")
		b = b[n:]
		if typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			require.GreaterOrEqual(t, n, 0, "bad bytes field %d", num)
			f(num, v)
			b = b[n:]
			continue
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		require.GreaterOrEqual(t, n, 0, "bad field %d", num)
		b = b[n:]
	}
}

// decodeONNX reads the parts of a ModelProto the tests look at, by ONNX's field
// numbers: ModelProto.graph 7; GraphProto.node 1, initializer 5, input 11, output 12;
// NodeProto.op_type 4; TensorProto.name 8; ValueInfoProto.name 1.
func decodeONNX(t *testing.T, b []byte) onnxModel {
	var m onnxModel
	name := func(v []byte, field protowire.Number) (s string) {
		fields(t, v, func(n protowire.Number, p []byte) {
			if n == field {
				s = string(p)
			}
		})
		return s
	}
	fields(t, b, func(n protowire.Number, g []byte) {
		if n != 7 {
			return
		}
		fields(t, g, func(n protowire.Number, v []byte) {
			switch n {
			case 1:
				m.ops = append(m.ops, name(v, 4))
			case 5:
				m.inits = append(m.inits, name(v, 8))
			case 11:
				m.inputs = append(m.inputs, name(v, 1))
			case 12:
				m.outputs = append(m.outputs, name(v, 1))
			}
		})
	})
	return m
}

// exportable is a model with every module type of package nn but Embedding, and a
// tied weight.
func exportable() nn.Module {
	return nn.NewSequential(
		nn.NewRandomShift(1, true),
		&nn.Conv2D{Filters: 4, Kernel: 3, Stride: 2, Padding: 1, Act: nn.ReLU},
		&nn.BatchNorm{},
		&nn.Residual{
			Body:     nn.NewSequential(&nn.Conv2D{Filters: 6, Kernel: 3, Padding: 1}, &nn.BatchNorm{}, nn.NewActivation(nn.GELU)),
			Shortcut: nn.NewSequential(&nn.Conv2D{Filters: 6, Kernel: 1}),
		},
		&nn.Pool2D{Op: device.MaxPool, Size: 2, Stride: 2, Padding: 1},
		&nn.Pool2D{Op: device.AvgPool, Size: 3, Stride: 1, Padding: 1},
		nn.NewResidual(nn.NewSequential(&nn.Conv2D{Filters: 6, Kernel: 3, Padding: 1, Act: nn.LeakyReLU, Slope: 0.1})),
		nn.NewFlatten(),
		nn.NewReshape(6, 4, 4),
		&nn.GlobalAvgPool{},
		&nn.BatchNorm{},
		nn.NewDense(6, nn.Tanh),
		nn.NewDropout(0.5),
		&nn.Dense{Units: 6, NoBias: true, TieWeight: "12.weight"},
		nn.NewActivation(nn.Sigmoid),
		nn.NewDense(5, nn.Softmax),
	)
}

// The initializers are the model's tensors under their checkpoint names (StateDict),
// each once: a tied weight is one initializer that both layers read; counters
// (num_batches_tracked) are no tensors of the inference graph.
func TestExportNamesInitializersAsCheckpoints(t *testing.T) {
	m := nn.NewModel(exportable())
	require.NoError(t, m.Build(newDev(t), tensor.Shape{2, 12, 12}, 4, 1))
	b, err := nn.EncodeONNX(m, nn.ExportOptions{})
	require.NoError(t, err)
	got := decodeONNX(t, b)

	var want, inits []string
	for _, p := range m.Params() {
		want = append(want, p.Name)
	}
	state := map[string]bool{}
	for _, e := range m.StateDict() {
		state[e.Name] = true
	}
	for _, n := range got.inits {
		if state[n] {
			inits = append(inits, n)
		} else {
			assert.Regexp(t, `\.(shape|sqrt2|one|half)$`, n, "an initializer that is no tensor of the model: Reshape's target, GELU's constants")
		}
	}
	assert.Equal(t, want, inits, "one initializer per parameter, named as in checkpoints, in build order")
	assert.Contains(t, want, "12.weight")
	assert.NotContains(t, got.inits, "15.weight", "the tied layer reads 12.weight")
	assert.Equal(t, []string{"input"}, got.inputs)
	assert.Equal(t, []string{"output"}, got.outputs)
	for _, op := range []string{"Conv", "BatchNormalization", "Relu", "Add", "Erf", "MaxPool", "AveragePool", "LeakyRelu",
		"Flatten", "Reshape", "GlobalAveragePool", "Gemm", "Tanh", "Sigmoid", "Softmax"} {
		assert.Contains(t, got.ops, op)
	}
	assert.NotContains(t, got.ops, "Dropout", "inference graphs have no dropout")

	b, err = nn.EncodeONNX(m, nn.ExportOptions{Opset: 20, Input: "pixels", Output: "probabilities"})
	require.NoError(t, err)
	got = decodeONNX(t, b)
	assert.Contains(t, got.ops, "Gelu", "opset 20 has the Gelu op")
	assert.NotContains(t, got.ops, "Erf")
	assert.Equal(t, []string{"pixels"}, got.inputs)
	assert.Equal(t, []string{"probabilities"}, got.outputs)
}

// Export errors name the module that cannot be written, by path and kind.
func TestExportErrors(t *testing.T) {
	dev := newDev(t)
	build := func(root nn.Module, in ...int) *nn.Model {
		m := nn.NewModel(root)
		require.NoError(t, m.Build(dev, in, 2, 1))
		return m
	}
	var ue *onnx.UnsupportedError
	_, err := nn.EncodeONNX(build(nn.NewSequential(nn.NewDense(3, nn.ReLU), &scaleLayer{Factor: 2}, nn.NewDense(2, nn.Softmax)), 4), nn.ExportOptions{})
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, "onnx: cannot export layer 2 (test_scale): its type *nn_test.scaleLayer has no ExportONNX method (see nn.Exporter)", err.Error())

	_, err = nn.EncodeONNX(build(nn.NewSequential(nn.NewResidual(nn.NewSequential(nn.NewDense(4, nn.ReLU), &scaleLayer{Factor: 2}))), 4), nn.ExportOptions{})
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "onnx: cannot export layer 0.body.2 (test_scale)")

	_, err = nn.EncodeONNX(build(&scaleLayer{Factor: 2}, 4), nn.ExportOptions{})
	assert.ErrorContains(t, err, "onnx: cannot export layer (root) (test_scale)")

	_, err = nn.EncodeONNX(nn.NewModel(nn.NewDense(2, nn.ReLU)), nn.ExportOptions{})
	assert.ErrorContains(t, err, "nn: export: nn: model used before Build")

	m := build(nn.NewDense(2, nn.Softmax), 4)
	_, err = nn.EncodeONNX(m, nn.ExportOptions{Opset: 16})
	assert.ErrorContains(t, err, "onnx: opset 16 is not supported (want 17 to 23)")
	_, err = nn.EncodeONNX(m, nn.ExportOptions{Input: "x", Output: "x"})
	assert.ErrorContains(t, err, `the input and the output are both named "x"`)
	err = nn.ExportONNX(m, filepath.Join(t.TempDir(), "model.bin"), nn.ExportOptions{})
	assert.ErrorContains(t, err, "the file must end in .onnx")
	var d nn.Dense
	_, err = d.ExportONNX(onnx.New("g", 0), "x")
	assert.ErrorContains(t, err, "nn: dense: export before Build")
	assert.False(t, errors.As(err, &ue))
}

// randomize gives the biases and the batch norms' scales, shifts and running
// statistics values far from their initial ones, so that an export that mixes them
// up or leaves one out does not pass.
func randomize(t *testing.T, m *nn.Model, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 3))
	for _, p := range m.Params() {
		v := read(t, p.Value)
		switch {
		case strings.HasSuffix(p.Name, "running_var"):
			for i := range v {
				v[i] = float32(0.5 + 1.5*rng.Float64())
			}
		case strings.HasSuffix(p.Name, "running_mean"), strings.HasSuffix(p.Name, "bias"):
			for i := range v {
				v[i] = float32(0.3 * rng.NormFloat64())
			}
		case len(p.Value.Shape()) == 1: // a batch norm's scale
			for i := range v {
				v[i] = float32(1 + 0.3*rng.NormFloat64())
			}
		default:
			continue
		}
		require.NoError(t, p.Value.SetFloat32s(v))
	}
}

// relErr is the largest |got - want| / |want| over the elements, and where.
func relErr(got, want []float32) (worst float64, at int) {
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if d == 0 {
			continue
		}
		if e := d / math.Abs(float64(want[i])); e > worst || math.IsNaN(e) {
			worst, at = e, i
		}
	}
	return worst, at
}

// Every module type, exported and run by onnxruntime on 1,000 random inputs, gives
// Model.Predict's outputs (class probabilities) within 1e-5 relative error.
func TestExportRunsInONNXRuntime(t *testing.T) {
	py := interop.Python(t, "onnx and onnxruntime", interop.ONNXImports)
	cases := []struct {
		name  string
		root  func() nn.Module
		in    []int
		ids   int // > 0: the input is ids below it
		opset int
	}{
		{name: "dense-activations", in: []int{20}, root: func() nn.Module {
			return nn.NewSequential(nn.NewDense(16, nn.ReLU), &nn.Dense{Units: 16, Act: nn.LeakyReLU, Slope: 0.2}, nn.NewDropout(0.3),
				nn.NewDense(16, nn.Sigmoid), nn.NewDense(16, nn.Tanh), nn.NewDense(16, nn.GELU), &nn.Dense{Units: 16, Act: nn.LeakyReLU},
				nn.NewDense(10, nn.Softmax))
		}},
		{name: "activation-layers-opset20", in: []int{20}, opset: 20, root: func() nn.Module {
			return nn.NewSequential(&nn.Dense{Units: 12, NoBias: true}, nn.NewActivation(nn.GELU), &nn.ActivationLayer{Fn: nn.LeakyReLU, Slope: 0.3},
				nn.NewDense(12, nn.Linear), nn.NewActivation(nn.Tanh), nn.NewActivation(nn.Sigmoid), nn.NewActivation(nn.ReLU),
				nn.NewDense(7, nn.Linear), nn.NewActivation(nn.Softmax))
		}},
		{name: "every-layer", in: []int{2, 12, 12}, root: exportable},
		{name: "pools-padded", in: []int{1, 7, 7}, root: func() nn.Module {
			return nn.NewSequential(&nn.Pool2D{Op: device.AvgPool, Size: 2, Stride: 2, Padding: 1}, &nn.Pool2D{Op: device.MaxPool, Size: 3, Stride: 1, Padding: 1},
				&nn.Pool2D{Op: device.AvgPool, Size: 3, Stride: 2, Padding: 1}, nn.NewFlatten(), nn.NewDense(5, nn.Softmax))
		}},
		{name: "resnet", in: []int{1, 10, 10}, root: func() nn.Module {
			s, err := nn.ResNetSpec([]int{1, 10, 10}, 4)
			require.NoError(t, err)
			return s.Root
		}},
		{name: "embedding-tied", in: []int{1}, ids: 11, root: func() nn.Module {
			return nn.NewSequential(&nn.Embedding{Num: 11, Dim: 8, Std: 0.5}, nn.NewFlatten(), &nn.Dense{Units: 11, Act: nn.Softmax, TieWeight: "0.weight"})
		}},
		{name: "gpt", in: []int{6}, ids: 11, root: func() nn.Module {
			return nn.NewSequential(&nn.GPT{Vocab: 11, Context: 8, Layers: 2, Heads: 2, Dim: 8, Dropout: 0.1, Bias: true}, nn.NewActivation(nn.Softmax))
		}},
		{name: "gpt-no-bias-opset20", in: []int{5}, ids: 9, opset: 20, root: func() nn.Module {
			return nn.NewSequential(&nn.GPT{Vocab: 9, Context: 5, Layers: 1, Heads: 4, Dim: 8}, nn.NewActivation(nn.Softmax))
		}},
		{name: "transformer-layers-gelu-tanh", in: []int{4, 6}, root: func() nn.Module {
			return nn.NewSequential(&nn.PositionEmbedding{Num: 5}, &nn.Block{Heads: 3, Act: nn.GELUTanh, Hidden: 10},
				&nn.LayerNorm{NoBias: true}, &nn.LinearLayer{Out: 3, NoBias: true}, nn.NewActivation(nn.GELUTanh), nn.NewActivation(nn.Softmax))
		}},
		{name: "gelu-tanh-opset20", in: []int{4, 6}, opset: 20, root: func() nn.Module {
			return nn.NewSequential(&nn.MLP{Act: nn.GELUTanh}, nn.NewLinearLayer(2), nn.NewActivation(nn.Softmax))
		}},
		{name: "lstm-last", in: []int{7, 5}, root: func() nn.Module {
			s, err := nn.RecurrentSpec("lstm", 8, 2, []int{7, 5}, 4)
			require.NoError(t, err)
			return s.Root
		}},
		{name: "gru-last", in: []int{7, 5}, root: func() nn.Module {
			s, err := nn.RecurrentSpec("gru", 8, 2, []int{7, 5}, 4)
			require.NoError(t, err)
			return s.Root
		}},
		{name: "lstm-gru-sequence", in: []int{6, 3}, root: func() nn.Module {
			return nn.NewSequential(nn.NewLSTM(5, 1, false), nn.NewGRU(4, 1, false), nn.NewLinearLayer(3), nn.NewActivation(nn.Softmax))
		}},
		{name: "embedding-sequence", in: []int{5}, ids: 13, root: func() nn.Module {
			return nn.NewSequential(nn.NewEmbedding(13, 6), nn.NewFlatten(), nn.NewDense(8, nn.GELU), nn.NewDense(4, nn.Softmax))
		}},
	}
	const n = 1000
	dev := newDev(t)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := nn.NewModel(c.root())
			require.NoError(t, m.Build(dev, c.in, 64, uint64(10+i)))
			randomize(t, m, uint64(i))
			rng := rand.New(rand.NewPCG(uint64(i), 11))
			per := tensor.Shape(c.in).Len()
			shape := append([]int{n}, c.in...)
			var x *gt.Dense
			var feed any
			if c.ids > 0 {
				ids, ids64 := make([]int32, n*per), make([]int64, n*per)
				for j := range ids {
					ids[j] = int32(rng.IntN(c.ids))
					ids64[j] = int64(ids[j])
				}
				x, feed = gt.New(gt.WithShape(shape...), gt.WithBacking(ids)), ids64
			} else {
				v := randn(rng, n*per, 1)
				x, feed = gt.New(gt.WithShape(shape...), gt.WithBacking(v)), slices.Clone(v)
			}
			want, err := m.Predict(x)
			require.NoError(t, err)

			path := filepath.Join(t.TempDir(), c.name+".onnx")
			require.NoError(t, nn.ExportONNX(m, path, nn.ExportOptions{Opset: c.opset, Info: onnx.ModelInfo{ProducerVersion: "test"}}))
			r := interop.RunONNX(t, py, path, feed, shape)
			opset := c.opset
			if opset == 0 {
				opset = onnx.DefaultOpset
			}
			assert.Equal(t, opset, r.Opset)
			assert.Equal(t, "gputrain test", r.Producer)
			require.Len(t, r.Inputs, 1)
			inDims := []string{"batch"}
			for _, d := range c.in {
				inDims = append(inDims, fmt.Sprint(d))
			}
			assert.Equal(t, inDims, r.Inputs[0].Dims)
			wantType := 1 // float32
			if c.ids > 0 {
				wantType = 7 // int64
			}
			assert.Equal(t, wantType, r.Inputs[0].ElemType)
			assert.Equal(t, want.Shape(), gt.Shape(r.Shape))
			ours := want.Data().([]float32)
			require.Len(t, r.Output, len(ours))
			worst, at := relErr(r.Output, ours)
			assert.LessOrEqual(t, worst, 1e-5, "%s: onnxruntime %v, Predict %v at %d", c.name, r.Output[at], ours[at], at)
			t.Logf("%-26s worst relative error %.3g (onnxruntime %v, Predict %v); ops %v", c.name, worst, r.Output[at], ours[at], r.Ops)
		})
	}
}
