/* Line output without printf: the firmware links no C library. */
#ifndef WSEP_OUT_H
#define WSEP_OUT_H
#include <stdint.h>

void out_str(const char *s);
void out_u64(uint64_t v);
void out_hex32(uint32_t v);
/* `num / den` with six decimals, e.g. 0.984375 (den > 0). */
void out_ratio(uint32_t num, uint32_t den);
void out_kv(const char *key, uint64_t v); /* " key=v" */
void out_end(void);                       /* ends the line */
#endif
