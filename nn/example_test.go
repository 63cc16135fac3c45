package nn_test

import (
	"fmt"
	"strings"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
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

// A residual block adds its input to its body's output; nested modules are named by
// their path, as PyTorch names the state_dict of the same module tree.
func ExampleResidual() {
	dev := cpu.New(cpu.Options{Threads: 1})
	defer dev.Close()
	block := &nn.Residual{
		Body:     nn.NewSequential(&nn.Conv2D{Filters: 8, Kernel: 3, Stride: 2, Padding: 1}, &nn.BatchNorm{}, nn.NewActivation(nn.ReLU)),
		Shortcut: &nn.Conv2D{Filters: 8, Kernel: 1, Stride: 2},
	}
	model := nn.NewModel(nn.NewSequential(block, &nn.GlobalAvgPool{}, nn.NewDense(10, nn.Softmax)))
	if err := model.Build(dev, tensor.Shape{4, 8, 8}, 32, 1); err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range model.Params() {
		fmt.Println(p.Name, p.Value.Shape())
	}
	// Output:
	// 0.body.0.weight (8, 4, 3, 3)
	// 0.body.0.bias (8)
	// 0.body.1.weight (8)
	// 0.body.1.bias (8)
	// 0.body.1.running_mean (8)
	// 0.body.1.running_var (8)
	// 0.shortcut.weight (8, 4, 1, 1)
	// 0.shortcut.bias (8)
	// 3.weight (10, 8)
	// 3.bias (10)
}

// Halve is a module of your own: y = x/2. It registers its kind, so that JSON
// descriptions and checkpoints can name it; its exported fields (none here) would be its
// configuration.
type Halve struct {
	dev   device.Backend
	in    tensor.Shape
	y, dx *tensor.Tensor
	n     int
}

func init() { nn.Register("halve", func() nn.Module { return &Halve{} }) }

func (h *Halve) Kind() string        { return "halve" }
func (h *Halve) Params() []*nn.Param { return nil }

func (h *Halve) Build(ctx *nn.Context, in tensor.Shape) (tensor.Shape, error) {
	h.dev, h.in = ctx.Dev, in.Clone()
	var err error
	if h.y, err = tensor.Zeros(ctx.Dev, append([]int{ctx.MaxBatch}, in...)...); err != nil {
		return nil, err
	}
	h.dx, err = tensor.Zeros(ctx.Dev, append([]int{ctx.MaxBatch}, in...)...)
	return in, err
}

func (h *Halve) Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error) {
	if h.dev == nil {
		return nil, fmt.Errorf("halve used before Build")
	}
	h.n = x.Dim(0)
	y, err := h.y.Rows(0, h.n)
	if err != nil {
		return nil, err
	}
	return y, h.dev.Axpby(0.5, x.Buffer(), 0, y.Buffer()) // y = x/2
}

func (h *Halve) Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error) {
	if !needDX {
		return nil, nil // no parameters: nothing else to do
	}
	dx, err := h.dx.Rows(0, h.n)
	if err != nil {
		return nil, err
	}
	return dx, h.dev.Axpby(0.5, dy.Buffer(), 0, dx.Buffer()) // dx = dy/2
}

// Any type implementing Module nests in containers, trains, and goes through JSON.
func ExampleModule() {
	spec, err := nn.ParseSpec(strings.NewReader(`{"input": [4], "layers": [
		{"type": "dense", "units": 4, "activation": "tanh"},
		{"type": "residual", "body": {"type": "halve"}},
		{"type": "dense", "units": 2, "activation": "softmax"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	dev := cpu.New(cpu.Options{Threads: 1})
	defer dev.Close()
	model, err := spec.Build(dev, 8, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(model.Summary())
	// Output:
	// input (4)
	// module           output              params  kind
	// 0                (4)                     20  dense units=4 activation=tanh
	// 2                (4)                      0  residual
	//   2.body         (4)                      0  halve
	// 3                (2)                     10  dense units=2 activation=softmax
	// output (2), 30 trainable parameters
}
