#include "kernels.h"

/* Weight i of a run: the f32 value, or (float)code x scale (the stored value, rounded once as the host
 * runtime's dequantisation rounds it). */
static inline float run_value(const wsep_run_t *r, uint32_t i) {
  return r->codes ? wsep_code_value[r->codes[i] + 128] * r->scale : r->f32[i];
}

/* Adds the bias (one value per output channel) through the page cursor. */
static void add_bias(const wsep_pages_t *w, uint32_t b_off, uint32_t channels, uint32_t plane, float *out) {
  if (b_off == WSEP_NO_BIAS) return;
  wsep_cursor_t c;
  wsep_run_t run;
  uint32_t len, ch = 0;
  wsep_cursor_start(&c, w, b_off, channels);
  while ((len = wsep_cursor_next(&c, &run)) != 0) {
    for (uint32_t i = 0; i < len; i++, ch++) {
      float b = run_value(&run, i);
      float *o = out + ch * plane;
      for (uint32_t p = 0; p < plane; p++) o[p] += b;
    }
  }
}

/*
 * Weight-stationary convolution: each weight is read once, through the cursor, and applied to every
 * output position it touches. The valid output rows and columns for each kernel offset are computed
 * once per layer (no division per weight), so the inner loop is a strided multiply-add. An int8 weight is
 * dequantised once, (float)code x scale, and then applied to its out_h x out_w positions: one multiply
 * per weight, not per MAC (the accumulations mix weights of many pages, so no scale factors out).
 */
void wsep_conv2d(const wsep_layer_t *l, const wsep_pages_t *w, const float *in, float *out) {
  uint32_t oy_lo[WSEP_MAX_KERNEL], oy_hi[WSEP_MAX_KERNEL], ox_lo[WSEP_MAX_KERNEL], ox_hi[WSEP_MAX_KERNEL];
  uint32_t plane = l->out_h * l->out_w, in_plane = l->in_h * l->in_w;
  for (uint32_t k = 0; k < l->k_h; k++) {
    /* rows oy with 0 <= oy*stride + k - pad < in_h */
    uint32_t lo = 0, hi = 0;
    while (lo < l->out_h && lo * l->stride_h + k < l->pad_top) lo++;
    hi = lo;
    while (hi < l->out_h && hi * l->stride_h + k < l->pad_top + l->in_h) hi++;
    oy_lo[k] = lo;
    oy_hi[k] = hi;
  }
  for (uint32_t k = 0; k < l->k_w; k++) {
    uint32_t lo = 0, hi = 0;
    while (lo < l->out_w && lo * l->stride_w + k < l->pad_left) lo++;
    hi = lo;
    while (hi < l->out_w && hi * l->stride_w + k < l->pad_left + l->in_w) hi++;
    ox_lo[k] = lo;
    ox_hi[k] = hi;
  }
  for (uint32_t i = 0; i < l->out_c * plane; i++) out[i] = 0.0f;

  wsep_cursor_t c;
  wsep_run_t run;
  uint32_t len, co = 0, ci = 0, ky = 0, kx = 0;
  wsep_cursor_start(&c, w, l->w_off, l->out_c * l->in_c * l->k_h * l->k_w);
  while ((len = wsep_cursor_next(&c, &run)) != 0) {
    for (uint32_t i = 0; i < len; i++) {
      float wv = run_value(&run, i);
      float *o = out + co * plane;
      const float *x = in + ci * in_plane;
      uint32_t x0 = ox_lo[kx], x1 = ox_hi[kx];
      for (uint32_t oy = oy_lo[ky]; oy < oy_hi[ky]; oy++) {
        const float *xr = x + (oy * l->stride_h + ky - l->pad_top) * l->in_w + kx - l->pad_left;
        float *orow = o + oy * l->out_w;
        if (l->stride_w == 1) {
          for (uint32_t ox = x0; ox < x1; ox++) orow[ox] += wv * xr[ox];
        } else {
          for (uint32_t ox = x0; ox < x1; ox++) orow[ox] += wv * xr[ox * l->stride_w];
        }
      }
      if (++kx == l->k_w) {
        kx = 0;
        if (++ky == l->k_h) {
          ky = 0;
          if (++ci == l->in_c) {
            ci = 0;
            co++;
          }
        }
      }
    }
  }
  add_bias(w, l->b_off, l->out_c, plane, out);
}

/*
 * y = W x + b with W [out_c][in_c] (ONNX Gemm, transB = 1): rows are contiguous in page space. For int8
 * pages the scale is factored out of each part of a row that lies in one page: acc += scale x
 * sum(x x (float)code), one multiply per page part instead of one per weight (the rounding differs from
 * a per-weight dequantisation in the last bits; README.md, "int8 pages").
 */
void wsep_gemm(const wsep_layer_t *l, const wsep_pages_t *w, const float *in, float *out) {
  uint32_t K = l->in_c * l->in_h * l->in_w, N = l->out_c;
  wsep_cursor_t c;
  wsep_run_t run;
  uint32_t len, n = 0, k = 0;
  float acc = 0.0f;
  wsep_cursor_start(&c, w, l->w_off, N * K);
  while ((len = wsep_cursor_next(&c, &run)) != 0) {
    while (len > 0) {
      uint32_t seg = K - k < len ? K - k : len;
      const float *x = in + k;
      if (run.codes) {
        float part = 0.0f;
        for (uint32_t t = 0; t < seg; t++) part += x[t] * wsep_code_value[run.codes[t] + 128];
        acc += part * run.scale;
        run.codes += seg;
      } else {
        for (uint32_t t = 0; t < seg; t++) acc += run.f32[t] * x[t];
        run.f32 += seg;
      }
      len -= seg;
      k += seg;
      if (k == K) {
        out[n++] = acc;
        acc = 0.0f;
        k = 0;
      }
    }
  }
  add_bias(w, l->b_off, N, 1, out);
}

void wsep_maxpool(const wsep_layer_t *l, const float *in, float *out) {
  for (uint32_t ch = 0; ch < l->out_c; ch++) {
    const float *x = in + ch * l->in_h * l->in_w;
    float *o = out + ch * l->out_h * l->out_w;
    for (uint32_t oy = 0; oy < l->out_h; oy++) {
      for (uint32_t ox = 0; ox < l->out_w; ox++) {
        const float *win = x + oy * l->stride_h * l->in_w + ox * l->stride_w;
        float best = win[0];
        for (uint32_t ky = 0; ky < l->k_h; ky++)
          for (uint32_t kx = 0; kx < l->k_w; kx++) {
            float v = win[ky * l->in_w + kx];
            if (v > best) best = v;
          }
        o[oy * l->out_w + ox] = best;
      }
    }
  }
}

void wsep_relu(float *x, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (x[i] < 0.0f) x[i] = 0.0f;
}

void wsep_leaky_relu(float *x, uint32_t n, float alpha) {
  for (uint32_t i = 0; i < n; i++)
    if (x[i] < 0.0f) x[i] = alpha * x[i];
}

uint32_t wsep_argmax(const float *x, uint32_t n) {
  uint32_t best = 0;
  for (uint32_t i = 1; i < n; i++)
    if (x[i] > x[best]) best = i;
  return best;
}
