// optimizer.cu: Backend.Update (device/cuda/optimizer.go), Keras' formulas (see
// device.OptOp). p is the parameter, g its gradient, m and v the optimizer state.
#include "common.cuh"

// The per-element steps, shared by the dense kernels and the row kernels below.

// momentum_step: m = mom*m - lr*g; p += m, or p += mom*m - lr*g when nesterov != 0.
static __device__ __attribute__((unused)) __forceinline__ void momentum_step(float* p, const float* g, float* m, i64 i,
                                                                             float lr, float mom, i64 nesterov) {
  const float gi = g[i];
  const float mi = mom * m[i] - lr * gi;
  m[i] = mi;
  p[i] += nesterov ? mom * mi - lr * gi : mi;
}

// adam_step: AdamW's decay when decay != 0 (p -= decay*p with decay = LR*WeightDecay),
// then Adam: m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g²; p -= step*m/(√v + eps), with
// step = Hyper.AdamStepSize() computed on the host.
static __device__ __attribute__((unused)) __forceinline__ void adam_step(float* p, const float* g, float* m, float* v, i64 i,
                                                                         float b1, float b2, float eps, float step,
                                                                         float decay) {
  float pi = p[i];
  if (decay != 0.0f) pi -= decay * pi;
  const float gi = g[i];
  const float mi = b1 * m[i] + (1.0f - b1) * gi;
  const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = pi - step * mi / (sqrtf(vi) + eps);
}

// p -= lr*g.
extern "C" __global__ void sgd_update_f32(float* p, const float* g, i64 n, float lr) {
  GRID_STRIDE(i, n) { p[i] -= lr * g[i]; }
}

// momentum_step over every element.
extern "C" __global__ void momentum_update_f32(float* p, const float* g, float* m, i64 n, float lr,
                                               float mom, i64 nesterov) {
  GRID_STRIDE(i, n) { momentum_step(p, g, m, i, lr, mom, nesterov); }
}

// adam_step over every element.
extern "C" __global__ void adam_update_f32(float* p, const float* g, float* m, float* v, i64 n,
                                           float b1, float b2, float eps, float step, float decay) {
  GRID_STRIDE(i, n) { adam_step(p, g, m, v, i, b1, b2, eps, step, decay); }
}

// Row sets and sparse updates: Backend.AddRows, UpdateRows and ClearRows. A row set of a
// table of `rows` rows is int32 [count | list[rows] | mark[rows]] (device.RowSetLen).
#define ROWS_BLOCK 256  // add_rows_i32 runs one block of this many threads

// add_rows_i32 appends the ids not yet in the set, in order of first appearance, with
// one block: each chunk of blockDim ids is staged in shared memory; an id is new when its
// mark is 0 and no earlier id of the chunk equals it; a block-wide prefix sum of the
// new flags gives each new id its place after the set's count. No atomics: the list
// comes out in the order the CPU makes it. Ids outside [0, rows) are skipped.
extern "C" __global__ void add_rows_i32(int* set, const int* ids, i64 n, i64 rows) {
  __shared__ int chunk[ROWS_BLOCK];
  __shared__ int pos[ROWS_BLOCK];
  int* list = set + 1;
  int* mark = set + 1 + rows;
  const int t = threadIdx.x;
  for (i64 base = 0; base < n; base += blockDim.x) {
    const i64 k = base + t;
    int id = -1;
    if (k < n) {
      id = ids[k];
      if (id < 0 || (i64)id >= rows) id = -1;
    }
    chunk[t] = id;
    __syncthreads();
    int fresh = id >= 0 && mark[id] == 0;
    for (int j = 0; fresh && j < t; j++) {
      if (chunk[j] == id) fresh = 0;
    }
    pos[t] = fresh;
    __syncthreads();
    // inclusive prefix sum of the flags (Hillis-Steele)
    for (int o = 1; o < (int)blockDim.x; o <<= 1) {
      const int add = t >= o ? pos[t - o] : 0;
      __syncthreads();
      pos[t] += add;
      __syncthreads();
    }
    const int count = set[0];
    if (fresh) {
      list[count + pos[t] - 1] = id;
      mark[id] = 1;
    }
    __syncthreads();  // every thread has read set[0]
    if (t == (int)blockDim.x - 1) set[0] = count + pos[t];
    __syncthreads();
  }
}

// The row step kernels: one block per row of the set (grid-stride over the set's count),
// its threads over the row's columns, with the formulas of the dense kernels above; the
// row's gradient is zeroed after its step (momentum_step and adam_step are the dense
// kernels' own), and its list entry and mark are cleared
// (row_done). rows_reset_i32 then zeroes the count. A listed row outside [0, rows) (a
// buffer that is no row set) is skipped.
static __device__ __attribute__((unused)) __forceinline__ bool row_ok(int r, i64 rows) { return r >= 0 && (i64)r < rows; }

static __device__ __attribute__((unused)) __forceinline__ void row_done(int* set, i64 rows, i64 k, int r) {
  __syncthreads();  // every thread has read list[k]
  if (threadIdx.x == 0) {
    set[1 + k] = 0;
    if (row_ok(r, rows)) set[1 + rows + r] = 0;
  }
}

extern "C" __global__ void sgd_update_rows_f32(float* p, float* g, int* set, i64 rows, i64 rowLen, float lr) {
  for (i64 k = blockIdx.x; k < (i64)set[0]; k += gridDim.x) {
    const int r = set[1 + k];
    if (row_ok(r, rows)) {
      for (i64 c = threadIdx.x; c < rowLen; c += blockDim.x) {
        const i64 i = (i64)r * rowLen + c;
        p[i] -= lr * g[i];
        g[i] = 0.0f;
      }
    }
    row_done(set, rows, k, r);
  }
}

extern "C" __global__ void momentum_update_rows_f32(float* p, float* g, float* m, int* set, i64 rows, i64 rowLen,
                                                    float lr, float mom, i64 nesterov) {
  for (i64 k = blockIdx.x; k < (i64)set[0]; k += gridDim.x) {
    const int r = set[1 + k];
    if (row_ok(r, rows)) {
      for (i64 c = threadIdx.x; c < rowLen; c += blockDim.x) {
        const i64 i = (i64)r * rowLen + c;
        momentum_step(p, g, m, i, lr, mom, nesterov);
        g[i] = 0.0f;
      }
    }
    row_done(set, rows, k, r);
  }
}

extern "C" __global__ void adam_update_rows_f32(float* p, float* g, float* m, float* v, int* set, i64 rows,
                                                i64 rowLen, float b1, float b2, float eps, float step, float decay) {
  for (i64 k = blockIdx.x; k < (i64)set[0]; k += gridDim.x) {
    const int r = set[1 + k];
    if (row_ok(r, rows)) {
      for (i64 c = threadIdx.x; c < rowLen; c += blockDim.x) {
        const i64 i = (i64)r * rowLen + c;
        adam_step(p, g, m, v, i, b1, b2, eps, step, decay);
        g[i] = 0.0f;
      }
    }
    row_done(set, rows, k, r);
  }
}

// clear_rows_f32 zeroes the gradient rows of the set (ClearRows).
extern "C" __global__ void clear_rows_f32(float* g, int* set, i64 rows, i64 rowLen) {
  for (i64 k = blockIdx.x; k < (i64)set[0]; k += gridDim.x) {
    const int r = set[1 + k];
    if (row_ok(r, rows)) {
      for (i64 c = threadIdx.x; c < rowLen; c += blockDim.x) g[(i64)r * rowLen + c] = 0.0f;
    }
    row_done(set, rows, k, r);
  }
}

// rows_reset_i32 empties the set after the row kernels: count = 0 (one thread).
extern "C" __global__ void rows_reset_i32(int* set) {
  if (blockIdx.x == 0 && threadIdx.x == 0) set[0] = 0;
}
