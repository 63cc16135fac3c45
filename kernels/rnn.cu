// rnn.cu: Backend.RNNCell and RNNCellBackward (device/cuda/rnn.go): the elementwise part
// of one LSTM or GRU step, one thread per (row b, unit j) of batch×hidden, reading and
// writing gate k of unit j at [b, k*hidden + j] of the (batch, G*hidden) buffers (PyTorch's
// gate order). Each thread reads all it needs before it writes, so acts may alias gx and
// dcprev dc (dhprev dh). Optional buffers are null.
#include "common.cuh"

static __device__ __forceinline__ float sigmoidf(float v) { return 1.0f / (1.0f + expf(-v)); }

#define UNIT_LOOP(s, b, j, batch, hidden) \
  GRID_STRIDE(s, (batch) * (hidden))      \
  if (const i64 b = s / (hidden), j = s % (hidden); true)

// LSTM: a = gx (+ gh); i, f, g, o = σ(a_i), σ(a_f), tanh(a_g), σ(a_o);
// c = f*cprev + i*g; h = o*tanh(c).
extern "C" __global__ void lstm_cell_forward_f32(const float* gx, const float* gh, float* acts,
                                                 const float* cprev, float* h, float* c, i64 batch,
                                                 i64 hidden) {
  UNIT_LOOP(s, b, j, batch, hidden) {
    const i64 k = b * 4 * hidden + j;
    float a[4];
    for (int q = 0; q < 4; q++) a[q] = gx[k + q * hidden] + (gh ? gh[k + q * hidden] : 0.0f);
    const float i = sigmoidf(a[0]), f = sigmoidf(a[1]), g = tanhf(a[2]), o = sigmoidf(a[3]);
    const float cc = f * (cprev ? cprev[s] : 0.0f) + i * g;
    acts[k] = i;
    acts[k + hidden] = f;
    acts[k + 2 * hidden] = g;
    acts[k + 3 * hidden] = o;
    c[s] = cc;
    h[s] = o * tanhf(cc);
  }
}

// dc = dc_next + dh*o*(1-tanh²c); dgx = (dc*g*i(1-i), dc*cprev*f(1-f), dc*i*(1-g²),
// dh*tanh(c)*o(1-o)); dcprev = dc*f.
extern "C" __global__ void lstm_cell_backward_f32(const float* acts, const float* cprev,
                                                  const float* c, const float* dh, const float* dc,
                                                  float* dgx, float* dcprev, i64 batch, i64 hidden) {
  UNIT_LOOP(s, b, j, batch, hidden) {
    const i64 k = b * 4 * hidden + j;
    const float i = acts[k], f = acts[k + hidden], g = acts[k + 2 * hidden], o = acts[k + 3 * hidden];
    const float tc = tanhf(c[s]), d = dh[s];
    const float dcs = d * o * (1.0f - tc * tc) + (dc ? dc[s] : 0.0f);
    const float cp = cprev ? cprev[s] : 0.0f;
    dgx[k] = dcs * g * i * (1.0f - i);
    dgx[k + hidden] = dcs * cp * f * (1.0f - f);
    dgx[k + 2 * hidden] = dcs * i * (1.0f - g * g);
    dgx[k + 3 * hidden] = d * tc * o * (1.0f - o);
    if (dcprev) dcprev[s] = dcs * f;
  }
}

// GRU: r, z = σ(gx + gh); n = tanh(gx_n + r*gh_n); h = (1-z)*n + z*hprev.
extern "C" __global__ void gru_cell_forward_f32(const float* gx, const float* gh, float* acts,
                                                const float* hprev, float* h, i64 batch, i64 hidden) {
  UNIT_LOOP(s, b, j, batch, hidden) {
    const i64 k = b * 3 * hidden + j;
    const float r = sigmoidf(gx[k] + gh[k]);
    const float z = sigmoidf(gx[k + hidden] + gh[k + hidden]);
    const float n = tanhf(gx[k + 2 * hidden] + r * gh[k + 2 * hidden]);
    acts[k] = r;
    acts[k + hidden] = z;
    acts[k + 2 * hidden] = n;
    h[s] = (1.0f - z) * n + z * (hprev ? hprev[s] : 0.0f);
  }
}

// dn = dh*(1-z)*(1-n²), dz = dh*(hprev-n)*z(1-z), dr = dn*gh_n*r(1-r);
// dgx = (dr, dz, dn), dgh = (dr, dz, dn*r), dhprev = dh*z.
extern "C" __global__ void gru_cell_backward_f32(const float* acts, const float* gh,
                                                 const float* hprev, const float* dh, float* dgx,
                                                 float* dgh, float* dhprev, i64 batch, i64 hidden) {
  UNIT_LOOP(s, b, j, batch, hidden) {
    const i64 k = b * 3 * hidden + j;
    const float r = acts[k], z = acts[k + hidden], n = acts[k + 2 * hidden];
    const float d = dh[s], hp = hprev ? hprev[s] : 0.0f;
    const float dn = d * (1.0f - z) * (1.0f - n * n);
    const float dz = d * (hp - n) * z * (1.0f - z);
    const float dr = dn * gh[k + 2 * hidden] * r * (1.0f - r);
    dgx[k] = dr;
    dgx[k + hidden] = dz;
    dgx[k + 2 * hidden] = dn;
    dgh[k] = dr;
    dgh[k + hidden] = dz;
    dgh[k + 2 * hidden] = dn * r;
    if (dhprev) dhprev[s] = d * z;
  }
}
