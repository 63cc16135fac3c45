// random.cu: Backend.DropoutMask and Augment (device/cuda/random.go), drawing from
// Philox4x32-10 with the stream layout of device.PhiloxUint32 and device.PhiloxBlock, so
// masks and shifts equal the CPU's bit for bit.
#include "common.cuh"

// mask[i] = scale where PhiloxUint32(seed, offset, i)>>8 >= threshold, else 0. One thread
// per Philox block (four elements).
extern "C" __global__ void dropout_mask_f32(float* mask, i64 n, u64 seed, u64 offset,
                                            u64 threshold, float scale) {
  GRID_STRIDE(b, (n + 3) / 4) {
    unsigned w[4];
    philox_block(seed, offset + (u64)b, w);
    for (int k = 0; k < 4; k++) {
      const i64 i = b * 4 + k;
      if (i < n) mask[i] = (u64)(w[k] >> 8) >= threshold ? scale : 0.0f;
    }
  }
}

// y = x (N,C,H,W) shifted and optionally mirrored per image: image img draws
// w = PhiloxBlock(seed, offset+img); dx = w[0] mod (2s+1) - s, dy = w[1] mod (2s+1) - s;
// flipped before the shift when flip != 0 and w[2] is odd. Output pixel (r, c) reads the
// (flipped) input at (r-dy, c-dx); outside the image it is 0. One thread per output.
extern "C" __global__ void augment_f32(const float* x, float* y, i64 n, i64 ch, i64 h, i64 w,
                                       i64 shift, i64 flip, u64 seed, u64 offset) {
  GRID_STRIDE(i, n * ch * h * w) {
    const i64 img = i / (ch * h * w);
    const i64 r = (i / w) % h, c = i % w;
    unsigned blk[4];
    philox_block(seed, offset + (u64)img, blk);
    const i64 span = 2 * shift + 1;
    const i64 dx = (i64)(blk[0] % (unsigned)span) - shift;
    const i64 dy = (i64)(blk[1] % (unsigned)span) - shift;
    const i64 sr = r - dy, sc0 = c - dx;
    float v = 0.0f;
    if (sr >= 0 && sr < h && sc0 >= 0 && sc0 < w) {
      const i64 sc = (flip && (blk[2] & 1u)) ? w - 1 - sc0 : sc0;
      v = x[i - r * w - c + sr * w + sc];
    }
    y[i] = v;
  }
}
