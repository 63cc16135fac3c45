// layernorm.cu: Backend.LayerNorm and LayerNormBackward (device/cuda/layernorm.go) over
// rows×cols: each row normalised over its cols values.
//
// The forward pass and dx run one block per row (grid-stride over rows), the statistics
// in two passes (mean, then squared deviations). The parameter gradients are column sums
// over the rows: one block per tile of 32 columns, its 8 groups of 32 lanes each summing
// every 8th row, then a fixed tree over the groups, so the sums are repeatable (no
// atomics).
#include "common.cuh"

// y = (x-mean)*rstd*gamma + beta (beta may be null); mean and rstd saved per row. y may
// alias x.
extern "C" __global__ void layernorm_forward_f32(const float* x, float* y, const float* gamma,
                                                 const float* beta, float* mean, float* rstd,
                                                 i64 rows, i64 cols, float eps) {
  __shared__ float sh[33];
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float s = 0.0f;
    for (i64 c = threadIdx.x; c < cols; c += blockDim.x) s += xr[c];
    const float mu = block_sum(s, sh) / (float)cols;
    float q = 0.0f;
    for (i64 c = threadIdx.x; c < cols; c += blockDim.x) {
      const float d = xr[c] - mu;
      q += d * d;
    }
    const float rs = 1.0f / sqrtf(block_sum(q, sh) / (float)cols + eps);
    if (threadIdx.x == 0) {
      mean[r] = mu;
      rstd[r] = rs;
    }
    for (i64 c = threadIdx.x; c < cols; c += blockDim.x) {
      const float v = (xr[c] - mu) * rs * gamma[c];
      yr[c] = beta ? v + beta[c] : v;
    }
  }
}

// dx = rstd * (g - mean(g) - xhat*mean(g*xhat)), g = dy*gamma, xhat = (x-mean)*rstd.
// dx may alias dy (layernorm_params_backward_f32 reads dy first).
extern "C" __global__ void layernorm_backward_f32(const float* x, const float* dy, float* dx,
                                                  const float* gamma, const float* mean,
                                                  const float* rstd, i64 rows, i64 cols) {
  __shared__ float sh[33];
  for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* xr = x + r * cols;
    const float* dyr = dy + r * cols;
    float* dxr = dx + r * cols;
    const float mu = mean[r], rs = rstd[r];
    float sg = 0.0f, sgx = 0.0f;
    for (i64 c = threadIdx.x; c < cols; c += blockDim.x) {
      const float g = dyr[c] * gamma[c];
      sg += g;
      sgx += g * (xr[c] - mu) * rs;
    }
    const float mg = block_sum(sg, sh) / (float)cols;
    const float mgx = block_sum(sgx, sh) / (float)cols;
    for (i64 c = threadIdx.x; c < cols; c += blockDim.x) {
      const float xhat = (xr[c] - mu) * rs;
      dxr[c] = rs * (dyr[c] * gamma[c] - mg - xhat * mgx);
    }
  }
}

#define LN_LANES 32
#define LN_GROUPS 8

// dgamma[c] += Σ_r dy[r,c]*xhat[r,c]; dbeta[c] += Σ_r dy[r,c] (dbeta may be null).
// Blocks of LN_LANES*LN_GROUPS threads, one per tile of 32 columns (grid-stride).
extern "C" __global__ void layernorm_params_backward_f32(const float* x, const float* dy,
                                                         const float* mean, const float* rstd,
                                                         float* dgamma, float* dbeta, i64 rows,
                                                         i64 cols) {
  __shared__ float shg[LN_LANES * LN_GROUPS];
  __shared__ float shb[LN_LANES * LN_GROUPS];
  const int lane = threadIdx.x % LN_LANES, group = threadIdx.x / LN_LANES;
  const i64 tiles = (cols + LN_LANES - 1) / LN_LANES;
  for (i64 t = blockIdx.x; t < tiles; t += gridDim.x) {
    const i64 c = t * LN_LANES + lane;
    float sg = 0.0f, sb = 0.0f;
    if (c < cols)
      for (i64 r = group; r < rows; r += LN_GROUPS) {
        const float d = dy[r * cols + c];
        sg += d * ((x[r * cols + c] - mean[r]) * rstd[r]);
        sb += d;
      }
    shg[threadIdx.x] = sg;
    shb[threadIdx.x] = sb;
    __syncthreads();
    for (int s = LN_GROUPS / 2; s > 0; s >>= 1) {
      if (group < s) {
        shg[threadIdx.x] += shg[threadIdx.x + s * LN_LANES];
        shb[threadIdx.x] += shb[threadIdx.x + s * LN_LANES];
      }
      __syncthreads();
    }
    if (group == 0 && c < cols) {
      dgamma[c] += shg[threadIdx.x];
      if (dbeta) dbeta[c] += shb[threadIdx.x];
    }
    __syncthreads();
  }
}
