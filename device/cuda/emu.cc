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
    K(rows_reset_i32),
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

// emu_sgemm is cublasSgemm / cublasSgemmStridedBatched's definition (column-major):
// C = alpha*op(X)*op(Y) + beta*C with op(X) n×k (X = b), op(Y) k×m (Y = a), C n×m; with
// beta == 0, C is not read.
void emu_sgemm(int transX, int transY, int n, int m, int k, float alpha, uint64_t x, int ldx,
               uint64_t y, int ldy, float beta, uint64_t c, int ldc, int batch, long long sx,
               long long sy, long long sc) {
  for (int p = 0; p < (batch < 1 ? 1 : batch); p++) {
    const float* X = reinterpret_cast<const float*>(static_cast<uintptr_t>(x)) + p * sx;
    const float* Y = reinterpret_cast<const float*>(static_cast<uintptr_t>(y)) + p * sy;
    float* C = reinterpret_cast<float*>(static_cast<uintptr_t>(c)) + p * sc;
    for (int j = 0; j < m; j++) {
      for (int i = 0; i < n; i++) {
        double s = 0;
        for (int l = 0; l < k; l++) {
          const float xv = transX ? X[l + (long long)i * ldx] : X[i + (long long)l * ldx];
          const float yv = transY ? Y[j + (long long)l * ldy] : Y[l + (long long)j * ldy];
          s += (double)xv * yv;
        }
        float* out = &C[i + (long long)j * ldc];
        *out = beta == 0.0f ? (float)(alpha * s) : (float)(alpha * s + (double)beta * *out);
      }
    }
  }
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
