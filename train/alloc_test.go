package train

import (
	"testing"

	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
)

// TestTrainingStepAllocatesNothing runs whole training steps of the reference MLP and
// counts heap allocations: after the first step built every workspace, none.
// fullStep is a training step that is a whole accumulation group: it zeroes the
// gradients and updates the weights.
var fullStep = stepKey{first: true, last: true}

func TestTrainingStepAllocatesNothing(t *testing.T) {
	const n, batch = 256, 32
	x := make([]uint8, n*784)
	y := make([]int32, n)
	for i := range x {
		x[i] = uint8(i * 7)
	}
	for i := range y {
		y[i] = int32(i % 10)
	}
	flat := Dataset{X: gt.New(gt.WithShape(n, 784), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n), gt.WithBacking(y))}
	images := Dataset{X: gt.New(gt.WithShape(n, 1, 28, 28), gt.WithBacking(x)), Y: flat.Y}
	cnn, err := nn.CNNSpec([]int{1, 28, 28}, 10)
	require.NoError(t, err)
	seq := cnn.Root.(*nn.Sequential)
	seq.Layers = append([]nn.Module{nn.NewRandomShift(2, true)}, seq.Layers...)
	cnnModel, err := cnn.Model()
	require.NoError(t, err)
	resnet, err := nn.ResNetSpec([]int{1, 28, 28}, 10)
	require.NoError(t, err)
	resnetModel, err := resnet.Model()
	require.NoError(t, err)
	for _, c := range []struct {
		model nn.Module
		d     Dataset
	}{
		{nn.NewSequential(nn.NewDense(128, nn.ReLU), nn.NewDense(64, nn.ReLU), nn.NewDense(10, nn.Softmax)), flat},
		{nn.NewSequential(nn.NewDense(64, nn.Tanh), nn.NewDropout(0.3), nn.NewDense(10, nn.Softmax)), flat},
		// shift, conv, batch norm, pooling, dropout
		{cnnModel, images},
		// residual blocks with projections, global average pooling
		{resnetModel, images},
	} {
		model, d := c.model, c.d
		tr := &Trainer{Model: model, Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: NewAdam(),
			Dev: cpu.New(cpu.Options{Threads: 2}), BatchSize: batch, Seed: 1}
		_, err := tr.Fit(d, Config{Epochs: 1}) // builds everything
		require.NoError(t, err)
		set, err := upload(tr.Dev, "test", d, tr.Net().InputShape(), tr.Net().OutputShape(), 10)
		require.NoError(t, err)
		require.NoError(t, set.batches(tr.Dev, 0, n, batch))
		order := set.orderV[1]
		require.NoError(t, tr.trainBatch(set, order, fullStep, 1/float32(order.Len())))
		allocs := testing.AllocsPerRun(20, func() {
			if err := tr.trainBatch(set, order, fullStep, 1/float32(order.Len())); err != nil {
				t.Fatal(err)
			}
		})
		require.Zero(t, allocs, "allocations per training step")
	}
}

// The recommenders' training steps (MF and TwoTower on int32 ids, MSE, lazy Adam on
// their sparse tables) allocate nothing either.
func TestRecommenderStepAllocatesNothing(t *testing.T) {
	const n, batch = 256, 32
	x := make([]int32, n*4)
	y := make([]float32, n)
	for i := range n {
		x[4*i], x[4*i+1], x[4*i+2], x[4*i+3] = int32(i%50), int32(i*7%30), int32(i%3), int32(i%5)
		y[i] = float32(1 + i%5)
	}
	pairs := make([]int32, 2*n)
	for i := range n {
		pairs[2*i], pairs[2*i+1] = x[4*i], x[4*i+1]
	}
	for _, c := range []struct {
		model nn.Module
		x     []int32
		f     int
	}{
		{&nn.MF{Users: 50, Items: 30, Dim: 8, L2: 0.1, BiasL2: 0.1, Mean: 3}, pairs, 2},
		{&nn.TwoTower{Users: 50, Items: 30, UserFields: []int{3}, ItemFields: []int{5}, Dim: 8, Hidden: 16, L2: 0.1, Mean: 3}, x, 4},
	} {
		d := Dataset{X: gt.New(gt.WithShape(n, c.f), gt.WithBacking(c.x)), Y: gt.New(gt.WithShape(n, 1), gt.WithBacking(y))}
		tr := &Trainer{Model: c.model, Loss: &nn.MSE{}, Optimizer: NewAdam(), Dev: cpu.New(cpu.Options{Threads: 2}), BatchSize: batch, Seed: 1}
		_, err := tr.Fit(d, Config{Epochs: 1})
		require.NoError(t, err)
		set, err := upload(tr.Dev, "test", d, tr.Net().InputShape(), tr.Net().OutputShape(), 0)
		require.NoError(t, err)
		require.NoError(t, set.batches(tr.Dev, 0, n, batch))
		for _, order := range []int{1, len(set.orderV) - 1} {
			o := set.orderV[order]
			require.NoError(t, tr.trainBatch(set, o, fullStep, 1/float32(o.Len())))
			allocs := testing.AllocsPerRun(20, func() {
				if err := tr.trainBatch(set, o, fullStep, 1/float32(o.Len())); err != nil {
					t.Fatal(err)
				}
			})
			require.Zero(t, allocs, "%s: allocations per training step", c.model.Kind())
		}
	}
}
