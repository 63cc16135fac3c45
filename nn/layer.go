// Package nn holds the model side of the engine: layers, the Sequential model and losses.
//
// A Layer is built once for a device, a per-example input shape and a largest batch size
// (Build), which allocates its parameters and every workspace it needs; Forward and
// Backward then run a batch with a handful of device.Backend calls and allocate nothing
// (smaller batches, such as the last of an epoch, use views of the same workspaces).
// Backward overwrites each parameter's gradient. nn imports device and tensor only: the
// same layer runs on every backend.
//
// Every layer and loss has a finite-difference gradient check in this package's tests.
package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/tensor"
)

// Layer is one stage of a model.
type Layer interface {
	// Kind names the layer type for summaries and errors ("dense", "relu", "dropout").
	Kind() string
	// Build prepares the layer for batches of up to ctx.MaxBatch examples of shape in
	// (without the batch dimension) and returns the per-example output shape.
	Build(ctx *Context, in tensor.Shape) (tensor.Shape, error)
	// Forward computes the output for the batch x, of shape (batch, in...). train selects
	// training behaviour (dropout masks, batch statistics). The result stays valid until
	// the next Forward.
	Forward(x *tensor.Tensor, train bool) (*tensor.Tensor, error)
	// Backward takes dL/dy for the last Forward, writes the parameters' gradients and,
	// when needDX, returns dL/dx (else nil).
	Backward(dy *tensor.Tensor, needDX bool) (*tensor.Tensor, error)
	// Params lists the layer's tensors by local name ("weight", "bias", "running_mean"):
	// trainable ones have a Grad, state such as running statistics has none.
	Params() []*Param
	// Modules is how many modules the layer is in an equivalent PyTorch nn.Sequential
	// (a Dense with an activation is Linear + activation: 2). Sequential numbers parameter
	// names by it, so that checkpoints carry the names a PyTorch user expects.
	Modules() int
}

// Param is a named tensor of a layer: a weight (with its gradient) or state (Grad nil).
type Param struct {
	Name  string // "0.weight" once in a Sequential; the layer-local name before
	Value *tensor.Tensor
	Grad  *tensor.Tensor
}

// Trainable reports whether the optimizer updates p.
func (p *Param) Trainable() bool { return p.Grad != nil }

// Context is what layers share within one model: the device, the largest batch, the
// random source for initial weights and the seed and step counter that make dropout and
// augmentation masks reproducible.
type Context struct {
	Dev      device.Backend
	MaxBatch int
	// RNG draws initial weights, layer by layer in model order.
	RNG *rand.Rand
	// Seed is the base seed of the model's Philox streams; layer i draws with Seed+i.
	Seed uint64
	// Step counts training forward passes; layers derive Philox offsets from it so that a
	// resumed run draws what the uninterrupted one would have.
	Step uint64
	// Layer is the index of the layer being built.
	Layer int
}

// NewContext returns a context for dev with weights drawn from seed.
func NewContext(dev device.Backend, maxBatch int, seed uint64) *Context {
	return &Context{Dev: dev, MaxBatch: maxBatch, RNG: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), Seed: seed}
}

// batchBuf is a workspace of MaxBatch examples with cached views for smaller batches, so
// that no batch size allocates more than once.
type batchBuf struct {
	full  *tensor.Tensor
	views map[int]*tensor.Tensor
}

func newBatchBuf(dev device.Backend, dt device.DType, maxBatch int, per tensor.Shape) (*batchBuf, error) {
	t, err := tensor.New(dev, dt, append([]int{maxBatch}, per...)...)
	if err != nil {
		return nil, err
	}
	return &batchBuf{full: t, views: map[int]*tensor.Tensor{maxBatch: t}}, nil
}

// rows returns the workspace's first n examples.
func (b *batchBuf) rows(n int) (*tensor.Tensor, error) {
	if v, ok := b.views[n]; ok {
		return v, nil
	}
	if n <= 0 || n > b.full.Dim(0) {
		return nil, fmt.Errorf("nn: batch of %d examples, but the model was built for at most %d", n, b.full.Dim(0))
	}
	v, err := b.full.Rows(0, n)
	if err != nil {
		return nil, err
	}
	b.views[n] = v
	return v, nil
}

// checkInput validates a batch against the shape the layer was built for.
func checkInput(kind string, x *tensor.Tensor, in tensor.Shape, maxBatch int) (int, error) {
	if x == nil {
		return 0, fmt.Errorf("nn: %s: nil input", kind)
	}
	s := x.Shape()
	if len(s) != len(in)+1 || !s[1:].Equal(in) {
		return 0, fmt.Errorf("nn: %s: input shape %v, want (batch, %v)", kind, s, in)
	}
	if s[0] > maxBatch {
		return 0, fmt.Errorf("nn: %s: batch of %d examples, built for at most %d", kind, s[0], maxBatch)
	}
	return s[0], nil
}

// newParam allocates a parameter of the given shape and, when trainable, its gradient.
func newParam(dev device.Backend, name string, trainable bool, values []float32, shape ...int) (*Param, error) {
	v, err := tensor.FromFloat32(dev, values, shape...)
	if err != nil {
		return nil, err
	}
	p := &Param{Name: name, Value: v}
	if trainable {
		if p.Grad, err = tensor.Zeros(dev, shape...); err != nil {
			return nil, err
		}
	}
	return p, nil
}
