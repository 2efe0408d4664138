/*
 * vbench demo: the smallest complete firmware on every board.
 *
 * Prints a banner with the board and core clock, times a known loop with the cycle counter,
 * prints `cycles=<N>` and `checksum=0x<8 hex>`, echoes one received line (if the host sent any
 * bytes before the loop ended) as `echo: <line>`, and exits with 0.
 *
 * With LOOP_N = 10000 and seed 0x811c9dc5 the checksum is 0x6e00278c on both ISAs (the same
 * recurrence in Python: tests/test_firmware_build.py::_demo_checksum).
 */
#include "vb_hal.h"

#ifndef LOOP_N
#define LOOP_N 10000u
#endif
#define LINE_MAX 80u

/* FNV-1a style over the loop index: nonlinear, so the compiler cannot fold the loop away. */
static uint32_t __attribute__((noinline)) checksum_loop(uint32_t seed, uint32_t n)
{
    uint32_t h = seed;
    for (uint32_t i = 0; i < n; i++) {
        h ^= i & 0xFFu;
        h *= 16777619u;
        h ^= h >> 13;
    }
    return h;
}

/* Read one line (up to \n or \r) after the first byte has arrived; stop if the line goes quiet
 * for 10 ms of core time. */
static uint32_t read_line(char *buf, uint32_t max)
{
    uint32_t n = 0;
    uint32_t quiet = hal_core_clock_hz() / 100u;
    uint32_t t0 = hal_cycles();
    while (n < max) {
        if (!hal_uart_rx_ready()) {
            if ((uint32_t)(hal_cycles() - t0) > quiet)
                break;
            continue;
        }
        char c = (char)hal_uart_getc();
        t0 = hal_cycles();
        if (c == '\n' || c == '\r')
            break;
        buf[n++] = c;
    }
    return n;
}

int main(void)
{
    static volatile uint32_t seed = 0x811c9dc5u;

    hal_uart_init(VB_HAL_DEFAULT_BAUD);
    hal_cycles_init();

    hal_print_str("vbench demo: platform=");
    hal_print_str(hal_platform_name());
    hal_print_str(" core_clock_hz=");
    hal_print_u32(hal_core_clock_hz());
    hal_print_char('\n');

    uint32_t t0 = hal_cycles();
    uint32_t sum = checksum_loop(seed, LOOP_N);
    uint32_t t1 = hal_cycles();

    hal_print_str("loop=");
    hal_print_u32(LOOP_N);
    hal_print_str(" cycles=");
    hal_print_u32(t1 - t0);
    hal_print_str(" checksum=");
    hal_print_hex32(sum);
    hal_print_char('\n');

#ifdef DEMO_WAIT_FOR_INPUT
    /* Block until the host sends something: a harness-style wait on the UART. */
    while (!hal_uart_rx_ready()) {
    }
#endif
    if (hal_uart_rx_ready()) {
        char line[LINE_MAX];
        uint32_t n = read_line(line, LINE_MAX);
        hal_print_str("echo: ");
        hal_uart_write(line, n);
        hal_print_char('\n');
    }

    hal_print_str("demo: done\n");
    return 0;
}
