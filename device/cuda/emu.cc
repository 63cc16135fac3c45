//go:build cudaemu && !cuda

// emu.cc: a CPU emulator of the CUDA execution model, just enough to run the engine's
// kernels (kernels/*.cu, compiled here as C++) without a GPU, for `go test -tags cudaemu`.
//
// A launch runs its blocks one after another; each block runs on blockDim.x OS threads
// (kept parked between blocks), so
// __syncthreads is a real barrier (pthread_barrier_t) and __shfl_down_sync a real
// exchange between the 32 threads of a warp. __shared__ variables become static: one
// block runs at a time. Math functions are the host's (glibc), not libdevice's, so
// results may differ from a GPU's in the last bits; the logic (indexing, launch shapes,
// reductions, parameter passing) is the same code.

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <pthread.h>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#define GPUTRAIN_CUDA_EMU 1
#define __global__
#define __device__
#define __shared__ static
#define __forceinline__ inline

struct emu_dim3 {
  unsigned x, y, z;
};
static thread_local emu_dim3 threadIdx;
static emu_dim3 blockIdx, blockDim, gridDim;
static pthread_barrier_t emu_block_barrier;
static pthread_barrier_t emu_warp_barrier[32];
static uint32_t emu_warp_slot[32][32];

static inline void __syncthreads() { pthread_barrier_wait(&emu_block_barrier); }

static inline unsigned __umulhi(unsigned a, unsigned b) {
  return (unsigned)(((unsigned long long)a * b) >> 32);
}

template <class T>
static inline T emu_shfl_down(T v, unsigned d) {
  const unsigned lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  uint32_t bits;
  memcpy(&bits, &v, 4);
  emu_warp_slot[w][lane] = bits;
  pthread_barrier_wait(&emu_warp_barrier[w]);
  const uint32_t r = lane + d < 32 ? emu_warp_slot[w][lane + d] : bits;
  pthread_barrier_wait(&emu_warp_barrier[w]);
  T out;
  memcpy(&out, &r, 4);
  return out;
}
static inline float __shfl_down_sync(unsigned, float v, unsigned d) { return emu_shfl_down(v, d); }
static inline int __shfl_down_sync(unsigned, int v, unsigned d) { return emu_shfl_down(v, d); }
static inline double __shfl_down_sync(unsigned, double v, unsigned d) {
  uint64_t bits;
  memcpy(&bits, &v, 8);
  const uint32_t lo = emu_shfl_down((uint32_t)bits, d), hi = emu_shfl_down((uint32_t)(bits >> 32), d);
  bits = ((uint64_t)hi << 32) | lo;
  double out;
  memcpy(&out, &bits, 8);
  return out;
}

#include "../../kernels/activation.cu"
#include "../../kernels/batchnorm.cu"
#include "../../kernels/binary.cu"
#include "../../kernels/conv.cu"
#include "../../kernels/gather.cu"
#include "../../kernels/layernorm.cu"
#include "../../kernels/loss.cu"
#include "../../kernels/optimizer.cu"
#include "../../kernels/permute.cu"
#include "../../kernels/pool.cu"
#include "../../kernels/precision.cu"
#include "../../kernels/random.cu"
#include "../../kernels/reduce.cu"
#include "../../kernels/rnn.cu"

// ---- kernel table: each kernel unpacks its parameters from 8-byte slots, as the
// driver does from the slots device/cuda passes (pointers and 64-bit integers whole, a
// float from the low four bytes).

template <class T>
static T emu_slot(uint64_t s) {
  if constexpr (std::is_pointer_v<T>) {
    return reinterpret_cast<T>(static_cast<uintptr_t>(s));
  } else if constexpr (std::is_same_v<T, float>) {
    const uint32_t b = (uint32_t)s;
    float f;
    memcpy(&f, &b, 4);
    return f;
  } else {
    return (T)s;
  }
}

template <class... A, size_t... I>
static void emu_call(void (*f)(A...), const uint64_t* s, std::index_sequence<I...>) {
  f(emu_slot<A>(s[I])...);
}

struct emu_kernel {
  std::function<void(const uint64_t*)> run;
  int nargs;
};

template <class... A>
static emu_kernel emu_wrap(void (*f)(A...)) {
  return {[f](const uint64_t* s) { emu_call(f, s, std::index_sequence_for<A...>{}); }, (int)sizeof...(A)};
}

#define K(name) {#name, emu_wrap(name)}
static const std::unordered_map<std::string, emu_kernel> emu_kernels = {
    K(relu_forward_f32), K(leaky_relu_forward_f32), K(sigmoid_forward_f32), K(tanh_forward_f32),
    K(gelu_forward_f32), K(relu_backward_f32), K(leaky_relu_backward_f32), K(sigmoid_backward_f32),
    K(tanh_backward_f32), K(gelu_backward_f32), K(softmax_forward_f32), K(softmax_backward_f32),
    K(add_f32), K(sub_f32), K(mul_f32), K(div_f32), K(broadcast_add_f32), K(broadcast_sub_f32),
    K(broadcast_mul_f32), K(broadcast_div_f32), K(axpby_f32), K(fill_f32),
    K(reduce_sum_f32), K(reduce_mean_f32), K(reduce_max_f32), K(reduce_argmax_f32),
    K(reduce_sum_squares_f32), K(reduce_norm_f32), K(softmax_cross_entropy_forward_f32),
    K(softmax_cross_entropy_backward_f32), K(cross_entropy_forward_f32),
    K(cross_entropy_backward_f32), K(mse_forward_f32), K(mse_backward_f32),
    K(sgd_update_f32), K(momentum_update_f32), K(adam_update_f32), K(dropout_mask_f32),
    K(augment_f32), K(gather_f32), K(gather_u8_f32), K(gather_i32), K(im2col_f32),
    K(col2im_f32), K(max_pool_forward_f32), K(avg_pool_forward_f32), K(max_pool_backward_f32),
    K(avg_pool_backward_f32), K(batchnorm_forward_train_f32), K(batchnorm_infer_f32),
    K(batchnorm_backward_f32), K(gelu_tanh_forward_f32), K(gelu_tanh_backward_f32),
    K(causal_softmax_forward_f32), K(scatter_add_f32), K(permute_f32), K(layernorm_forward_f32),
    K(layernorm_backward_f32), K(layernorm_params_backward_f32), K(lstm_cell_forward_f32),
    K(lstm_cell_backward_f32), K(gru_cell_forward_f32), K(gru_cell_backward_f32),
    K(bce_with_logits_forward_f32), K(bce_with_logits_backward_f32), K(add_rows_i32),
    K(sgd_update_rows_f32), K(momentum_update_rows_f32), K(adam_update_rows_f32), K(clear_rows_f32),
    K(rows_reset_i32), K(cast_f32_to_bf16), K(cast_bf16_to_f32), K(cast_f32_to_f16), K(cast_f16_to_f32),
    K(unscale_f32), K(sgd_update_copy_f32), K(momentum_update_copy_f32), K(adam_update_copy_f32),
};
#undef K

// emu_pool keeps one OS thread per CUDA thread of the largest block seen, parked between
// blocks, so that a launch does not create threads.
struct emu_pool {
  std::mutex mu;
  std::condition_variable start, done;
  std::vector<std::thread> threads;
  unsigned long long gen = 0;
  int active = 0, remaining = 0;
  const emu_kernel* k = nullptr;
  const uint64_t* slots = nullptr;

  void grow(int n) {
    while ((int)threads.size() < n) {
      const int t = (int)threads.size();
      threads.emplace_back([this, t] { work(t); });
      threads.back().detach();
    }
  }

  void work(int t) {
    unsigned long long seen = 0;
    std::unique_lock<std::mutex> lk(mu);
    for (;;) {
      start.wait(lk, [&] { return gen != seen; });
      seen = gen;
      if (t >= active) continue;
      const emu_kernel* kk = k;
      const uint64_t* ss = slots;
      lk.unlock();
      threadIdx = {(unsigned)t, 0, 0};
      kk->run(ss);
      lk.lock();
      if (--remaining == 0) done.notify_one();
    }
  }

  // run_block runs the current block on threads [0, block) and waits for them.
  void run_block(const emu_kernel* kk, const uint64_t* ss, int block) {
    grow(block);
    std::unique_lock<std::mutex> lk(mu);
    k = kk;
    slots = ss;
    active = remaining = block;
    gen++;
    start.notify_all();
    done.wait(lk, [&] { return remaining == 0; });
  }
};
static emu_pool* emu_threads = new emu_pool;  // never destroyed: its threads outlive main

extern "C" {

// emu_launch runs kernel name on grid blocks of block threads; 0 on success, else an
// error message in err.
int emu_launch(const char* name, int grid, int block, const uint64_t* args, int nargs, char* err, int errlen) {
  auto it = emu_kernels.find(name);
  if (it == emu_kernels.end()) {
    snprintf(err, errlen, "no kernel %s", name);
    return 1;
  }
  const emu_kernel& k = it->second;
  if (nargs != k.nargs) {
    snprintf(err, errlen, "%s takes %d parameters, got %d", name, k.nargs, nargs);
    return 1;
  }
  if (grid < 1 || block < 32 || block > 1024 || block % 32 != 0) {
    snprintf(err, errlen, "%s: bad launch shape grid %d block %d", name, grid, block);
    return 1;
  }
  std::vector<uint64_t> slots(args, args + nargs);
  gridDim = {(unsigned)grid, 1, 1};
  blockDim = {(unsigned)block, 1, 1};
  for (int b = 0; b < grid; b++) {
    blockIdx = {(unsigned)b, 0, 0};
    pthread_barrier_init(&emu_block_barrier, nullptr, block);
    for (int w = 0; w < block / 32; w++) pthread_barrier_init(&emu_warp_barrier[w], nullptr, 32);
    emu_threads->run_block(&k, slots.data(), block);
    pthread_barrier_destroy(&emu_block_barrier);
    for (int w = 0; w < block / 32; w++) pthread_barrier_destroy(&emu_warp_barrier[w]);
  }
  return 0;
}

}  // extern "C"

// ---- the stand-in cuBLAS (emu_cublas.h): what blas.h calls, computed on the host as
// cuBLAS's documentation defines it (column-major; op(A) is m×k, op(B) k×n, C m×n;
// with beta == 0, C is not read), every call recorded. Sums run in double; inputs are
// read in their data type and, for the FAST compute types, rounded as the type says
// (TF32: to 10 mantissa bits, to nearest even).

#include "emu_cublas.h"

struct gt_emu_cublas {
  int mathMode;
  cudaStream_t stream;
  void* ws;
  size_t wsBytes;
};

static std::mutex emu_blas_mu;
static std::vector<gt_emu_blas_call> emu_blas_log;

static void emu_blas_record(const gt_emu_blas_call& c) {
  std::lock_guard<std::mutex> lk(emu_blas_mu);
  if (emu_blas_log.size() >= 1 << 16) emu_blas_log.erase(emu_blas_log.begin());  // bounded
  emu_blas_log.push_back(c);
}

static gt_emu_blas_call emu_blas_named(const char* fn) {
  gt_emu_blas_call c;
  memset(&c, 0, sizeof c);
  snprintf(c.fn, sizeof c.fn, "%s", fn);
  return c;
}

static float emu_tf32(float v) {
  unsigned b = f32_bits(v);
  if ((b & 0x7f800000u) == 0x7f800000u) return v;
  const unsigned rem = b & 0x1fffu;
  b &= ~0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (b & 0x2000u))) b += 0x2000u;
  return bits_f32(b);
}

static float emu_load(const void* p, long long i, cudaDataType t, cublasComputeType_t ct) {
  float v;
  switch (t) {
    case CUDA_R_16BF:
      v = bf16_f32(static_cast<const unsigned short*>(p)[i]);
      break;
    case CUDA_R_16F:
      v = f16_f32(static_cast<const unsigned short*>(p)[i]);
      break;
    default:
      v = static_cast<const float*>(p)[i];
  }
  switch (ct) {
    case CUBLAS_COMPUTE_32F_FAST_TF32:
      return emu_tf32(v);
    case CUBLAS_COMPUTE_32F_FAST_16BF:
      return bf16_f32(bf16_bits(v));
    case CUBLAS_COMPUTE_32F_FAST_16F:
      return f16_f32(f16_bits(v));
    default:
      return v;
  }
}

// emu_gemm is every GEMM of the stand-in: the checks cuBLAS documents, then the
// product.
static cublasStatus_t emu_gemm(gt_emu_blas_call c, cublasHandle_t h, const void* A, const void* B, void* C) {
  cublasStatus_t st = CUBLAS_STATUS_SUCCESS;
  const int rowsA = c.transa == CUBLAS_OP_N ? c.m : c.k, rowsB = c.transb == CUBLAS_OP_N ? c.k : c.n;
  if (!h) {
    st = CUBLAS_STATUS_NOT_INITIALIZED;
  } else if (c.m < 0 || c.n < 0 || c.k < 0 || c.batch < 0 || c.transa < 0 || c.transa > 1 || c.transb < 0 ||
             c.transb > 1 || c.lda < (rowsA > 1 ? rowsA : 1) || c.ldb < (rowsB > 1 ? rowsB : 1) ||
             c.ldc < (c.m > 1 ? c.m : 1)) {
    st = CUBLAS_STATUS_INVALID_VALUE;
  } else if (c.Ctype != CUDA_R_32F || c.Atype != c.Btype ||
             ((c.Atype == CUDA_R_16BF || c.Atype == CUDA_R_16F) && c.compute != CUBLAS_COMPUTE_32F &&
              c.compute != CUBLAS_COMPUTE_32F_PEDANTIC) ||
             (c.Atype != CUDA_R_32F && c.Atype != CUDA_R_16BF && c.Atype != CUDA_R_16F) ||
             (c.compute != CUBLAS_COMPUTE_32F && c.compute != CUBLAS_COMPUTE_32F_PEDANTIC &&
              c.compute != CUBLAS_COMPUTE_32F_FAST_TF32 && c.compute != CUBLAS_COMPUTE_32F_FAST_16BF &&
              c.compute != CUBLAS_COMPUTE_32F_FAST_16F)) {
    st = CUBLAS_STATUS_NOT_SUPPORTED;  // the combinations cublasGemmEx's table lists, those with float32 C
  }
  c.status = st;
  emu_blas_record(c);
  if (st != CUBLAS_STATUS_SUCCESS) return st;
  const cudaDataType at = (cudaDataType)c.Atype, bt = (cudaDataType)c.Btype;
  const cublasComputeType_t ct = (cublasComputeType_t)c.compute;
  const float alpha = c.alpha, beta = c.beta;
  for (int p = 0; p < (c.batch < 1 ? 1 : c.batch); p++) {
    float* Cp = static_cast<float*>(C) + p * c.strideC;
    for (int j = 0; j < c.n; j++) {
      for (int i = 0; i < c.m; i++) {
        double s = 0;
        for (int l = 0; l < c.k; l++) {
          const long long ia = p * c.strideA + (c.transa == CUBLAS_OP_N ? i + (long long)l * c.lda : l + (long long)i * c.lda);
          const long long ib = p * c.strideB + (c.transb == CUBLAS_OP_N ? l + (long long)j * c.ldb : j + (long long)l * c.ldb);
          s += (double)emu_load(A, ia, at, ct) * emu_load(B, ib, bt, ct);
        }
        float* out = &Cp[i + (long long)j * c.ldc];
        *out = beta == 0.0f ? (float)(alpha * s) : (float)(alpha * s + (double)beta * *out);
      }
    }
  }
  return st;
}

static gt_emu_blas_call emu_gemm_call(const char* fn, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                                      int k, float alpha, const void* A, int Atype, int lda, long long sA,
                                      const void* B, int Btype, int ldb, long long sB, float beta, void* C, int Ctype,
                                      int ldc, long long sC, int batch, int compute, int algo) {
  gt_emu_blas_call c = emu_blas_named(fn);
  c.transa = transa, c.transb = transb, c.m = m, c.n = n, c.k = k, c.alpha = alpha, c.beta = beta;
  c.A = (unsigned long long)(uintptr_t)A, c.B = (unsigned long long)(uintptr_t)B, c.C = (unsigned long long)(uintptr_t)C;
  c.Atype = Atype, c.Btype = Btype, c.Ctype = Ctype, c.lda = lda, c.ldb = ldb, c.ldc = ldc;
  c.strideA = sA, c.strideB = sB, c.strideC = sC, c.batch = batch, c.compute = compute, c.algo = algo;
  return c;
}

extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  *handle = new gt_emu_cublas{CUBLAS_DEFAULT_MATH, nullptr, nullptr, 0};
  emu_blas_record(emu_blas_named("cublasCreate_v2"));
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  emu_blas_record(emu_blas_named("cublasDestroy_v2"));
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  gt_emu_blas_call c = emu_blas_named("cublasSetMathMode");
  c.mathMode = mode;
  emu_blas_record(c);
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->mathMode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  gt_emu_blas_call c = emu_blas_named("cublasSetStream_v2");
  c.stream = (unsigned long long)(uintptr_t)stream;
  emu_blas_record(c);
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void* workspace, size_t bytes) {
  gt_emu_blas_call c = emu_blas_named("cublasSetWorkspace_v2");
  c.workspace = (unsigned long long)(uintptr_t)workspace, c.workspaceBytes = bytes;
  emu_blas_record(c);
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->ws = workspace, handle->wsBytes = bytes;
  return CUBLAS_STATUS_SUCCESS;
}

// cublasSgemm computes in FP32 unless the handle's math mode allows TF32
// (CUBLAS_TF32_TENSOR_OP_MATH), as cuBLAS documents.
static int emu_sgemm_compute(cublasHandle_t h) {
  return h && h->mathMode == CUBLAS_TF32_TENSOR_OP_MATH ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                              int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                              const float* beta, float* C, int ldc) {
  return emu_gemm(emu_gemm_call("cublasSgemm_v2", transa, transb, m, n, k, *alpha, A, CUDA_R_32F, lda, 0, B,
                                CUDA_R_32F, ldb, 0, *beta, C, CUDA_R_32F, ldc, 0, 1, emu_sgemm_compute(handle), 0),
                  handle, A, B, C);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const float* alpha, const float* A, int lda,
                                         long long int strideA, const float* B, int ldb, long long int strideB,
                                         const float* beta, float* C, int ldc, long long int strideC, int batchCount) {
  return emu_gemm(emu_gemm_call("cublasSgemmStridedBatched", transa, transb, m, n, k, *alpha, A, CUDA_R_32F, lda,
                                strideA, B, CUDA_R_32F, ldb, strideB, *beta, C, CUDA_R_32F, ldc, strideC, batchCount,
                                emu_sgemm_compute(handle), 0),
                  handle, A, B, C);
}

// The Ex forms take alpha and beta as the compute type's scalars: float for the
// CUBLAS_COMPUTE_32F family.
cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                            int k, const void* alpha, const void* A, cudaDataType Atype, int lda, const void* B,
                            cudaDataType Btype, int ldb, const void* beta, void* C, cudaDataType Ctype, int ldc,
                            cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
  return emu_gemm(emu_gemm_call("cublasGemmEx", transa, transb, m, n, k, *static_cast<const float*>(alpha), A, Atype,
                                lda, 0, B, Btype, ldb, 0, *static_cast<const float*>(beta), C, Ctype, ldc, 0, 1,
                                computeType, algo),
                  handle, A, B, C);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                          int m, int n, int k, const void* alpha, const void* A, cudaDataType Atype,
                                          int lda, long long int strideA, const void* B, cudaDataType Btype, int ldb,
                                          long long int strideB, const void* beta, void* C, cudaDataType Ctype,
                                          int ldc, long long int strideC, int batchCount,
                                          cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
  return emu_gemm(emu_gemm_call("cublasGemmStridedBatchedEx", transa, transb, m, n, k,
                                *static_cast<const float*>(alpha), A, Atype, lda, strideA, B, Btype, ldb, strideB,
                                *static_cast<const float*>(beta), C, Ctype, ldc, strideC, batchCount, computeType,
                                algo),
                  handle, A, B, C);
}

int gt_emu_blas_calls(gt_emu_blas_call* out, int max, int reset) {
  std::lock_guard<std::mutex> lk(emu_blas_mu);
  const int n = (int)emu_blas_log.size();
  for (int i = 0; i < n && i < max; i++) out[i] = emu_blas_log[i];
  if (reset) emu_blas_log.clear();
  return n;
}

void emu_copy(uint64_t dst, uint64_t src, long long bytes) {
  memmove(reinterpret_cast<void*>(static_cast<uintptr_t>(dst)), reinterpret_cast<const void*>(static_cast<uintptr_t>(src)), bytes);
}

void emu_to_host(void* dst, uint64_t src, long long bytes) {
  memcpy(dst, reinterpret_cast<const void*>(static_cast<uintptr_t>(src)), bytes);
}

void emu_from_host(uint64_t dst, const void* src, long long bytes) {
  memcpy(reinterpret_cast<void*>(static_cast<uintptr_t>(dst)), src, bytes);
}

}  // extern "C"
