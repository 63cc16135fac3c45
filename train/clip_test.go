package train_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/tensor"
	"github.com/gputrain/gputrain/train"
)

// oneSGDStep trains one full-batch SGD step (learning rate lr) with the given ClipNorm
// and returns every trainable parameter's values before and after, concatenated.
func oneSGDStep(t *testing.T, clip float32, lr float32) (before, after []float64) {
	t.Helper()
	data := blobs(31, 24, 5, 3)
	opt := train.NewSGD()
	opt.SetLearningRate(lr)
	tr := &train.Trainer{Model: nn.NewSequential(nn.NewDense(8, nn.Tanh), nn.NewDense(3, nn.Softmax)),
		Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: opt, Dev: cpu.New(cpu.Options{}),
		BatchSize: 24, Seed: 5, ClipNorm: clip}
	require.NoError(t, tr.Build(tensor.Shape{5}))
	read := func() []float64 {
		var out []float64
		for _, p := range tr.Net().Params() {
			require.True(t, p.Trainable())
			v, err := p.Value.Float32s()
			require.NoError(t, err)
			for _, x := range v {
				out = append(out, float64(x))
			}
		}
		return out
	}
	before = read()
	_, err := tr.Fit(data, train.Config{Epochs: 1, NoShuffle: true})
	require.NoError(t, err)
	require.Equal(t, 1, opt.Iterations())
	return before, read()
}

func TestClipNormScalesTheUpdateToTheNorm(t *testing.T) {
	const lr = 0.5
	w0, w1 := oneSGDStep(t, 0, lr)
	// Without clipping SGD moves by -lr·g: recover g and its global norm on the host.
	g := make([]float64, len(w0))
	sum := 0.0
	for i := range w0 {
		g[i] = (w0[i] - w1[i]) / lr
		sum += g[i] * g[i]
	}
	norm := math.Sqrt(sum)
	require.Greater(t, norm, 0.1, "a real gradient")

	for _, frac := range []float64{0.5, 0.1} {
		clip := float32(frac * norm)
		c0, c1 := oneSGDStep(t, clip, lr)
		require.Equal(t, w0, c0, "same initial weights")
		scale := float64(clip) / norm
		moved := 0.0
		for i := range c0 {
			want := c0[i] - lr*scale*g[i] // w − lr · g · ClipNorm/‖g‖
			assert.InDelta(t, want, c1[i], 2e-6, "parameter %d with ClipNorm %.3g", i, clip)
			moved += (c0[i] - c1[i]) * (c0[i] - c1[i])
		}
		// The step taken has length lr·ClipNorm.
		assert.InDelta(t, lr*float64(clip), math.Sqrt(moved), 1e-5*lr*float64(clip)+1e-6)
	}

	// A norm below ClipNorm is left alone: the very same update.
	_, c1 := oneSGDStep(t, float32(2*norm), lr)
	assert.Equal(t, w1, c1)
}
