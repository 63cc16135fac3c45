// activation.cu: Backend.Unary, UnaryBackward, Softmax and SoftmaxBackward
// (device/cuda/activation.go). x, y, dy, dx have n elements; p is LeakyReLU's slope.
#include "common.cuh"

// ---- forward: y = f(x) ------------------------------------------------------------

extern "C" __global__ void relu_forward_f32(const float* x, float* y, i64 n) {
  GRID_STRIDE(i, n) {
    const float v = x[i];
    y[i] = v > 0.0f ? v : 0.0f;
  }
}

extern "C" __global__ void leaky_relu_forward_f32(const float* x, float* y, i64 n, float p) {
  GRID_STRIDE(i, n) {
    const float v = x[i];
    y[i] = v > 0.0f ? v : p * v;
  }
}

extern "C" __global__ void sigmoid_forward_f32(const float* x, float* y, i64 n) {
  GRID_STRIDE(i, n) { y[i] = 1.0f / (1.0f + expf(-x[i])); }
}

extern "C" __global__ void tanh_forward_f32(const float* x, float* y, i64 n) {
  GRID_STRIDE(i, n) { y[i] = tanhf(x[i]); }
}

// GELU, exact form: x/2 * (1 + erf(x/√2)).
extern "C" __global__ void gelu_forward_f32(const float* x, float* y, i64 n) {
  GRID_STRIDE(i, n) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
  }
}

// ---- backward: dx = dy * f'(x) ------------------------------------------------------

extern "C" __global__ void relu_backward_f32(const float* x, const float* dy, float* dx, i64 n) {
  GRID_STRIDE(i, n) { dx[i] = x[i] > 0.0f ? dy[i] : 0.0f; }
}

extern "C" __global__ void leaky_relu_backward_f32(const float* x, const float* dy, float* dx,
                                                   i64 n, float p) {
  GRID_STRIDE(i, n) { dx[i] = x[i] > 0.0f ? dy[i] : p * dy[i]; }
}

// f' = y(1-y), from y.
extern "C" __global__ void sigmoid_backward_f32(const float* y, const float* dy, float* dx, i64 n) {
  GRID_STRIDE(i, n) {
    const float s = y[i];
    dx[i] = dy[i] * s * (1.0f - s);
  }
}

// f' = 1-y², from y.
extern "C" __global__ void tanh_backward_f32(const float* y, const float* dy, float* dx, i64 n) {
  GRID_STRIDE(i, n) {
    const float t = y[i];
    dx[i] = dy[i] * (1.0f - t * t);
  }
}

// f' = Φ(x) + x φ(x) with Φ(x) = (1 + erf(x/√2))/2 and φ(x) = exp(-x²/2)/√(2π).
extern "C" __global__ void gelu_backward_f32(const float* x, const float* dy, float* dx, i64 n) {
  GRID_STRIDE(i, n) {
    const float v = x[i];
    const float cdf = 0.5f * (1.0f + erff(v * 0.70710678118654752f));
    const float pdf = 0.39894228040143268f * expf(-0.5f * v * v);
    dx[i] = dy[i] * (cdf + v * pdf);
  }
}

// ---- softmax over rows: one block per row (grid-stride over rows) --------------------

// y[r,:] = exp(x[r,:]-max) / sum(exp(x[r,:]-max)). y may alias x (see softmax_row).
extern "C" __global__ void softmax_forward_f32(const float* x, float* y, i64 rows, i64 cols) {
  __shared__ float sh[33];
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    float m, s;
    softmax_row(x + r * cols, y + r * cols, cols, sh, &m, &s);
  }
}

// dx[r,c] = y[r,c] * (dy[r,c] - sum_k dy[r,k]*y[r,k]). dx may alias dy.
extern "C" __global__ void softmax_backward_f32(const float* y, const float* dy, float* dx,
                                                i64 rows, i64 cols) {
  __shared__ float sh[33];
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* yr = y + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    float d = 0.0f;
    for (i64 c = threadIdx.x; c < cols; c += blockDim.x) d += dyr[c] * yr[c];
    d = block_sum(d, sh);
    for (i64 c = threadIdx.x; c < cols; c += blockDim.x) dxr[c] = yr[c] * (dyr[c] - d);
  }
}
