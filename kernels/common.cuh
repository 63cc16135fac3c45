// common.cuh: helpers shared by every kernel file. (GPUTRAIN_CUDA_EMU: the CPU
// emulator of device/cuda/emu.cc defines the CUDA builtins itself.)
//
// Conventions (see docs/cuda.md):
//  - every kernel is extern "C" __global__ and named <op>_<dtype>;
//  - tensors are row-major and contiguous; sizes and indices are 64-bit (long long), and
//    the Go side passes every parameter in an 8-byte slot (gorgonia.org/cu's
//    Function.Launch copies 8 bytes per parameter); float parameters read the slot's low
//    4 bytes;
//  - elementwise kernels use grid-stride loops, so any grid size is correct;
//  - reductions combine partial results in a fixed order (warp shuffles, then shared
//    memory), so a result does not depend on timing: runs are repeatable bit for bit.
#pragma once
#if !defined(__NVCC__) && !defined(__CLANG_CUDA_RUNTIME_WRAPPER_H__) && !defined(GPUTRAIN_CUDA_EMU)
#include "cuda_min.h"
#endif

typedef long long i64;
typedef unsigned long long u64;

#define FULL_MASK 0xffffffffu

#define GRID_STRIDE(i, n)                                                   \
  for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (i64)(n);    \
       i += (i64)blockDim.x * gridDim.x)

static __device__ __attribute__((unused)) __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(FULL_MASK, v, o);
  return v;
}

static __device__ __attribute__((unused)) __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_down_sync(FULL_MASK, v, o));
  return v;
}

// block_sum returns the sum of v over the block to every thread. blockDim.x is a
// multiple of 32 (at most 1024); sh holds at least 33 floats. Each warp reduces with
// shuffles, warp 0 reduces the warp sums: a fixed order.
static __device__ __attribute__((unused)) __forceinline__ float block_sum(float v, float* sh) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // sh may still be read by a previous call
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < nw ? sh[lane] : 0.0f;
    v = warp_sum(v);
    if (lane == 0) sh[32] = v;
  }
  __syncthreads();
  return sh[32];
}

// block_sum_d is block_sum in double precision (sh holds at least 33 doubles).
static __device__ __attribute__((unused)) __forceinline__ double block_sum_d(double v, double* sh) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(FULL_MASK, v, o);
  __syncthreads();
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < nw ? sh[lane] : 0.0;
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(FULL_MASK, v, o);
    if (lane == 0) sh[32] = v;
  }
  __syncthreads();
  return sh[32];
}

// block_max is block_sum with max (-inf for an empty block).
static __device__ __attribute__((unused)) __forceinline__ float block_max(float v, float* sh) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) sh[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < nw ? sh[lane] : -INFINITY;
    v = warp_max(v);
    if (lane == 0) sh[32] = v;
  }
  __syncthreads();
  return sh[32];
}

// softmax_row writes yr = softmax(xr) for one row of cols values, with the whole block,
// and returns the row's max in *m and the sum of exp(xr - max) in *s (the same in every
// thread). yr may alias xr: every thread reads its elements before the barrier inside
// block_sum and writes only its own elements after.
static __device__ __attribute__((unused)) __forceinline__ void softmax_row(const float* xr, float* yr, i64 cols,
                                                                           float* sh, float* m, float* s) {
  float mx = -INFINITY;
  for (i64 c = threadIdx.x; c < cols; c += blockDim.x) mx = fmaxf(mx, xr[c]);
  mx = block_max(mx, sh);
  float sum = 0.0f;
  for (i64 c = threadIdx.x; c < cols; c += blockDim.x) sum += expf(xr[c] - mx);
  sum = block_sum(sum, sh);
  for (i64 c = threadIdx.x; c < cols; c += blockDim.x) yr[c] = expf(xr[c] - mx) / sum;
  *m = mx;
  *s = sum;
}

// Philox4x32-10, identical to device.Philox4x32 (device/philox.go): ten rounds over ctr
// under key (k0, k1).
static __device__ __attribute__((unused)) __forceinline__ void philox4x32(unsigned ctr[4], unsigned k0, unsigned k1) {
  for (int r = 0; r < 10; r++) {
    if (r > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    const unsigned hi0 = __umulhi(0xD2511F53u, ctr[0]), lo0 = 0xD2511F53u * ctr[0];
    const unsigned hi1 = __umulhi(0xCD9E8D57u, ctr[2]), lo1 = 0xCD9E8D57u * ctr[2];
    const unsigned c1 = ctr[1], c3 = ctr[3];
    ctr[0] = hi1 ^ c1 ^ k0;
    ctr[1] = lo1;
    ctr[2] = hi0 ^ c3 ^ k1;
    ctr[3] = lo0;
  }
}

// philox_block is device.PhiloxBlock(seed, counter).
static __device__ __attribute__((unused)) __forceinline__ void philox_block(u64 seed, u64 counter, unsigned out[4]) {
  out[0] = (unsigned)counter;
  out[1] = (unsigned)(counter >> 32);
  out[2] = 0;
  out[3] = 0;
  philox4x32(out, (unsigned)seed, (unsigned)(seed >> 32));
}

// ---- 16-bit floats (device.BF16Bits, device.FP16Bits and their inverses, the same
// bit manipulations, so every backend rounds alike) -------------------------------------

static __device__ __attribute__((unused)) __forceinline__ unsigned f32_bits(float v) {
  union {
    float f;
    unsigned u;
  } x;
  x.f = v;
  return x.u;
}

static __device__ __attribute__((unused)) __forceinline__ float bits_f32(unsigned u) {
  union {
    float f;
    unsigned u;
  } x;
  x.u = u;
  return x.f;
}

// bf16_bits rounds v to bfloat16, to nearest with ties to even; NaN stays a quiet NaN.
static __device__ __attribute__((unused)) __forceinline__ unsigned short bf16_bits(float v) {
  unsigned b = f32_bits(v);
  if ((b & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((b >> 16) | 0x40u);
  b += 0x7fffu + ((b >> 16) & 1u);
  return (unsigned short)(b >> 16);
}

static __device__ __attribute__((unused)) __forceinline__ float bf16_f32(unsigned short h) {
  return bits_f32((unsigned)h << 16);
}

// f16_bits rounds v to IEEE binary16, to nearest with ties to even: |v| >= 65520 gives
// Inf, small values subnormals or 0; NaN stays a quiet NaN.
static __device__ __attribute__((unused)) __forceinline__ unsigned short f16_bits(float v) {
  const unsigned b = f32_bits(v);
  const unsigned sign = (b >> 16) & 0x8000u;
  const int exp = (int)((b >> 23) & 0xffu);
  const unsigned man = b & 0x7fffffu;
  if (exp == 0xff) return (unsigned short)(sign | (man ? 0x7e00u | (man >> 13) : 0x7c00u));
  const int e = exp - 127 + 15;
  if (e >= 0x1f) return (unsigned short)(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return (unsigned short)sign;
    const unsigned m = man | 0x800000u;
    const unsigned shift = (unsigned)(14 - e);
    unsigned q = m >> shift;
    const unsigned rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) q++;
    return (unsigned short)(sign | q);
  }
  unsigned q = ((unsigned)e << 10) | (man >> 13);
  const unsigned rem = man & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (q & 1u))) q++;
  return (unsigned short)(sign | q);
}

static __device__ __attribute__((unused)) __forceinline__ float f16_f32(unsigned short h) {
  const unsigned sign = ((unsigned)h & 0x8000u) << 16;
  const unsigned exp = ((unsigned)h >> 10) & 0x1fu, man = (unsigned)h & 0x3ffu;
  if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13));
  if (exp == 0) {
    const float v = (float)man * (1.0f / 16777216.0f);  // man·2^-24, exact
    return sign ? -v : v;
  }
  return bits_f32(sign | ((exp + 127 - 15) << 23) | (man << 13));
}

// half_bits rounds v to the 16-bit type t: 0 bfloat16, 1 binary16.
static __device__ __attribute__((unused)) __forceinline__ unsigned short half_bits(float v, i64 t) {
  return t ? f16_bits(v) : bf16_bits(v);
}
