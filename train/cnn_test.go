package train_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// bars makes n grey images (1, 8, 8) as uint8 pixels: class 0 holds a horizontal bar,
// class 1 a vertical one and class 2 both, each at a random place, on noise.
func bars(seed uint64, n int) train.Dataset {
	rng := rand.New(rand.NewPCG(seed, 3))
	x := make([]uint8, n*64)
	y := make([]int32, n)
	for i := range n {
		class, row, col := rng.IntN(3), 1+rng.IntN(6), 1+rng.IntN(6)
		y[i] = int32(class)
		for r := range 8 {
			for c := range 8 {
				v := rng.IntN(60)
				if (class != 1 && r == row) || (class != 0 && c == col) {
					v += 190
				}
				x[i*64+r*8+c] = uint8(v)
			}
		}
	}
	return train.Dataset{X: gt.New(gt.WithShape(n, 1, 8, 8), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n), gt.WithBacking(y))}
}

// TestConvolutionalLayersTrain trains every image layer together (augmentation,
// convolution, batch normalisation, both poolings, flatten, dropout) and checks the
// model in inference mode, where batch normalisation uses its running statistics and
// dropout and augmentation are off.
func TestConvolutionalLayersTrain(t *testing.T) {
	model := nn.NewSequential(
		nn.NewRandomShift(1, true),
		&nn.Conv2D{Filters: 6, Kernel: 3, Padding: 1}, nn.NewBatchNorm(), nn.NewActivation(nn.ReLU),
		nn.NewMaxPool2D(2),
		&nn.Conv2D{Filters: 8, Kernel: 3, Padding: 1, Act: nn.ReLU}, nn.NewBatchNorm(),
		nn.NewAvgPool2D(2),
		nn.NewFlatten(), nn.NewDropout(0.2),
		nn.NewDense(3, nn.Softmax),
	)
	tr := &train.Trainer{Model: model, Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(),
		Dev: cpu.New(cpu.Options{}), BatchSize: 32, Seed: 5}
	tr.Optimizer.SetLearningRate(0.01)
	hist, err := tr.Fit(bars(1, 960), train.Config{Epochs: 6, ValidationSplit: 1.0 / 6})
	require.NoError(t, err)
	first, last := hist.Epochs[0], hist.Epochs[len(hist.Epochs)-1]
	assert.Less(t, last.Loss, first.Loss/2, "the training loss falls")
	assert.Greater(t, last.ValAccuracy, 0.9)

	res, err := tr.Evaluate(bars(2, 300))
	require.NoError(t, err)
	assert.Greater(t, res.Accuracy, 0.9, "inference with the running statistics")

	// The running statistics moved away from their start (mean 0, variance 1).
	stats := map[string][]float32{}
	for _, p := range tr.Net().Params() {
		if p.Name == "1.running_mean" || p.Name == "6.running_var" {
			v, err := p.Value.Float32s()
			require.NoError(t, err)
			stats[p.Name] = v
		}
	}
	require.Len(t, stats, 2, "PyTorch's names: RandomShift is no module, Conv2d 0, BatchNorm2d 1, …, Conv2d 4, ReLU 5, BatchNorm2d 6")
	assert.NotEqual(t, make([]float32, 6), stats["1.running_mean"])
	assert.NotEqual(t, []float32{1, 1, 1, 1, 1, 1, 1, 1}, stats["6.running_var"])
}
