#ifndef WSEP_CRC32_H
#define WSEP_CRC32_H
#include <stdint.h>
/* CRC-32 (IEEE 802.3, reflected, as zlib's crc32): start with 0, feed chunks in order. */
uint32_t wsep_crc32(uint32_t crc, const uint8_t *p, uint32_t n);
#endif
