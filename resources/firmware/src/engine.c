#include "engine.h"
#include "blob.h"
#include "crc32.h"
#include "kernels.h"
#include "out.h"
#include "pages.h"
#include "platform.h"
#include "storage.h"

#ifdef WSEP_CONTIGUOUS
#define WEIGHTS_MODE "contiguous"
#else
#define WEIGHTS_MODE "paged"
#endif

static int error(int code, const char *what, const char *why) {
  out_str("error ");
  out_str(what);
  out_str(": ");
  out_str(why);
  out_kv("code", (uint64_t)code);
  out_end();
  return code;
}

static int aligned4(uint32_t v) { return (v & 3u) == 0; }

/* A stored scale is a finite float32 > 0 (docs/FORMAT.md section 3.2): sign clear, not 0, not inf/NaN. */
static int valid_scales(const float *scales, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    union {
      float f;
      uint32_t u;
    } v = {scales[i]};
    if ((v.u >> 31) != 0 || v.u == 0 || ((v.u >> 23) & 0xFFu) == 0xFFu) return 0;
  }
  return 1;
}

/* Bytes of one page in level 2 and in the exclusive buffer: P values, or P codes and the page's scale. */
static uint64_t page_bytes(uint32_t value_type, uint32_t P) {
  return value_type == WSEP_VALUE_I8 ? (uint64_t)P + 4u : (uint64_t)P * 4u;
}

/* [off, off + n) within [0, limit), without overflow. */
static int within(uint64_t off, uint64_t n, uint64_t limit) { return off <= limit && n <= limit - off; }

static int check_fram(const wsep_memory_t *mem, const wsep_fram_header_t *h) {
  if (mem->fram_window < sizeof *h || h->magic != WSEP_FRAM_MAGIC)
    return error(WSEP_EXIT_FRAM_MAGIC, "fram", "bad magic (no WeightSep FRAM image at the FRAM base)");
  if (h->version != WSEP_BLOB_VERSION && h->version != WSEP_BLOB_VERSION_F32_ONLY)
    return error(WSEP_EXIT_FRAM_VERSION, "fram", "unsupported version");
  if (h->total_bytes < sizeof *h || h->total_bytes > mem->fram_window || h->budget_bytes > mem->fram_window)
    return error(WSEP_EXIT_FRAM_SIZE, "fram", "image size outside the FRAM window");
  if (wsep_crc32(0, mem->fram + WSEP_CRC_SKIP, h->total_bytes - WSEP_CRC_SKIP) != h->crc32)
    return error(WSEP_EXIT_FRAM_CRC, "fram", "CRC-32 mismatch");
  int i8 = h->value_type == WSEP_VALUE_I8;
  if (h->value_type != WSEP_VALUE_F32 && !(i8 && h->version == WSEP_BLOB_VERSION))
    return error(WSEP_EXIT_VALUE_TYPE, "fram", "value type not supported by this build (f32, and i8 from version 2)");
  uint64_t value_bytes = (uint64_t)h->page_size * (i8 ? 1u : 4u);
  if (i8 && (!aligned4(h->scales_off) || !within(h->scales_off, (uint64_t)h->shared_pages * 4u, h->total_bytes)))
    return error(WSEP_EXIT_FRAM_SIZE, "fram", "shared scale table outside the image");
  if (h->page_size == 0 || !aligned4(h->shared_off) || !aligned4(h->tables_off) ||
      !within(h->shared_off, value_bytes * h->shared_pages, h->total_bytes) ||
      !within(h->tables_off, (uint64_t)h->model_count * sizeof(wsep_table_ref_t), h->total_bytes) ||
      h->model_count == 0)
    return error(WSEP_EXIT_FRAM_SIZE, "fram", "shared pages or page tables outside the image");
  const wsep_table_ref_t *refs = (const wsep_table_ref_t *)(const void *)(mem->fram + h->tables_off);
  for (uint32_t k = 0; k < h->model_count; k++)
    if (!aligned4(refs[k].off) || !within(refs[k].off, (uint64_t)refs[k].entries * 2u, h->total_bytes))
      return error(WSEP_EXIT_FRAM_SIZE, "fram", "a page table lies outside the image");
  /* The planned buffers follow the image in this order, each 4-aligned, all within the budget. */
  if (!aligned4(h->arena_off) || !aligned4(h->excl_off) || !aligned4(h->desc_off) ||
      h->arena_off < h->total_bytes || h->excl_off < (uint64_t)h->arena_off + h->arena_bytes ||
      h->desc_off < (uint64_t)h->excl_off + h->excl_bytes)
    return error(WSEP_EXIT_FRAM_SIZE, "fram", "buffers overlap the image or each other");
  if ((uint64_t)h->desc_off + h->desc_bytes > h->budget_bytes)
    return error(WSEP_EXIT_FRAM_BUDGET, "fram", "planned layout exceeds the FRAM budget");
  if (i8 && !valid_scales((const float *)(const void *)(mem->fram + h->scales_off), h->shared_pages))
    return error(WSEP_EXIT_SCALES, "fram", "a shared page's scale is not a finite float32 > 0");
  return WSEP_EXIT_OK;
}

static int check_l2(const wsep_memory_t *mem, const wsep_fram_header_t *fh, wsep_l2_header_t *h) {
  if (mem->l2_window < sizeof *h) return error(WSEP_EXIT_L2_MAGIC, "l2", "storage window too small");
  wsep_storage_read(0, h, sizeof *h);
  if (h->magic != WSEP_L2_MAGIC)
    return error(WSEP_EXIT_L2_MAGIC, "l2", "bad magic (no WeightSep storage image at the storage base)");
  if (h->version != WSEP_BLOB_VERSION && h->version != WSEP_BLOB_VERSION_F32_ONLY)
    return error(WSEP_EXIT_L2_VERSION, "l2", "unsupported version");
  if (h->total_bytes < sizeof *h || h->total_bytes > mem->l2_window || h->total_bytes > h->budget_bytes)
    return error(WSEP_EXIT_L2_SIZE, "l2", "image size outside the storage window or budget");
  /* The whole image is checked once at boot, through the driver, in small FRAM-sized chunks. */
  uint8_t chunk[256];
  uint32_t crc = 0;
  for (uint32_t at = WSEP_CRC_SKIP; at < h->total_bytes;) {
    uint32_t n = h->total_bytes - at < sizeof chunk ? h->total_bytes - at : (uint32_t)sizeof chunk;
    wsep_storage_read(at, chunk, n);
    crc = wsep_crc32(crc, chunk, n);
    at += n;
  }
  if (crc != h->crc32) return error(WSEP_EXIT_L2_CRC, "l2", "CRC-32 mismatch");
  if (!within(h->dir_off, (uint64_t)h->model_count * sizeof(wsep_l2_entry_t), h->total_bytes))
    return error(WSEP_EXIT_L2_SIZE, "l2", "model directory outside the image");
  if (h->export_id != fh->export_id || h->model_count != fh->model_count || h->value_type != fh->value_type)
    return error(WSEP_EXIT_MISMATCH, "l2", "storage and FRAM images come from different exports");
  return WSEP_EXIT_OK;
}

static int check_entry(const wsep_l2_header_t *h, const wsep_l2_entry_t *e, uint32_t input_values) {
  uint64_t slice = (uint64_t)e->slice_samples * input_values * 4u;
  return e->name[WSEP_NAME_BYTES - 1] == 0 && aligned4(e->desc_off) && aligned4(e->excl_off) &&
         aligned4(e->slice_off) && within(e->desc_off, e->desc_bytes, h->total_bytes) &&
         within(e->excl_off, e->excl_bytes, h->total_bytes) && within(e->slice_off, slice, h->total_bytes) &&
         within(e->labels_off, e->slice_samples, h->total_bytes);
}

static uint64_t values(uint32_t c, uint32_t h, uint32_t w) { return (uint64_t)c * h * w; }

/* Every layer reads and writes inside the arena and the model's weights: the descriptor is untrusted. */
static const char *check_layers(const wsep_desc_header_t *d, const wsep_layer_t *layers) {
  uint64_t prev = values(d->in_c, d->in_h, d->in_w);
  if (prev == 0 || prev > d->act_values) return "input larger than an activation buffer";
  for (uint32_t i = 0; i < d->layer_count; i++) {
    const wsep_layer_t *l = &layers[i];
    uint64_t in = values(l->in_c, l->in_h, l->in_w), out = values(l->out_c, l->out_h, l->out_w);
    if (in != prev) return "a layer's input does not match the previous layer's output";
    if (out == 0 || out > d->act_values) return "a layer's output is larger than an activation buffer";
    switch (l->op) {
    case WSEP_OP_CONV2D: {
      if (l->k_h == 0 || l->k_w == 0 || l->k_h > WSEP_MAX_KERNEL || l->k_w > WSEP_MAX_KERNEL ||
          l->stride_h == 0 || l->stride_w == 0 || l->pad_top >= l->k_h || l->pad_left >= l->k_w)
        return "a convolution has a bad kernel, stride or padding";
      uint64_t wn = (uint64_t)l->out_c * l->in_c * l->k_h * l->k_w;
      if (!within(l->w_off, wn, d->weight_count)) return "a convolution reads weights past the model's";
      if (l->b_off != WSEP_NO_BIAS && !within(l->b_off, l->out_c, d->weight_count))
        return "a bias lies past the model's weights";
      break;
    }
    case WSEP_OP_GEMM:
      if (!within(l->w_off, (uint64_t)l->out_c * in, d->weight_count) || l->out_h != 1 || l->out_w != 1)
        return "a dense layer reads weights past the model's";
      if (l->b_off != WSEP_NO_BIAS && !within(l->b_off, l->out_c, d->weight_count))
        return "a bias lies past the model's weights";
      break;
    case WSEP_OP_MAXPOOL:
      if (l->k_h == 0 || l->k_w == 0 || l->stride_h == 0 || l->stride_w == 0 || l->out_c != l->in_c ||
          (uint64_t)(l->out_h - 1u) * l->stride_h + l->k_h > l->in_h ||
          (uint64_t)(l->out_w - 1u) * l->stride_w + l->k_w > l->in_w)
        return "a max-pool window reaches outside its input";
      break;
    case WSEP_OP_RELU:
    case WSEP_OP_LEAKYRELU:
      if (out != in) return "an activation changes the shape";
      break;
    default:
      return "unknown operator";
    }
    prev = out;
  }
  if (prev != d->classes) return "the last layer's output is not the class count";
  return 0;
}

typedef struct {
  const wsep_fram_header_t *fh;
  uint8_t *fram;
  uint32_t fram_window;
  float *act[2];
  wsep_pages_t pages;
  const wsep_desc_header_t *desc;
  const wsep_layer_t *layers;
} task_t;

/* Reads model k's descriptor and exclusive pages into FRAM and points the page walker at them. */
static int switch_to(task_t *t, uint32_t k, const wsep_l2_entry_t *e) {
  const wsep_fram_header_t *fh = t->fh;
  const char *name = e->name;
  if (e->desc_bytes < sizeof(wsep_desc_header_t) || e->desc_bytes > fh->desc_bytes)
    return error(WSEP_EXIT_DESCRIPTOR, name, "descriptor larger than the FRAM descriptor buffer");
  uint8_t *dbuf = t->fram + fh->desc_off;
  wsep_storage_read(e->desc_off, dbuf, e->desc_bytes);
  const wsep_desc_header_t *d = (const wsep_desc_header_t *)(const void *)dbuf;
  if (d->magic != WSEP_DESC_MAGIC) return error(WSEP_EXIT_DESCRIPTOR, name, "descriptor has a bad magic");
  if (d->version != WSEP_DESC_VERSION) return error(WSEP_EXIT_DESCRIPTOR, name, "descriptor version");
  if (d->total_bytes != e->desc_bytes ||
      d->total_bytes != sizeof *d + (uint64_t)d->layer_count * sizeof(wsep_layer_t))
    return error(WSEP_EXIT_DESCRIPTOR, name, "descriptor size does not match its layers");
  if (wsep_crc32(0, dbuf + WSEP_CRC_SKIP, d->total_bytes - WSEP_CRC_SKIP) != d->crc32)
    return error(WSEP_EXIT_DESCRIPTOR, name, "descriptor CRC-32 mismatch");
  const wsep_table_ref_t *refs = (const wsep_table_ref_t *)(const void *)(t->fram + fh->tables_off);
  uint64_t P = fh->page_size;
  if (refs[k].entries != d->page_count || (uint64_t)d->page_count * P < d->weight_count ||
      ((uint64_t)d->page_count - 1u) * P >= d->weight_count)
    return error(WSEP_EXIT_DESCRIPTOR, name, "page count does not match the page table");
  if ((uint64_t)d->excl_pages * page_bytes(fh->value_type, fh->page_size) != e->excl_bytes ||
      e->excl_bytes > fh->excl_bytes)
    return error(WSEP_EXIT_DESCRIPTOR, name, "exclusive pages do not fit the FRAM exclusive buffer");
  if ((uint64_t)d->act_values * 8u > fh->arena_bytes)
    return error(WSEP_EXIT_DESCRIPTOR, name, "activations do not fit the FRAM arena");
  const wsep_layer_t *layers = (const wsep_layer_t *)(const void *)(dbuf + sizeof *d);
  const char *why = check_layers(d, layers);
  if (why) return error(WSEP_EXIT_DESCRIPTOR, name, why);
  const uint16_t *table = (const uint16_t *)(const void *)(t->fram + refs[k].off);
  for (uint32_t j = 0; j < d->page_count; j++)
    if (table[j] >= fh->shared_pages + d->excl_pages)
      return error(WSEP_EXIT_DESCRIPTOR, name, "page table entry past the model's pages");
  /* One read per switch: f32 pages, or (i8) the model's scales followed by its codes. */
  uint8_t *excl = t->fram + fh->excl_off;
  wsep_storage_read(e->excl_off, excl, e->excl_bytes);
  int i8 = fh->value_type == WSEP_VALUE_I8;
  const float *excl_scales = (const float *)(const void *)excl;
  if (i8 && !valid_scales(excl_scales, d->excl_pages))
    return error(WSEP_EXIT_SCALES, name, "an exclusive page's scale is not a finite float32 > 0");
  t->pages.i8 = (uint32_t)i8;
  t->pages.shared = (const float *)(const void *)(t->fram + fh->shared_off);
  t->pages.exclusive = (const float *)(const void *)excl;
  t->pages.shared_codes = (const int8_t *)(t->fram + fh->shared_off);
  t->pages.shared_scales = (const float *)(const void *)(t->fram + fh->scales_off);
  t->pages.exclusive_codes = (const int8_t *)(excl + 4u * d->excl_pages);
  t->pages.exclusive_scales = excl_scales;
  t->pages.table = table;
  t->pages.shared_pages = fh->shared_pages;
  t->pages.page_size = fh->page_size;
  t->pages.page_count = d->page_count;
  t->pages.contiguous = 0;
  t->pages.contiguous_codes = 0;
  t->pages.contiguous_scales = 0;
  t->desc = d;
  t->layers = layers;
  return WSEP_EXIT_OK;
}

/* One inference on act[0]; returns the buffer holding the logits. */
static const float *infer(const task_t *t) {
  uint32_t cur = 0;
  for (uint32_t i = 0; i < t->desc->layer_count; i++) {
    const wsep_layer_t *l = &t->layers[i];
    float *in = t->act[cur], *out = t->act[cur ^ 1u];
    uint32_t n = l->out_c * l->out_h * l->out_w;
    switch (l->op) {
    case WSEP_OP_CONV2D:
      wsep_conv2d(l, &t->pages, in, out);
      cur ^= 1u;
      break;
    case WSEP_OP_GEMM:
      wsep_gemm(l, &t->pages, in, out);
      cur ^= 1u;
      break;
    case WSEP_OP_MAXPOOL:
      wsep_maxpool(l, in, out);
      cur ^= 1u;
      break;
    case WSEP_OP_RELU:
      wsep_relu(in, n);
      break;
    case WSEP_OP_LEAKYRELU: {
      union {
        uint32_t u;
        float f;
      } alpha = {l->alpha_bits};
      wsep_leaky_relu(in, n, alpha.f);
      break;
    }
    }
  }
  return t->act[cur];
}

static void print_memory(const wsep_memory_t *mem, const wsep_fram_header_t *fh, const wsep_l2_header_t *lh) {
  const wsep_table_ref_t *refs = (const wsep_table_ref_t *)(const void *)(mem->fram + fh->tables_off);
  uint64_t tables = (uint64_t)fh->model_count * sizeof *refs;
  for (uint32_t k = 0; k < fh->model_count; k++) tables += refs[k].entries * 2u;
  out_str("mem fram");
  out_str(" base=0x");
  out_hex32(mem->fram_base);
  out_kv("budget", fh->budget_bytes);
  out_kv("used", (uint64_t)fh->desc_off + fh->desc_bytes);
  out_kv("image", fh->total_bytes);
  out_str(fh->value_type == WSEP_VALUE_I8 ? " values=i8" : " values=f32");
  out_kv("shared", (uint64_t)fh->shared_pages * page_bytes(fh->value_type, fh->page_size));
  out_kv("tables", tables);
  out_kv("arena", fh->arena_bytes);
  out_kv("exclusive_buffer", fh->excl_bytes);
  out_kv("descriptor_buffer", fh->desc_bytes);
  out_end();
  out_str("mem l2 base=0x");
  out_hex32(mem->l2_base);
  out_kv("budget", lh->budget_bytes);
  out_kv("used", lh->total_bytes);
  out_end();
}

static int run_task(task_t *t, uint32_t k, const wsep_l2_header_t *lh) {
  wsep_l2_entry_t e;
  wsep_storage_read(lh->dir_off + k * (uint32_t)sizeof e, &e, sizeof e);
  if (e.name[WSEP_NAME_BYTES - 1] != 0) return error(WSEP_EXIT_L2_SIZE, "l2", "a model name is not terminated");
  if (!check_entry(lh, &e, 0)) return error(WSEP_EXIT_L2_SIZE, e.name, "descriptor or pages outside the image");
  uint64_t before = wsep_storage_bytes_read();
  int rc = switch_to(t, k, &e);
  if (rc) return rc;
  uint64_t switch_bytes = wsep_storage_bytes_read() - before;
  const wsep_desc_header_t *d = t->desc;
  uint32_t in_values = d->in_c * d->in_h * d->in_w;
  if (!check_entry(lh, &e, in_values)) return error(WSEP_EXIT_L2_SIZE, e.name, "test slice outside the image");
#ifdef WSEP_CONTIGUOUS
  /* The comparison build: the whole model gathered once, after the planned FRAM layout. */
  uint64_t at = (uint64_t)t->fh->desc_off + t->fh->desc_bytes;
  if (t->pages.i8) {
    /* Codes in weight order and one scale per page: the kernels' runs still end at page ends. */
    uint64_t codes_bytes = ((uint64_t)d->page_count * t->fh->page_size + 3u) & ~(uint64_t)3u;
    if (!within(at, codes_bytes + (uint64_t)d->page_count * 4u, t->fram_window))
      return error(WSEP_EXIT_FRAM_BUDGET, e.name, "no room after the layout for the contiguous weights");
    int8_t *codes = (int8_t *)(t->fram + at);
    float *scales = (float *)(void *)(t->fram + at + codes_bytes);
    wsep_gather_codes(&t->pages, d->weight_count, codes, scales);
    t->pages.contiguous_codes = codes;
    t->pages.contiguous_scales = scales;
  } else {
    if (!within(at, (uint64_t)d->weight_count * 4u, t->fram_window))
      return error(WSEP_EXIT_FRAM_BUDGET, e.name, "no room after the layout for the contiguous weights");
    float *all = (float *)(void *)(t->fram + at);
    wsep_gather(&t->pages, d->weight_count, all);
    t->pages.contiguous = all;
  }
#endif
  uint32_t correct = 0;
  uint64_t insns = 0;
  out_str("pred ");
  out_str(e.name);
  for (uint32_t i = 0; i < e.slice_samples; i++) {
    uint8_t label;
    wsep_storage_read(e.slice_off + i * in_values * 4u, t->act[0], in_values * 4u);
    wsep_storage_read(e.labels_off + i, &label, 1);
    uint64_t t0 = wsep_platform_instructions();
    const float *logits = infer(t);
    uint32_t pred = wsep_argmax(logits, d->classes);
    insns += wsep_platform_instructions() - t0;
    if (pred == label) correct++;
    out_str(" ");
    out_u64(pred);
  }
  out_end();
  /* Raw logits (f32 bits) of the first samples, for bit-level comparison with the host build. */
  for (uint32_t i = 0; i < lh->logits_samples && i < e.slice_samples; i++) {
    wsep_storage_read(e.slice_off + i * in_values * 4u, t->act[0], in_values * 4u);
    const float *logits = infer(t);
    out_str("logits ");
    out_str(e.name);
    out_kv("i", i);
    for (uint32_t c = 0; c < d->classes; c++) {
      union {
        float f;
        uint32_t u;
      } v = {logits[c]};
      out_str(" ");
      out_hex32(v.u);
    }
    out_end();
  }
  out_str("task ");
  out_str(e.name);
  out_kv("n", e.slice_samples);
  out_kv("correct", correct);
  out_str(" acc=");
  out_ratio(correct, e.slice_samples ? e.slice_samples : 1u);
  out_kv("insn_per_inf", e.slice_samples ? insns / e.slice_samples : 0u);
  out_kv("l2_bytes_per_switch", switch_bytes);
  out_kv("macs", d->macs);
  out_kv("layers", d->layer_count);
  out_kv("weights", d->weight_count);
  out_kv("exclusive_pages", d->excl_pages);
  out_end();
  return WSEP_EXIT_OK;
}

int wsep_run(const wsep_memory_t *mem) {
  wsep_pages_init();
  out_str("wsep-mcu version=2 board=");
  out_str(WSEP_BOARD_NAME);
  out_str(" weights=" WEIGHTS_MODE);
  out_end();
  const wsep_fram_header_t *fh = (const wsep_fram_header_t *)(const void *)mem->fram;
  int rc = check_fram(mem, fh);
  if (rc) return rc;
  wsep_storage_init(mem->l2, mem->l2_window);
  wsep_l2_header_t lh;
  rc = check_l2(mem, fh, &lh);
  if (rc) return rc;
  uint64_t boot_bytes = wsep_storage_bytes_read();
  print_memory(mem, fh, &lh);
  task_t t;
  t.fh = fh;
  t.fram = mem->fram;
  t.fram_window = mem->fram_window;
  t.act[0] = (float *)(void *)(mem->fram + fh->arena_off);
  t.act[1] = t.act[0] + fh->arena_bytes / 8u;
  for (uint32_t k = 0; k < fh->model_count; k++) {
    rc = run_task(&t, k, &lh);
    if (rc) return rc;
  }
  out_str("done");
  out_kv("tasks", fh->model_count);
  out_kv("l2_bytes_boot", boot_bytes);
  out_kv("l2_bytes_total", wsep_storage_bytes_read());
  out_end();
  return WSEP_EXIT_OK;
}
