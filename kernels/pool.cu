// pool.cu: Backend.Pool and PoolBackward (device/cuda/pool.go): windows of KH×KW every
// SH×SW pixels over x (N,C,H,W) padded by PH, PW; y is (N,C,OH,OW). One thread per
// written element; the backward kernels gather (no atomics), visiting the windows that
// cover an input element in (oy, ox) order, the order a scatter over y adds them in.
#include "common.cuh"

#define POOL_PARAMS \
  i64 n, i64 c, i64 h, i64 w, i64 kh, i64 kw, i64 sh, i64 sw, i64 ph, i64 pw, i64 oh, i64 ow

// y = the window's maximum over its elements inside the image (padding never wins).
extern "C" __global__ void max_pool_forward_f32(const float* x, float* y, POOL_PARAMS) {
  GRID_STRIDE(i, n * c * oh * ow) {
    const i64 plane = i / (oh * ow), oy = (i / ow) % oh, ox = i % ow;
    const float* xp = x + plane * h * w;
    float m = -INFINITY;
    for (i64 ki = 0; ki < kh; ki++) {
      const i64 yy = oy * sh - ph + ki;
      if (yy < 0 || yy >= h) continue;
      for (i64 kj = 0; kj < kw; kj++) {
        const i64 xx = ox * sw - pw + kj;
        if (xx >= 0 && xx < w) m = fmaxf(m, xp[yy * w + xx]);
      }
    }
    y[i] = m;
  }
}

// y = sum of the window's elements inside the image / (KH*KW) (padding counts as 0).
extern "C" __global__ void avg_pool_forward_f32(const float* x, float* y, POOL_PARAMS) {
  GRID_STRIDE(i, n * c * oh * ow) {
    const i64 plane = i / (oh * ow), oy = (i / ow) % oh, ox = i % ow;
    const float* xp = x + plane * h * w;
    float s = 0.0f;
    for (i64 ki = 0; ki < kh; ki++) {
      const i64 yy = oy * sh - ph + ki;
      if (yy < 0 || yy >= h) continue;
      for (i64 kj = 0; kj < kw; kj++) {
        const i64 xx = ox * sw - pw + kj;
        if (xx >= 0 && xx < w) s += xp[yy * w + xx];
      }
    }
    y[i] = s / (float)(kh * kw);
  }
}

// The windows (oy, ox) that cover input row yy: oy*sh - ph <= yy < oy*sh - ph + kh.
static __device__ __forceinline__ void covering(i64 yy, i64 k, i64 s, i64 p, i64 o, i64* lo, i64* hi) {
  const i64 t = yy + p - k + 1;  // oy*s >= t
  *lo = t <= 0 ? 0 : (t + s - 1) / s;
  const i64 u = (yy + p) / s;  // oy*s <= yy + p
  *hi = u < o - 1 ? u : o - 1;
}

// dx[e] = sum of dy over the windows whose first maximum (first element, in row-major
// window order and skipping padding, whose x equals y) is e. dx is overwritten.
extern "C" __global__ void max_pool_backward_f32(const float* x, const float* y, const float* dy,
                                                 float* dx, POOL_PARAMS) {
  GRID_STRIDE(i, n * c * h * w) {
    const i64 plane = i / (h * w), yy = (i / w) % h, xx = i % w;
    const float* xp = x + plane * h * w;
    i64 oy0, oy1, ox0, ox1;
    covering(yy, kh, sh, ph, oh, &oy0, &oy1);
    covering(xx, kw, sw, pw, ow, &ox0, &ox1);
    float s = 0.0f;
    for (i64 oy = oy0; oy <= oy1; oy++) {
      for (i64 ox = ox0; ox <= ox1; ox++) {
        const i64 o = (plane * oh + oy) * ow + ox;
        const float m = y[o];
        i64 first = -1;
        for (i64 ki = 0; ki < kh && first < 0; ki++) {
          const i64 ry = oy * sh - ph + ki;
          if (ry < 0 || ry >= h) continue;
          for (i64 kj = 0; kj < kw; kj++) {
            const i64 rx = ox * sw - pw + kj;
            if (rx >= 0 && rx < w && xp[ry * w + rx] == m) {
              first = ry * w + rx;
              break;
            }
          }
        }
        if (first == yy * w + xx) s += dy[o];
      }
    }
    dx[i] = s;
  }
}

// dx[e] = sum over the windows covering e of dy/(KH*KW). dx is overwritten.
extern "C" __global__ void avg_pool_backward_f32(const float* dy, float* dx, POOL_PARAMS) {
  GRID_STRIDE(i, n * c * h * w) {
    const i64 plane = i / (h * w), yy = (i / w) % h, xx = i % w;
    i64 oy0, oy1, ox0, ox1;
    covering(yy, kh, sh, ph, oh, &oy0, &oy1);
    covering(xx, kw, sw, pw, ow, &ox0, &ox1);
    const float k = (float)(kh * kw);
    float s = 0.0f;
    for (i64 oy = oy0; oy <= oy1; oy++)
      for (i64 ox = ox0; ox <= ox1; ox++) s += dy[(plane * oh + oy) * ow + ox] / k;
    dx[i] = s;
  }
}
