// blas.h: every cuBLAS call of device/cuda, in one place, shared by the two builds that
// run the backend's Go code: -tags cuda (cublas.go: NVIDIA's cublas_v2.h and
// libcublas) and -tags cudaemu (emu.go: emu_cublas.h, and a stand-in cuBLAS in emu.cc
// that computes what cuBLAS's documentation defines and records each call). So the
// mapping below (operation codes, data and compute types, leading dimensions and
// strides) runs, and is checked, in CPU tests before it reaches a GPU.
//
// The file that includes this one has declared cuBLAS's types, constants and functions.
// cuda-check compares emu_cublas.h's constants with the real headers'
// (internal/cudabuild/blas-consts.c).

#include <stddef.h>

// gt_gemm_call is one GEMM in cuBLAS's (column-major) terms, as device/cuda's gemmCall
// (matmul.go) holds it: x is cuBLAS's first operand (our B), y its second (our A).
typedef struct {
  int transX, transY;
  int m, n, k;  // cuBLAS's m, n, k: our N, M, K
  float alpha, beta;
  unsigned long long x, y, c;
  int ldx, ldy, ldc;
  int batch;
  long long strideX, strideY, strideC;
  // prec is the device.Precision: 0 FP32 (cublasSgemm, CUBLAS_DEFAULT_MATH: no TF32),
  // 1 TF32 (cublasGemmEx, float32 data, CUBLAS_COMPUTE_32F_FAST_TF32), 2 BF16 and 3 FP16
  // (cublasGemmEx, CUDA_R_16BF or CUDA_R_16F operands, float32 C, CUBLAS_COMPUTE_32F).
  int prec;
} gt_gemm_call;

static int gt_gemm(cublasHandle_t h, const gt_gemm_call* g) {
  const cublasOperation_t ox = g->transX ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t oy = g->transY ? CUBLAS_OP_T : CUBLAS_OP_N;
  const void* x = (const void*)(size_t)g->x;
  const void* y = (const void*)(size_t)g->y;
  void* c = (void*)(size_t)g->c;
  if (g->prec == 0) {
    if (g->batch <= 1)
      return cublasSgemm(h, ox, oy, g->m, g->n, g->k, &g->alpha, (const float*)x, g->ldx, (const float*)y, g->ldy,
                         &g->beta, (float*)c, g->ldc);
    return cublasSgemmStridedBatched(h, ox, oy, g->m, g->n, g->k, &g->alpha, (const float*)x, g->ldx, g->strideX,
                                     (const float*)y, g->ldy, g->strideY, &g->beta, (float*)c, g->ldc, g->strideC,
                                     g->batch);
  }
  cudaDataType ab = CUDA_R_32F;
  cublasComputeType_t ct = CUBLAS_COMPUTE_32F;
  switch (g->prec) {
    case 1:
      ct = CUBLAS_COMPUTE_32F_FAST_TF32;
      break;
    case 2:
      ab = CUDA_R_16BF;
      break;
    case 3:
      ab = CUDA_R_16F;
      break;
    default:
      return CUBLAS_STATUS_INVALID_VALUE;
  }
  if (g->batch <= 1)
    return cublasGemmEx(h, ox, oy, g->m, g->n, g->k, &g->alpha, x, ab, g->ldx, y, ab, g->ldy, &g->beta, c, CUDA_R_32F,
                        g->ldc, ct, CUBLAS_GEMM_DEFAULT);
  return cublasGemmStridedBatchedEx(h, ox, oy, g->m, g->n, g->k, &g->alpha, x, ab, g->ldx, g->strideX, y, ab, g->ldy,
                                    g->strideY, &g->beta, c, CUDA_R_32F, g->ldc, g->strideC, g->batch, ct,
                                    CUBLAS_GEMM_DEFAULT);
}

// gt_blas_create makes the backend's handle: plain FP32 arithmetic for cublasSgemm (no
// TF32: CUBLAS_DEFAULT_MATH; the other precisions ask through their compute type), the
// backend's stream (every GEMM ordered with our kernels, and captured into graphs), and
// a workspace of our own, so that cuBLAS allocates nothing while a graph is captured.
static int gt_blas_create(cublasHandle_t* h, cudaStream_t s, unsigned long long ws, size_t wsBytes) {
  int st = cublasCreate(h);
  if (st) return st;
  if ((st = cublasSetMathMode(*h, CUBLAS_DEFAULT_MATH))) return st;
  if ((st = cublasSetStream(*h, s))) return st;
  return cublasSetWorkspace(*h, (void*)(size_t)ws, wsBytes);
}
