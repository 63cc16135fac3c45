// permute.cu: Backend.Permute (device/cuda/permute.go). The Go side simplifies the
// permutation (device.PermuteArgs.Simplify) and pads it to six axes: y has shape
// (od0, …, od5) and its element at (i0, …, i5) is x[i0*is0 + … + i5*is5], is_k being the
// stride in x of the axis that becomes y's axis k. One thread per element of y: writes
// are coalesced, and so are reads wherever y's last axis is x's.
#include "common.cuh"

extern "C" __global__ void permute_f32(const float* x, float* y, i64 n, i64 od0, i64 od1, i64 od2,
                                       i64 od3, i64 od4, i64 od5, i64 is0, i64 is1, i64 is2, i64 is3,
                                       i64 is4, i64 is5) {
  GRID_STRIDE(o, n) {
    i64 rest = o, src = 0;
    src += (rest % od5) * is5;
    rest /= od5;
    src += (rest % od4) * is4;
    rest /= od4;
    src += (rest % od3) * is3;
    rest /= od3;
    src += (rest % od2) * is2;
    rest /= od2;
    src += (rest % od1) * is1;
    rest /= od1;
    src += rest * is0;
    (void)od0;
    y[o] = x[src];
  }
}
