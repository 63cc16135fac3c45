//go:build cudaemu && !cuda

package cuda_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gputrain/gputrain/device"
	"github.com/gputrain/gputrain/device/cuda"
)

// cuBLAS's constants, as NVIDIA's headers define them (cuda-check compares the
// emulator's emu_cublas.h with cublas_v2.h, internal/cudabuild/blas-consts.c).
const (
	cudaR32F           = 0
	cudaR16F           = 2
	cudaR16BF          = 14
	computeF32         = 68
	computeF32FastTF32 = 77
	gemmDefault        = -1
	opN, opT           = 0, 1
)

// The backend's cuBLAS calls, as the emulator's stand-in receives them through blas.h:
// the same C code the CUDA build runs against libcublas. Each row-major Gemm must become
// the column-major call Cᵀ = op(B)ᵀ·op(A)ᵀ: our B first, sizes (N, M, K), leading
// dimensions the stored row lengths, strides swapped with the operands, and the
// precision's function, data and compute types.
func TestBLASArgumentMapping(t *testing.T) {
	b, err := cuda.New(cuda.Options{})
	require.NoError(t, err)
	defer b.Close()
	alloc := func(dt device.DType, n int) device.Buffer {
		x, err := b.Alloc(dt, n)
		require.NoError(t, err)
		return x
	}
	const m, n, k = 5, 7, 3
	for p := device.FP32; p <= device.LastPrecision; p++ {
		for _, half := range []bool{false, true} {
			if half && !p.Half().IsHalf() {
				continue
			}
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, batch := range []int{1, 3} {
					dt := device.Float32
					if half {
						dt = p.Half()
					}
					sa, sb, sc := 0, 0, 0
					if batch > 1 {
						sa, sb, sc = m*k+1, 0, m*n+2 // A per product, B shared, gaps in C
					}
					A, B := alloc(dt, (batch-1)*sa+m*k), alloc(dt, (batch-1)*sb+k*n)
					C := alloc(device.Float32, (batch-1)*sc+m*n)
					g := device.GemmArgs{TransA: tr[0], TransB: tr[1], M: m, N: n, K: k, Alpha: 0.5, Beta: -2, A: A, B: B, C: C,
						Batch: batch, StrideA: sa, StrideB: sb, StrideC: sc, Precision: p}
					name := fmt.Sprintf("%s 16-bit=%v transA=%v transB=%v batch=%d", p, half, tr[0], tr[1], batch)
					cuda.BLASCalls(true)
					require.NoError(t, b.Gemm(g), name)
					calls := cuda.BLASCalls(true)
					require.Len(t, calls, 1, name)
					c := calls[0]
					fn := map[bool]string{false: "cublasSgemm_v2", true: "cublasSgemmStridedBatched"}[batch > 1]
					types, compute := cudaR32F, computeF32
					switch p {
					case device.TF32:
						compute = computeF32FastTF32
					case device.BF16:
						types = cudaR16BF
					case device.FP16:
						types = cudaR16F
					}
					if p != device.FP32 {
						fn = map[bool]string{false: "cublasGemmEx", true: "cublasGemmStridedBatchedEx"}[batch > 1]
					}
					op := func(t bool) int {
						if t {
							return opT
						}
						return opN
					}
					want := cuda.BLASCall{Fn: fn, TransA: op(tr[1]), TransB: op(tr[0]), M: n, N: m, K: k, Alpha: 0.5, Beta: -2,
						C: cuda.DevicePointer(C), AType: types, BType: types, CType: cudaR32F, LDC: n, Compute: compute}
					// leading dimensions: the row length of each stored matrix
					want.LDA, want.LDB = n, k // B stored k×n, A stored m×k
					if tr[1] {
						want.LDA = k // B stored n×k
					}
					if tr[0] {
						want.LDB = m // A stored k×m
					}
					if batch > 1 {
						want.Batch, want.StrideA, want.StrideB, want.StrideC = batch, int64(sb), int64(sa), int64(sc)
					} else {
						want.Batch = 1
					}
					if p != device.FP32 {
						want.Algo = gemmDefault
					}
					if p == device.FP32 {
						want.AType, want.BType, want.CType = cudaR32F, cudaR32F, cudaR32F
					}
					// operands: ours when they are of the type cuBLAS reads, else the
					// backend's 16-bit scratch copies (checked by the numbers in the
					// conformance suite's parity)
					want.A, want.B = c.A, c.B
					if dt == p.Half() || !p.Half().IsHalf() {
						assert.Equal(t, cuda.DevicePointer(B), c.A, "%s: cuBLAS's A is our B", name)
						assert.Equal(t, cuda.DevicePointer(A), c.B, "%s: cuBLAS's B is our A", name)
					} else {
						assert.NotEqual(t, cuda.DevicePointer(B), c.A, "%s: a float32 B is cast first", name)
					}
					assert.Equal(t, want, c, name)
					for _, x := range []device.Buffer{A, B, C} {
						b.Free(x)
					}
				}
			}
		}
	}
}

// Opening the backend sets its handle up as blas.h says: plain FP32 arithmetic (no TF32
// for cublasSgemm), the backend's stream, a workspace of its own (the emulator has
// neither stream nor workspace: zero).
func TestBLASHandleSetUp(t *testing.T) {
	cuda.BLASCalls(true)
	b, err := cuda.New(cuda.Options{})
	require.NoError(t, err)
	require.NoError(t, b.Close())
	calls := cuda.BLASCalls(true)
	var fns []string
	for _, c := range calls {
		fns = append(fns, c.Fn)
	}
	require.Equal(t, []string{"cublasCreate_v2", "cublasSetMathMode", "cublasSetStream_v2", "cublasSetWorkspace_v2", "cublasDestroy_v2"}, fns)
	assert.Equal(t, 0, calls[1].MathMode, "CUBLAS_DEFAULT_MATH")
}
