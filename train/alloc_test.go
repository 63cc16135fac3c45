package train

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train/data"
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

// TestStreamStepAllocatesNothing: a step-based training step of a GPT (embeddings,
// attention with dropout, layer norms, the tied head, the sequence cross-entropy,
// AdamW and gradient clipping on the device), with the next batch drawn from a text
// stream, allocates nothing once built.
func TestStreamStepAllocatesNothing(t *testing.T) {
	text, err := data.NewText([]byte(strings.Repeat("to be or not to be, that is the question. ", 30)), "test", 16)
	require.NoError(t, err)
	opt := NewAdamW()
	tr := &Trainer{Model: &nn.GPT{Vocab: text.Vocab.Size(), Context: 16, Layers: 2, Heads: 2, Dim: 16, Dropout: 0.1},
		Loss: &nn.SequenceCrossEntropy{}, Optimizer: opt, Dev: cpu.New(cpu.Options{Threads: 2}), BatchSize: 4, Seed: 1, ClipNorm: 1}
	s := text.Stream(1)
	_, err = tr.FitSteps(s, StepConfig{Steps: 2}) // builds everything
	require.NoError(t, err)
	step := func() {
		if err := s.Next(tr.hx, tr.hy); err != nil {
			t.Fatal(err)
		}
		if err := tr.streamStep(fullStep, 0.25); err != nil {
			t.Fatal(err)
		}
	}
	step()
	allocs := testing.AllocsPerRun(20, step)
	require.Zero(t, allocs, "allocations per training step")
}
