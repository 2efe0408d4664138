/*
 * vbench HAL for the rv32imaf-mcu board (platforms/rv32imaf-mcu.toml): PULPino-style SoC.
 *
 *   core clock  336 MHz fixed (PCL Scepu02 system description); nothing to set up
 *   console     16550-compatible UART at 0x1A10_0000, registers on a 32-bit stride
 *   timestamp   GPIO 0 of the PULPino GPIO block at 0x1A10_1000 (PADDIR 0x00, PADOUT 0x08)
 *   cycles      mcycle CSR (low 32 bits)
 *   exit        32-bit store of the code to the vbench exit register 0x1A1F_F000
 */
#include "vb_hal.h"

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

#define CORE_CLOCK_HZ 336000000u

/* 16550 registers (byte index * 4). DLL/DLM replace RBR/THR/IER while LCR.DLAB = 1. */
#define UART_BASE 0x1A100000u
#define UART_RBR REG32(UART_BASE + 0x00u)
#define UART_THR REG32(UART_BASE + 0x00u)
#define UART_DLL REG32(UART_BASE + 0x00u)
#define UART_IER REG32(UART_BASE + 0x04u)
#define UART_DLM REG32(UART_BASE + 0x04u)
#define UART_FCR REG32(UART_BASE + 0x08u)
#define UART_LCR REG32(UART_BASE + 0x0Cu)
#define UART_LSR REG32(UART_BASE + 0x14u)
#define LCR_DLAB 0x80u
#define LCR_8N1 0x03u
#define FCR_ENABLE_RESET 0x07u /* FIFO enable, clear RX and TX FIFOs */
#define LSR_DR 0x01u           /* receive data ready */
#define LSR_THRE 0x20u         /* transmit holding register empty */
#define LSR_TEMT 0x40u         /* transmitter empty */

#define GPIO_BASE 0x1A101000u
#define GPIO_PADDIR REG32(GPIO_BASE + 0x00u)
#define GPIO_PADOUT REG32(GPIO_BASE + 0x08u)
#define TS_PIN 0u

#define EXIT_REGISTER REG32(0x1A1FF000u)

static uint8_t uart_ready;

void system_init(void)
{
}

uint32_t hal_core_clock_hz(void)
{
    return CORE_CLOCK_HZ;
}

const char *hal_platform_name(void)
{
#ifdef VB_PLATFORM_NAME
    return VB_PLATFORM_NAME;
#else
    return "rv32imaf-mcu";
#endif
}

/* ------------------------------------------------------------------ 16550 console */

void hal_uart_init(uint32_t baud)
{
    if (baud == 0)
        baud = VB_HAL_DEFAULT_BAUD;
    uint32_t div = (CORE_CLOCK_HZ + 8u * baud) / (16u * baud);
    UART_IER = 0;
    UART_LCR = LCR_DLAB;
    UART_DLL = div & 0xFFu;
    UART_DLM = (div >> 8) & 0xFFu;
    UART_LCR = LCR_8N1;
    UART_FCR = FCR_ENABLE_RESET;
    uart_ready = 1;
}

void hal_uart_putc(char c)
{
    if (!uart_ready)
        hal_uart_init(VB_HAL_DEFAULT_BAUD);
    while (!(UART_LSR & LSR_THRE)) {
    }
    UART_THR = (uint8_t)c;
}

int hal_uart_rx_ready(void)
{
    if (!uart_ready)
        hal_uart_init(VB_HAL_DEFAULT_BAUD);
    return (UART_LSR & LSR_DR) != 0;
}

int hal_uart_getc(void)
{
    while (!hal_uart_rx_ready()) {
    }
    return (int)(UART_RBR & 0xFFu);
}

void hal_uart_flush(void)
{
    if (!uart_ready)
        return;
    for (uint32_t i = 0; i < 1000000u; i++) {
        if (UART_LSR & LSR_TEMT)
            break;
    }
}

/* ------------------------------------------------------------------ mcycle */

void hal_cycles_init(void)
{
#ifdef VB_RV_MCOUNTINHIBIT
    /* CV32E40P may reset with mcycle inhibited; clear mcountinhibit (CSR 0x320). Off by default:
     * Unicorn 2.1.4 (QEMU 5 based) has no CSR 0x320 and raises an illegal instruction. */
    __asm__ volatile("csrw 0x320, zero");
#endif
    __asm__ volatile("csrw mcycle, zero");
}

uint32_t hal_cycles(void)
{
    uint32_t c;
    __asm__ volatile("csrr %0, mcycle" : "=r"(c));
    return c;
}

/* ------------------------------------------------------------------ timestamp GPIO */

static void delay_loops(uint32_t n)
{
    while (n--)
        __asm__ volatile("nop");
}

void hal_timestamp_pin_init(void)
{
    GPIO_PADOUT |= 1u << TS_PIN;   /* idle high */
    GPIO_PADDIR |= 1u << TS_PIN;   /* output */
}

void hal_timestamp_pulse(void)
{
    GPIO_PADOUT &= ~(1u << TS_PIN);             /* falling edge: the timestamp */
    delay_loops(CORE_CLOCK_HZ / 1000000u + 1u); /* hold low >= 1 us */
    GPIO_PADOUT |= 1u << TS_PIN;
}

/* ------------------------------------------------------------------ exit */

void hal_exit(int code)
{
    hal_uart_flush();
    EXIT_REGISTER = (uint32_t)code;
    for (;;) {
    }
}
