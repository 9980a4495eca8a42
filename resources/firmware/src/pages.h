/*
 * Weights through the page table. A kernel asks a cursor for the weights [off, off + len) of the active
 * model and gets them as runs: each run lies within one page, so its values are contiguous and the
 * kernel's inner loop is a plain pointer walk. The only division is at cursor start; crossing a page
 * costs one table read and one multiply.
 *
 * Pages hold f32 values or int8 codes with one float32 scale per page (the blob's value type). An int8
 * run carries its page's scale, so a kernel applies the scale once per run, never per code: weight =
 * (float)code x scale, and a dot product over a run is scale x sum(input x (float)code).
 */
#ifndef WSEP_PAGES_H
#define WSEP_PAGES_H
#include <stdint.h>

typedef struct {
  uint32_t i8;             /* the value type: 0 f32, 1 int8 codes with per-page scales */
  const float *shared;     /* f32: M x P values, in FRAM */
  const float *exclusive;  /* f32: E_k x P values, in the FRAM exclusive buffer */
  const int8_t *shared_codes;      /* i8: M x P codes, in FRAM */
  const float *shared_scales;      /* i8: M scales, in FRAM */
  const int8_t *exclusive_codes;   /* i8: E_k x P codes, in the FRAM exclusive buffer */
  const float *exclusive_scales;   /* i8: E_k scales, in the FRAM exclusive buffer */
  const uint16_t *table;   /* N_k entries: < M shared slot, else exclusive page entry - M */
  uint32_t shared_pages;   /* M */
  uint32_t page_size;      /* P */
  uint32_t page_count;     /* N_k */
  /* WSEP_CONTIGUOUS builds: the model's weights gathered once per switch, no table at run time (i8:
   * codes in weight order and one scale per page of the model, so runs still end at page ends). */
  const float *contiguous;
  const int8_t *contiguous_codes;
  const float *contiguous_scales;
} wsep_pages_t;

/* One run of weights within a page: `f32` values, or `codes` whose weights are (float)code x scale. */
typedef struct {
  const float *f32;
  const int8_t *codes;
  float scale;
} wsep_run_t;

typedef struct {
  const wsep_pages_t *pages;
  uint32_t page, within, left;
} wsep_cursor_t;

/* (float)code for every int8 code, indexed code + 128: a table read instead of a soft-float int-to-float
 * call per weight on a Cortex-M3 (no FPU). Filled by wsep_pages_init. */
extern float wsep_code_value[256];
void wsep_pages_init(void);

void wsep_cursor_start(wsep_cursor_t *c, const wsep_pages_t *pages, uint32_t off, uint32_t len);

/* The next run: sets *run and returns its length, 0 when the range is done. */
static inline uint32_t wsep_cursor_next(wsep_cursor_t *c, wsep_run_t *run) {
  uint32_t len = c->left;
  if (len == 0) return 0;
  const wsep_pages_t *p = c->pages;
#ifdef WSEP_CONTIGUOUS
  if (!p->i8) {
    run->f32 = p->contiguous + c->within;
    run->codes = 0;
    run->scale = 1.0f;
    c->left = 0;
    return len;
  }
  {
    uint32_t room = p->page_size - c->within;
    if (len > room) len = room;
    run->f32 = 0;
    run->codes = p->contiguous_codes + c->page * p->page_size + c->within;
    run->scale = p->contiguous_scales[c->page];
  }
#else
  uint32_t room = p->page_size - c->within;
  if (len > room) len = room;
  uint32_t entry = p->table[c->page];
  if (p->i8) {
    run->f32 = 0;
    if (entry < p->shared_pages) {
      run->codes = p->shared_codes + entry * p->page_size + c->within;
      run->scale = p->shared_scales[entry];
    } else {
      entry -= p->shared_pages;
      run->codes = p->exclusive_codes + entry * p->page_size + c->within;
      run->scale = p->exclusive_scales[entry];
    }
  } else {
    const float *base = entry < p->shared_pages ? p->shared + entry * p->page_size
                                                : p->exclusive + (entry - p->shared_pages) * p->page_size;
    run->f32 = base + c->within;
    run->codes = 0;
    run->scale = 1.0f;
  }
#endif
  c->within = 0;
  c->page++;
  c->left -= len;
  return len;
}

/* Copies the weight vector into `out` (weight_count values), page by page: the gather of FORMAT.md §5.3
 * (i8: dequantised, (float)code x scale, the value the host runtime gathers). */
void wsep_gather(const wsep_pages_t *pages, uint32_t weight_count, float *out);
/* i8, WSEP_CONTIGUOUS builds: the model's codes in weight order and one scale per page of the model. */
void wsep_gather_codes(const wsep_pages_t *pages, uint32_t weight_count, int8_t *codes, float *scales);
#endif
