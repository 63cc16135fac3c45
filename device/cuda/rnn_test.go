//go:build cuda

package cuda_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// The lstm preset's training step on row-sequential digits (the Permute into time
// order, the per-step GEMMs and cells forward and backward, the dense head, Adam) is
// captured as one CUDA graph and replayed: the same buffers every step, no host
// transfer or allocation inside it. Fit's steps run under the "train" key.
func TestLSTMStepIsOneGraph(t *testing.T) {
	d := digits(4, 8*16) // flat 784-pixel images, read as 28 rows of 28
	before := gpu.GraphLaunches("train")
	tr := &train.Trainer{Model: nn.NewSequential(nn.NewReshape(28, 28), nn.NewLSTM(32, 2, true), nn.NewDense(10, nn.Softmax)), Loss: &nn.SparseCategoricalCrossEntropy{},
		Optimizer: train.NewAdam(), Dev: gpu, BatchSize: 16, Seed: 1}
	_, err := tr.Fit(d, train.Config{Epochs: 1, NoShuffle: true})
	require.NoError(t, err)
	require.Positive(t, gpu.GraphLaunches("train")-before, "the LSTM's step was replayed as a CUDA graph; note: %q", gpu.GraphNote("train"))
}
