package onnx_test

import (
	"fmt"
	"strconv"

	"github.com/gputrain/gputrain/nn/onnx"
)

// exporter is the hook a layer implements: it adds its weights and nodes to g (scoped
// to the layer's name) reading the value x, and returns its output value.
type exporter interface {
	ExportONNX(g *onnx.Graph, x string) (string, error)
}

// dense is a layer holding its weights in PyTorch's layout (a real layer reads them
// from the device with g.Param("weight", l.w.Value)).
type dense struct {
	in, out int
	w, b    []float32
	relu    bool
}

func (l dense) ExportONNX(g *onnx.Graph, x string) (string, error) {
	y := onnx.Dense(g, x, g.Initializer("weight", []int{l.out, l.in}, l.w), g.Initializer("bias", []int{l.out}, l.b))
	if l.relu {
		y = g.Node("Relu", []string{y})
	}
	return y, nil
}

type softmax struct{}

func (softmax) ExportONNX(g *onnx.Graph, x string) (string, error) {
	return g.Node("Softmax", []string{x}, onnx.Int("axis", 1)), nil
}

// sortLayer is a layer with no ONNX form (nn's own layers all have one: nn.Exporter).
type sortLayer struct{}

func (sortLayer) ExportONNX(g *onnx.Graph, x string) (string, error) {
	return "", &onnx.UnsupportedError{Layer: g.Prefix() + " (sort)", Why: "it has no ONNX form"}
}

// export writes a model, its layers named by their index as in checkpoints.
func export(layers []exporter, in, out int) ([]byte, error) {
	g := onnx.New("model", 0)
	x := g.Input("input", onnx.Float32, onnx.Batch, onnx.Size(in))
	for i, l := range layers {
		var err error
		if x, err = l.ExportONNX(g.Scope(strconv.Itoa(i)), x); err != nil {
			return nil, err
		}
	}
	g.Output("probabilities", x, onnx.Float32, onnx.Batch, onnx.Size(out))
	return g.Encode(onnx.ModelInfo{Producer: "gputrain"})
}

// A layer's export is a few calls to the builder.
func Example() {
	layers := []exporter{
		dense{in: 2, out: 3, w: []float32{1, 2, 3, 4, 5, 6}, b: []float32{0, 0, 0}, relu: true},
		dense{in: 3, out: 2, w: []float32{1, 0, 0, 0, 1, 0}, b: []float32{0.5, -0.5}},
		softmax{},
	}
	model, err := export(layers, 2, 2)
	fmt.Println(len(model) > 0, err)

	_, err = export(append(layers, sortLayer{}), 2, 2)
	fmt.Println(err)
	// Output:
	// true <nil>
	// onnx: cannot export layer 3 (sort): it has no ONNX form
}
