/*
 * The level-2 storage driver. Kernels never address level 2: everything they use is copied into FRAM
 * through here, as an SPI flash or SD card driver would, and every byte read is counted.
 */
#ifndef WSEP_STORAGE_H
#define WSEP_STORAGE_H
#include <stdint.h>

void wsep_storage_init(const uint8_t *base, uint32_t size);
/* Copies n bytes at offset `off` into dst; returns 0, or -1 when the range lies outside the storage. */
int wsep_storage_read(uint32_t off, void *dst, uint32_t n);
uint64_t wsep_storage_bytes_read(void);
#endif
