// batchnorm.cu: Backend.BatchNorm and BatchNormBackward (device/cuda/batchnorm.go) for x
// of shape (N, C, Inner): statistics per channel over the M = N*Inner values of (n, j).
//
// Training forward and backward run one block per channel (grid-stride over channels):
// the block reduces the channel in double precision, then writes the channel's outputs.
// Per-channel coefficients are formed in double, as the CPU does: with few values per
// channel the variance can be tiny and 1/√var large, and float32 coefficients would
// then lose the small differences between large terms.
#include "common.cuh"

#define CHANNEL_LOOP(k, idx)                                   \
  for (i64 k = threadIdx.x; k < n * inner; k += blockDim.x)   \
    if (const i64 idx = ((k / inner) * c + ch) * inner + k % inner; true)

// Training: mean and biased variance (two passes, double) into save_mean and
// save_invstd = 1/√(var+eps); running statistics move by momentum, the variance
// unbiased; y = (x-mean)*s + beta with s = gamma*invstd, as (x-hi)*s + (beta-(mean-hi)*s)
// with hi = (float)mean: x-hi is exact for x near the mean and the mean's rounding moves
// into the shift, so a large mean (1000, spread 1) loses nothing to it (x-(float)mean
// alone would be off by up to 3e-5 there).
extern "C" __global__ void batchnorm_forward_train_f32(const float* x, float* y, const float* gamma,
                                                       const float* beta, float* save_mean,
                                                       float* save_invstd, float* run_mean,
                                                       float* run_var, i64 n, i64 c, i64 inner,
                                                       float momentum, float eps) {
  __shared__ double sh[33];
  const double m = (double)(n * inner);
  for (i64 ch = blockIdx.x; ch < c; ch += gridDim.x) {
    double s = 0.0;
    CHANNEL_LOOP(k, idx) s += x[idx];
    const double mean = block_sum_d(s, sh) / m;
    double q = 0.0;
    CHANNEL_LOOP(k, idx) {
      const double d = x[idx] - mean;
      q += d * d;
    }
    q = block_sum_d(q, sh);
    const double invstd = 1.0 / sqrt(q / m + (double)eps);
    if (threadIdx.x == 0) {
      save_mean[ch] = (float)mean;
      save_invstd[ch] = (float)invstd;
      run_mean[ch] = (float)((1.0 - momentum) * run_mean[ch] + (double)momentum * mean);
      run_var[ch] = (float)((1.0 - momentum) * run_var[ch] + (double)momentum * q / (m - 1.0));
    }
    const double scale = gamma[ch] * invstd;
    const float hi = (float)mean, sc = (float)scale, shift = (float)(beta[ch] - (mean - hi) * scale);
    CHANNEL_LOOP(k, idx) y[idx] = (x[idx] - hi) * sc + shift;
  }
}

// Inference: y = (x-run_mean)*s + beta with s = gamma/√(run_var+eps), elementwise.
extern "C" __global__ void batchnorm_infer_f32(const float* x, float* y, const float* gamma,
                                               const float* beta, const float* run_mean,
                                               const float* run_var, i64 n, i64 c, i64 inner,
                                               float eps) {
  GRID_STRIDE(i, n * c * inner) {
    const i64 ch = (i / inner) % c;
    const float sc = (float)(gamma[ch] / sqrt((double)run_var[ch] + (double)eps));
    y[i] = (x[i] - run_mean[ch]) * sc + beta[ch];
  }
}

// dbeta = sum dy, dgamma = sum dy*xhat = (sum dy*x - mean*dbeta)*invstd, then
// dx = gamma*invstd/M * (M*dy - dbeta - xhat*dgamma) as a*dy + k1*(x-mean) + k0, all
// in double. dx may alias dy.
extern "C" __global__ void batchnorm_backward_f32(const float* x, const float* dy, float* dx,
                                                  const float* gamma, const float* mean,
                                                  const float* invstd, float* dgamma, float* dbeta,
                                                  i64 n, i64 c, i64 inner) {
  __shared__ double sh[33];
  const double m = (double)(n * inner);
  for (i64 ch = blockIdx.x; ch < c; ch += gridDim.x) {
    const double mu = mean[ch], is = invstd[ch];
    double sb = 0.0, sx = 0.0;
    CHANNEL_LOOP(k, idx) {
      const double d = dy[idx];
      sb += d;
      sx += d * x[idx];
    }
    sb = block_sum_d(sb, sh);
    sx = block_sum_d(sx, sh);
    const double dg = (sx - mu * sb) * is;
    if (threadIdx.x == 0) {
      dbeta[ch] = (float)sb;
      dgamma[ch] = (float)dg;
    }
    const double a = gamma[ch] * is, k1 = -a * is * dg / m, k0 = -a * sb / m;
    CHANNEL_LOOP(k, idx) dx[idx] = (float)(a * dy[idx] + k1 * (x[idx] - mu) + k0);
  }
}
