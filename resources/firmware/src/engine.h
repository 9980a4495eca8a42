/* The firmware's work, independent of the board: check the blobs, run every task, report. */
#ifndef WSEP_ENGINE_H
#define WSEP_ENGINE_H
#include <stdint.h>

/* Exit codes (README.md, "Exit codes"). 1 is left to QEMU's own failures. */
enum {
  WSEP_EXIT_OK = 0,
  WSEP_EXIT_FRAM_MAGIC = 2,
  WSEP_EXIT_FRAM_VERSION = 3,
  WSEP_EXIT_FRAM_SIZE = 4,
  WSEP_EXIT_FRAM_CRC = 5,
  WSEP_EXIT_L2_MAGIC = 6,
  WSEP_EXIT_L2_VERSION = 7,
  WSEP_EXIT_L2_SIZE = 8,
  WSEP_EXIT_L2_CRC = 9,
  WSEP_EXIT_DESCRIPTOR = 10,
  WSEP_EXIT_FRAM_BUDGET = 11,
  WSEP_EXIT_MISMATCH = 12,
  WSEP_EXIT_FAULT = 13,
  WSEP_EXIT_VALUE_TYPE = 14,
  WSEP_EXIT_SCALES = 15,
};

typedef struct {
  uint8_t *fram;          /* level 1, where the FRAM blob was loaded */
  uint32_t fram_base;     /* its address as the board names it (for the memory map) */
  uint32_t fram_window;   /* bytes the board maps there */
  const uint8_t *l2;      /* level 2, where the storage blob was loaded */
  uint32_t l2_base;
  uint32_t l2_window;
} wsep_memory_t;

int wsep_run(const wsep_memory_t *mem);
#endif
