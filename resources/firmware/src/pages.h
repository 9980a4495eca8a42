/*
 * Weights through the page table. A kernel asks a cursor for the weights [off, off + len) of the active
 * model and gets them as runs: each run lies within one page, so its values are contiguous and the
 * kernel's inner loop is a plain pointer walk. The only division is at cursor start; crossing a page
 * costs one table read and one multiply. An int8 build will add a scale per run (one per page slot).
 */
#ifndef WSEP_PAGES_H
#define WSEP_PAGES_H
#include <stdint.h>

typedef struct {
  const float *shared;     /* M x P values, in FRAM */
  const float *exclusive;  /* E_k x P values, in the FRAM exclusive buffer */
  const uint16_t *table;   /* N_k entries: < M shared slot, else exclusive page entry - M */
  uint32_t shared_pages;   /* M */
  uint32_t page_size;      /* P */
  uint32_t page_count;     /* N_k */
  /* WSEP_CONTIGUOUS builds: the model's weights gathered once per switch, no table at run time. */
  const float *contiguous;
} wsep_pages_t;

typedef struct {
  const wsep_pages_t *pages;
  uint32_t page, within, left;
} wsep_cursor_t;

void wsep_cursor_start(wsep_cursor_t *c, const wsep_pages_t *pages, uint32_t off, uint32_t len);

/* The next run: sets *run and returns its length, 0 when the range is done. */
static inline uint32_t wsep_cursor_next(wsep_cursor_t *c, const float **run) {
  uint32_t len = c->left;
  if (len == 0) return 0;
#ifdef WSEP_CONTIGUOUS
  *run = c->pages->contiguous + c->within;
  c->left = 0;
  return len;
#else
  const wsep_pages_t *p = c->pages;
  uint32_t room = p->page_size - c->within;
  if (len > room) len = room;
  uint32_t entry = p->table[c->page];
  const float *base = entry < p->shared_pages ? p->shared + entry * p->page_size
                                              : p->exclusive + (entry - p->shared_pages) * p->page_size;
  *run = base + c->within;
  c->within = 0;
  c->page++;
  c->left -= len;
  return len;
#endif
}

/* Copies the weight vector into `out` (weight_count values), page by page: the gather of FORMAT.md §5.3. */
void wsep_gather(const wsep_pages_t *pages, uint32_t weight_count, float *out);
#endif
