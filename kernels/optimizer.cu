// optimizer.cu: Backend.Update (device/cuda/optimizer.go), Keras' formulas (see
// device.OptOp). p is the parameter, g its gradient, m and v the optimizer state.
#include "common.cuh"

// p -= lr*g.
extern "C" __global__ void sgd_update_f32(float* p, const float* g, i64 n, float lr) {
  GRID_STRIDE(i, n) { p[i] -= lr * g[i]; }
}

// m = mom*m - lr*g; p += m, or p += mom*m - lr*g when nesterov != 0.
extern "C" __global__ void momentum_update_f32(float* p, const float* g, float* m, i64 n, float lr,
                                               float mom, i64 nesterov) {
  GRID_STRIDE(i, n) {
    const float gi = g[i];
    const float mi = mom * m[i] - lr * gi;
    m[i] = mi;
    p[i] += nesterov ? mom * mi - lr * gi : mi;
  }
}

// AdamW's decay when decay != 0 (p -= decay*p with decay = LR*WeightDecay), then Adam:
// m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g²; p -= step*m/(√v + eps), with step =
// Hyper.AdamStepSize() computed on the host.
extern "C" __global__ void adam_update_f32(float* p, const float* g, float* m, float* v, i64 n,
                                           float b1, float b2, float eps, float step, float decay) {
  GRID_STRIDE(i, n) {
    float pi = p[i];
    if (decay != 0.0f) pi -= decay * pi;
    const float gi = g[i];
    const float mi = b1 * m[i] + (1.0f - b1) * gi;
    const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step * mi / (sqrtf(vi) + eps);
  }
}

// ---- the same updates writing the new parameter's 16-bit copy (Hyper.Half) as well:
// half[i] = the new p[i] rounded to bfloat16 (half_type 0) or binary16 (1). The
// parameter's arithmetic is the kernels' above, statement for statement.

extern "C" __global__ void sgd_update_copy_f32(float* p, const float* g, i64 n, float lr,
                                               unsigned short* half, i64 half_type) {
  GRID_STRIDE(i, n) {
    const float pi = p[i] - lr * g[i];
    p[i] = pi;
    half[i] = half_bits(pi, half_type);
  }
}

extern "C" __global__ void momentum_update_copy_f32(float* p, const float* g, float* m, i64 n,
                                                    float lr, float mom, i64 nesterov,
                                                    unsigned short* half, i64 half_type) {
  GRID_STRIDE(i, n) {
    const float gi = g[i];
    const float mi = mom * m[i] - lr * gi;
    m[i] = mi;
    const float pi = p[i] + (nesterov ? mom * mi - lr * gi : mi);
    p[i] = pi;
    half[i] = half_bits(pi, half_type);
  }
}

extern "C" __global__ void adam_update_copy_f32(float* p, const float* g, float* m, float* v,
                                                i64 n, float b1, float b2, float eps, float step,
                                                float decay, unsigned short* half, i64 half_type) {
  GRID_STRIDE(i, n) {
    float pi = p[i];
    if (decay != 0.0f) pi -= decay * pi;
    const float gi = g[i];
    const float mi = b1 * m[i] + (1.0f - b1) * gi;
    const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    pi = pi - step * mi / (sqrtf(vi) + eps);
    p[i] = pi;
    half[i] = half_bits(pi, half_type);
  }
}
