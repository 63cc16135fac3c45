package checkpoint

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
	"github.com/gputrain/gputrain/train/data"
)

func gptRun(text *data.Text) *train.Trainer {
	opt := train.NewAdamW()
	opt.Hyper.Beta2, opt.Hyper.WeightDecay = 0.99, 0.1
	return &train.Trainer{Model: &nn.GPT{Vocab: text.Vocab.Size(), Context: text.Context, Layers: 1, Heads: 2, Dim: 8, Dropout: 0.1},
		Loss: &nn.SequenceCrossEntropy{}, Optimizer: opt, Dev: cpu.New(cpu.Options{Threads: 2}), BatchSize: 3, Seed: 4, ClipNorm: 1}
}

// A step-based GPT run saved mid-interval (its stream's position, the model's dropout
// counter, AdamW's state, the interval's running sums and the vocabulary all in the
// file) and restored into a fresh Trainer ends exactly as the uninterrupted run.
func TestStepRunResumesFromCheckpoint(t *testing.T) {
	text, err := data.NewText([]byte(strings.Repeat("a rose is a rose is a rose. ", 30)), "rose", 8)
	require.NoError(t, err)
	cfg := func() train.StepConfig { return train.StepConfig{Steps: 24, EvalEvery: 10, CheckEvery: 3} }
	sched := func() train.Callback {
		return train.NewLearningRateSchedule(train.WarmupCosine{Peak: 3e-3, Floor: 3e-4, Warmup: 4, Steps: 24})
	}
	straight := gptRun(text)
	c := cfg()
	c.Callbacks = []train.Callback{sched()}
	want, err := straight.FitSteps(text.Stream(2), c)
	require.NoError(t, err)

	path := filepath.Join(t.TempDir(), "gpt.safetensors")
	first := gptRun(text)
	ctx, cancel := context.WithCancel(context.Background())
	c = cfg()
	c.Context = ctx
	c.Callbacks = []train.Callback{sched(), &saveAt{t: t, epoch: 2, batch: 4, cancel: cancel}}
	_, err = first.FitSteps(text.Stream(2), c)
	require.ErrorIs(t, err, train.ErrInterrupted)
	require.NoError(t, Save(path, first, Settings{Model: "gpt", Dataset: text.Name, Vocab: text.Vocab.Bytes}))

	ck, err := Open(path)
	require.NoError(t, err)
	assert.Equal(t, text.Vocab.Bytes, ck.Settings.Vocab)
	assert.Equal(t, 14, ck.Progress.OptimizerSteps)
	assert.Equal(t, 2, ck.Progress.Epoch)
	assert.Equal(t, 4, ck.Progress.Batch)
	assert.True(t, ck.Progress.History.ByStep)
	second := gptRun(text)
	require.NoError(t, ck.Restore(second))
	c = cfg()
	c.Callbacks = []train.Callback{sched()}
	got, err := second.FitSteps(text.Stream(77), c)
	require.NoError(t, err)
	for i, p := range straight.Net().Params() {
		w, err := p.Value.Float32s()
		require.NoError(t, err)
		g, err := second.Net().Params()[i].Value.Float32s()
		require.NoError(t, err)
		require.Equal(t, w, g, p.Name)
	}
	require.Len(t, got.Epochs, 3)
	for i := range want.Epochs {
		assert.Equal(t, want.Epochs[i].Loss, got.Epochs[i].Loss, "interval %d", i+1)
		assert.Equal(t, want.Epochs[i].ValLoss, got.Epochs[i].ValLoss, "interval %d", i+1)
		assert.Equal(t, want.Epochs[i].LearningRate, got.Epochs[i].LearningRate, "interval %d", i+1)
	}

	// LoadModel rebuilds the GPT from the file alone, with the tied head.
	m, err := ck.LoadModel(cpu.New(cpu.Options{}), 1)
	require.NoError(t, err)
	names := m.Names()
	assert.Contains(t, names, "lm_head.weight")
	assert.Contains(t, names, "transformer.wte.weight")
}
