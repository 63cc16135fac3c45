// activation.cu: Backend.Unary, UnaryBackward, Softmax, SoftmaxBackward and
// CausalSoftmax (device/cuda/activation.go). x, y, dy, dx have n elements; p is LeakyReLU's slope.
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

// GELU, tanh approximation (PyTorch's approximate='tanh'): x/2 * (1 + tanh(u)),
// u = √(2/π)*(x + 0.044715*x³).
#define GELU_BETA 0.7978845608028654f
#define GELU_KAPPA 0.044715f
extern "C" __global__ void gelu_tanh_forward_f32(const float* x, float* y, i64 n) {
  GRID_STRIDE(i, n) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + tanhf(GELU_BETA * (v + GELU_KAPPA * v * v * v)));
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

// f' = (1+t)/2 + x/2*(1-t²)*√(2/π)*(1 + 3*0.044715*x²), t = tanh(u).
extern "C" __global__ void gelu_tanh_backward_f32(const float* x, const float* dy, float* dx, i64 n) {
  GRID_STRIDE(i, n) {
    const float v = x[i];
    const float t = tanhf(GELU_BETA * (v + GELU_KAPPA * v * v * v));
    const float du = GELU_BETA * (1.0f + 3.0f * GELU_KAPPA * v * v);
    dx[i] = dy[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du);
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

// Attention's causal softmax over rows of (batch, seq, seq) scores: row r is row
// i = r % seq of its matrix, and y[r, j] = softmax over k <= i of scale*x[r, k] for
// j <= i, 0 for j > i (x is not read there). y may alias x: each thread reads its own
// elements before the barriers inside block_max and block_sum and writes only them.
extern "C" __global__ void causal_softmax_forward_f32(const float* x, float* y, i64 rows, i64 seq,
                                                      float scale) {
  __shared__ float sh[33];
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * seq;
    float* yr = y + r * seq;
    const i64 n = r % seq + 1;  // the keys this query sees
    float mx = -INFINITY;
    for (i64 c = threadIdx.x; c < n; c += blockDim.x) mx = fmaxf(mx, scale * xr[c]);
    mx = block_max(mx, sh);
    float sum = 0.0f;
    for (i64 c = threadIdx.x; c < n; c += blockDim.x) sum += expf(scale * xr[c] - mx);
    sum = block_sum(sum, sh);
    for (i64 c = threadIdx.x; c < seq; c += blockDim.x) yr[c] = c < n ? expf(scale * xr[c] - mx) / sum : 0.0f;
  }
}
