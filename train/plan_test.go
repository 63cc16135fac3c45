package train_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// counting is a real backend that counts the bytes of the buffers allocated on it, held
// now and at the peak.
type counting struct {
	device.Backend
	size       map[device.Buffer]int64
	live, peak int64
}

func newCounting(b device.Backend) *counting {
	return &counting{Backend: b, size: map[device.Buffer]int64{}}
}

func (c *counting) Alloc(dt device.DType, n int) (device.Buffer, error) {
	b, err := c.Backend.Alloc(dt, n)
	if err == nil {
		c.size[b] = int64(n) * int64(dt.Size())
		c.live += c.size[b]
		c.peak = max(c.peak, c.live)
	}
	return b, err
}

func (c *counting) Free(b device.Buffer) {
	c.live -= c.size[b]
	delete(c.size, b)
	c.Backend.Free(b)
}

// The plan counts what a real Fit allocates, byte for byte: the peak of the same Fit on
// a real backend, for models with every kind of buffer (parameters, state, lazily made
// workspaces, uint8 images, integer ids, gradient accumulation, clipping, a validation
// split or set), and the parts for a model worked out by hand.
func TestPlanMemoryCountsWhatFitAllocates(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ids := make([]int64, 200*3)
	for i := range ids {
		ids[i] = int64(rng.IntN(12))
	}
	labels := make([]int32, 200)
	for i := range labels {
		labels[i] = int32(ids[i*3] % 3)
	}
	idData := train.Dataset{X: gt.New(gt.WithShape(200, 3), gt.WithBacking(ids)), Y: gt.New(gt.WithShape(200), gt.WithBacking(labels))}
	val := blobs(9, 50, 4, 3)
	for _, c := range []struct {
		name  string
		model func() nn.Module
		data  train.Dataset
		opt   func() train.Optimizer
		cfg   train.Config
		setup func(*train.Trainer)
	}{
		{"mlp", func() nn.Module { return mlp(3) }, blobs(1, 300, 4, 3), func() train.Optimizer { return train.NewAdam() },
			train.Config{Epochs: 1, ValidationSplit: 0.2}, nil},
		{"mlp, validation set, sgd", func() nn.Module { return mlp(3) }, blobs(1, 300, 4, 3), func() train.Optimizer { return train.NewSGD() },
			train.Config{Epochs: 1, Validation: &val}, nil},
		{"cnn, accumulation, clipping", func() nn.Module {
			return nn.NewSequential(nn.NewRandomShift(1, true), &nn.Conv2D{Filters: 6, Kernel: 3, Padding: 1}, nn.NewBatchNorm(),
				nn.NewActivation(nn.ReLU), nn.NewMaxPool2D(2), &nn.Conv2D{Filters: 8, Kernel: 3, Padding: 1, Act: nn.ReLU},
				nn.NewAvgPool2D(2), nn.NewFlatten(), nn.NewDropout(0.2), nn.NewDense(3, nn.Softmax))
		}, bars(2, 200), func() train.Optimizer { return train.NewAdamW() }, train.Config{Epochs: 1, ValidationSplit: 0.1},
			func(tr *train.Trainer) { tr.AccumSteps, tr.ClipNorm = 2, 1 }},
		{"embedding", func() nn.Module {
			return nn.NewSequential(nn.NewEmbedding(12, 8), nn.NewFlatten(), nn.NewDense(16, nn.ReLU), nn.NewDense(3, nn.Softmax))
		}, idData, func() train.Optimizer { return train.NewMomentum() }, train.Config{Epochs: 1}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			dev := cpu.New(cpu.Options{Threads: 2})
			defer dev.Close()
			real := newCounting(dev)
			tr := &train.Trainer{Model: c.model(), Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: c.opt(), Dev: real, BatchSize: 16, Seed: 1}
			if c.setup != nil {
				c.setup(tr)
			}
			plan, err := tr.PlanMemory(c.data, c.cfg)
			require.NoError(t, err)
			assert.Zero(t, real.peak, "planning allocates nothing on the device")
			assert.Nil(t, tr.Net(), "planning leaves the Trainer unbuilt")
			_, err = tr.Fit(c.data, c.cfg)
			require.NoError(t, err)
			assert.Equal(t, real.peak, plan.Peak, "the plan's peak is the real one: %s", plan)
			var params, grads int64
			for _, p := range tr.Net().Params() {
				params += int64(p.Value.Len()) * 4
				if p.Grad != nil {
					grads += int64(p.Grad.Len()) * 4
				}
			}
			assert.Equal(t, params, plan.Parameters)
			assert.Equal(t, grads, plan.Gradients)
			assert.Equal(t, real.live, plan.Total()-plan.Data, "after Fit: all but the data, which Fit frees")
		})
	}

	// mlp(3) on 4 features, batches of 16: W1 16×4, b1 16, W2 3×16, b2 3 = 131 values.
	tr := newTrainer(cpu.New(cpu.Options{Threads: 1}), train.NewAdam(), 1)
	plan, err := tr.PlanMemory(blobs(1, 300, 4, 3), train.Config{Epochs: 1})
	require.NoError(t, err)
	assert.Equal(t, int64(131*4), plan.Parameters)
	assert.Equal(t, int64(131*4), plan.Gradients)
	assert.Equal(t, int64(2*131*4), plan.Optimizer, "Adam's m and v")
	assert.Equal(t, int64(300*4*4+300*4+300*4), plan.Data, "X float32, Y int32, the batch order")
	assert.Contains(t, plan.String(), "on cpu at the peak: parameters 524 B, gradients 524 B, optimizer state 1.0 kB")
}

// A run far too large for this machine is planned in a moment, allocating nothing
// large on the host: a batch of ten million, and a hidden layer of a hundred million.
func TestPlanMemoryOfHugeRuns(t *testing.T) {
	data := blobs(1, 64, 784, 10)
	for _, c := range []struct {
		name  string
		model nn.Module
		batch int
		least int64
	}{
		{"batch", nn.NewSequential(nn.NewDense(128, nn.ReLU), nn.NewDense(10, nn.Softmax)), 10_000_000, 10_000_000 * (784 + 128 + 10) * 4},
		{"hidden", nn.NewSequential(nn.NewDense(100_000_000, nn.ReLU), nn.NewDense(10, nn.Softmax)), 32, 3 * 784 * 100_000_000 * 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := &train.Trainer{Model: c.model, Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(),
				Dev: cpu.New(cpu.Options{Threads: 1}), BatchSize: c.batch}
			plan, err := tr.PlanMemory(data, train.Config{Epochs: 1})
			require.NoError(t, err)
			assert.Greater(t, plan.Peak, c.least, "%s", plan)
		})
	}
}
