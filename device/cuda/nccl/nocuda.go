//go:build !cuda

package nccl

import "errors"

// Lib is the loaded library; without the cuda tag there is none.
type Lib struct{}

// Load reports that this binary was built without CUDA support.
func Load() (*Lib, error) {
	return nil, errors.New("nccl: this binary was built without CUDA support (build with -tags cuda)")
}
