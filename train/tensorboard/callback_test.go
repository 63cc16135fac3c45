package tensorboard

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// blobs makes n examples of `in` features in three Gaussian clusters.
func blobs(seed uint64, n, in int) train.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	centers := make([]float64, 3*in)
	for i := range centers {
		centers[i] = 2 * rng.NormFloat64()
	}
	x := make([]float32, n*in)
	y := make([]int32, n)
	for i := range n {
		c := rng.IntN(3)
		y[i] = int32(c)
		for j := range in {
			x[i*in+j] = float32(centers[c*in+j] + rng.NormFloat64())
		}
	}
	return train.Dataset{X: gt.New(gt.WithShape(n, in), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n), gt.WithBacking(y))}
}

// recorder keeps what Fit told the callbacks.
type recorder struct {
	train.NopCallback
	tr      *train.Trainer
	batches []train.BatchStats
	lrs     []float32
	// last holds every parameter and gradient at the run's last step.
	last map[string][]float32
}

func (r *recorder) OnTrainBegin(t *train.Trainer) error { r.tr = t; return nil }
func (r *recorder) OnBatchEnd(b train.BatchStats) error {
	r.batches = append(r.batches, b)
	r.lrs = append(r.lrs, r.tr.Optimizer.LearningRate())
	r.last = map[string][]float32{}
	for _, p := range r.tr.Net().Params() {
		v, err := p.Value.Float32s()
		if err != nil {
			return err
		}
		r.last[TagWeights+p.Name] = v
		if p.Trainable() {
			if v, err = p.Grad.Float32s(); err != nil {
				return err
			}
			r.last[TagGradients+p.Name] = v
		}
	}
	return nil
}

// fitLogged trains a small classifier for 3 epochs of 6 steps with a learning-rate
// schedule, logging to dir; the recorder sees what the callback saw.
func fitLogged(t *testing.T, dir string, opt Options) (*Callback, *recorder, *train.History) {
	t.Helper()
	o, err := train.NewOptimizer("adam", 0.01)
	require.NoError(t, err)
	tr := &train.Trainer{Model: nn.NewSequential(nn.NewDense(8, nn.ReLU), nn.NewBatchNorm(), nn.NewDense(3, nn.Softmax)),
		Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: o, Dev: cpu.New(cpu.Options{Threads: 2}), BatchSize: 16, Seed: 3}
	cb, err := NewCallback(dir, opt)
	require.NoError(t, err)
	rec := &recorder{}
	h, err := tr.Fit(blobs(5, 120, 4), train.Config{Epochs: 3, ValidationSplit: 0.2, CheckEvery: 2,
		Callbacks: []train.Callback{train.NewLearningRateSchedule(train.StepDecay{Initial: 0.01, Factor: 0.5, Every: 1}), cb, rec}})
	require.NoError(t, err)
	require.NoError(t, cb.Err())
	return cb, rec, h
}

// scalars reads the scalars of one run's event file: tag → step → value.
func scalars(t *testing.T, path string) map[string]map[int64]float32 {
	t.Helper()
	evs, err := ReadFile(path)
	require.NoError(t, err)
	out := map[string]map[int64]float32{}
	for _, ev := range evs {
		for _, v := range ev.Values {
			if v.HasScalar {
				if out[v.Tag] == nil {
					out[v.Tag] = map[int64]float32{}
				}
				out[v.Tag][ev.Step] = v.Scalar
			}
		}
	}
	return out
}

func TestCallbackLogsFit(t *testing.T) {
	dir := t.TempDir()
	cb, rec, h := fitLogged(t, dir, Options{Histograms: 6, Text: map[string]string{"model": "**mlp**", "flags": "-epochs 3"}})
	files := cb.Files()
	require.Len(t, files, 2)
	assert.Equal(t, filepath.Join(dir, TrainRun), filepath.Dir(files[0]))
	assert.Equal(t, filepath.Join(dir, ValidationRun), filepath.Dir(files[1]))

	// Per step: what Fit read, every 2 steps and at each epoch's last (6 steps an epoch).
	want := map[string]map[int64]float32{TagBatchLoss: {}, TagBatchAccuracy: {}, TagBatchLearningRate: {}}
	for i, b := range rec.batches {
		if b.Known {
			s := int64(b.Step)
			want[TagBatchLoss][s] = float32(b.Loss)
			want[TagBatchAccuracy][s] = float32(b.Accuracy)
			want[TagBatchLearningRate][s] = rec.lrs[i]
		}
	}
	require.Len(t, rec.batches, 18)
	assert.Len(t, want[TagBatchLoss], 9)
	want[TagEpochLoss], want[TagEpochAccuracy], want[TagEpochLearningRate] = map[int64]float32{}, map[int64]float32{}, map[int64]float32{}
	val := map[string]map[int64]float32{TagEpochLoss: {}, TagEpochAccuracy: {}}
	for _, e := range h.Epochs {
		s := int64(e.Epoch)
		want[TagEpochLoss][s], want[TagEpochAccuracy][s], want[TagEpochLearningRate][s] = float32(e.Loss), float32(e.Accuracy), float32(e.LearningRate)
		val[TagEpochLoss][s], val[TagEpochAccuracy][s] = float32(e.ValLoss), float32(e.ValAccuracy)
	}
	assert.Equal(t, map[int64]float32{1: 0.01, 2: 0.005, 3: 0.0025}, want[TagEpochLearningRate], "the schedule ran")
	assert.Equal(t, want, scalars(t, files[0]))
	assert.Equal(t, val, scalars(t, files[1]))

	// Histograms at steps 6, 12, 18; the last one's are the final parameters and the
	// last step's gradients.
	evs, err := ReadFile(files[0])
	require.NoError(t, err)
	steps := map[string][]int64{}
	var texts []string
	for _, ev := range evs {
		for _, v := range ev.Values {
			if v.Strings != nil {
				texts = append(texts, v.Tag+"="+v.Strings[0])
			}
			if v.Histogram == nil {
				continue
			}
			steps[v.Tag] = append(steps[v.Tag], ev.Step)
			if ev.Step != 18 {
				continue
			}
			vals, ok := rec.last[v.Tag]
			require.True(t, ok, v.Tag)
			sum, mn, mx := 0.0, math.Inf(1), math.Inf(-1)
			for _, x := range vals {
				sum += float64(x)
				mn, mx = min(mn, float64(x)), max(mx, float64(x))
			}
			assert.Equal(t, float64(len(vals)), v.Histogram.Num, v.Tag)
			assert.Equal(t, sum, v.Histogram.Sum, v.Tag)
			assert.Equal(t, []float64{mn, mx}, []float64{v.Histogram.Min, v.Histogram.Max}, v.Tag)
		}
	}
	assert.Equal(t, []string{"flags=-epochs 3", "model=**mlp**"}, texts, "texts, in tag order")
	// Dense weight and bias, batch-norm gamma and beta (trainable), its running mean and
	// variance (weights only), the second dense's weight and bias.
	assert.Len(t, steps, 2*6+2)
	for tag, s := range steps {
		assert.Equal(t, []int64{6, 12, 18}, s, tag)
	}
	assert.Contains(t, steps, TagGradients+"0.weight")
	assert.Contains(t, steps, TagWeights+"2.running_mean")
	assert.NotContains(t, steps, TagGradients+"2.running_mean")
}

// With a loss scaler (fp16) the train run also holds its scale and skipped steps per
// epoch, as the history has them; a scale of 2^30 makes the first steps overflow.
func TestCallbackLogsLossScale(t *testing.T) {
	dir := t.TempDir()
	s := train.NewGradScaler()
	s.Scale, s.GrowthInterval = 1<<30, 4
	tr := &train.Trainer{Model: nn.NewSequential(nn.NewDense(8, nn.ReLU), nn.NewDense(3, nn.Softmax)),
		Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(), Dev: cpu.New(cpu.Options{Threads: 2}),
		BatchSize: 16, Seed: 3, Precision: device.FP16, Scaler: &s}
	cb, err := NewCallback(dir, Options{})
	require.NoError(t, err)
	h, err := tr.Fit(blobs(5, 120, 4), train.Config{Epochs: 2, Callbacks: []train.Callback{cb}})
	require.NoError(t, err)
	require.NoError(t, cb.Err())
	got := scalars(t, cb.Files()[0])
	want := map[string]map[int64]float32{TagEpochLossScale: {}, TagEpochSkippedSteps: {}}
	for _, e := range h.Epochs {
		want[TagEpochLossScale][int64(e.Epoch)] = float32(e.LossScale)
		want[TagEpochSkippedSteps][int64(e.Epoch)] = float32(e.SkippedSteps)
	}
	assert.Equal(t, want[TagEpochLossScale], got[TagEpochLossScale])
	assert.Equal(t, want[TagEpochSkippedSteps], got[TagEpochSkippedSteps])
	assert.Positive(t, want[TagEpochSkippedSteps][1], "the test skips steps")
}
