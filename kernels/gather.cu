// gather.cu: Backend.Gather and ScatterAdd (device/cuda/gather.go). Gather:
// dst[r,:] = scale * src[idx[r],:] for rows of rowLen elements. An index outside
// [0, srcRows) writes NaN (float) or -1 (int32): the device cannot return an error
// without waiting, and the caller validates.
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

#define SCATTER_IDS 256  // ids staged in shared memory at a time

// ScatterAdd: dst[idx[r],:] += src[r,:] for r < n, rows of rowLen. dst's dstRows rows are
// split into ranges ranges of rows; a block owns a range (grid-stride over ranges) and
// walks all of idx in order, its threads adding the columns of the src rows that land in
// its range. No two blocks write one row and each element's additions run in increasing
// r, as on the CPU: no atomics, the same bits on every run. An id outside [0, dstRows)
// lands in no range and is skipped.
extern "C" __global__ void scatter_add_f32(float* dst, const float* src, const int* idx, i64 n,
                                           i64 rowLen, i64 dstRows, i64 ranges) {
  __shared__ int ids[SCATTER_IDS];
  const i64 per = (dstRows + ranges - 1) / ranges;
  for (i64 g = blockIdx.x; g < ranges; g += gridDim.x) {
    const i64 lo = g * per, hi = lo + per < dstRows ? lo + per : dstRows;
    for (i64 r0 = 0; r0 < n; r0 += SCATTER_IDS) {
      const i64 m = n - r0 < SCATTER_IDS ? n - r0 : SCATTER_IDS;
      __syncthreads();  // the previous chunk's ids are no longer read
      for (i64 k = threadIdx.x; k < m; k += blockDim.x) ids[k] = idx[r0 + k];
      __syncthreads();
      for (i64 k = 0; k < m; k++) {
        const i64 d = ids[k];
        if (d < lo || d >= hi) continue;
        const float* s = src + (r0 + k) * rowLen;
        float* o = dst + d * rowLen;
        for (i64 c = threadIdx.x; c < rowLen; c += blockDim.x) o[c] += s[c];
      }
    }
  }
}
