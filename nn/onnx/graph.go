package onnx

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/gputrain/gputrain/internal/atomicfile"
	"github.com/gputrain/gputrain/tensor"
)

// The opsets this package writes (ai.onnx domain). DefaultOpset is the oldest one
// with LayerNormalization, for the widest choice of runtimes.
const (
	DefaultOpset = 17
	MinOpset     = 17
	MaxOpset     = 23
)

// irVersion is the IR version of each opset's ONNX release (onnx.helper.VERSION_TABLE):
// the oldest IR that knows the opset, so that older runtimes load the model.
var irVersion = map[int]int64{17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11}

// DType is an element type (TensorProto.DataType).
type DType int32

// The element types a graph's inputs, outputs and initializers use.
const (
	Float32 DType = 1
	Int32   DType = 6
	Int64   DType = 7
	Bool    DType = 9
)

// Dim is one dimension of a graph input or output: a fixed Size, or a named symbolic
// one (Param) that the runtime takes from the data.
type Dim struct {
	Size  int
	Param string
}

// Size is a fixed dimension.
func Size(n int) Dim { return Dim{Size: n} }

// Param is a symbolic dimension: every input or output dimension with the same name
// has the same size at run time.
func Param(name string) Dim { return Dim{Param: name} }

// Batch is the dynamic batch dimension.
var Batch = Param("batch")

// Attr is a node attribute; make one with Int, Ints, Float, Floats, String, Strings or
// TensorAttr.
type Attr struct {
	name    string
	kind    int
	f       float32
	i       int64
	s       string
	floats  []float32
	ints    []int64
	strings []string
	t       *tensorData
}

// Int is an integer attribute.
func Int(name string, v int) Attr { return Attr{name: name, kind: attrTypeInt, i: int64(v)} }

// Ints is an integer list attribute.
func Ints(name string, v ...int) Attr {
	a := Attr{name: name, kind: attrTypeInts, ints: make([]int64, len(v))}
	for i, x := range v {
		a.ints[i] = int64(x)
	}
	return a
}

// Float is a float attribute.
func Float(name string, v float32) Attr { return Attr{name: name, kind: attrTypeFloat, f: v} }

// Floats is a float list attribute.
func Floats(name string, v ...float32) Attr {
	return Attr{name: name, kind: attrTypeFloats, floats: append([]float32{}, v...)}
}

// String is a string attribute.
func String(name, v string) Attr { return Attr{name: name, kind: attrTypeString, s: v} }

// Strings is a string list attribute.
func Strings(name string, v ...string) Attr {
	return Attr{name: name, kind: attrTypeStrings, strings: append([]string{}, v...)}
}

// TensorAttr is a float tensor attribute (ConstantOfShape's value, for example).
func TensorAttr(name string, shape []int, data []float32) Attr {
	return Attr{name: name, kind: attrTypeTensor, t: &tensorData{dims: dims(shape), dtype: Float32, floats: append([]float32{}, data...)}}
}

// tensorData is a TensorProto: an initializer or a tensor attribute.
type tensorData struct {
	name   string
	dims   []int64
	dtype  DType
	floats []float32
	ints   []int64
}

func dims(shape []int) []int64 {
	out := make([]int64, len(shape))
	for i, d := range shape {
		out[i] = int64(d)
	}
	return out
}

type node struct {
	op, name        string
	inputs, outputs []string
	attrs           []Attr
}

type valueInfo struct {
	name  string
	dtype DType
	shape []Dim
}

// state is what every scope of a graph shares.
type state struct {
	name            string
	opset           int
	nodes           []*node
	inits           []*tensorData
	inputs, outputs []*valueInfo
	defined         map[string]bool // values so far: inputs, initializers, node outputs
	err             error
}

// Graph builds an ONNX model: inputs, initializers (the weights), nodes in
// topological order and outputs. Every method returns the name of the value it makes,
// to pass to the next node, so that a layer's export reads like its forward pass:
//
//	func (d *Dense) ExportONNX(g *onnx.Graph, x string) (string, error) {
//		y := onnx.Dense(g, x, g.Param("weight", d.w.Value), g.Param("bias", d.b.Value))
//		return g.Node("Relu", []string{y}), nil
//	}
//
// A Graph is a scope: Scope("0") gives one whose initializers are named "0.weight",
// "0.bias" (PyTorch's hierarchical names, as in checkpoints) and whose node outputs
// are named "0/Gemm", "0/Relu". Mistakes (a duplicate or unknown value name, data that
// does not fit its shape, a device read that fails) are remembered: the method still
// returns a name, and Err, Encode and WriteFile return the first error, which names
// the value. A Graph is not safe for concurrent use.
type Graph struct {
	st     *state
	prefix string
}

// New starts a graph named name for the given opset (DefaultOpset when 0).
func New(name string, opset int) *Graph {
	if opset == 0 {
		opset = DefaultOpset
	}
	g := &Graph{st: &state{name: name, opset: opset, defined: map[string]bool{}}}
	if opset < MinOpset || opset > MaxOpset {
		g.fail(fmt.Errorf("onnx: opset %d is not supported (want %d to %d)", opset, MinOpset, MaxOpset))
	}
	return g
}

// Opset is the graph's opset version; an export may choose ops by it (Gelu).
func (g *Graph) Opset() int { return g.st.opset }

// Scope returns the graph seen from a sub-module named name: its names are prefixed
// with the scope's path and name, joined by dots.
func (g *Graph) Scope(name string) *Graph { return &Graph{st: g.st, prefix: g.join(name, ".")} }

// Prefix is the scope's path ("" at the top).
func (g *Graph) Prefix() string { return g.prefix }

// Root returns the graph seen from the top scope (no prefix): what adds an initializer
// under a full name, as a module does for a weight it shares with another (weight
// tying names the weight by its first owner's path).
func (g *Graph) Root() *Graph { return &Graph{st: g.st} }

// Defined reports whether name (a full name, not scoped) is a value of the graph so
// far: an input, an initializer or a node's output.
func (g *Graph) Defined(name string) bool { return g.st.defined[name] }

func (g *Graph) join(name, sep string) string {
	if g.prefix == "" {
		return name
	}
	if name == "" {
		return g.prefix
	}
	return g.prefix + sep + name
}

// Err is the first mistake made while building, or nil.
func (g *Graph) Err() error { return g.st.err }

// Fail records err (if it is the first) as the graph's error, for an export that
// finds a problem; it returns err.
func (g *Graph) Fail(err error) error {
	g.fail(err)
	return err
}

func (g *Graph) fail(err error) {
	if g.st.err == nil {
		g.st.err = err
	}
}

// define claims a value name; a second definition is a mistake.
func (g *Graph) define(name string) {
	if name == "" {
		g.fail(errors.New("onnx: empty value name"))
		return
	}
	if g.st.defined[name] {
		g.fail(fmt.Errorf("onnx: value %q is defined twice", name))
		return
	}
	g.st.defined[name] = true
}

// fresh returns an unused value name: hint, or hint_1, hint_2, ...
func (g *Graph) fresh(hint string) string {
	if !g.st.defined[hint] {
		return hint
	}
	for i := 1; ; i++ {
		if n := fmt.Sprintf("%s_%d", hint, i); !g.st.defined[n] {
			return n
		}
	}
}

// Input adds a graph input (name unscoped) of element type dt and the given shape, and
// returns its name.
func (g *Graph) Input(name string, dt DType, shape ...Dim) string {
	g.define(name)
	g.st.inputs = append(g.st.inputs, &valueInfo{name: name, dtype: dt, shape: append([]Dim{}, shape...)})
	return name
}

// Output makes value a graph output named name (unscoped; an Identity node renames
// the value when the names differ) of element type dt and the given shape.
func (g *Graph) Output(name, value string, dt DType, shape ...Dim) {
	if name != value {
		g.use("Identity", value)
		g.st.nodes = append(g.st.nodes, &node{op: "Identity", name: name, inputs: []string{value}, outputs: []string{name}})
		g.define(name)
	} else {
		g.use("output", value)
	}
	g.st.outputs = append(g.st.outputs, &valueInfo{name: name, dtype: dt, shape: append([]Dim{}, shape...)})
}

// use checks that an input of op has been defined ("" is an omitted optional input).
func (g *Graph) use(op, value string) {
	if value != "" && !g.st.defined[value] {
		g.fail(fmt.Errorf("onnx: %s reads %q, which no input, initializer or earlier node defines", op, value))
	}
}

// Initializer adds a float32 initializer named by the scope and name (a weight:
// "0.weight") with the given shape, and returns its name. len(data) must be the
// shape's product.
func (g *Graph) Initializer(name string, shape []int, data []float32) string {
	return g.initializer(g.join(name, "."), shape, data)
}

func (g *Graph) initializer(full string, shape []int, data []float32) string {
	if n := tensor.Shape(shape).Len(); n != len(data) {
		g.fail(fmt.Errorf("onnx: initializer %q of shape %v wants %d values, got %d", full, shape, n, len(data)))
	}
	g.define(full)
	g.st.inits = append(g.st.inits, &tensorData{name: full, dims: dims(shape), dtype: Float32, floats: append([]float32{}, data...)})
	return full
}

// Param adds the tensor t, read from its device, as the float32 initializer name (see
// Initializer).
func (g *Graph) Param(name string, t *tensor.Tensor) string {
	data, err := t.Float32s()
	if err != nil {
		g.fail(fmt.Errorf("onnx: reading %q from the device: %w", g.join(name, "."), err))
		data = make([]float32, t.Shape().Len())
	}
	return g.Initializer(name, t.Shape(), data)
}

// Int64s adds an int64 initializer named by the scope and name with the given shape (a
// scalar for an empty shape), and returns its name: shapes for Reshape, axes.
func (g *Graph) Int64s(name string, shape []int, data ...int64) string {
	full := g.fresh(g.join(name, "."))
	if n := tensor.Shape(shape).Len(); n != len(data) {
		g.fail(fmt.Errorf("onnx: initializer %q of shape %v wants %d values, got %d", full, shape, n, len(data)))
	}
	g.define(full)
	g.st.inits = append(g.st.inits, &tensorData{name: full, dims: dims(shape), dtype: Int64, ints: append([]int64{}, data...)})
	return full
}

// Const adds a float32 constant (an initializer named by the scope and name, made
// unique) with the given shape, and returns its name.
func (g *Graph) Const(name string, shape []int, data ...float32) string {
	return g.initializer(g.fresh(g.join(name, ".")), shape, data)
}

// Node adds a node of op (ai.onnx domain) reading inputs, with one output, and returns
// the output's name: the scope's path, "/" and op ("0/Gemm"), made unique.
func (g *Graph) Node(op string, inputs []string, attrs ...Attr) string {
	return g.NodeN(op, inputs, 1, attrs...)[0]
}

// NodeN adds a node with n outputs (LSTM's Y, Y_h, Y_c) and returns their names. An
// input "" is an omitted optional input.
func (g *Graph) NodeN(op string, inputs []string, n int, attrs ...Attr) []string {
	for _, in := range inputs {
		g.use(op, in)
	}
	base := g.fresh(g.join(op, "/"))
	outs := make([]string, n)
	for i := range outs {
		outs[i] = base
		if i > 0 {
			outs[i] = g.fresh(fmt.Sprintf("%s:%d", base, i))
		}
		g.define(outs[i])
	}
	seen := map[string]bool{}
	for _, a := range attrs {
		if seen[a.name] {
			g.fail(fmt.Errorf("onnx: %s node %q: attribute %q given twice", op, base, a.name))
		}
		seen[a.name] = true
	}
	g.st.nodes = append(g.st.nodes, &node{op: op, name: base, inputs: append([]string{}, inputs...), outputs: outs, attrs: attrs})
	return outs
}

// ModelInfo is what a model says about itself.
type ModelInfo struct {
	// Producer and ProducerVersion name the program that wrote the model.
	Producer, ProducerVersion string
	// Doc is the graph's documentation.
	Doc string
	// Metadata are key-value pairs (ModelProto.metadata_props), written in key order.
	Metadata map[string]string
}

// Encode returns the ModelProto: the IR version of the graph's opset, the opset
// import, the graph. It returns the graph's first error instead, or an error when the
// graph has no input or no output.
func (g *Graph) Encode(info ModelInfo) ([]byte, error) {
	st := g.st
	if st.err != nil {
		return nil, st.err
	}
	if len(st.inputs) == 0 || len(st.outputs) == 0 {
		return nil, fmt.Errorf("onnx: graph %q has %d inputs and %d outputs, want at least one of each", st.name, len(st.inputs), len(st.outputs))
	}
	var gb []byte
	for _, n := range st.nodes {
		gb = appendMessage(gb, graphNode, appendNode(nil, n))
	}
	gb = appendString(gb, graphName, st.name)
	for _, t := range st.inits {
		gb = appendMessage(gb, graphInitializer, appendTensor(nil, t))
	}
	if info.Doc != "" {
		gb = appendString(gb, graphDocString, info.Doc)
	}
	for _, v := range st.inputs {
		gb = appendMessage(gb, graphInput, appendValueInfo(nil, v))
	}
	for _, v := range st.outputs {
		gb = appendMessage(gb, graphOutput, appendValueInfo(nil, v))
	}

	var mb []byte
	mb = appendVarint(mb, modelIRVersion, uint64(irVersion[st.opset]))
	if info.Producer != "" {
		mb = appendString(mb, modelProducerName, info.Producer)
	}
	if info.ProducerVersion != "" {
		mb = appendString(mb, modelProducerVersion, info.ProducerVersion)
	}
	mb = appendMessage(mb, modelGraph, gb)
	var opset []byte
	opset = appendString(opset, opsetDomain, "")
	opset = appendVarint(opset, opsetVersion, uint64(st.opset))
	mb = appendMessage(mb, modelOpsetImport, opset)
	keys := make([]string, 0, len(info.Metadata))
	for k := range info.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var e []byte
		e = appendString(e, entryKey, k)
		e = appendString(e, entryValue, info.Metadata[k])
		mb = appendMessage(mb, modelMetadataProps, e)
	}
	return mb, nil
}

// WriteFile writes the model (Encode) to path atomically. Errors name the path.
func (g *Graph) WriteFile(path string, info ModelInfo) error {
	if !strings.HasSuffix(strings.ToLower(path), ".onnx") {
		return fmt.Errorf("onnx: %q: the file must end in .onnx", path)
	}
	b, err := g.Encode(info)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return fmt.Errorf("onnx: write %s: %w", path, err)
	}
	return nil
}

// UnsupportedError is the error of a layer that cannot be exported; it names the
// layer.
type UnsupportedError struct {
	Layer string // the layer's name or path ("2 (Dropout)")
	Why   string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("onnx: cannot export layer %s: %s", e.Layer, e.Why)
}
