#include "out.h"
#include "platform.h"

/* Lines are built in a buffer and written whole, so a line never interleaves with another writer. */
static char line[160];
static uint32_t used;

static void flush(void) {
  line[used] = 0;
  wsep_platform_puts(line);
  used = 0;
}

static void put(char ch) {
  if (used == sizeof line - 1) flush();
  line[used++] = ch;
}

void out_str(const char *s) {
  while (*s) put(*s++);
}

void out_u64(uint64_t v) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10u);
    v /= 10u;
  } while (v);
  while (n) put(digits[--n]);
}

void out_hex32(uint32_t v) {
  for (int shift = 28; shift >= 0; shift -= 4) put("0123456789abcdef"[(v >> shift) & 15u]);
}

void out_ratio(uint32_t num, uint32_t den) {
  uint64_t millionths = ((uint64_t)num * 1000000u + den / 2u) / den;
  out_u64(millionths / 1000000u);
  put('.');
  uint32_t frac = (uint32_t)(millionths % 1000000u);
  for (uint32_t scale = 100000u; scale; scale /= 10u) put((char)('0' + frac / scale % 10u));
}

void out_kv(const char *key, uint64_t v) {
  put(' ');
  out_str(key);
  put('=');
  out_u64(v);
}

void out_end(void) {
  put('\n');
  flush();
}
