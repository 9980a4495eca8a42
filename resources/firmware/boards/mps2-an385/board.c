/*
 * mps2-an385 under QEMU: vector table and reset (.data copy, .bss zero), CMSDK UART0 output, SysTick on
 * the CPU clock as an instruction counter (exact under `-icount shift=0`: one instruction per ns, one
 * tick per 1e9 / WSEP_SYSCLK_HZ ns), and the exit code through semihosting SYS_EXIT_EXTENDED.
 */
#include <stdint.h>
#include "../../src/engine.h"
#include "../../src/platform.h"

#ifndef WSEP_FRAM_BASE
#error "WSEP_FRAM_BASE, WSEP_FRAM_WINDOW, WSEP_L2_BASE, WSEP_L2_WINDOW and WSEP_SYSCLK_HZ come from board.json"
#endif

const char *const WSEP_BOARD_NAME = "mps2-an385";

#define REG(addr) (*(volatile uint32_t *)(addr))
#define UART0 0x40004000u
#define UART_DATA REG(UART0 + 0x0u)
#define UART_STATE REG(UART0 + 0x4u)
#define UART_CTRL REG(UART0 + 0x8u)
#define UART_BAUDDIV REG(UART0 + 0x10u)
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define SYST_RELOAD 0x00FFFFFFu

static volatile uint32_t systick_wraps;

void wsep_platform_puts(const char *s) {
  for (; *s; s++) {
    while (UART_STATE & 1u) {
    }
    UART_DATA = (uint8_t)*s;
  }
}

uint64_t wsep_platform_instructions(void) {
  uint32_t wraps, value;
  do {
    wraps = systick_wraps;
    value = SYST_CVR;
  } while (wraps != systick_wraps);
  uint64_t ticks = (uint64_t)wraps * (SYST_RELOAD + 1u) + (SYST_RELOAD - value);
  return ticks * (1000000000u / WSEP_SYSCLK_HZ);
}

static int semihost(uint32_t op, const void *arg) {
  register uint32_t r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return (int)r0;
}

static void __attribute__((noreturn)) board_exit(int code) {
  const uint32_t block[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, (uint32_t)code};
  semihost(0x20u /* SYS_EXIT_EXTENDED */, block);
  for (;;) {
  }
}

static void systick_handler(void) { systick_wraps++; }

static void fault_handler(void) {
  wsep_platform_puts("error fault: the CPU took a fault (HardFault) code=13\n");
  board_exit(WSEP_EXIT_FAULT);
}

extern uint32_t __stack_top, __data_load, __data_start, __data_end, __bss_start, __bss_end;

void wsep_reset(void) {
  const uint32_t *src = &__data_load;
  for (uint32_t *dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (uint32_t *dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
  UART_BAUDDIV = 16u;
  UART_CTRL = 1u; /* TX enable */
  SYST_RVR = SYST_RELOAD;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* processor clock, interrupt on wrap, enable */
  wsep_memory_t mem = {
      (uint8_t *)WSEP_FRAM_BASE, WSEP_FRAM_BASE, WSEP_FRAM_WINDOW,
      (const uint8_t *)WSEP_L2_BASE, WSEP_L2_BASE, WSEP_L2_WINDOW,
  };
  board_exit(wsep_run(&mem));
}

typedef void (*vector_t)(void);
__attribute__((section(".vectors"), used)) static const vector_t vectors[16] = {
    (vector_t)(uintptr_t)&__stack_top, wsep_reset, fault_handler, fault_handler, fault_handler,
    fault_handler, fault_handler, 0, 0, 0, 0, 0, 0, 0, 0, systick_handler,
};

/* The compiler may turn loops into these calls; the firmware links no C library. */
void *memcpy(void *dst, const void *src, unsigned n) {
  uint8_t *d = dst;
  const uint8_t *s = src;
  while (n--) *d++ = *s++;
  return dst;
}
void *memset(void *dst, int v, unsigned n) {
  uint8_t *d = dst;
  while (n--) *d++ = (uint8_t)v;
  return dst;
}
