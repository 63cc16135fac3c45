//go:build cuda

package cuda_test

import (
	"testing"

	"github.com/gputrain/gputrain/cpu"
	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/cuda"
	"github.com/gputrain/gputrain/device/devicetest"
)

// The conformance suite on the GPU: known answers, gradients against finite
// differences, Philox ops, error cases, then every op against the CPU reference loops on
// fresh random inputs of awkward shapes (devicetest.Parity prints the shape, the first
// values and the largest errors of any mismatch).
func TestConformance(t *testing.T) {
	devicetest.Run(t, func(t *testing.T) device.Backend { return gpu })
}

// The tuned CPU kernels are what `-device cpu` runs: the GPU agrees with them too.
func TestParityWithTunedCPU(t *testing.T) {
	ref := cpu.New(cpu.Options{})
	t.Cleanup(func() { ref.Close() })
	devicetest.Parity(t, ref, gpu)
}

// A closed backend (a second one on the same GPU) refuses every call with
// device.ErrClosed.
func TestClosed(t *testing.T) {
	b, err := cuda.New(cuda.Options{})
	if err != nil {
		t.Fatal(err)
	}
	devicetest.Closed(t, b)
}
