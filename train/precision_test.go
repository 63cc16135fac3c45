package train_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/train"
)

// Every precision learns the blobs, within a small distance of FP32's losses; FP16 has
// PyTorch's default scaler, which never needed to skip here.
func TestPrecisionsLearn(t *testing.T) {
	data := blobs(1, 600, 4, 3)
	final := map[device.Precision]float64{}
	for p := device.FP32; p <= device.LastPrecision; p++ {
		t.Run(p.String(), func(t *testing.T) {
			tr := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 3)
			tr.Precision = p
			hist, err := tr.Fit(data, train.Config{Epochs: 8, ValidationSplit: 0.2})
			require.NoError(t, err)
			last := hist.Epochs[len(hist.Epochs)-1]
			assert.Greater(t, last.ValAccuracy, 0.95)
			final[p] = last.Loss
			if p == device.FP16 {
				require.NotNil(t, tr.Scaler)
				assert.Equal(t, float64(1<<16), last.LossScale)
				assert.Zero(t, tr.Scaler.Skipped)
				assert.Equal(t, 8*30, tr.Optimizer.Iterations())
			} else {
				assert.Nil(t, tr.Scaler)
				assert.Zero(t, last.LossScale)
			}
		})
	}
	for p, l := range final {
		assert.InDelta(t, final[device.FP32], l, 0.02, "%s's final training loss against fp32's", p)
	}
}

// In BF16 and FP16 the weights' 16-bit copies are the float32 masters rounded, after
// every update (written by the optimizer) and after the weights are set from outside
// (RefreshHalf, which Fit, Evaluate and Predict call); biases have none.
func TestHalfCopiesFollowTheMasterWeights(t *testing.T) {
	data := blobs(2, 200, 4, 3)
	for _, p := range []device.Precision{device.BF16, device.FP16} {
		dev := cpu.New(cpu.Options{})
		tr := newTrainer(dev, train.NewAdam(), 3)
		tr.Precision = p
		_, err := tr.Fit(data, train.Config{Epochs: 2})
		require.NoError(t, err)
		check := func(when string) {
			copies := 0
			for _, prm := range tr.Net().Params() {
				if len(prm.Value.Shape()) < 2 {
					assert.Nil(t, prm.Half, "%s: %s has no copy", p, prm.Name)
					continue
				}
				require.NotNil(t, prm.Half, "%s: %s", p, prm.Name)
				require.Equal(t, p.Half(), prm.Half.DType())
				copies++
				v, err := prm.Value.Float32s()
				require.NoError(t, err)
				f, err := dev.Alloc(device.Float32, prm.Half.Len())
				require.NoError(t, err)
				require.NoError(t, dev.Cast(f, prm.Half.Buffer()))
				got := make([]float32, f.Len())
				require.NoError(t, dev.ReadFloat32(got, f))
				for i := range v {
					want := p.Round(v[i])
					if math.Float32bits(got[i]) != math.Float32bits(want) {
						t.Fatalf("%s %s: %s[%d] copy %g, want %g (master %g)", p, when, prm.Name, i, got[i], want, v[i])
					}
				}
			}
			assert.Equal(t, 2, copies)
		}
		check("after Fit")
		w := tr.Net().Params()[0]
		v, err := w.Value.Float32s()
		require.NoError(t, err)
		for i := range v {
			v[i] = 1 + float32(i)/1024
		}
		require.NoError(t, w.Value.SetFloat32s(v))
		_, err = tr.Evaluate(data)
		require.NoError(t, err)
		check("after setting the weights and Evaluate")
	}
}

// callLog is a backend that counts the precision-related calls and their arguments.
type callLog struct {
	device.Backend
	casts, unscales    int
	gemmPrec           map[device.Precision]int
	halfUpdates, plain int
}

func (c *callLog) Cast(dst, src device.Buffer) error {
	c.casts++
	return c.Backend.Cast(dst, src)
}

func (c *callLog) Unscale(x, found device.Buffer, inv float32) error {
	c.unscales++
	return c.Backend.Unscale(x, found, inv)
}

func (c *callLog) Gemm(g device.GemmArgs) error {
	c.gemmPrec[g.Precision]++
	return c.Backend.Gemm(g)
}

func (c *callLog) Update(op device.OptOp, h device.Hyper, p, g, m, v device.Buffer) error {
	if h.Half != nil {
		c.halfUpdates++
	} else {
		c.plain++
	}
	return c.Backend.Update(op, h, p, g, m, v)
}

// FP32 training makes exactly the calls it made before precisions existed: no Cast, no
// Unscale, FP32 GEMMs, updates without a copy. BF16 makes BF16 GEMMs, casts each Dense
// input and dz, and updates the weights with their copies (biases without).
func TestPrecisionCalls(t *testing.T) {
	data := blobs(3, 64, 4, 3)
	for _, p := range []device.Precision{device.FP32, device.TF32, device.BF16, device.FP16} {
		log := &callLog{Backend: cpu.New(cpu.Options{}), gemmPrec: map[device.Precision]int{}}
		tr := newTrainer(log, train.NewAdam(), 3)
		tr.Precision = p
		_, err := tr.Fit(data, train.Config{Epochs: 1, NoShuffle: true}) // 4 steps of 16
		require.NoError(t, err)
		gemms := 0
		for q, n := range log.gemmPrec {
			assert.Equal(t, p, q, "%s: every GEMM in the model's precision", p)
			gemms += n
		}
		assert.Equal(t, 4*(2+3), gemms, p) // two forward GEMMs, three backward (no dx for the first layer)
		switch p {
		case device.FP32, device.TF32:
			assert.Zero(t, log.casts, p)
			assert.Zero(t, log.halfUpdates, p)
			assert.Equal(t, 4*4, log.plain, p)
		default:
			// 2 copies made at Build and refreshed when Fit begins; per step: 2 inputs and
			// 2 dz (the first layer's dz feeds its dW)
			assert.Equal(t, 2+2+4*4, log.casts, p)
			assert.Equal(t, 4*2, log.halfUpdates, p)
			assert.Equal(t, 4*2, log.plain, p)
		}
		if p == device.FP16 {
			assert.Equal(t, 4, log.unscales)
		} else {
			assert.Zero(t, log.unscales, p)
		}
	}
}

// The scaler's rule, PyTorch's GradScaler.update: growth after GrowthInterval finite
// steps in a row, backoff and a skip on a non-finite one, no growth past float32.
func TestGradScalerUpdate(t *testing.T) {
	s := train.NewGradScaler()
	assert.Equal(t, train.GradScaler{Scale: 65536, Growth: 2, Backoff: 0.5, GrowthInterval: 2000}, s)
	for i := 1; i < 2000; i++ {
		require.True(t, s.Update(false))
	}
	assert.Equal(t, 65536.0, s.Scale)
	assert.Equal(t, 1999, s.GrowthTracker)
	assert.True(t, s.Update(false))
	assert.Equal(t, 131072.0, s.Scale)
	assert.Zero(t, s.GrowthTracker)
	for range 3 {
		s.Update(false)
	}
	assert.False(t, s.Update(true))
	assert.Equal(t, 65536.0, s.Scale)
	assert.Zero(t, s.GrowthTracker)
	assert.Equal(t, 1, s.Skipped)
	big := train.GradScaler{Scale: math.Ldexp(1, 127), Growth: 2, Backoff: 0.5, GrowthInterval: 1}
	big.Update(false)
	assert.Equal(t, math.Ldexp(1, 127), big.Scale, "2^128 is Inf in float32: no growth")
	assert.Zero(t, big.GrowthTracker)
	for _, bad := range []train.GradScaler{{Scale: 0, Growth: 2, Backoff: 0.5, GrowthInterval: 1}, {Scale: 1, Growth: 2, Backoff: 1, GrowthInterval: 1},
		{Scale: 1, Growth: 2, Backoff: 0.5}, {Scale: math.Ldexp(1, 130), Growth: 2, Backoff: 0.5, GrowthInterval: 1}} {
		assert.Error(t, bad.Check(), "%+v", bad)
	}
}

// A scale so large that the scaled gradients overflow binary16: each such step is
// skipped (the weights and the optimizer's step count stay) and halves the scale,
// until the gradients fit; the History counts the skips and ends with the scale.
func TestFP16SkipsOverflowingSteps(t *testing.T) {
	data := blobs(4, 16*40, 4, 3)
	big := math.Ldexp(1, 40)

	// one step, skipped: nothing moves
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 3)
	tr.Precision = device.FP16
	tr.Scaler = &train.GradScaler{Scale: big, Growth: 2, Backoff: 0.5, GrowthInterval: 2000}
	one := blobs(4, 16, 4, 3)
	require.NoError(t, tr.BuildModel([]int{4}))
	before := weights(t, tr)
	hist, err := tr.Fit(one, train.Config{Epochs: 1})
	require.NoError(t, err)
	assert.Equal(t, before, weights(t, tr), "a skipped step leaves the weights")
	assert.Zero(t, tr.Optimizer.Iterations())
	assert.Equal(t, 1, hist.Epochs[0].SkippedSteps)
	assert.Equal(t, big/2, hist.Epochs[0].LossScale)

	// 40 steps: a run of skips, then training
	tr = newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 3)
	tr.Precision = device.FP16
	tr.Scaler = &train.GradScaler{Scale: big, Growth: 2, Backoff: 0.5, GrowthInterval: 2000}
	hist, err = tr.Fit(data, train.Config{Epochs: 2, NoShuffle: true})
	require.NoError(t, err)
	k := tr.Scaler.Skipped
	assert.Greater(t, k, 10, "skips until the gradients fit in binary16 (scale·dz below 65504)")
	assert.Less(t, k, 40)
	assert.Equal(t, k, hist.Epochs[0].SkippedSteps+hist.Epochs[1].SkippedSteps)
	assert.Equal(t, big/math.Ldexp(1, k), hist.Epochs[1].LossScale)
	assert.Equal(t, 80-k, tr.Optimizer.Iterations(), "skipped steps do not count")
	assert.Less(t, hist.Epochs[1].Loss, hist.Epochs[0].Loss)
}

// A run resumes in the precision it was trained in; the error says so.
func TestResumeNeedsTheSamePrecision(t *testing.T) {
	tr := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 3)
	tr.Precision = device.BF16
	_, err := tr.Fit(blobs(5, 64, 4, 3), train.Config{Epochs: 1})
	require.NoError(t, err)
	p := tr.Progress()
	assert.Equal(t, device.BF16, p.Precision)
	other := newTrainer(cpu.New(cpu.Options{}), train.NewAdam(), 3)
	other.Precision = device.FP16
	require.NoError(t, other.BuildModel([]int{4}))
	assert.ErrorContains(t, other.Resume(p), "train: resume: the run was trained in precision bf16, the Trainer has fp16")
	// and a model built in one precision is not trained in another
	third := newTrainer(tr.Dev, train.NewAdam(), 3)
	third.Precision = device.FP16
	assert.ErrorContains(t, third.UseModel(tr.Net()), "the model was built in precision bf16, the Trainer asks for fp16")
}

// FitSteps trains a GPT (its LinearLayers' GEMMs) in every precision: the validation
// loss ends within a small distance of FP32's, the GEMMs run in the model's precision
// except the attention's batched products (float32, as documented), and FP16's default
// scaler never skips here.
func TestFitStepsPrecisions(t *testing.T) {
	text := poemText(t, 16)
	final := map[device.Precision]float64{}
	for p := device.FP32; p <= device.LastPrecision; p++ {
		t.Run(p.String(), func(t *testing.T) {
			tr := gptTrainer(text, 2, 0)
			log := &callLog{Backend: tr.Dev, gemmPrec: map[device.Precision]int{}}
			tr.Dev, tr.Precision = log, p
			hist, err := tr.FitSteps(text.Stream(1), train.StepConfig{Steps: 120, EvalEvery: 60, CheckEvery: 10})
			require.NoError(t, err)
			last := hist.Epochs[len(hist.Epochs)-1]
			final[p] = last.ValLoss
			assert.Less(t, last.ValLoss, 0.5*math.Log(float64(text.Vocab.Size())), "%s learns the text", p)
			if p != device.FP32 {
				assert.Positive(t, log.gemmPrec[p], "%s: the linear layers' GEMMs", p)
			}
			for q, n := range log.gemmPrec {
				if q != p {
					assert.Equal(t, device.FP32, q, "%s: %d GEMMs in %s", p, n, q)
				}
			}
			if p.Half().IsHalf() {
				assert.Positive(t, log.casts)
				assert.Positive(t, log.halfUpdates)
			} else {
				assert.Zero(t, log.casts, p)
			}
			if p == device.FP16 {
				require.NotNil(t, tr.Scaler)
				assert.Zero(t, tr.Scaler.Skipped)
				assert.Equal(t, float64(1<<16), last.LossScale)
				assert.Equal(t, 120, log.unscales)
			} else {
				assert.Zero(t, log.unscales, p)
			}
			assert.Equal(t, 120, tr.Optimizer.Iterations())
		})
	}
	for p, l := range final {
		t.Logf("%s: val_loss %.4f (fp32 %.4f)", p, l, final[device.FP32])
		assert.InDelta(t, final[device.FP32], l, 0.05, "%s's final val_loss against fp32's", p)
	}
}

// FitSteps with a loss scale so large that the scaled gradients overflow binary16:
// those steps are skipped (the optimizer's count stays, the schedule of steps does
// not), the intervals count them, and training goes on once the scale fits.
func TestFitStepsSkipsOverflowingFP16Steps(t *testing.T) {
	text := poemText(t, 16)
	tr := gptTrainer(text, 2, 0)
	tr.Precision = device.FP16
	big := math.Ldexp(1, 60)
	tr.Scaler = &train.GradScaler{Scale: big, Growth: 2, Backoff: 0.5, GrowthInterval: 2000}
	hist, err := tr.FitSteps(text.Stream(1), train.StepConfig{Steps: 80, EvalEvery: 40, CheckEvery: 10})
	require.NoError(t, err)
	k := tr.Scaler.Skipped
	assert.Greater(t, k, 5, "skips until the gradients fit in binary16")
	assert.Less(t, k, 60)
	require.Len(t, hist.Epochs, 2)
	assert.Equal(t, k, hist.Epochs[0].SkippedSteps+hist.Epochs[1].SkippedSteps)
	assert.Equal(t, big/math.Ldexp(1, k), hist.Epochs[1].LossScale)
	assert.Equal(t, 80-k, tr.Optimizer.Iterations(), "skipped steps do not count")
	assert.Equal(t, 80, hist.Epochs[1].Step)
	assert.Less(t, hist.Epochs[1].ValLoss, hist.Epochs[0].ValLoss)
}
