//go:build cuda || cudaemu

package cuda

// Gemm on cuBLAS (blas.go, blas.h). cuBLAS is column-major and our matrices are
// row-major. A row-major M×N matrix is the column-major N×M matrix of its transpose, so
// C = op(A)·op(B) is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLAS gets B as its first operand
// and A as its second, with the sizes swapped (N, M, K) and each leading dimension the
// row length of the stored matrix.
//
// Precisions: FP32 is cublasSgemm (no TF32); TF32 is cublasGemmEx on the float32 data
// with CUBLAS_COMPUTE_32F_FAST_TF32; BF16 and FP16 are cublasGemmEx on 16-bit operands
// with float32 C and CUBLAS_COMPUTE_32F. A float32 operand of a BF16 or FP16 Gemm is
// cast first (cast_f32_to_bf16 or cast_f32_to_f16, the CPU's rounding bit for bit) into
// a scratch buffer of the backend's (precWork).

import (
	"fmt"
	"math"

	"github.com/gputrain/gputrain/device"
)

// Gemm implements device.Backend: C = Alpha*op(A)*op(B) + Beta*C, row-major, optionally
// batched with strides, in g.Precision (see device.GemmArgs). With Beta == 0, cuBLAS
// does not read C.
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
	pa, pb := uintptr(dp(g.A)), uintptr(dp(g.B))
	if h := g.Precision.Half(); h.IsHalf() {
		var err error
		if pa, err = b.precOperand(0, h, g.A, (g.Batches()-1)*g.StrideA+g.M*g.K); err != nil {
			return err
		}
		if pb, err = b.precOperand(1, h, g.B, (g.Batches()-1)*g.StrideB+g.K*g.N); err != nil {
			return err
		}
	}
	o := op{kind: opGemm, gemm: gemmCall{
		transB: g.TransB, transA: g.TransA, n: g.N, m: g.M, k: g.K, alpha: g.Alpha, beta: g.Beta,
		b: pb, a: pa, c: uintptr(dp(g.C)), ldb: ldb, lda: lda, ldc: g.N,
		batch: g.Batches(), strideB: int64(g.StrideB), strideA: int64(g.StrideA), strideC: int64(g.StrideC),
		prec: g.Precision,
	}}
	return b.submit(&o)
}

// precWork holds the 16-bit copies of a BF16 or FP16 Gemm's float32 operands (slot 0
// for A, 1 for B), grown (never shrunk) to the largest call. They are allocated at a
// step's first, uncaptured call, so a captured step allocates nothing; every use is
// ordered on the one stream, so the next Gemm's cast waits for this one's product.
type precWork struct {
	buf [2]device.Buffer
}

// precOperand returns the address of x's first n elements as the 16-bit type h: x's
// own when it is of that type, else a scratch copy rounded by the cast kernel.
func (b *Backend) precOperand(slot int, h device.DType, x device.Buffer, n int) (uintptr, error) {
	if x.DType() == h {
		return uintptr(dp(x)), nil
	}
	w := &b.prec
	if w.buf[slot] == nil || w.buf[slot].Len() < n || w.buf[slot].DType() != h {
		if w.buf[slot] != nil {
			b.Free(w.buf[slot])
			w.buf[slot] = nil
		}
		buf, err := b.Alloc(h, n)
		if err != nil {
			return 0, fmt.Errorf("cuda: gemm: scratch for a %s operand of %d values: %w", h, n, err)
		}
		w.buf[slot] = buf
	}
	k := kCastF32ToBF16
	if h == device.Float16 {
		k = kCastF32ToF16
	}
	if err := b.elementwise(k, n, dp(x), dp(w.buf[slot]), i64(n)); err != nil {
		return 0, err
	}
	return uintptr(dp(w.buf[slot])), nil
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
