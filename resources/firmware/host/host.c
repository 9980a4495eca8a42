/*
 * The test driver for the host: the same engine and kernels, compiled with the host's gcc, reading the
 * two blobs from files. Tests compare its output with onnxruntime's and with the firmware's under QEMU
 * (both builds use -ffp-contract=off, so their f32 arithmetic is the same operation by operation).
 * Usage: wsep-host <fram.bin> <storage.bin>; the exit code is the engine's.
 */
#include <stdio.h>
#include <stdlib.h>
#include "../src/engine.h"
#include "../src/platform.h"

const char *const WSEP_BOARD_NAME = "host";

void wsep_platform_puts(const char *s) { fputs(s, stdout); }
uint64_t wsep_platform_instructions(void) { return 0; }

/* The file in a buffer of `window` bytes (at least the file), zero-filled beyond it as QEMU's RAM is. */
static uint8_t *load(const char *path, uint32_t *window) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(1);
  }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  if ((uint64_t)size > *window) *window = (uint32_t)size;
  uint8_t *buf = calloc(*window, 1);
  if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(1);
  }
  fclose(f);
  return buf;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s fram.bin storage.bin\n", argv[0]);
    return 1;
  }
  uint32_t fram_window = 8u << 20, l2_window = 8u << 20;
  uint8_t *fram = load(argv[1], &fram_window);
  uint8_t *l2 = load(argv[2], &l2_window);
  wsep_memory_t mem = {fram, 0x21000000u, fram_window, l2, 0x21800000u, l2_window};
  int rc = wsep_run(&mem);
  fflush(stdout);
  return rc;
}
