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

// testBackend is the backend of the tests shared with the GPU build.
func testBackend(t *testing.T) device.Backend { return emulated(t) }

// A closed backend refuses every call with device.ErrClosed.
func TestEmulatedClosed(t *testing.T) {
	b, err := cuda.New(cuda.Options{})
	require.NoError(t, err)
	devicetest.Closed(t, b)
}
