// binary.cu: Backend.Binary, Broadcast, Axpby and Fill (device/cuda/binary.go).
#include "common.cuh"

// c = a op b over n elements; c may alias a or b.
#define BINARY(NAME, EXPR)                                                                  \
  extern "C" __global__ void NAME##_f32(const float* a, const float* b, float* c, i64 n) { \
    GRID_STRIDE(i, n) {                                                                     \
      const float u = a[i], v = b[i];                                                       \
      c[i] = EXPR;                                                                          \
    }                                                                                       \
  }
BINARY(add, u + v)
BINARY(sub, u - v)
BINARY(mul, u * v)
BINARY(div, u / v)

// y[o,m,i] = x[o,m,i] op v[m] for x, y of shape (outer, mid, inner); y may alias x.
#define BROADCAST(NAME, EXPR)                                                                  \
  extern "C" __global__ void broadcast_##NAME##_f32(const float* x, const float* v, float* y, \
                                                    i64 outer, i64 mid, i64 inner) {          \
    GRID_STRIDE(i, outer* mid* inner) {                                                        \
      const float u = x[i], w = v[(i / inner) % mid];                                          \
      y[i] = EXPR;                                                                             \
    }                                                                                          \
  }
BROADCAST(add, u + w)
BROADCAST(sub, u - w)
BROADCAST(mul, u * w)
BROADCAST(div, u / w)

// y = alpha*x + beta*y; with beta == 0, y is not read.
extern "C" __global__ void axpby_f32(const float* x, float* y, i64 n, float alpha, float beta) {
  if (beta == 0.0f) {
    GRID_STRIDE(i, n) { y[i] = alpha * x[i]; }
  } else {
    GRID_STRIDE(i, n) { y[i] = alpha * x[i] + beta * y[i]; }
  }
}

// y[i] = v.
extern "C" __global__ void fill_f32(float* y, i64 n, float v) {
  GRID_STRIDE(i, n) { y[i] = v; }
}
