/*
 * vbench HAL: hooks that let picolibc's stdio and exit() reach the board.
 *
 * All definitions are weak, so a runtime that brings its own stdin/stdout/stderr or _exit wins.
 * Unused, they cost nothing: the link uses --gc-sections.
 */
#include <stdio.h>

#include "vb_hal.h"

__attribute__((weak)) void _exit(int code)
{
    hal_exit(code);
}

#if defined(__PICOLIBC__) && defined(FDEV_SETUP_STREAM)
static int vb_stdio_put(char c, FILE *f)
{
    (void)f;
    hal_uart_putc(c);
    return (unsigned char)c;
}

static int vb_stdio_get(FILE *f)
{
    (void)f;
    return hal_uart_getc();
}

static FILE vb_stdio = FDEV_SETUP_STREAM(vb_stdio_put, vb_stdio_get, NULL, _FDEV_SETUP_RW);

__attribute__((weak)) FILE *const stdin = &vb_stdio;
__attribute__((weak)) FILE *const stdout = &vb_stdio;
__attribute__((weak)) FILE *const stderr = &vb_stdio;
#endif
