package nn_test

import (
	"fmt"
	"strings"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
)

// A model is a stack of layers built for one device, an input shape and a largest
// batch; its parameters carry the names PyTorch gives the same nn.Sequential.
func ExampleSequential() {
	dev := cpu.New(cpu.Options{Threads: 1})
	defer dev.Close()
	model := nn.NewModel(nn.NewSequential(
		&nn.Conv2D{Filters: 4, Kernel: 3, Padding: 1, Act: nn.ReLU},
		nn.NewMaxPool2D(2),
		nn.NewFlatten(),
		nn.NewDense(10, nn.Softmax),
	))
	if err := model.Build(dev, tensor.Shape{1, 8, 8}, 32, 1); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(model.Summary())
	for _, p := range model.Params() {
		fmt.Println(p.Name, p.Value.Shape())
	}
	// Output:
	// input (1, 8, 8)
	// module           output              params  kind
	// 0                (4, 8, 8)               40  conv2d filters=4 kernel=3 padding=1 activation=relu
	// 2                (4, 4, 4)                0  maxpool2d size=2
	// 3                (64)                     0  flatten
	// 4                (10)                   650  dense units=10 activation=softmax
	// output (10), 690 trainable parameters
	// 0.weight (4, 1, 3, 3)
	// 0.bias (4)
	// 4.weight (10, 64)
	// 4.bias (10)
}

// A JSON model description builds the same kind of model; Build says where the layers'
// shapes do not fit.
func ExampleParseSpec() {
	spec, err := nn.ParseSpec(strings.NewReader(`{"input": [784], "layers": [
		{"type": "reshape", "shape": [1, 28, 28]},
		{"type": "conv2d", "filters": 8, "kernel": 5, "activation": "relu"},
		{"type": "maxpool2d", "size": 2},
		{"type": "flatten"},
		{"type": "dense", "units": 10, "activation": "softmax"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	dev := cpu.New(cpu.Options{Threads: 1})
	defer dev.Close()
	model, err := spec.Build(dev, 32, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(model.InputShape(), "→", model.OutputShape())

	_, err = nn.ParseSpec(strings.NewReader(`{"layers": [{"type": "dense", "units": 10, "kernel": 3}]}`))
	fmt.Println(err)
	// Output:
	// (784) → (10)
	// nn: spec: layer 0 (dense): field "kernel" does not apply to dense (it takes units, activation, slope, no_bias, tie_weight)
}

// SpecOf describes a model made in Go, for storing next to its weights.
func ExampleSpecOf() {
	model := nn.NewModel(nn.NewSequential(nn.NewRandomShift(2, false), nn.NewFlatten(), nn.NewDense(64, nn.ReLU), nn.NewDropout(0.2), nn.NewDense(10, nn.Softmax)))
	spec, err := nn.SpecOf(model)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(spec.JSON()))
	// Output:
	// {
	//   "layers": [
	//     {
	//       "type": "random_shift",
	//       "max_shift": 2
	//     },
	//     {
	//       "type": "flatten"
	//     },
	//     {
	//       "type": "dense",
	//       "units": 64,
	//       "activation": "relu"
	//     },
	//     {
	//       "type": "dropout",
	//       "rate": 0.2
	//     },
	//     {
	//       "type": "dense",
	//       "units": 10,
	//       "activation": "softmax"
	//     }
	//   ]
	// }
}
