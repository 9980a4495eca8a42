/* What a board (or the host test driver) provides to the engine. */
#ifndef WSEP_PLATFORM_H
#define WSEP_PLATFORM_H
#include <stdint.h>

/* Writes a NUL-terminated string to the console (the UART on a board). */
void wsep_platform_puts(const char *s);
/* Instructions executed so far (QEMU -icount shift=0 + SysTick); 0 where there is no counter. */
uint64_t wsep_platform_instructions(void);
/* The board's name for the first output line. */
extern const char *const WSEP_BOARD_NAME;
#endif
