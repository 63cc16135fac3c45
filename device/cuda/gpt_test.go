//go:build cuda

package cuda_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/cuda"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/data"
)

// gptTrainer is the char-GPT with nanoGPT's recipe (AdamW, clipping at 1) on dev.
func gptTrainer(dev device.Backend, vocab, layers, heads, dim, context, batch int, dropout float32) *train.Trainer {
	opt := train.NewAdamW()
	opt.Hyper.Beta2, opt.Hyper.WeightDecay, opt.Hyper.Eps = 0.99, 0.1, 1e-8
	return &train.Trainer{Model: &nn.GPT{Vocab: vocab, Context: context, Layers: layers, Heads: heads, Dim: dim, Dropout: dropout},
		Loss: &nn.SequenceCrossEntropy{}, Optimizer: opt, Dev: dev, BatchSize: batch, Seed: 1, ClipNorm: 1}
}

// randomText is n random bytes of 84 distinct values (the Shakespeare file's count).
func randomText(t testing.TB, n, context int) *data.Text {
	rng := rand.New(rand.NewPCG(5, 6))
	raw := make([]byte, n)
	for i := range raw {
		raw[i] = byte(' ' + rng.IntN(84))
	}
	text, err := data.NewText(raw, "random", context)
	require.NoError(t, err)
	return text
}

// The char-GPT's step (dropout, clipping and the learning-rate schedule included: their
// scalars change every step) is captured as one CUDA graph and replayed: no host
// transfer, synchronisation or allocation inside it.
func TestGPTStepIsOneGraph(t *testing.T) {
	text := randomText(t, 20000, 32)
	tr := gptTrainer(gpu, text.Vocab.Size(), 2, 2, 32, 32, 4, 0.1)
	sched := train.NewLearningRateSchedule(train.WarmupCosine{Peak: 1e-3, Floor: 1e-4, Warmup: 2, Steps: 12})
	_, err := tr.FitSteps(text.Stream(1), train.StepConfig{Steps: 12, CheckEvery: 4, Callbacks: []train.Callback{sched}})
	require.NoError(t, err)
	require.Equal(t, 11, gpu.GraphLaunches("stream"), "warm-up and capture, then one graph launch per step; note: %q", gpu.GraphNote("stream"))
}

// BenchmarkTrainStepGPT times nanoGPT's GPU recipe (6 layers, 6 heads, width 384, context
// 256, batch 64, dropout 0.2, AdamW, clipping) on the GPU, with and without CUDA graphs,
// on a random text (no data files): ms/step, synchronised every 25 steps as FitSteps
// reads the running loss.
func BenchmarkTrainStepGPT(b *testing.B) {
	text := randomText(b, 2_000_000, 256)
	for _, c := range []struct {
		name string
		dev  func() device.Backend
	}{{"graphs", func() device.Backend { return gpu }}, {"plain", func() device.Backend {
		p, err := cuda.New(cuda.Options{NoGraphs: true})
		if err != nil {
			b.Fatal(err)
		}
		return p
	}}} {
		b.Run(c.name, func(b *testing.B) {
			tr := gptTrainer(c.dev(), text.Vocab.Size(), 6, 6, 384, 256, 64, 0.2)
			s := text.Stream(1)
			if _, err := tr.FitSteps(s, train.StepConfig{Steps: 3}); err != nil { // builds and captures
				b.Fatal(err)
			}
			b.ResetTimer()
			if _, err := tr.FitSteps(s, train.StepConfig{Steps: 3 + b.N, CheckEvery: 25}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(train.MedianMillis(tr.StepMillis()), "median-ms/step")
			b.ReportMetric(1e3*b.Elapsed().Seconds()/float64(b.N), "ms/step")
		})
	}
}
