package onnx

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/tensor"
)

// The bytes onnx's own Python builder (onnx 1.23.2, protobuf 7.36.2) serializes for the
// same model, checked by onnx.checker (full_check):
//
//	w = numpy_helper.from_array(np.array([[1, 2, 3], [-1, 0.5, 0.25]], dtype=np.float32), name="0.weight")
//	n = helper.make_node("Gemm", ["x", "0.weight"], ["0/Gemm"], name="0/Gemm", transB=1)
//	r = helper.make_node("LeakyRelu", ["0/Gemm"], ["0/LeakyRelu"], name="0/LeakyRelu", alpha=0.125)
//	i = helper.make_node("Identity", ["0/LeakyRelu"], ["y"], name="y")
//	g = helper.make_graph([n, r, i], "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
//	    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])], initializer=[w])
//	m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=8, producer_name="gputrain")
//	m.SerializeToString()
const tinyModel = "08081208677075747261696e3af9010a320a01780a08302e7765696768741206302f47656d6d1a06302f47656d6d220447656d6d2a0d0a06" +
	"7472616e73421801a001020a3e0a06302f47656d6d120b302f4c65616b7952656c751a0b302f4c65616b7952656c7522094c65616b7952656c752a" +
	"0f0a05616c706861150000003ea001010a1d0a0b302f4c65616b7952656c751201791a017922084964656e74697479120474696e792a2a08020803" +
	"10014208302e7765696768744a180000803f0000004000004040000080bf0000003f0000803e5a180a017812130a110801120d0a0712056261746368" +
	"0a02080362180a017912130a110801120d0a07120562617463680a02080242040a001011"

func TestEncodeMatchesONNXHelper(t *testing.T) {
	g := New("tiny", 0)
	x := g.Input("x", Float32, Batch, Size(3))
	s := g.Scope("0")
	y := Dense(s, x, s.Initializer("weight", []int{2, 3}, []float32{1, 2, 3, -1, 0.5, 0.25}), "")
	y = s.Node("LeakyRelu", []string{y}, Float("alpha", 0.125))
	assert.Equal(t, "0/LeakyRelu", y)
	g.Output("y", y, Float32, Batch, Size(2))
	b, err := g.Encode(ModelInfo{Producer: "gputrain"})
	require.NoError(t, err)
	assert.Equal(t, tinyModel, hex.EncodeToString(b))

	path := filepath.Join(t.TempDir(), "tiny.onnx")
	require.NoError(t, g.WriteFile(path, ModelInfo{Producer: "gputrain"}))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, b, got)
}

func TestNamesAndScopes(t *testing.T) {
	g := New("m", 20)
	assert.Equal(t, 20, g.Opset())
	x := g.Input("x", Float32, Batch, Size(4))
	blk := g.Scope("blocks").Scope("0")
	assert.Equal(t, "blocks.0", blk.Prefix())
	w := blk.Scope("attn").Initializer("weight", []int{4, 4}, make([]float32, 16))
	assert.Equal(t, "blocks.0.attn.weight", w)
	assert.Equal(t, "blocks.0/MatMul", blk.Node("MatMul", []string{x, w}))
	assert.Equal(t, "blocks.0/MatMul_1", blk.Node("MatMul", []string{x, w}))
	outs := blk.NodeN("LSTM", []string{x, w, w}, 3)
	assert.Equal(t, []string{"blocks.0/LSTM", "blocks.0/LSTM:1", "blocks.0/LSTM:2"}, outs)
	assert.Equal(t, "half", g.Const("half", nil, 0.5))
	assert.Equal(t, "half_1", g.Const("half", nil, 0.5), "constants are made unique")
	assert.Equal(t, "blocks.0.shape", blk.Int64s("shape", []int{2}, 0, -1))
	assert.NoError(t, g.Err())
}

func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(g *Graph)
		want  string
	}{
		{"unknown input", func(g *Graph) { g.Node("Relu", []string{"nope"}) }, `Relu reads "nope"`},
		{"use before definition", func(g *Graph) {
			g.Node("Add", []string{"x", "later"})
			g.Initializer("later", nil, []float32{1})
		}, `Add reads "later"`},
		{"duplicate weight", func(g *Graph) {
			s := g.Scope("0")
			s.Initializer("weight", []int{1}, []float32{1})
			s.Initializer("weight", []int{1}, []float32{1})
		}, `value "0.weight" is defined twice`},
		{"data and shape", func(g *Graph) { g.Scope("3").Initializer("bias", []int{2, 3}, make([]float32, 5)) },
			`initializer "3.bias" of shape [2 3] wants 6 values, got 5`},
		{"int64 data and shape", func(g *Graph) { g.Int64s("shape", []int{3}, 1, 2) }, `"shape" of shape [3] wants 3 values, got 2`},
		{"attribute twice", func(g *Graph) { g.Node("Relu", []string{"x"}, Int("a", 1), Int("a", 2)) }, `attribute "a" given twice`},
		{"output undefined", func(g *Graph) { g.Output("y", "z", Float32) }, `Identity reads "z"`},
		{"rnn weights", func(g *Graph) { LSTM(g, "x", RNNWeights{Input: 2, Hidden: 3, WeightIH: make([]float32, 5)}, true) },
			"do not fit input 2 and hidden 3"},
	}
	for _, c := range cases {
		g := New("m", 0)
		g.Input("x", Float32, Batch, Size(2))
		c.build(g)
		assert.ErrorContains(t, g.Err(), c.want, c.name)
		_, err := g.Encode(ModelInfo{})
		assert.ErrorContains(t, err, c.want, c.name)
		assert.ErrorContains(t, g.WriteFile(filepath.Join(t.TempDir(), "m.onnx"), ModelInfo{}), c.want, c.name)
	}

	_, err := New("m", 16).Encode(ModelInfo{})
	assert.ErrorContains(t, err, "opset 16 is not supported (want 17 to 23)")
	_, err = New("empty", 0).Encode(ModelInfo{})
	assert.ErrorContains(t, err, `graph "empty" has 0 inputs and 0 outputs`)
	g := New("m", 0)
	g.Output("x", g.Input("x", Float32, Size(1)), Float32, Size(1))
	assert.ErrorContains(t, g.WriteFile(filepath.Join(t.TempDir(), "m.bin"), ModelInfo{}), "must end in .onnx")
	missing := filepath.Join(t.TempDir(), "no", "m.onnx")
	assert.ErrorContains(t, g.WriteFile(missing, ModelInfo{}), missing)

	err = g.Fail(&UnsupportedError{Layer: "3 (RandomShift)", Why: "augmentation has no inference form"})
	assert.EqualError(t, err, "onnx: cannot export layer 3 (RandomShift): augmentation has no inference form")
	var ue *UnsupportedError
	assert.True(t, errors.As(g.Err(), &ue), "Fail keeps the first error")
}

func TestParamReadsTheDevice(t *testing.T) {
	dev := cpu.New(cpu.Options{Threads: 1})
	w, err := tensor.FromFloat32(dev, []float32{1, 2, 3, 4, 5, 6}, 2, 3)
	require.NoError(t, err)
	g := New("m", 0)
	assert.Equal(t, "0.weight", g.Scope("0").Param("weight", w))
	require.NoError(t, g.Err())
	assert.Equal(t, []int64{2, 3}, g.st.inits[0].dims)
	assert.Equal(t, []float32{1, 2, 3, 4, 5, 6}, g.st.inits[0].floats)
}

func TestReorderGates(t *testing.T) {
	// Four gate blocks of two rows of one column: PyTorch's i, f, g, o.
	w := []float32{1, 1, 2, 2, 3, 3, 4, 4}
	assert.Equal(t, []float32{1, 1, 4, 4, 2, 2, 3, 3}, ReorderGates(w, lstmToONNX), "ONNX's i, o, f, c")
	assert.Equal(t, []float32{2, 2, 1, 1, 3, 3}, ReorderGates([]float32{1, 1, 2, 2, 3, 3}, gruToONNX), "ONNX's z, r, h")
}
