//go:build !cuda && !cudaemu

package cuda_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
	_ "github.com/gputrain/gputrain/device/cuda"
)

func TestCPUBuildSaysHowToGetCUDA(t *testing.T) {
	b, err := device.Open("cuda", device.Options{})
	require.Error(t, err)
	assert.Nil(t, b)
	assert.True(t, errors.Is(err, device.ErrNotCompiled), "%v", err)
	assert.EqualError(t, err, "device: cannot open cuda: this binary was built without CUDA support (build with -tags cuda)")
	assert.Equal(t, "cuda", device.Names()[0], "cuda is registered above cpu so that auto prefers it")
}
