package train_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// Predict needs a model and a device only: no loss, no optimizer, no labels.
func TestPredictNeedsNoLossOrOptimizer(t *testing.T) {
	data := blobs(2, 300, 4, 3)
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 3)
	_, err := tr.Fit(data, train.Config{Epochs: 3})
	require.NoError(t, err)
	want, err := tr.Predict(data.X)
	require.NoError(t, err)

	bare := &train.Trainer{Model: tr.Model, Dev: tr.Dev}
	require.NoError(t, bare.UseModel(tr.Net()))
	got, err := bare.Predict(data.X)
	require.NoError(t, err)
	assert.Equal(t, want.Data(), got.Data())

	direct, err := tr.Net().Predict(data.X)
	require.NoError(t, err)
	assert.Equal(t, want.Data(), direct.Data())
}

// Empty data sets, a closed device and missing parts give errors that say so.
func TestTrainerMisuseGivesErrors(t *testing.T) {
	empty := train.Dataset{X: gt.New(gt.WithShape(0, 4), gt.WithBacking([]float32{})), Y: gt.New(gt.WithShape(0), gt.WithBacking([]int32{}))}
	dev := cpu.New(cpu.Options{})
	tr := newTrainer(dev, train.NewAdam(), 1)
	_, err := tr.Fit(empty, train.Config{Epochs: 1})
	assert.ErrorContains(t, err, "train: training data has no examples")
	_, err = tr.Fit(blobs(1, 40, 4, 3), train.Config{Epochs: 1, Validation: &empty})
	assert.ErrorContains(t, err, "train: validation data has no examples")
	_, err = tr.Evaluate(empty)
	assert.ErrorContains(t, err, "train: evaluation data has no examples")
	_, err = tr.Predict(empty.X)
	assert.ErrorContains(t, err, "nn: predict: no examples")

	noOpt := &train.Trainer{Model: mlp(3), Loss: &nn.SparseCategoricalCrossEntropy{}, Dev: dev}
	_, err = noOpt.Fit(blobs(1, 40, 4, 3), train.Config{Epochs: 1})
	assert.ErrorContains(t, err, "train: Fit needs an Optimizer")
	res, err := noOpt.Evaluate(blobs(1, 40, 4, 3))
	require.NoError(t, err, "evaluation needs no optimizer")
	assert.Equal(t, 40, res.Examples)
	_, err = (&train.Trainer{Dev: dev}).Predict(blobs(1, 4, 4, 3).X)
	assert.ErrorContains(t, err, "train: Trainer needs a Model and a Dev")
	assert.ErrorContains(t, (&train.Trainer{}).Resume(train.Progress{Epoch: 1}), "build the model first")

	_, err = tr.Fit(blobs(1, 40, 4, 3), train.Config{Epochs: 1})
	require.NoError(t, err)
	require.NoError(t, dev.Close())
	_, err = tr.Fit(blobs(1, 40, 4, 3), train.Config{Epochs: 2})
	assert.ErrorIs(t, err, device.ErrClosed)
	_, err = tr.Evaluate(blobs(1, 40, 4, 3))
	assert.ErrorIs(t, err, device.ErrClosed)
	_, err = tr.Predict(blobs(1, 4, 4, 3).X)
	assert.ErrorIs(t, err, device.ErrClosed)
}
