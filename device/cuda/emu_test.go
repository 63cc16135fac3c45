//go:build cudaemu && !cuda

package cuda_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/cuda"
	"github.com/gputrain/gputrain/device/devicetest"
)

func emulated(t *testing.T) device.Backend {
	b, err := cuda.New(cuda.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

// The conformance suite, with Parity against the CPU reference, on the CUDA backend's op
// code and kernels run by the CPU emulator (emu.cc).
func TestEmulatedConformance(t *testing.T) {
	devicetest.Run(t, emulated)
}

// The whole training step through the CUDA backend's op code and kernels (emulated):
// 40 Adam steps of the reference MLP against the CPU reference, with the tolerances of
// TestTrainingMatchesCPU.
func TestEmulatedTrainingMatchesCPU(t *testing.T) {
	const steps, seed = 40, 7
	d := digits(11, steps*32)
	ref := cpu.New(cpu.Options{Reference: true})
	defer ref.Close()
	wantLoss, wantParams := run(t, ref, d, seed)
	gotLoss, gotParams := run(t, emulated(t), d, seed)
	sameTraining(t, wantLoss, wantParams, gotLoss, gotParams)
}

// The same in TF32, BF16 and FP16 (with its loss scaler): the casts and cublasGemmEx's
// stand-in against the CPU's emulation, within mixedTraining.
func TestEmulatedMixedPrecisionTrainingMatchesCPU(t *testing.T) {
	const steps, seed = 40, 7
	d := digits(11, steps*32)
	ref := cpu.New(cpu.Options{Reference: true})
	defer ref.Close()
	for _, p := range []device.Precision{device.TF32, device.BF16, device.FP16} {
		t.Run(p.String(), func(t *testing.T) {
			wantLoss, wantParams := runPrecision(t, ref, d, seed, referenceMLP(), 32, 1, p)
			gotLoss, gotParams := runPrecision(t, emulated(t), d, seed, referenceMLP(), 32, 1, p)
			sameTrainingTol(t, mixedTraining, wantLoss, wantParams, gotLoss, gotParams)
		})
	}
}

// testBackend is the backend of the tests shared with the GPU build.
func testBackend(t *testing.T) device.Backend { return emulated(t) }

// A closed backend refuses every call with device.ErrClosed.
func TestEmulatedClosed(t *testing.T) {
	b, err := cuda.New(cuda.Options{})
	require.NoError(t, err)
	devicetest.Closed(t, b)
}
