// gather.cu: Backend.Gather (device/cuda/gather.go): dst[r,:] = scale * src[idx[r],:]
// for rows of rowLen elements. An index outside [0, srcRows) writes NaN (float) or -1
// (int32): the device cannot return an error without waiting, and the caller validates.
#include "common.cuh"

extern "C" __global__ void gather_f32(float* dst, const float* src, const int* idx, i64 rows,
                                      i64 rowLen, i64 srcRows, float scale) {
  GRID_STRIDE(i, rows * rowLen) {
    const i64 r = i / rowLen, j = i % rowLen;
    const i64 s = idx[r];
    dst[i] = (s >= 0 && s < srcRows) ? scale * src[s * rowLen + j] : NAN;
  }
}

// uint8 rows (raw image bytes kept on the device) widened to float32 and scaled.
extern "C" __global__ void gather_u8_f32(float* dst, const unsigned char* src, const int* idx,
                                         i64 rows, i64 rowLen, i64 srcRows, float scale) {
  GRID_STRIDE(i, rows * rowLen) {
    const i64 r = i / rowLen, j = i % rowLen;
    const i64 s = idx[r];
    dst[i] = (s >= 0 && s < srcRows) ? scale * (float)src[s * rowLen + j] : NAN;
  }
}

// int32 rows (labels); no scale.
extern "C" __global__ void gather_i32(int* dst, const int* src, const int* idx, i64 rows,
                                      i64 rowLen, i64 srcRows) {
  GRID_STRIDE(i, rows * rowLen) {
    const i64 r = i / rowLen, j = i % rowLen;
    const i64 s = idx[r];
    dst[i] = (s >= 0 && s < srcRows) ? src[s * rowLen + j] : -1;
  }
}
