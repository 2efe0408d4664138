/*
 * vbench HAL for the Nucleo-L4R5ZI (STM32L4R5ZI), written against RM0432 (see stm32l4r5_regs.h).
 *
 * Clock tree after system_init() (the MLPerf Tiny reference SystemClock_Config: voltage scale 1
 * boost, HSI16 -> PLL M=2 N=30 R=2, AHB /1, APB1 /2, APB2 /1, FLASH_LATENCY_5):
 *   SYSCLK = HCLK = 16 MHz / 2 * 30 / 2 = 120 MHz, PCLK1 = 60 MHz, PCLK2 = 120 MHz.
 * FLASH_ACR gets PRFTEN, ICEN and DCEN with LATENCY = 5 before SYSCLK moves to the PLL. (ST's HAL
 * template enables ICEN/DCEN and leaves PRFTEN off by default; vbench turns all three on.)
 *
 * Console: LPUART1 on PG7 (TX) / PG8 (RX), AF8, wired to the ST-LINK virtual COM port (UM2179).
 * Port G pins PG[15:2] are supplied by VDDIO2, so PWR_CR2.IOSV must be set first.
 * LPUART1's kernel clock is PCLK1 (RCC_CCIPR.LPUART1SEL reset value).
 */
#include "vb_hal.h"
#include "stm32l4r5_regs.h"

#define HSI16_HZ 16000000u
#define MSI_RESET_HZ 4000000u
#define PLL_M 2u
#define PLL_N 30u
#define PLL_R 2u
#define FLASH_WAIT_STATES 5u

static uint32_t hclk_hz = MSI_RESET_HZ;   /* MSI 4 MHz after reset, AHB/APB prescalers /1 */
static uint32_t pclk1_hz = MSI_RESET_HZ;
static uint8_t uart_ready;

static void delay_loops(uint32_t n)
{
    while (n--)
        __asm__ volatile("nop");
}

void system_init(void)
{
    /* PWR: enable its bus clock, then select range 1 boost (needed above 80 MHz). */
    RCC_APB1ENR1 |= RCC_APB1ENR1_PWREN;
    (void)RCC_APB1ENR1; /* read back: the clock is active before the first PWR access */
    if ((PWR_CR1 & PWR_CR1_VOS_Msk) != PWR_CR1_VOS_RANGE1) {
        PWR_CR5 &= ~PWR_CR5_R1MODE;
        PWR_CR1 = (PWR_CR1 & ~PWR_CR1_VOS_Msk) | PWR_CR1_VOS_RANGE1;
        while (PWR_SR2 & PWR_SR2_VOSF) {
        }
    } else {
        PWR_CR5 &= ~PWR_CR5_R1MODE; /* range 1 -> range 1 boost */
    }

    /* HSI16 on. */
    RCC_CR |= RCC_CR_HSION;
    while (!(RCC_CR & RCC_CR_HSIRDY)) {
    }

    /* Main PLL from HSI16: VCO = 16 MHz / M * N = 240 MHz, PLLCLK = VCO / R = 120 MHz. */
    RCC_CR &= ~RCC_CR_PLLON;
    while (RCC_CR & RCC_CR_PLLRDY) {
    }
    RCC_PLLCFGR = RCC_PLLCFGR_PLLSRC_HSI16 | ((PLL_M - 1u) << RCC_PLLCFGR_PLLM_Pos) |
                  (PLL_N << RCC_PLLCFGR_PLLN_Pos) | (((PLL_R / 2u) - 1u) << RCC_PLLCFGR_PLLR_Pos) |
                  RCC_PLLCFGR_PLLREN;
    RCC_CR |= RCC_CR_PLLON;
    while (!(RCC_CR & RCC_CR_PLLRDY)) {
    }

    /* Flash: 5 wait states plus the ART (prefetch, I-cache, D-cache) before the clock goes up. */
    FLASH_ACR = (FLASH_ACR & ~FLASH_ACR_LATENCY_Msk) | FLASH_WAIT_STATES | FLASH_ACR_PRFTEN |
                FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    while ((FLASH_ACR & FLASH_ACR_LATENCY_Msk) != FLASH_WAIT_STATES) {
    }

    /* Range 1 boost above 80 MHz: switch with HCLK = SYSCLK / 2, wait 1 us, then go to /1
     * (RM0432 §5.1.8 dynamic voltage scaling; ST's HAL_RCC_ClockConfig does the same). */
    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_HPRE_Msk) | RCC_CFGR_HPRE_DIV2;
    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_Msk) | RCC_CFGR_SW_PLL;
    while ((RCC_CFGR & RCC_CFGR_SWS_Msk) != RCC_CFGR_SWS_PLL) {
    }
    hclk_hz = HSI16_HZ / PLL_M * PLL_N / PLL_R / 2u;
    delay_loops(hclk_hz / 1000000u + 1u); /* >= 1 us at 60 MHz */
    RCC_CFGR = (RCC_CFGR & ~(RCC_CFGR_HPRE_Msk | RCC_CFGR_PPRE1_Msk | RCC_CFGR_PPRE2_Msk)) |
               RCC_CFGR_HPRE_DIV1 | RCC_CFGR_PPRE1_DIV2 | RCC_CFGR_PPRE2_DIV1;
    hclk_hz = HSI16_HZ / PLL_M * PLL_N / PLL_R;
    pclk1_hz = hclk_hz / 2u;
}

uint32_t hal_core_clock_hz(void)
{
    return hclk_hz;
}

const char *hal_platform_name(void)
{
#ifdef VB_PLATFORM_NAME
    return VB_PLATFORM_NAME;
#else
    return "nucleo-l4r5zi";
#endif
}

/* ------------------------------------------------------------------ LPUART1 console */

void hal_uart_init(uint32_t baud)
{
    if (baud == 0)
        baud = VB_HAL_DEFAULT_BAUD;

    RCC_APB1ENR1 |= RCC_APB1ENR1_PWREN;
    (void)RCC_APB1ENR1;
    PWR_CR2 |= PWR_CR2_IOSV;                 /* VDDIO2 valid: port G usable */

    RCC_AHB2ENR |= RCC_AHB2ENR_GPIOGEN;
    (void)RCC_AHB2ENR;
    /* PG7 = LPUART1_TX, PG8 = LPUART1_RX, alternate function 8 (DS12023 alternate function table). */
    GPIO_AFRL(GPIO_PORT_G) = (GPIO_AFRL(GPIO_PORT_G) & ~(0xFu << 28)) | (8u << 28);
    GPIO_AFRH(GPIO_PORT_G) = (GPIO_AFRH(GPIO_PORT_G) & ~(0xFu << 0)) | (8u << 0);
    GPIO_MODER(GPIO_PORT_G) = (GPIO_MODER(GPIO_PORT_G) & ~((3u << 14) | (3u << 16))) | (2u << 14) | (2u << 16);

    RCC_APB1ENR2 |= RCC_APB1ENR2_LPUART1EN;
    (void)RCC_APB1ENR2;

    LPUART1_CR1 = 0;                         /* UE = 0 while configuring; 8 data bits, no parity */
    /* BRR = 256 * f_ck / baud must fit in 20 bits (RM0432 LPUART baud rate generation);
     * below ~15 kBd at 60 MHz use the L4+ kernel clock prescaler. */
    static const uint16_t presc_div[] = {1, 2, 4, 6, 8, 10, 12, 16, 32, 64, 128, 256};
    uint32_t presc = 0;
    uint64_t brr = ((uint64_t)pclk1_hz * 256u + baud / 2u) / baud;
    while (brr > 0xFFFFFu && presc + 1u < sizeof presc_div / sizeof presc_div[0]) {
        presc++;
        brr = ((uint64_t)(pclk1_hz / presc_div[presc]) * 256u + baud / 2u) / baud;
    }
    if (presc)
        LPUART1_PRESC = presc;
    LPUART1_BRR = (uint32_t)brr;
    LPUART1_CR1 = USART_CR1_TE | USART_CR1_RE;
    LPUART1_CR1 |= USART_CR1_UE;
    /* TEACK/REACK confirm the enables; bounded so that a board model without them still runs. */
    for (uint32_t i = 0; i < 1000u; i++) {
        if ((LPUART1_ISR & (USART_ISR_TEACK | USART_ISR_REACK)) == (USART_ISR_TEACK | USART_ISR_REACK))
            break;
    }
    uart_ready = 1;
}

void hal_uart_putc(char c)
{
    if (!uart_ready)
        hal_uart_init(VB_HAL_DEFAULT_BAUD);
    while (!(LPUART1_ISR & USART_ISR_TXE)) {
    }
    LPUART1_TDR = (uint8_t)c;
}

int hal_uart_rx_ready(void)
{
    if (!uart_ready)
        hal_uart_init(VB_HAL_DEFAULT_BAUD);
    uint32_t isr = LPUART1_ISR;
    if (isr & USART_ISR_ORE)
        LPUART1_ICR = USART_ICR_ORECF; /* an overrun would block further reception */
    return (isr & USART_ISR_RXNE) != 0;
}

int hal_uart_getc(void)
{
    while (!hal_uart_rx_ready()) {
    }
    return (int)(LPUART1_RDR & 0xFFu);
}

void hal_uart_flush(void)
{
    if (!uart_ready)
        return;
    /* TC: the last frame has left the shift register. Bounded: ~10 ms at 120 MHz. */
    for (uint32_t i = 0; i < 1000000u; i++) {
        if (LPUART1_ISR & USART_ISR_TC)
            break;
    }
}

/* ------------------------------------------------------------------ DWT cycle counter */

void hal_cycles_init(void)
{
    DEMCR |= DEMCR_TRCENA;  /* enable DWT and ITM */
    DWT_CYCCNT = 0;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
}

uint32_t hal_cycles(void)
{
    return DWT_CYCCNT;
}

/* ------------------------------------------------------------------ timestamp GPIO: PF13 */

#define TS_PORT GPIO_PORT_F
#define TS_PIN 13u

void hal_timestamp_pin_init(void)
{
    RCC_AHB2ENR |= RCC_AHB2ENR_GPIOFEN;
    (void)RCC_AHB2ENR;
    GPIO_BSRR(TS_PORT) = 1u << TS_PIN;                       /* idle high */
    GPIO_MODER(TS_PORT) = (GPIO_MODER(TS_PORT) & ~(3u << (2u * TS_PIN))) | (1u << (2u * TS_PIN));
}

void hal_timestamp_pulse(void)
{
    GPIO_BSRR(TS_PORT) = 1u << (TS_PIN + 16u);               /* falling edge: the timestamp */
    delay_loops(hclk_hz / 1000000u + 1u);                     /* hold low >= 1 us */
    GPIO_BSRR(TS_PORT) = 1u << TS_PIN;
}

/* ------------------------------------------------------------------ exit: Arm semihosting */

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void hal_exit(int code)
{
    hal_uart_flush();
    uint32_t block[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, (uint32_t)code};
    semihost(0x20 /* SYS_EXIT_EXTENDED */, block);
    /* Host without SYS_EXIT_EXTENDED: SYS_EXIT carries only the reason (32-bit semihosting). */
    semihost(0x18 /* SYS_EXIT */, (const void *)(uintptr_t)(code == 0 ? 0x20026u : 0x20023u));
    for (;;) {
    }
}
