// conv.cu: Backend.Im2Col and Col2Im (device/cuda/conv.go) for a ConvGeom: x is
// (N,C,H,W), col is (N, C*KH*KW, OH*OW). Both kernels run one thread per written element
// and never use atomics: Col2Im gathers, for each input element, the col entries that
// read it, in (kh, kw) order, which is the order a scatter over col adds them in, so the
// sums are repeatable and match the CPU's.
#include "common.cuh"

// col[n, (c*KH+i)*KW+j, y*OW+x] = x[n, c, y*SH-PH+i, x*SW-PW+j], 0 in the padding.
extern "C" __global__ void im2col_f32(const float* x, float* col, i64 n, i64 c, i64 h, i64 w,
                                      i64 kh, i64 kw, i64 sh, i64 sw, i64 ph, i64 pw, i64 oh,
                                      i64 ow) {
  const i64 rows = c * kh * kw, cols = oh * ow;
  GRID_STRIDE(i, n * rows * cols) {
    const i64 img = i / (rows * cols), row = (i / cols) % rows, pos = i % cols;
    const i64 ch = row / (kh * kw), ki = (row / kw) % kh, kj = row % kw;
    const i64 yy = (pos / ow) * sh - ph + ki, xx = (pos % ow) * sw - pw + kj;
    col[i] = (yy >= 0 && yy < h && xx >= 0 && xx < w) ? x[((img * c + ch) * h + yy) * w + xx] : 0.0f;
  }
}

// dx[n,c,y,x] = sum over (ki, kj), in that order, of the col entry whose window puts
// (ki, kj) on (y, x). dx is overwritten.
extern "C" __global__ void col2im_f32(const float* col, float* dx, i64 n, i64 c, i64 h, i64 w,
                                      i64 kh, i64 kw, i64 sh, i64 sw, i64 ph, i64 pw, i64 oh,
                                      i64 ow) {
  const i64 rows = c * kh * kw, cols = oh * ow;
  GRID_STRIDE(i, n * c * h * w) {
    const i64 img = i / (c * h * w), ch = (i / (h * w)) % c, yy = (i / w) % h, xx = i % w;
    float s = 0.0f;
    for (i64 ki = 0; ki < kh; ki++) {
      const i64 ty = yy + ph - ki;  // = oy*sh
      if (ty < 0 || ty % sh != 0 || ty / sh >= oh) continue;
      for (i64 kj = 0; kj < kw; kj++) {
        const i64 tx = xx + pw - kj;
        if (tx < 0 || tx % sw != 0 || tx / sw >= ow) continue;
        s += col[(img * rows + (ch * kh + ki) * kw + kj) * cols + (ty / sh) * ow + tx / sw];
      }
    }
    dx[i] = s;
  }
}
