package nn

import (
	"fmt"

	"github.com/gputrain/gputrain/nn/onnx"
)

// Exporter is a module that can write its inference form into an ONNX graph; every
// module type of this package is one, and ExportONNX writes a built Model with it.
//
// ExportONNX adds the module's nodes to g, reading the value named x, the batch (batch,
// in…) of the shape the module was built for, and returns the name of its output value
// (batch, out…). g is scoped to the module's path ("3.body"), so that the names of the
// nodes it adds say which module made them ("3.body/Conv"). A module reads its
// parameters with ExportParam, which names each initializer exactly as the checkpoint
// names the tensor ("3.body.0.weight"); a container exports each child with
// ExportChild under the name it built the child with. Training-only behaviour is left
// out: dropout and augmentation are the identity, batch norm uses its running
// statistics. A module that has no ONNX form returns an *onnx.UnsupportedError
// (NotExportable) that says why. A layer's hook is a few calls to the builder:
//
//	func (d *Dense) ExportONNX(g *onnx.Graph, x string) (string, error) {
//		y := onnx.Dense(g, x, ExportParam(g, d.w), ExportParam(g, d.b)) // Gemm: x·Wᵀ + b
//		return g.Node("Relu", []string{y}), nil
//	}
//
// ExportONNX is called on a built module only.
type Exporter interface {
	ExportONNX(g *onnx.Graph, x string) (string, error)
}

// Every module type of this package is an Exporter.
var (
	_ Exporter = (*Dense)(nil)
	_ Exporter = (*Conv2D)(nil)
	_ Exporter = (*Pool2D)(nil)
	_ Exporter = (*GlobalAvgPool)(nil)
	_ Exporter = (*BatchNorm)(nil)
	_ Exporter = (*ActivationLayer)(nil)
	_ Exporter = (*Dropout)(nil)
	_ Exporter = (*Flatten)(nil)
	_ Exporter = (*Reshape)(nil)
	_ Exporter = (*RandomShift)(nil)
	_ Exporter = (*Embedding)(nil)
	_ Exporter = (*Sequential)(nil)
	_ Exporter = (*Residual)(nil)
	_ Exporter = (*LinearLayer)(nil)
	_ Exporter = (*LayerNorm)(nil)
	_ Exporter = (*PositionEmbedding)(nil)
	_ Exporter = (*CausalSelfAttention)(nil)
	_ Exporter = (*MLP)(nil)
	_ Exporter = (*Block)(nil)
	_ Exporter = (*GPT)(nil)
	_ Exporter = (*LSTM)(nil)
	_ Exporter = (*GRU)(nil)
)

// ExportChild exports child, which its container built under name (Context.Build),
// reading x: it calls the child's ExportONNX with g scoped to name and returns its
// output. A child that is not an Exporter (a type of a user's, without the method) is
// an *onnx.UnsupportedError naming its path and kind; the child's own errors, and the
// first mistake it made in the graph, are returned as they are.
func ExportChild(g *onnx.Graph, name string, child Module, x string) (string, error) {
	s := g.Scope(name)
	if child == nil {
		return "", fmt.Errorf("nn: export: module %s is nil", pathOrRoot(s))
	}
	e, ok := child.(Exporter)
	if !ok {
		return "", NotExportable(s, child, fmt.Sprintf("its type %T has no ExportONNX method (see nn.Exporter)", child))
	}
	y, err := e.ExportONNX(s, x)
	if err != nil {
		return "", err
	}
	if err := g.Err(); err != nil {
		return "", fmt.Errorf("nn: exporting module %s (%s): %w", pathOrRoot(s), child.Kind(), err)
	}
	return y, nil
}

// NotExportable is the error of module m, which g is scoped to, that has no ONNX form:
// "onnx: cannot export layer <path> (<kind>): <why>".
func NotExportable(g *onnx.Graph, m Module, why string) *onnx.UnsupportedError {
	return &onnx.UnsupportedError{Layer: fmt.Sprintf("%s (%s)", pathOrRoot(g), kindOf(m)), Why: why}
}

func pathOrRoot(g *onnx.Graph) string {
	if g.Prefix() == "" {
		return "(root)"
	}
	return g.Prefix()
}

// ExportParam adds p's value, read from its device, as a float32 initializer named
// p.Name, the parameter's full name in the built model and in checkpoints ("0.weight"),
// and returns that name. A parameter shared by several modules (Dense.TieWeight) is
// added once: later calls return the same initializer.
func ExportParam(g *onnx.Graph, p *Param) string {
	if p == nil || p.Value == nil {
		g.Fail(fmt.Errorf("nn: export %s: a parameter without a value (is the module built?)", pathOrRoot(g)))
		return ""
	}
	if g.Defined(p.Name) {
		return p.Name
	}
	return g.Root().Param(p.Name, p.Value)
}

// exportONNX adds a(x) to g: Relu, LeakyRelu (alpha = slope), Sigmoid, Tanh, the exact
// GELU (onnx.Gelu: the Gelu op from opset 20, its erf decomposition before), its tanh
// approximation (onnx.GeluTanh) or Softmax
// over the last axis; Linear adds nothing.
func (a Activation) exportONNX(g *onnx.Graph, x string, slope float32) string {
	switch a {
	case Linear:
		return x
	case ReLU:
		return g.Node("Relu", []string{x})
	case LeakyReLU:
		return g.Node("LeakyRelu", []string{x}, onnx.Float("alpha", slope))
	case Sigmoid:
		return g.Node("Sigmoid", []string{x})
	case Tanh:
		return g.Node("Tanh", []string{x})
	case GELU:
		return onnx.Gelu(g, x)
	case GELUTanh:
		return onnx.GeluTanh(g, x)
	case Softmax:
		return g.Node("Softmax", []string{x}, onnx.Int("axis", -1))
	}
	g.Fail(fmt.Errorf("nn: export %s: unknown activation %d", pathOrRoot(g), a))
	return x
}

// idsInput is a module that reads integer ids (an Embedding): a model whose first
// layer is one takes int64 ids in ONNX.
type idsInput interface{ readsIDs() }

// ExportOptions configure ExportONNX and EncodeONNX. The zero value is the defaults.
type ExportOptions struct {
	// Opset is the ai.onnx opset (onnx.MinOpset to onnx.MaxOpset; 0: onnx.DefaultOpset).
	Opset int
	// Name is the graph's name ("" : "gputrain").
	Name string
	// Input and Output name the graph's input and output ("": "input" and "output").
	Input, Output string
	// InputType is the input's element type: 0 chooses onnx.Int64 (token ids) for a
	// model whose first layer is an Embedding, onnx.Float32 otherwise.
	InputType onnx.DType
	// Info is what the model file says about itself (Producer "" : "gputrain").
	Info onnx.ModelInfo
}

// ONNXGraph builds the ONNX graph of m, a built model, for inference: its input
// (batch, in…), a dynamic batch dimension named "batch", the root module's export
// (Exporter) and its output (batch, out…), float32. Errors: a model that is not built,
// a module that cannot be exported (an *onnx.UnsupportedError naming its path and
// kind: "onnx: cannot export layer 3 (mylayer): …"), an opset out of range.
func ONNXGraph(m *Model, o ExportOptions) (*onnx.Graph, error) {
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("nn: export: %w", err)
	}
	name, in, out := o.Name, o.Input, o.Output
	if name == "" {
		name = "gputrain"
	}
	if in == "" {
		in = "input"
	}
	if out == "" {
		out = "output"
	}
	if in == out {
		return nil, fmt.Errorf("nn: export: the input and the output are both named %q", in)
	}
	dt := o.InputType
	if dt == 0 {
		dt = ONNXInputType(m)
	}
	g := onnx.New(name, o.Opset)
	if err := g.Err(); err != nil {
		return nil, err
	}
	x := g.Input(in, dt, dims(m.in)...)
	y, err := ExportChild(g, "", m.root, x)
	if err != nil {
		return nil, err
	}
	g.Output(out, y, onnx.Float32, dims(m.out)...)
	if err := g.Err(); err != nil {
		return nil, err
	}
	return g, nil
}

// dims is (batch, per…) with a dynamic batch.
func dims(per []int) []onnx.Dim {
	d := []onnx.Dim{onnx.Batch}
	for _, n := range per {
		d = append(d, onnx.Size(n))
	}
	return d
}

// ONNXInputType is the element type of the input that ONNXGraph gives m, a built
// model, by default: onnx.Int64 when the first module without children that m runs
// reads ids (an Embedding), onnx.Float32 otherwise.
func ONNXInputType(m *Model) onnx.DType {
	mods := m.Modules()
	for i, mi := range mods {
		if i+1 == len(mods) || mods[i+1].Depth <= mi.Depth {
			if _, ok := mi.Module.(idsInput); ok {
				return onnx.Int64
			}
			break
		}
	}
	return onnx.Float32
}

// EncodeONNX returns m as the bytes of an ONNX model file (ONNXGraph, then
// onnx.Graph.Encode).
func EncodeONNX(m *Model, o ExportOptions) ([]byte, error) {
	g, err := ONNXGraph(m, o)
	if err != nil {
		return nil, err
	}
	return g.Encode(info(o))
}

// ExportONNX writes m, a built model, to path (a .onnx file, written atomically) as an
// ONNX model for inference: see ONNXGraph. Its initializers are the model's weights
// and state under their checkpoint names ("0.weight", "3.running_mean"), each once.
func ExportONNX(m *Model, path string, o ExportOptions) error {
	g, err := ONNXGraph(m, o)
	if err != nil {
		return err
	}
	return g.WriteFile(path, info(o))
}

func info(o ExportOptions) onnx.ModelInfo {
	i := o.Info
	if i.Producer == "" {
		i.Producer = "gputrain"
	}
	return i
}
