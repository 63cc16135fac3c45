//go:build cuda

package cuda_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/cuda"
	"github.com/gputrain/gputrain/nn"
	"github.com/gputrain/gputrain/train"
)

// The whole training step, end to end: N steps of the reference MLP from the same seed
// on the CPU (reference loops) and on the GPU, with CUDA graphs and with plain launches.
// Stated tolerances: the running loss agrees within 1e-3 relative at every step; after
// the last step every weight agrees within 5e-3 absolute and the mean absolute
// difference is below 1e-4. (cuBLAS sums in another order than the CPU; Adam divides by
// √v, so weights whose gradients are near zero can move by a little more than others.)
func TestTrainingMatchesCPU(t *testing.T) {
	const steps, seed = 120, 7
	d := digits(11, steps*32)
	ref := cpu.New(cpu.Options{Reference: true})
	defer ref.Close()
	wantLoss, wantParams := run(t, ref, d, seed)
	require.Len(t, wantLoss, steps)

	for _, mode := range []struct {
		name string
		dev  *cuda.Backend
	}{{"graphs", gpu}, {"plain", plainBackend(t)}} {
		t.Run(mode.name, func(t *testing.T) {
			gotLoss, gotParams := run(t, mode.dev, d, seed)
			sameTraining(t, wantLoss, wantParams, gotLoss, gotParams)
		})
	}
	require.Positive(t, gpu.GraphLaunches("train"), "the graph run replayed its training step as a CUDA graph; note: %q", gpu.GraphNote("train"))
}

// The same in TF32, BF16 and FP16 (FP16 with its loss scaler), on the GPU with CUDA
// graphs, against the CPU's emulation of each precision, within mixedTraining.
func TestMixedPrecisionTrainingMatchesCPU(t *testing.T) {
	const steps, seed = 120, 7
	d := digits(11, steps*32)
	ref := cpu.New(cpu.Options{Reference: true})
	defer ref.Close()
	for _, p := range []device.Precision{device.TF32, device.BF16, device.FP16} {
		t.Run(p.String(), func(t *testing.T) {
			wantLoss, wantParams := runPrecision(t, ref, d, seed, referenceMLP(), 32, 1, p)
			gotLoss, gotParams := runPrecision(t, gpu, d, seed, referenceMLP(), 32, 1, p)
			sameTrainingTol(t, mixedTraining, wantLoss, wantParams, gotLoss, gotParams)
		})
	}
}

// BenchmarkTrainEpoch trains the reference MLP for one epoch of 9,600 examples (300
// steps of batch 32) on the CPU and on the GPU with and without CUDA graphs; compare
// the samples/s of the three in one run.
func BenchmarkTrainEpoch(b *testing.B) {
	d := digits(3, 9600)
	for _, c := range []struct {
		name string
		open func() device.Backend
	}{
		{"cpu", func() device.Backend { return cpu.New(cpu.Options{}) }},
		{"cuda-graphs", func() device.Backend { return gpu }},
		{"cuda-plain", func() device.Backend {
			p, err := cuda.New(cuda.Options{NoGraphs: true})
			if err != nil {
				b.Fatal(err)
			}
			return p
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			dev := c.open()
			for range b.N {
				tr := &train.Trainer{Model: referenceMLP(), Loss: &nn.SparseCategoricalCrossEntropy{}, Optimizer: train.NewAdam(), Dev: dev, BatchSize: 32, Seed: 1}
				if _, err := tr.Fit(d, train.Config{Epochs: 1, CheckEvery: 1 << 30}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*d.Len())/b.Elapsed().Seconds(), "samples/s")
			if dev != device.Backend(gpu) {
				_ = dev.Close()
			}
		})
	}
}
