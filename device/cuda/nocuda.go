//go:build !cuda

// Package cuda is the CUDA backend. This file is what a build without the cuda tag
// gets: the "cuda" device is registered, and opening it says the binary was built
// without CUDA support. The real backend (gorgonia.org/cu, cuBLAS and the PTX kernels
// of kernels/) is compiled with -tags cuda.
package cuda

import "github.com/gputrain/gputrain/device"

func init() {
	device.Register("cuda", 10, func(device.Options) (device.Backend, error) {
		return nil, device.ErrNotCompiled
	})
}
