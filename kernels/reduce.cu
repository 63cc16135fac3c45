// reduce.cu: Backend.Reduce (device/cuda/reduce.go): y[o,i] = reduce over m of x[o,m,i]
// for x of shape (outer, mid, inner).
//
// One block of 256 threads per (o, tile of inner). With inner == 1 (row reductions) the
// whole block walks m; otherwise 32 lanes cover 32 consecutive i (coalesced loads) and
// the 8 lane groups walk m. Partials meet in shared memory in a fixed tree order, so the
// result is repeatable; grid = outer * ceil(inner / lanes).
#include "common.cuh"

#define REDUCE_THREADS 256

struct SumOp {
  static __device__ __forceinline__ float init() { return 0.0f; }
  static __device__ __forceinline__ float load(float v) { return v; }
  static __device__ __forceinline__ float join(float a, float b) { return a + b; }
  static __device__ __forceinline__ float finish(float v) { return v; }
};
struct SquaresOp {
  static __device__ __forceinline__ float init() { return 0.0f; }
  static __device__ __forceinline__ float load(float v) { return v * v; }
  static __device__ __forceinline__ float join(float a, float b) { return a + b; }
  static __device__ __forceinline__ float finish(float v) { return v; }
};
// NormOp: the squares' sum, then its correctly rounded square root (sqrtf is IEEE
// without fast-math).
struct NormOp : SquaresOp {
  static __device__ __forceinline__ float finish(float v) { return sqrtf(v); }
};
struct MaxOp {
  static __device__ __forceinline__ float init() { return -INFINITY; }
  static __device__ __forceinline__ float load(float v) { return v; }
  static __device__ __forceinline__ float join(float a, float b) { return fmaxf(a, b); }
  static __device__ __forceinline__ float finish(float v) { return v; }
};

template <class Op>
static __device__ __forceinline__ void reduce_mid(const float* x, float* y, i64 outer, i64 mid,
                                                  i64 inner, float div) {
  __shared__ float sh[REDUCE_THREADS];
  const int lanes = inner == 1 ? 1 : 32, groups = REDUCE_THREADS / lanes;
  const int lane = threadIdx.x % lanes, group = threadIdx.x / lanes;
  const i64 tiles = (inner + lanes - 1) / lanes;
  for (i64 b = blockIdx.x; b < outer * tiles; b += gridDim.x) {
    const i64 o = b / tiles, i = (b % tiles) * lanes + lane;
    float acc = Op::init();
    if (i < inner)
      for (i64 m = group; m < mid; m += groups) acc = Op::join(acc, Op::load(x[(o * mid + m) * inner + i]));
    sh[threadIdx.x] = acc;
    __syncthreads();
    for (int s = groups / 2; s > 0; s >>= 1) {
      if (group < s) sh[threadIdx.x] = Op::join(sh[threadIdx.x], sh[threadIdx.x + s * lanes]);
      __syncthreads();
    }
    if (group == 0 && i < inner) y[o * inner + i] = Op::finish(sh[threadIdx.x] / div);
    __syncthreads();
  }
}

extern "C" __global__ void reduce_sum_f32(const float* x, float* y, i64 outer, i64 mid, i64 inner) {
  reduce_mid<SumOp>(x, y, outer, mid, inner, 1.0f);
}

// Mean = Sum / mid (the division rounds like the CPU's sum-then-divide).
extern "C" __global__ void reduce_mean_f32(const float* x, float* y, i64 outer, i64 mid, i64 inner) {
  reduce_mid<SumOp>(x, y, outer, mid, inner, (float)mid);
}

extern "C" __global__ void reduce_max_f32(const float* x, float* y, i64 outer, i64 mid, i64 inner) {
  reduce_mid<MaxOp>(x, y, outer, mid, inner, 1.0f);
}

extern "C" __global__ void reduce_sum_squares_f32(const float* x, float* y, i64 outer, i64 mid,
                                                  i64 inner) {
  reduce_mid<SquaresOp>(x, y, outer, mid, inner, 1.0f);
}

extern "C" __global__ void reduce_norm_f32(const float* x, float* y, i64 outer, i64 mid, i64 inner) {
  reduce_mid<NormOp>(x, y, outer, mid, inner, 1.0f);
}

// ArgMax: the index m of the first largest x[o,m,i] (int32). A pair (value, index)
// wins when its value is larger, or equal with a smaller index, so the order of the tree
// does not matter.
extern "C" __global__ void reduce_argmax_f32(const float* x, int* y, i64 outer, i64 mid, i64 inner) {
  __shared__ float shv[REDUCE_THREADS];
  __shared__ i64 shi[REDUCE_THREADS];
  const int lanes = inner == 1 ? 1 : 32, groups = REDUCE_THREADS / lanes;
  const int lane = threadIdx.x % lanes, group = threadIdx.x / lanes;
  const i64 tiles = (inner + lanes - 1) / lanes;
  for (i64 b = blockIdx.x; b < outer * tiles; b += gridDim.x) {
    const i64 o = b / tiles, i = (b % tiles) * lanes + lane;
    float best = -INFINITY;
    i64 arg = mid;  // larger than any real index: loses every tie
    if (i < inner)
      for (i64 m = group; m < mid; m += groups) {
        const float v = x[(o * mid + m) * inner + i];
        if (v > best || arg == mid) {
          best = v;
          arg = m;
        }
      }
    shv[threadIdx.x] = best;
    shi[threadIdx.x] = arg;
    __syncthreads();
    for (int s = groups / 2; s > 0; s >>= 1) {
      if (group < s) {
        const float v = shv[threadIdx.x + s * lanes];
        const i64 a = shi[threadIdx.x + s * lanes];
        const float u = shv[threadIdx.x];
        const i64 c = shi[threadIdx.x];
        if (a != mid && (c == mid || v > u || (v == u && a < c))) {
          shv[threadIdx.x] = v;
          shi[threadIdx.x] = a;
        }
      }
      __syncthreads();
    }
    if (group == 0 && i < inner) y[o * inner + i] = (int)shi[threadIdx.x];
    __syncthreads();
  }
}
