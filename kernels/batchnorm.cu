// batchnorm.cu: Backend.BatchNorm and BatchNormBackward (device/cuda/batchnorm.go) for x
// of shape (N, C, Inner): statistics per channel over the M = N*Inner values of (n, j).
// The per-channel kernels run one block per channel (grid-stride over channels).
#include "common.cuh"

#define CHANNEL_LOOP(k, idx)                                   \
  for (i64 k = threadIdx.x; k < n * inner; k += blockDim.x)   \
    if (const i64 idx = ((k / inner) * c + ch) * inner + k % inner; true)

// Training statistics: mean, biased variance (two passes), invstd = 1/√(var+eps) into
// save_mean and save_invstd; running statistics move by momentum, the variance unbiased.
extern "C" __global__ void batchnorm_stats_f32(const float* x, float* save_mean, float* save_invstd,
                                               float* run_mean, float* run_var, i64 n, i64 c,
                                               i64 inner, float momentum, float eps) {
  __shared__ float sh[33];
  const float m = (float)(n * inner);
  for (i64 ch = blockIdx.x; ch < c; ch += gridDim.x) {
    float s = 0.0f;
    CHANNEL_LOOP(k, idx) s += x[idx];
    const float mean = block_sum(s, sh) / m;
    float q = 0.0f;
    CHANNEL_LOOP(k, idx) {
      const float d = x[idx] - mean;
      q += d * d;
    }
    const float var = block_sum(q, sh) / m;
    if (threadIdx.x == 0) {
      save_mean[ch] = mean;
      save_invstd[ch] = 1.0f / sqrtf(var + eps);
      run_mean[ch] = (1.0f - momentum) * run_mean[ch] + momentum * mean;
      run_var[ch] = (1.0f - momentum) * run_var[ch] + momentum * (var * m / (m - 1.0f));
    }
  }
}

// y = gamma*(x-mean)*invstd + beta, elementwise (training: the saved statistics).
extern "C" __global__ void batchnorm_forward_f32(const float* x, float* y, const float* gamma,
                                                 const float* beta, const float* mean,
                                                 const float* invstd, i64 n, i64 c, i64 inner) {
  GRID_STRIDE(i, n * c * inner) {
    const i64 ch = (i / inner) % c;
    y[i] = gamma[ch] * (x[i] - mean[ch]) * invstd[ch] + beta[ch];
  }
}

// Inference: y = gamma*(x-run_mean)/√(run_var+eps) + beta.
extern "C" __global__ void batchnorm_infer_f32(const float* x, float* y, const float* gamma,
                                               const float* beta, const float* run_mean,
                                               const float* run_var, i64 n, i64 c, i64 inner,
                                               float eps) {
  GRID_STRIDE(i, n * c * inner) {
    const i64 ch = (i / inner) % c;
    y[i] = gamma[ch] * (x[i] - run_mean[ch]) / sqrtf(run_var[ch] + eps) + beta[ch];
  }
}

// dbeta = sum dy, dgamma = sum dy*xhat per channel, xhat = (x-mean)*invstd.
extern "C" __global__ void batchnorm_backward_reduce_f32(const float* x, const float* dy,
                                                         const float* mean, const float* invstd,
                                                         float* dgamma, float* dbeta, i64 n, i64 c,
                                                         i64 inner) {
  __shared__ float sh[33];
  for (i64 ch = blockIdx.x; ch < c; ch += gridDim.x) {
    const float mu = mean[ch], is = invstd[ch];
    float sb = 0.0f, sg = 0.0f;
    CHANNEL_LOOP(k, idx) {
      const float d = dy[idx];
      sb += d;
      sg += d * (x[idx] - mu) * is;
    }
    sb = block_sum(sb, sh);
    sg = block_sum(sg, sh);
    if (threadIdx.x == 0) {
      dbeta[ch] = sb;
      dgamma[ch] = sg;
    }
  }
}

// dx = gamma*invstd/M * (M*dy - dbeta - xhat*dgamma).
extern "C" __global__ void batchnorm_backward_f32(const float* x, const float* dy, float* dx,
                                                  const float* gamma, const float* mean,
                                                  const float* invstd, const float* dgamma,
                                                  const float* dbeta, i64 n, i64 c, i64 inner) {
  const float m = (float)(n * inner);
  GRID_STRIDE(i, n * c * inner) {
    const i64 ch = (i / inner) % c;
    const float xhat = (x[i] - mean[ch]) * invstd[ch];
    dx[i] = gamma[ch] * invstd[ch] / m * (m * dy[i] - dbeta[ch] - xhat * dgamma[ch]);
  }
}
