#include "pages.h"

float wsep_code_value[256];

void wsep_pages_init(void) {
  for (int32_t i = 0; i < 256; i++) wsep_code_value[i] = (float)(i - 128);
}

void wsep_cursor_start(wsep_cursor_t *c, const wsep_pages_t *pages, uint32_t off, uint32_t len) {
  c->pages = pages;
  c->left = len;
#ifdef WSEP_CONTIGUOUS
  if (!pages->i8) {
    c->page = 0;
    c->within = off;
    return;
  }
#endif
  c->page = off / pages->page_size;
  c->within = off - c->page * pages->page_size;
}

/* Page j's source: its codes and scale (i8) or values (f32). */
static void page_source(const wsep_pages_t *p, uint32_t j, const float **values, const int8_t **codes,
                        float *scale) {
  uint32_t entry = p->table[j], P = p->page_size, M = p->shared_pages;
  if (p->i8) {
    *values = 0;
    *codes = entry < M ? p->shared_codes + entry * P : p->exclusive_codes + (entry - M) * P;
    *scale = entry < M ? p->shared_scales[entry] : p->exclusive_scales[entry - M];
  } else {
    *values = entry < M ? p->shared + entry * P : p->exclusive + (entry - M) * P;
    *codes = 0;
    *scale = 1.0f;
  }
}

void wsep_gather(const wsep_pages_t *pages, uint32_t weight_count, float *out) {
  uint32_t P = pages->page_size;
  for (uint32_t j = 0, at = 0; at < weight_count; j++, at += P) {
    const float *src;
    const int8_t *codes;
    float scale;
    page_source(pages, j, &src, &codes, &scale);
    uint32_t n = weight_count - at < P ? weight_count - at : P;
    if (codes)
      for (uint32_t i = 0; i < n; i++) out[at + i] = wsep_code_value[codes[i] + 128] * scale;
    else
      for (uint32_t i = 0; i < n; i++) out[at + i] = src[i];
  }
}

void wsep_gather_codes(const wsep_pages_t *pages, uint32_t weight_count, int8_t *codes, float *scales) {
  uint32_t P = pages->page_size;
  for (uint32_t j = 0, at = 0; at < weight_count; j++, at += P) {
    const float *values;
    const int8_t *src;
    page_source(pages, j, &values, &src, &scales[j]);
    uint32_t n = weight_count - at < P ? weight_count - at : P;
    for (uint32_t i = 0; i < n; i++) codes[at + i] = src[i];
  }
}
