/*
 * vbench HAL, board-independent part: console printing without printf, so that small images stay
 * small and the printing cost is a few hundred instructions, not a formatted-I/O library.
 */
#include "vb_hal.h"

void hal_uart_write(const void *data, size_t len)
{
    const char *p = (const char *)data;
    while (len--)
        hal_uart_putc(*p++);
}

void hal_uart_puts(const char *s)
{
    while (*s)
        hal_uart_putc(*s++);
}

void hal_print_str(const char *s)
{
    hal_uart_puts(s);
}

void hal_print_char(char c)
{
    hal_uart_putc(c);
}

void hal_print_u32(uint32_t v)
{
    char buf[10];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n)
        hal_uart_putc(buf[--n]);
}

void hal_print_i32(int32_t v)
{
    if (v < 0) {
        hal_uart_putc('-');
        hal_print_u32(0u - (uint32_t)v);
    } else {
        hal_print_u32((uint32_t)v);
    }
}

void hal_print_u64(uint64_t v)
{
    /* Split into base-10^9 limbs so that only 32-bit divisions by constants remain. */
    uint32_t limbs[3];
    int n = 0;
    do {
        uint64_t q = v / 1000000000u;
        limbs[n++] = (uint32_t)(v - q * 1000000000u);
        v = q;
    } while (v);
    hal_print_u32(limbs[--n]);
    while (n) {
        uint32_t x = limbs[--n];
        char buf[9];
        for (int i = 8; i >= 0; i--) {
            buf[i] = (char)('0' + x % 10u);
            x /= 10u;
        }
        hal_uart_write(buf, sizeof buf);
    }
}

void hal_print_hex(uint32_t v, unsigned digits)
{
    if (digits < 1u)
        digits = 1u;
    if (digits > 8u)
        digits = 8u;
    hal_uart_putc('0');
    hal_uart_putc('x');
    for (int shift = (int)(digits - 1u) * 4; shift >= 0; shift -= 4)
        hal_uart_putc("0123456789abcdef"[(v >> shift) & 0xFu]);
}

void hal_print_hex32(uint32_t v)
{
    hal_print_hex(v, 8u);
}

void hal_print_kv_u32(const char *key, uint32_t v)
{
    hal_uart_puts(key);
    hal_uart_putc('=');
    hal_print_u32(v);
    hal_uart_putc('\n');
}
