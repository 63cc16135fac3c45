// precision.cu: Backend.Cast and Backend.Unscale (device/cuda/precision.go), and the
// casts of Gemm's float32 operands in the BF16 and FP16 precisions (device/cuda/matmul.go).
// The roundings are common.cuh's bf16_bits and f16_bits: the same bits as the CPU.
#include "common.cuh"

extern "C" __global__ void cast_f32_to_bf16(const float* x, unsigned short* y, i64 n) {
  GRID_STRIDE(i, n) { y[i] = bf16_bits(x[i]); }
}

extern "C" __global__ void cast_bf16_to_f32(const unsigned short* x, float* y, i64 n) {
  GRID_STRIDE(i, n) { y[i] = bf16_f32(x[i]); }
}

extern "C" __global__ void cast_f32_to_f16(const float* x, unsigned short* y, i64 n) {
  GRID_STRIDE(i, n) { y[i] = f16_bits(x[i]); }
}

extern "C" __global__ void cast_f16_to_f32(const unsigned short* x, float* y, i64 n) {
  GRID_STRIDE(i, n) { y[i] = f16_f32(x[i]); }
}

// x *= inv; found[0] = 1 when any x was ±Inf or NaN (every thread that sees one stores
// the same 1: no atomics, and the result does not depend on which).
extern "C" __global__ void unscale_f32(float* x, float* found, i64 n, float inv) {
  bool bad = false;
  GRID_STRIDE(i, n) {
    const float v = x[i];
    bad |= (f32_bits(v) & 0x7f800000u) == 0x7f800000u;
    x[i] = v * inv;
  }
  if (bad) found[0] = 1.0f;
}
