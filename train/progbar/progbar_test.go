package progbar

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

func classifier() *train.Trainer {
	return &train.Trainer{Model: nn.NewSequential(nn.NewDense(8, nn.ReLU), nn.NewDense(3, nn.Softmax)),
		Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(), Dev: cpu.New(cpu.Options{}), BatchSize: 4, Seed: 1}
}

func data(n int) train.Dataset {
	x := make([]float32, 2*n)
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(i % 3)
		x[2*i], x[2*i+1] = float32(y[i]), float32(i%5)/5
	}
	return train.Dataset{X: gt.New(gt.WithShape(n, 2), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n), gt.WithBacking(y))}
}

func TestStatusText(t *testing.T) {
	b := New(&bytes.Buffer{}, Options{Epochs: 5, Force: true})
	b.classifies, b.epoch = true, 3
	assert.Equal(t, "epoch 3/5  loss -       acc -       ", b.status(train.BatchStats{}, 0), "nothing read yet")
	b.known = train.BatchStats{Known: true, Loss: 0.123456, Accuracy: 0.5}
	assert.Equal(t, "epoch 3/5  loss 0.1235  acc 0.5000   1600 samples/s  ",
		b.status(train.BatchStats{Seen: 3200}, 2*time.Second), "3200 examples in 2s")
	b.seen0 = 1200 // a resumed epoch counts only this run's examples
	assert.Equal(t, "epoch 3/5  loss 0.1235  acc 0.5000   1000 samples/s  ", b.status(train.BatchStats{Seen: 3200}, 2*time.Second))
	r := New(&bytes.Buffer{}, Options{})
	r.epoch = 2
	r.known = train.BatchStats{Known: true, Loss: 2}
	assert.Equal(t, "epoch 2  loss 2.0000  ", r.status(train.BatchStats{Seen: 10}, 0), "a regression loss has no accuracy")
}

// frames splits a carriage-return animation into what was drawn each time.
func frames(out string) []string { return strings.Split(out, "\r") }

func TestBarDrawsWhenForced(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, Options{Epochs: 2, Force: true, Throttle: time.Nanosecond})
	require.True(t, b.Enabled())
	require.NoError(t, b.OnTrainBegin(classifier()))
	require.NoError(t, b.OnEpochBegin(1))
	for i := 1; i <= 4; i++ {
		require.NoError(t, b.OnBatchBegin(train.BatchStats{Epoch: 1, Batch: i, Batches: 10, Step: i, Seen: 32 * (i - 1)}))
		require.NoError(t, b.OnBatchEnd(train.BatchStats{Epoch: 1, Batch: i, Batches: 10, Step: i, Seen: 32 * i,
			Known: i%2 == 0, Loss: 1 / float64(i), Accuracy: 0.1 * float64(i)}))
	}
	fr := frames(buf.String())
	last := strings.TrimRight(fr[len(fr)-1], " ")
	// 4 of 10 batches: 40% of a 30-character bar is 12 characters, the last a head.
	want := regexp.MustCompile(`^epoch 1/2  loss 0\.2500  acc 0\.4000  +\d+ samples/s +40% \[={11}>\.{18}\] \(4/10\) \[\d+s:\d+s\]$`)
	assert.Regexp(t, want, last)
	assert.Contains(t, buf.String(), "epoch 1/2  loss -       acc -      ", "before the first read")

	// The last batch clears the line for the epoch summary.
	for i := 5; i <= 10; i++ {
		require.NoError(t, b.OnBatchBegin(train.BatchStats{Epoch: 1, Batch: i, Batches: 10, Step: i, Seen: 32 * (i - 1)}))
		require.NoError(t, b.OnBatchEnd(train.BatchStats{Epoch: 1, Batch: i, Batches: 10, Step: i, Seen: 32 * i}))
	}
	out := buf.String()
	require.True(t, strings.HasSuffix(out, "\r"), "ends at the start of the line")
	fr = frames(out)
	blank := fr[len(fr)-2]
	assert.NotEmpty(t, blank)
	assert.Empty(t, strings.TrimLeft(blank, " "), "the bar is overwritten with spaces")
	assert.GreaterOrEqual(t, len(blank), len(last), "as wide as the widest bar")
	assert.Contains(t, out, "(9/10)")
	assert.NotContains(t, out, "(10/10)", "a finished bar is not drawn: it is cleared")
	n := buf.Len()
	require.NoError(t, b.OnEpochEnd(train.EpochStats{Epoch: 1}))
	assert.Equal(t, n, buf.Len(), "nothing more at the epoch's end")

	// An epoch cut short is cleared when training ends.
	require.NoError(t, b.OnEpochBegin(2))
	require.NoError(t, b.OnBatchBegin(train.BatchStats{Epoch: 2, Batch: 1, Batches: 10, Step: 11}))
	require.NoError(t, b.OnBatchEnd(train.BatchStats{Epoch: 2, Batch: 1, Batches: 10, Step: 11, Seen: 32}))
	assert.Contains(t, buf.String()[n:], "epoch 2/2")
	b.OnTrainEnd(nil, nil)
	fr = frames(buf.String())
	assert.Empty(t, fr[len(fr)-1])
	assert.Empty(t, strings.TrimLeft(fr[len(fr)-2], " "))
}

func TestBarIsQuietWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	f, err := os.Create(t.TempDir() + "/log")
	require.NoError(t, err)
	defer f.Close()
	quiet := []*Bar{New(&buf, Options{Epochs: 2}), New(f, Options{Epochs: 2})}
	for _, b := range quiet {
		assert.False(t, b.Enabled())
	}
	_, err = classifier().Fit(data(30), train.Config{Epochs: 2, Callbacks: []train.Callback{quiet[0], quiet[1]}})
	require.NoError(t, err)
	assert.Zero(t, buf.Len(), "nothing written to a buffer")
	fi, err := f.Stat()
	require.NoError(t, err)
	assert.Zero(t, fi.Size(), "nothing written to a file")

	// The same run, forced: a bar per epoch (8 batches of 4 from 30 examples).
	forced := New(&buf, Options{Epochs: 2, Force: true, Throttle: time.Nanosecond})
	_, err = classifier().Fit(data(30), train.Config{Epochs: 2, CheckEvery: 3, Callbacks: []train.Callback{forced}})
	require.NoError(t, err)
	out := buf.String()
	for _, s := range []string{"epoch 1/2", "epoch 2/2", "(1/8)", "(7/8)", "samples/s", "acc 0."} {
		assert.Contains(t, out, s)
	}
}
