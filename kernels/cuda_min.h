// cuda_min.h: the few CUDA device definitions the kernels use, for clang's NVPTX target
// without a CUDA SDK (clang -x cuda -nocudainc -nocudalib). nvcc never reads this file:
// common.cuh includes it only when __CUDACC__ comes without nvcc's headers (__NVCC__).
//
// Math functions come from NVIDIA's libdevice bitcode (libdevice.10.bc, linked by
// internal/cudabuild/build-ptx.sh), the same implementations nvcc uses.
#pragma once

#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
#define __forceinline__ __inline__ __attribute__((always_inline))
#define __restrict__ __restrict

#define CUDA_MIN_AXIS(TYPE, NAME, X, Y, Z)                                                        \
  struct TYPE {                                                                                   \
    __declspec(property(get = __fetch_x)) unsigned int x;                                         \
    __declspec(property(get = __fetch_y)) unsigned int y;                                         \
    __declspec(property(get = __fetch_z)) unsigned int z;                                         \
    static __device__ __forceinline__ unsigned int __fetch_x() { return X(); }                    \
    static __device__ __forceinline__ unsigned int __fetch_y() { return Y(); }                    \
    static __device__ __forceinline__ unsigned int __fetch_z() { return Z(); }                    \
  };                                                                                              \
  extern const __device__ __attribute__((weak)) TYPE NAME;

CUDA_MIN_AXIS(__cuda_min_tid_t, threadIdx, __nvvm_read_ptx_sreg_tid_x, __nvvm_read_ptx_sreg_tid_y,
              __nvvm_read_ptx_sreg_tid_z)
CUDA_MIN_AXIS(__cuda_min_ctaid_t, blockIdx, __nvvm_read_ptx_sreg_ctaid_x,
              __nvvm_read_ptx_sreg_ctaid_y, __nvvm_read_ptx_sreg_ctaid_z)
CUDA_MIN_AXIS(__cuda_min_ntid_t, blockDim, __nvvm_read_ptx_sreg_ntid_x, __nvvm_read_ptx_sreg_ntid_y,
              __nvvm_read_ptx_sreg_ntid_z)
CUDA_MIN_AXIS(__cuda_min_nctaid_t, gridDim, __nvvm_read_ptx_sreg_nctaid_x,
              __nvvm_read_ptx_sreg_nctaid_y, __nvvm_read_ptx_sreg_nctaid_z)

// __syncthreads() is a clang builtin (bar.sync 0).

// Warp shuffles (shfl.sync with a full-warp clamp, as CUDA's headers define them).
static __device__ __forceinline__ float __shfl_down_sync(unsigned mask, float v, unsigned d) {
  return __nvvm_shfl_sync_down_f32(mask, v, d, 0x1f);
}
static __device__ __forceinline__ int __shfl_down_sync(unsigned mask, int v, unsigned d) {
  return __nvvm_shfl_sync_down_i32(mask, v, d, 0x1f);
}

static __device__ __forceinline__ double __shfl_down_sync(unsigned mask, double v, unsigned d) {
  long long bits = __builtin_bit_cast(long long, v);
  int lo = __nvvm_shfl_sync_down_i32(mask, (int)bits, d, 0x1f);
  int hi = __nvvm_shfl_sync_down_i32(mask, (int)(bits >> 32), d, 0x1f);
  return __builtin_bit_cast(double, ((long long)hi << 32) | (unsigned)lo);
}

// __umulhi: the high 32 bits of the 64-bit product (mul.hi.u32).
static __device__ __forceinline__ unsigned int __umulhi(unsigned int a, unsigned int b) {
  return __nvvm_mulhi_ui(a, b);
}

// libdevice, linked as bitcode.
extern "C" __device__ float __nv_expf(float);
extern "C" __device__ float __nv_logf(float);
extern "C" __device__ float __nv_log1pf(float);
extern "C" __device__ float __nv_tanhf(float);
extern "C" __device__ float __nv_erff(float);
extern "C" __device__ float __nv_sqrtf(float);
extern "C" __device__ float __nv_fabsf(float);
extern "C" __device__ float __nv_fmaxf(float, float);
extern "C" __device__ float __nv_fminf(float, float);
static __device__ __forceinline__ float expf(float x) { return __nv_expf(x); }
static __device__ __forceinline__ float logf(float x) { return __nv_logf(x); }
static __device__ __forceinline__ float log1pf(float x) { return __nv_log1pf(x); }
static __device__ __forceinline__ float tanhf(float x) { return __nv_tanhf(x); }
static __device__ __forceinline__ float erff(float x) { return __nv_erff(x); }
static __device__ __forceinline__ float sqrtf(float x) { return __nv_sqrtf(x); }
static __device__ __forceinline__ float fabsf(float x) { return __nv_fabsf(x); }
static __device__ __forceinline__ float fmaxf(float a, float b) { return __nv_fmaxf(a, b); }
static __device__ __forceinline__ float fminf(float a, float b) { return __nv_fminf(a, b); }

static __device__ __forceinline__ double sqrt(double x) { return __builtin_sqrt(x); }

#define INFINITY __builtin_inff()
#define NAN __builtin_nanf("")
