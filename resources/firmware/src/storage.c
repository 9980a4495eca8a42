#include "storage.h"

static const uint8_t *storage_base;
static uint32_t storage_size;
static uint64_t bytes_read;

void wsep_storage_init(const uint8_t *base, uint32_t size) {
  storage_base = base;
  storage_size = size;
  bytes_read = 0;
}

int wsep_storage_read(uint32_t off, void *dst, uint32_t n) {
  if (off > storage_size || n > storage_size - off) return -1;
  const uint8_t *src = storage_base + off;
  uint8_t *d = (uint8_t *)dst;
  /* Word copies when both ends are aligned (the exporter aligns everything to 4 bytes). */
  if ((((uintptr_t)src | (uintptr_t)d | n) & 3u) == 0) {
    const uint32_t *s4 = (const uint32_t *)(const void *)src;
    uint32_t *d4 = (uint32_t *)(void *)d;
    for (uint32_t i = 0; i < n / 4u; i++) d4[i] = s4[i];
  } else {
    for (uint32_t i = 0; i < n; i++) d[i] = src[i];
  }
  bytes_read += n;
  return 0;
}

uint64_t wsep_storage_bytes_read(void) { return bytes_read; }
