//go:build cuda || cudaemu

package cuda_test

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	gt "gorgonia.org/tensor"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// digits makes n MNIST-shaped examples (784 uint8 pixels, labels 0..9) that a small
// MLP can learn: each class is a noisy copy of its own random prototype.
func digits(seed uint64, n int) train.Dataset {
	rng := rand.New(rand.NewPCG(seed, 2))
	protos := make([][]uint8, 10)
	for c := range protos {
		protos[c] = make([]uint8, 784)
		for j := range protos[c] {
			if rng.Float64() < 0.2 {
				protos[c][j] = uint8(128 + rng.IntN(128))
			}
		}
	}
	x := make([]uint8, n*784)
	y := make([]int32, n)
	for i := range n {
		c := rng.IntN(10)
		y[i] = int32(c)
		for j := range 784 {
			v := int(protos[c][j]) + rng.IntN(64) - 32
			x[i*784+j] = uint8(max(0, min(255, v)))
		}
	}
	return train.Dataset{X: gt.New(gt.WithShape(n, 784), gt.WithBacking(x)), Y: gt.New(gt.WithShape(n), gt.WithBacking(y))}
}

// referenceMLP is the reference job's model: 784-128 relu-64 relu-10 softmax.
func referenceMLP() nn.Module {
	return nn.NewSequential(nn.NewDense(128, nn.ReLU), nn.NewDense(64, nn.ReLU), nn.NewDense(10, nn.Softmax))
}

// run trains the reference MLP with Adam, batch 32, from seed on dev for the examples of
// d (one epoch, no shuffle), reading the running loss after every step. It returns the
// loss after each step and the final parameters by name.
func run(t *testing.T, dev device.Backend, d train.Dataset, seed uint64) ([]float64, map[string][]float32) {
	t.Helper()
	return runModel(t, dev, d, seed, referenceMLP(), 32, 1)
}

// runModel is run for any model, batch size and gradient accumulation.
func runModel(t *testing.T, dev device.Backend, d train.Dataset, seed uint64, model nn.Module, batch, accum int) ([]float64, map[string][]float32) {
	t.Helper()
	return runPrecision(t, dev, d, seed, model, batch, accum, device.FP32)
}

// runPrecision is runModel in a precision (FP16 with its default loss scaler).
func runPrecision(t *testing.T, dev device.Backend, d train.Dataset, seed uint64, model nn.Module, batch, accum int, prec device.Precision) ([]float64, map[string][]float32) {
	t.Helper()
	tr := &train.Trainer{Model: model, Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(),
		Dev: dev, BatchSize: batch, AccumSteps: accum, Seed: seed, Precision: prec}
	var losses []float64
	rec := &lossRecorder{losses: &losses}
	_, err := tr.Fit(d, train.Config{Epochs: 1, NoShuffle: true, CheckEvery: 1, Callbacks: []train.Callback{rec}})
	require.NoError(t, err, "training on %s", dev.Describe())
	params := map[string][]float32{}
	for _, p := range tr.Net().Params() {
		v, err := p.Value.Float32s()
		require.NoError(t, err)
		params[p.Name] = v
	}
	return losses, params
}

type lossRecorder struct {
	train.NopCallback
	losses *[]float64
}

func (r *lossRecorder) OnBatchEnd(b train.BatchStats) error {
	if b.Known {
		*r.losses = append(*r.losses, b.Loss)
	}
	return nil
}

// trainingTol is how close two training runs must be: the running loss at every step
// within LossRel relatively, and after the last step every weight within MaxAbs and
// their mean absolute difference below MeanAbs.
type trainingTol struct{ LossRel, MaxAbs, MeanAbs float64 }

// fp32Training is TestTrainingMatchesCPU's tolerance.
var fp32Training = trainingTol{LossRel: 1e-3, MaxAbs: 5e-3, MeanAbs: 1e-4}

// mixedTraining is the tolerance of a run in TF32, BF16 or FP16 against the CPU's
// emulation of it. The operands' roundings are the same bits on both (Cast), but a sum
// ordered otherwise can round an activation to the neighbouring 16-bit value (2^-8
// relative in bfloat16), and a GPU's TF32 may truncate rather than round; such
// differences then grow with the steps. Provisional until a GPU run measures it: the
// CPU emulator, whose GEMMs sum in double as the CPU reference does, stays far inside.
var mixedTraining = trainingTol{LossRel: 2e-2, MaxAbs: 5e-2, MeanAbs: 2e-3}

// sameTraining compares two training runs with the tolerances of TestTrainingMatchesCPU.
func sameTraining(t *testing.T, wantLoss []float64, wantParams map[string][]float32, gotLoss []float64, gotParams map[string][]float32) {
	t.Helper()
	sameTrainingTol(t, fp32Training, wantLoss, wantParams, gotLoss, gotParams)
}

// sameTrainingTol compares two training runs within tol.
func sameTrainingTol(t *testing.T, tol trainingTol, wantLoss []float64, wantParams map[string][]float32, gotLoss []float64, gotParams map[string][]float32) {
	t.Helper()
	steps := len(wantLoss)
	require.Len(t, gotLoss, steps)
	worst := 0.0
	for i := range wantLoss {
		rel := math.Abs(gotLoss[i]-wantLoss[i]) / math.Max(math.Abs(wantLoss[i]), 1e-12)
		worst = math.Max(worst, rel)
		if rel > tol.LossRel {
			t.Errorf("step %d: loss %.7g on the GPU, %.7g on the CPU (rel. error %.3g); first losses GPU %v CPU %v",
				i+1, gotLoss[i], wantLoss[i], rel, gotLoss[:min(5, len(gotLoss))], wantLoss[:min(5, len(wantLoss))])
			break
		}
	}
	t.Logf("loss: %d steps, %.4f -> %.4f, max relative difference %.3g", steps, wantLoss[0], wantLoss[steps-1], worst)
	names := make([]string, 0, len(wantParams))
	for name := range wantParams {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w, g := wantParams[name], gotParams[name]
		require.Len(t, g, len(w), name)
		maxAbs, sum, at := 0.0, 0.0, 0
		for i := range w {
			dv := math.Abs(float64(g[i]) - float64(w[i]))
			sum += dv
			if dv > maxAbs {
				maxAbs, at = dv, i
			}
		}
		mean := sum / float64(len(w))
		t.Logf("%s (%d values): max abs difference %.3g at %d, mean %.3g", name, len(w), maxAbs, at, mean)
		if maxAbs > tol.MaxAbs || mean > tol.MeanAbs {
			t.Errorf("%s: GPU weights differ from the CPU's: max abs %.3g at %d (GPU %v, CPU %v), mean abs %.3g; first GPU %v CPU %v",
				name, maxAbs, at, g[at], w[at], mean, g[:min(4, len(g))], w[:min(4, len(w))])
		}
	}
}
