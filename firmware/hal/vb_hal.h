/*
 * vbench HAL: the few board services the benchmark firmware needs, one header for every board.
 *
 * Implementations: firmware/hal/stm32l4/ (Nucleo-L4R5ZI, written against RM0432) and
 * firmware/hal/rv32/ (rv32imaf-mcu: PULPino-style 16550 UART, GPIO, exit register).
 * Board-independent helpers (decimal/hex printing, picolibc stdio hooks) are the .c files directly
 * in firmware/hal/.
 * The build driver (vbench/firmware.py) compiles the directory named by the platform file's
 * toolchain.hal and defines VB_PLATFORM_NAME.
 *
 * Start-up calls system_init() before main(); everything else is called by the application.
 */
#ifndef VB_HAL_H
#define VB_HAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VB_HAL_DEFAULT_BAUD 115200u

/* ---- clocks --------------------------------------------------------------------------------- */

/* Board clock set-up; called by the start-up code before main().
 * Nucleo-L4R5ZI: the MLPerf Tiny reference set-up, 120 MHz from HSI16 through the PLL,
 * voltage range 1 boost, flash latency 5 with prefetch and caches. rv32imaf-mcu: nothing. */
void system_init(void);

/* Core (HCLK) frequency in Hz as configured now. */
uint32_t hal_core_clock_hz(void);

/* Name of the board this image was built for ("nucleo-l4r5zi", "rv32imaf-mcu"). */
const char *hal_platform_name(void);

/* ---- console UART (Nucleo: LPUART1 on the ST-LINK virtual COM port; RV: 16550 at 0x1A100000) */

void hal_uart_init(uint32_t baud);               /* 8N1; idempotent */
void hal_uart_putc(char c);                       /* blocking, raw byte (no \n -> \r\n) */
void hal_uart_write(const void *data, size_t len);
void hal_uart_puts(const char *s);                /* writes s, no newline added */
int hal_uart_rx_ready(void);                      /* nonzero if a received byte is waiting */
int hal_uart_getc(void);                          /* blocking; returns the byte 0..255 */
void hal_uart_flush(void);                        /* wait until the last byte has left */

/* ---- cycle counter (Arm: DWT_CYCCNT; RV: mcycle) --------------------------------------------- */

void hal_cycles_init(void);                       /* enable and zero the counter */
uint32_t hal_cycles(void);                        /* wraps at 2^32; subtract as uint32_t */

/* ---- EEMBC energy-mode timestamp GPIO ----------------------------------------------------------
 * Nucleo: PF13 (Arduino D7 on the Nucleo-144 Zio connector, the pin the EEMBC/MLCommons reference
 * firmware uses). RV: GPIO 0 of the PULPino GPIO block.
 * The pin idles high; hal_timestamp_pulse() drives it low, holds it for at least 1 us and
 * drives it high again: the energy monitor timestamps the falling edge. */
void hal_timestamp_pin_init(void);
void hal_timestamp_pulse(void);

/* ---- end of run ------------------------------------------------------------------------------
 * Arm: semihosting SYS_EXIT_EXTENDED (0x20) with {ADP_Stopped_ApplicationExit, code}, falling
 * back to SYS_EXIT (0x18). RV: 32-bit store of code to the exit register 0x1A1FF000.
 * Waits for the UART to drain first. */
void hal_exit(int code) __attribute__((noreturn));

/* ---- printing without printf (all go to the console UART) ---------------------------------- */

void hal_print_str(const char *s);
void hal_print_char(char c);
void hal_print_u32(uint32_t v);                   /* decimal */
void hal_print_i32(int32_t v);                    /* decimal, with '-' */
void hal_print_u64(uint64_t v);                   /* decimal */
void hal_print_hex32(uint32_t v);                 /* 0x%08x */
void hal_print_hex(uint32_t v, unsigned digits);  /* 0x + exactly `digits` hex digits (1..8) */
void hal_print_kv_u32(const char *key, uint32_t v); /* "key=<v>\n" */

#ifdef __cplusplus
}
#endif

#endif /* VB_HAL_H */
