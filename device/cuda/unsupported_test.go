//go:build cuda || cudaemu

package cuda_test

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/devicetest"
)

// hugeBuffer claims n float32 elements without holding any: enough for device.CheckGemm
// to accept sizes past cuBLAS's int, which the backend must refuse before it touches
// memory.
type hugeBuffer struct{ n int }

func (h hugeBuffer) Len() int          { return h.n }
func (hugeBuffer) DType() device.DType { return device.Float32 }

// cuBLAS takes M, N, K and the batch count as int: a Gemm past 2^31-1 in any of them is
// a *device.UnsupportedError (converting the size would wrap it and compute another
// product), while one at the limit passes that check (and fails here only because the
// buffers are not the backend's).
func TestGemmPastCuBLASIntIsUnsupported(t *testing.T) {
	b := testBackend(t)
	const big = math.MaxInt32 + 1
	h, one := hugeBuffer{big}, hugeBuffer{1}
	for _, g := range []device.GemmArgs{
		{M: 1, N: 1, K: big, Alpha: 1, A: h, B: h, C: one},
		{M: big, N: 1, K: 1, Alpha: 1, A: h, B: one, C: h},
		{M: 1, N: big, K: 1, Alpha: 1, TransB: true, A: one, B: h, C: h},
		{M: 1, N: 1, K: 1, Alpha: 1, A: one, B: one, C: h, Batch: big, StrideC: 1},
	} {
		err := b.Gemm(g)
		devicetest.AssertUnsupported(t, err, "cuda", "gemm with")
		if err != nil {
			assert.Contains(t, err.Error(), "cuBLAS takes sizes up to 2^31-1")
		}
	}
	err := b.Gemm(device.GemmArgs{M: 1, N: 1, K: math.MaxInt32, Alpha: 1, A: h, B: h, C: one})
	require.Error(t, err)
	var u *device.UnsupportedError
	assert.False(t, errors.As(err, &u), "K = 2^31-1 fits cuBLAS: %v", err)
	assert.Contains(t, err.Error(), "belongs to another backend")
}
