#include "pages.h"

void wsep_cursor_start(wsep_cursor_t *c, const wsep_pages_t *pages, uint32_t off, uint32_t len) {
  c->pages = pages;
  c->left = len;
#ifdef WSEP_CONTIGUOUS
  c->page = 0;
  c->within = off;
#else
  c->page = off / pages->page_size;
  c->within = off - c->page * pages->page_size;
#endif
}

void wsep_gather(const wsep_pages_t *pages, uint32_t weight_count, float *out) {
  uint32_t P = pages->page_size, M = pages->shared_pages;
  for (uint32_t j = 0, at = 0; at < weight_count; j++, at += P) {
    uint32_t entry = pages->table[j];
    const float *src = entry < M ? pages->shared + entry * P : pages->exclusive + (entry - M) * P;
    uint32_t n = weight_count - at < P ? weight_count - at : P;
    for (uint32_t i = 0; i < n; i++) out[at + i] = src[i];
  }
}
