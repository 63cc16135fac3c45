// loss.cu: Backend.Loss and LossBackward (device/cuda/loss.go) for a rows×cols input.
// Forward kernels run one block per row (grid-stride over rows); backward kernels are
// elementwise. labels are int32 class indices; a label outside [0, cols) gives a NaN
// loss (the device cannot return an error without waiting).
#include "common.cuh"

// argmax_row returns the first index of the row's maximum to every thread.
static __device__ __forceinline__ i64 argmax_row(const float* xr, i64 cols, float* shv, i64* shi) {
  float best = -INFINITY;
  i64 arg = cols;
  for (i64 c = threadIdx.x; c < cols; c += blockDim.x) {
    const float v = xr[c];
    if (v > best || arg == cols) {
      best = v;
      arg = c;
    }
  }
  shv[threadIdx.x] = best;
  shi[threadIdx.x] = arg;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if ((int)threadIdx.x < s) {
      const float v = shv[threadIdx.x + s], u = shv[threadIdx.x];
      const i64 a = shi[threadIdx.x + s], b = shi[threadIdx.x];
      if (a != cols && (b == cols || v > u || (v == u && a < b))) {
        shv[threadIdx.x] = v;
        shi[threadIdx.x] = a;
      }
    }
    __syncthreads();
  }
  const i64 r = shi[0];
  __syncthreads();
  return r;
}

#define LOSS_THREADS_MAX 256

// probs = softmax(input); loss[r] = logsumexp(input[r,:]) - input[r,label], summed as
// (max - input[r,label]) + log(sum exp(input-max)): a confident right answer's small loss
// next to large logits survives (max + log(sum) would round it away);
// correct[r] = 1 if argmax(input[r,:]) == label else 0 (correct may be null).
extern "C" __global__ void softmax_cross_entropy_forward_f32(const float* input, const int* labels,
                                                             float* probs, float* loss,
                                                             float* correct, i64 rows, i64 cols) {
  __shared__ float sh[33];
  __shared__ float shv[LOSS_THREADS_MAX];
  __shared__ i64 shi[LOSS_THREADS_MAX];
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = input + r * cols;
    float m, s;
    softmax_row(xr, probs + r * cols, cols, sh, &m, &s);
    const i64 arg = correct ? argmax_row(xr, cols, shv, shi) : 0;
    if (threadIdx.x == 0) {
      const int l = labels[r];
      loss[r] = (l >= 0 && l < cols) ? (m - xr[l]) + logf(s) : NAN;
      if (correct) correct[r] = arg == l ? 1.0f : 0.0f;
    }
  }
}

// grad = scale * (probs - onehot(labels)).
extern "C" __global__ void softmax_cross_entropy_backward_f32(const float* probs, const int* labels,
                                                              float* grad, i64 rows, i64 cols,
                                                              float scale) {
  GRID_STRIDE(i, rows * cols) {
    const i64 r = i / cols, c = i % cols;
    const float hot = labels[r] == c ? 1.0f : 0.0f;
    grad[i] = scale * (probs[i] - hot);
  }
}

// loss[r] = -log(clamp(input[r,label], eps, 1-eps)); correct as above.
extern "C" __global__ void cross_entropy_forward_f32(const float* input, const int* labels,
                                                     float* loss, float* correct, i64 rows,
                                                     i64 cols, float eps) {
  __shared__ float shv[LOSS_THREADS_MAX];
  __shared__ i64 shi[LOSS_THREADS_MAX];
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = input + r * cols;
    const i64 arg = correct ? argmax_row(xr, cols, shv, shi) : 0;
    if (threadIdx.x == 0) {
      const int l = labels[r];
      if (l >= 0 && l < cols) {
        const float p = fminf(fmaxf(xr[l], eps), 1.0f - eps);
        loss[r] = -logf(p);
      } else {
        loss[r] = NAN;
      }
      if (correct) correct[r] = arg == l ? 1.0f : 0.0f;
    }
  }
}

// grad = -scale/p at the label where eps <= p <= 1-eps (inside the clamp), 0 elsewhere.
extern "C" __global__ void cross_entropy_backward_f32(const float* input, const int* labels,
                                                      float* grad, i64 rows, i64 cols, float scale,
                                                      float eps) {
  GRID_STRIDE(i, rows * cols) {
    const i64 r = i / cols, c = i % cols;
    const float p = input[i];
    grad[i] = (labels[r] == c && p >= eps && p <= 1.0f - eps) ? -scale / p : 0.0f;
  }
}

// loss[r] = mean over c of (input[r,c] - target[r,c])².
extern "C" __global__ void mse_forward_f32(const float* input, const float* target, float* loss,
                                           i64 rows, i64 cols) {
  __shared__ float sh[33];
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    float s = 0.0f;
    for (i64 c = threadIdx.x; c < cols; c += blockDim.x) {
      const float d = input[r * cols + c] - target[r * cols + c];
      s += d * d;
    }
    s = block_sum(s, sh);
    if (threadIdx.x == 0) loss[r] = s / (float)cols;
  }
}

// grad = scale * 2 * (input - target) / cols.
extern "C" __global__ void mse_backward_f32(const float* input, const float* target, float* grad,
                                            i64 rows, i64 cols, float scale) {
  GRID_STRIDE(i, rows * cols) { grad[i] = scale * 2.0f * (input[i] - target[i]) / (float)cols; }
}

// Binary cross-entropy with logits x and targets t: loss[r] = mean over c of
// max(x,0) - x*t + log1p(exp(-|x|)); correct[r] (may be null) = the fraction of columns
// with (x > 0) == (t > 0.5).
extern "C" __global__ void bce_with_logits_forward_f32(const float* input, const float* target,
                                                       float* loss, float* correct, i64 rows,
                                                       i64 cols) {
  __shared__ float sh[33];
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    float s = 0.0f, hits = 0.0f;
    for (i64 c = threadIdx.x; c < cols; c += blockDim.x) {
      const float x = input[r * cols + c], t = target[r * cols + c];
      s += fmaxf(x, 0.0f) - x * t + log1pf(expf(-fabsf(x)));
      hits += ((x > 0.0f) == (t > 0.5f)) ? 1.0f : 0.0f;
    }
    s = block_sum(s, sh);
    hits = block_sum(hits, sh);
    if (threadIdx.x == 0) {
      loss[r] = s / (float)cols;
      if (correct) correct[r] = hits / (float)cols;
    }
  }
}

// grad = scale * (σ(x) - t) / cols.
extern "C" __global__ void bce_with_logits_backward_f32(const float* input, const float* target,
                                                        float* grad, i64 rows, i64 cols,
                                                        float scale) {
  GRID_STRIDE(i, rows * cols) {
    grad[i] = scale * (1.0f / (1.0f + expf(-input[i])) - target[i]) / (float)cols;
  }
}
