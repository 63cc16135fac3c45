//go:build cuda || cudaemu

package cuda

// Gemm on cuBLAS (cublas.go). cuBLAS is column-major and our matrices are row-major. A
// row-major M×N matrix is the column-major N×M matrix of its transpose, so
// C = op(A)·op(B) is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLAS gets B as its first operand
// and A as its second, with the sizes swapped (N, M, K) and each leading dimension the
// row length of the stored matrix.

import (
	"fmt"
	"math"

	"github.com/gputrain/gputrain/device"
)

// gemmCall is one cuBLAS call in cuBLAS's (column-major) terms; it is comparable, so the
// graph recorder can tell whether a replayed step makes the same call.
type gemmCall struct {
	transB, transA            bool
	n, m, k                   int
	alpha, beta               float32
	b, a, c                   uintptr
	ldb, lda, ldc             int
	batch                     int
	strideB, strideA, strideC int64
}

// Gemm implements device.Backend: C = Alpha*op(A)*op(B) + Beta*C, row-major, optionally
// batched with strides (see device.GemmArgs). With Beta == 0, cuBLAS does not read C.
// cuBLAS takes M, N, K (which are also the leading dimensions) and the batch count as
// int: a Gemm with any of them past 2^31-1 returns a *device.UnsupportedError.
// The epilogue, if any, is the broadcast-add and activation kernels launched after
// cuBLAS on the same stream (broadcast_add_f32, then <act>_forward_f32 in place).
func (b *Backend) Gemm(g device.GemmArgs) error {
	if b.closed {
		return device.ErrClosed
	}
	if err := device.CheckGemm(g); err != nil {
		return err
	}
	if err := blasSizes(g); err != nil {
		return err
	}
	if err := b.owns(g.A, g.B, g.C, g.Bias); err != nil {
		return err
	}
	if err := b.gemm(g); err != nil || !g.HasEpilogue() {
		return err
	}
	c := g.C
	if c.Len() != g.M*g.N { // C may be longer than the product
		var err error
		if c, err = b.View(g.C, 0, g.M*g.N); err != nil {
			return err
		}
	}
	if g.Bias != nil {
		if err := b.Broadcast(device.Add, c, g.Bias, c, device.Shape3{Outer: g.M, Mid: g.N, Inner: 1}); err != nil {
			return err
		}
	}
	if g.ActOn {
		return b.Unary(g.Act, c, c, g.ActParam)
	}
	return nil
}

// gemm submits the cuBLAS call of a checked Gemm.
func (b *Backend) gemm(g device.GemmArgs) error {
	defer b.bind()()
	lda, ldb := g.K, g.N
	if g.TransA {
		lda = g.M
	}
	if g.TransB {
		ldb = g.K
	}
	o := op{kind: opGemm, gemm: gemmCall{
		transB: g.TransB, transA: g.TransA, n: g.N, m: g.M, k: g.K, alpha: g.Alpha, beta: g.Beta,
		b: uintptr(dp(g.B)), a: uintptr(dp(g.A)), c: uintptr(dp(g.C)), ldb: ldb, lda: lda, ldc: g.N,
		batch: g.Batches(), strideB: int64(g.StrideB), strideA: int64(g.StrideA), strideC: int64(g.StrideC),
	}}
	return b.submit(&o)
}

// blasSizes returns a *device.UnsupportedError when a size of g does not fit cuBLAS's int
// (the strides are 64-bit): converting it would wrap, and the product silently be
// another one.
func blasSizes(g device.GemmArgs) error {
	if max(g.M, g.N, g.K, g.Batches()) > math.MaxInt32 {
		return &device.UnsupportedError{Backend: "cuda",
			Op: fmt.Sprintf("gemm with M=%d N=%d K=%d batch=%d (cuBLAS takes sizes up to 2^31-1)", g.M, g.N, g.K, g.Batches())}
	}
	return nil
}
