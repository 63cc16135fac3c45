package train_test

import (
	"math"
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

// blobs makes n examples of dim features in classes Gaussian clusters: an easy problem
// that a small MLP must solve.
func blobs(seed uint64, n, dim, classes int) train.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	centers := make([][]float64, classes)
	for c := range centers {
		centers[c] = make([]float64, dim)
		for j := range centers[c] {
			centers[c][j] = rng.NormFloat64() * 3
		}
	}
	x := make([]float32, n*dim)
	y := make([]int32, n)
	for i := 0; i < n; i++ {
		c := rng.IntN(classes)
		y[i] = int32(c)
		for j := 0; j < dim; j++ {
			x[i*dim+j] = float32(centers[c][j] + rng.NormFloat64())
		}
	}
	return train.Dataset{
		X: gt.New(gt.WithShape(n, dim), gt.WithBacking(x)),
		Y: gt.New(gt.WithShape(n), gt.WithBacking(y)),
	}
}

func mlp(classes int) *nn.Sequential {
	return nn.NewSequential(nn.NewDense(16, nn.ReLU), nn.NewDense(classes, nn.Softmax))
}

func newTrainer(dev device.Backend, opt train.Optimizer, seed uint64) *train.Trainer {
	return &train.Trainer{Model: mlp(3), Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: opt,
		Dev: dev, BatchSize: 16, Seed: seed}
}

func TestFitLearnsBlobsWithEveryOptimizer(t *testing.T) {
	data := blobs(1, 600, 4, 3)
	for _, name := range []string{"sgd", "momentum", "adam", "adamw"} {
		t.Run(name, func(t *testing.T) {
			opt, err := train.NewOptimizer(name, 0)
			require.NoError(t, err)
			tr := newTrainer(cpu.New(cpu.Options{}), opt, 3)
			hist, err := tr.Fit(data, train.Config{Epochs: 5, ValidationSplit: 0.2})
			require.NoError(t, err)
			require.Len(t, hist.Epochs, 5)
			first, last := hist.Epochs[0], hist.Epochs[4]
			assert.Less(t, last.Loss, first.Loss, "training loss falls")
			assert.Greater(t, last.ValAccuracy, 0.9, "validation accuracy")
			assert.Equal(t, 480, last.Examples, "Keras' split: the first 80% train")
			assert.Equal(t, 5*((480+15)/16), opt.Iterations(), "one step per batch of 16, the last one partial")
			res, err := tr.Evaluate(blobs(1, 600, 4, 3))
			require.NoError(t, err)
			assert.Greater(t, res.Accuracy, 0.9)
			assert.Equal(t, 600, res.Examples)
		})
	}
}

func TestFitIsDeterministic(t *testing.T) {
	data := blobs(2, 300, 5, 3)
	losses := func(threads int) []float64 {
		tr := newTrainer(cpu.New(cpu.Options{Threads: threads}), train.NewAdam(), 42)
		tr.Model = nn.NewSequential(nn.NewDense(32, nn.ReLU), nn.NewDropout(0.2), nn.NewDense(3, nn.Softmax))
		hist, err := tr.Fit(data, train.Config{Epochs: 3, ValidationSplit: 0.1})
		require.NoError(t, err)
		var out []float64
		for _, e := range hist.Epochs {
			out = append(out, e.Loss, e.ValLoss)
		}
		return out
	}
	a, b := losses(2), losses(2)
	assert.Equal(t, a, b, "same seed, same backend: identical loss sequence")
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 43)
	tr.Model = nn.NewSequential(nn.NewDense(32, nn.ReLU), nn.NewDropout(0.2), nn.NewDense(3, nn.Softmax))
	hist, err := tr.Fit(data, train.Config{Epochs: 3, ValidationSplit: 0.1})
	require.NoError(t, err)
	assert.NotEqual(t, a[0], hist.Epochs[0].Loss, "another seed, another run")
}

func TestPredictGivesProbabilities(t *testing.T) {
	data := blobs(3, 100, 4, 3)
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 1)
	_, err := tr.Fit(data, train.Config{Epochs: 2})
	require.NoError(t, err)
	p, err := tr.Predict(data.X)
	require.NoError(t, err)
	require.Equal(t, []int{100, 3}, []int(p.Shape()))
	v := p.Data().([]float32)
	for i := 0; i < 100; i++ {
		s := float64(v[3*i] + v[3*i+1] + v[3*i+2])
		require.InDelta(t, 1, s, 1e-5, "row %d sums to 1", i)
	}
}

func TestEvaluateMatchesPredict(t *testing.T) {
	data := blobs(4, 90, 4, 3)
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 1)
	_, err := tr.Fit(data, train.Config{Epochs: 1})
	require.NoError(t, err)
	p, err := tr.Predict(data.X)
	require.NoError(t, err)
	probs := p.Data().([]float32)
	labels := data.Y.Data().([]int32)
	loss, correct := 0.0, 0
	for i, l := range labels {
		row := probs[3*i : 3*i+3]
		loss -= math.Log(float64(row[l]))
		best := 0
		for c := range row {
			if row[c] > row[best] {
				best = c
			}
		}
		if best == int(l) {
			correct++
		}
	}
	res, err := tr.Evaluate(data)
	require.NoError(t, err)
	assert.InDelta(t, loss/90, res.Loss, 1e-4)
	assert.InDelta(t, float64(correct)/90, res.Accuracy, 1e-9)
}

func TestFitRejectsBadData(t *testing.T) {
	good := blobs(5, 40, 4, 3)
	cases := []struct {
		name string
		data train.Dataset
		cfg  train.Config
		want string
	}{
		{"label out of range", train.Dataset{X: good.X, Y: gt.New(gt.WithShape(40), gt.WithBacking(append(make([]int32, 39), 7)))},
			train.Config{Epochs: 1}, "label 7 of example 39 is outside [0, 3)"},
		{"count mismatch", train.Dataset{X: good.X, Y: gt.New(gt.WithShape(39), gt.WithBacking(make([]int32, 39)))},
			train.Config{Epochs: 1}, "40 examples in X but Y has shape (39)"},
		{"float labels", train.Dataset{X: good.X, Y: gt.New(gt.WithShape(40), gt.WithBacking(make([]float32, 40)))},
			train.Config{Epochs: 1}, "want integer class labels"},
		{"no epochs", good, train.Config{}, "epochs must be positive"},
		{"bad split", good, train.Config{Epochs: 1, ValidationSplit: 1}, "validation split must be in [0, 1)"},
		{"missing Y", train.Dataset{X: good.X}, train.Config{Epochs: 1}, "X and Y must both be given"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 1)
			_, err := tr.Fit(c.data, c.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 1)
	_, err := tr.Fit(good, train.Config{Epochs: 1})
	require.NoError(t, err)
	_, err = tr.Evaluate(blobs(5, 10, 6, 3))
	assert.ErrorContains(t, err, "the model takes examples of shape (4), the data has (6)")
}

func TestUint8ImagesAreScaled(t *testing.T) {
	// The same data as bytes and as floats in [0,1] must train identically.
	rng := rand.New(rand.NewPCG(9, 9))
	n, dim := 64, 8
	bytes := make([]uint8, n*dim)
	floats := make([]float32, n*dim)
	labels := make([]int32, n)
	for i := range bytes {
		bytes[i] = uint8(rng.IntN(256))
		floats[i] = float32(bytes[i]) * float32(1.0/255)
	}
	for i := range labels {
		labels[i] = int32(rng.IntN(2))
	}
	run := func(x *gt.Dense) float64 {
		tr := &train.Trainer{Model: mlp(2), Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(),
			Dev: cpu.New(cpu.Options{}), BatchSize: 8, Seed: 5}
		h, err := tr.Fit(train.Dataset{X: x, Y: gt.New(gt.WithShape(n), gt.WithBacking(labels))}, train.Config{Epochs: 2})
		require.NoError(t, err)
		return h.Epochs[1].Loss
	}
	a := run(gt.New(gt.WithShape(n, dim), gt.WithBacking(bytes)))
	b := run(gt.New(gt.WithShape(n, dim), gt.WithBacking(floats)))
	assert.InDelta(t, a, b, 1e-6)
}

func TestRegressionWithMSE(t *testing.T) {
	// y = 2*x0 - x1 + 0.5
	rng := rand.New(rand.NewPCG(3, 3))
	n := 512
	x := make([]float32, 2*n)
	y := make([]float32, n)
	for i := 0; i < n; i++ {
		x[2*i], x[2*i+1] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		y[i] = 2*x[2*i] - x[2*i+1] + 0.5
	}
	tr := &train.Trainer{Model: nn.NewSequential(nn.NewDense(1, nn.Linear)), Loss: &nn.MSE{},
		Optimizer: train.NewAdam(), Dev: cpu.New(cpu.Options{}), BatchSize: 16, Seed: 1}
	tr.Optimizer.SetLearningRate(0.05)
	d := train.Dataset{X: gt.New(gt.WithShape(n, 2), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n, 1), gt.WithBacking(y))}
	hist, err := tr.Fit(d, train.Config{Epochs: 20, ValidationSplit: 0.25})
	require.NoError(t, err)
	last := hist.Epochs[len(hist.Epochs)-1]
	assert.Less(t, last.ValLoss, 1e-3, "a linear model fits a linear target")
	w, err := tr.Net().Params()[0].Value.Float32s()
	require.NoError(t, err)
	assert.InDelta(t, 2, w[0], 0.05)
	assert.InDelta(t, -1, w[1], 0.05)
}

func TestL2ShrinksWeights(t *testing.T) {
	data := blobs(6, 200, 4, 3)
	norm := func(l2 float32) float64 {
		opt := train.NewSGD()
		opt.L2 = l2
		tr := newTrainer(cpu.New(cpu.Options{}), opt, 8)
		_, err := tr.Fit(data, train.Config{Epochs: 5})
		require.NoError(t, err)
		w, err := tr.Net().Params()[0].Value.Float32s()
		require.NoError(t, err)
		return dot32(w, w)
	}
	assert.Less(t, norm(0.5), 0.7*norm(0))
}

func dot32(a, b []float32) float64 {
	s := 0.0
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestNewOptimizerKerasDefaults(t *testing.T) {
	o, err := train.NewOptimizer("adam", 0)
	require.NoError(t, err)
	assert.Equal(t, device.Hyper{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-7}, o.Hyper)
	o, err = train.NewOptimizer("AdamW", 0.01)
	require.NoError(t, err)
	assert.Equal(t, float32(0.01), o.LearningRate())
	assert.Equal(t, float32(0.004), o.Hyper.WeightDecay)
	o, _ = train.NewOptimizer("sgd", 0)
	assert.Equal(t, float32(0.01), o.LearningRate())
	o, _ = train.NewOptimizer("momentum", 0)
	assert.Equal(t, float32(0.9), o.Hyper.Momentum)
	_, err = train.NewOptimizer("rmsprop", 0)
	assert.ErrorContains(t, err, `unknown optimizer "rmsprop"`)
}

func TestDiagnose(t *testing.T) {
	ep := func(loss, acc, vloss, vacc float64) train.EpochStats {
		return train.EpochStats{Loss: loss, Accuracy: acc, ValLoss: vloss, ValAccuracy: vacc, HasValidation: true}
	}
	cases := []struct {
		name   string
		epochs []train.EpochStats
		want   train.Verdict
		reason string
	}{
		{"good", []train.EpochStats{ep(0.3, 0.91, 0.25, 0.93), ep(0.1, 0.97, 0.1, 0.97)}, train.GoodFit, "both high and close"},
		{"gap", []train.EpochStats{ep(0.3, 0.91, 0.25, 0.93), ep(0.01, 0.999, 0.3, 0.95)}, train.Overfitting, "generalizes"},
		{"rising val loss", []train.EpochStats{ep(0.3, 0.95, 0.1, 0.96), ep(0.2, 0.96, 0.12, 0.95), ep(0.1, 0.97, 0.15, 0.96)},
			train.Overfitting, "lowest at epoch"},
		{"poor", []train.EpochStats{ep(2, 0.3, 2, 0.3), ep(1.8, 0.4, 1.9, 0.35)}, train.Underfitting, "only 40.0%"},
	}
	for _, c := range cases {
		for i := range c.epochs {
			c.epochs[i].Epoch = i + 1
		}
		h := &train.History{Classifies: true, Epochs: c.epochs}
		d := h.Diagnose()
		assert.Equal(t, c.want, d.Verdict, c.name)
		assert.Contains(t, d.Reason, c.reason, c.name)
		if c.want == train.Overfitting {
			assert.Contains(t, d.String(), "dropout")
		}
		if c.want == train.Underfitting {
			assert.Contains(t, d.String(), "train longer")
		}
	}
	assert.Equal(t, train.Unknown, (&train.History{}).Diagnose().Verdict)
}
