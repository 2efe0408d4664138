/*
 * bare_rm0432: Nucleo-L4R5ZI firmware that uses no vbench HAL, only register writes taken from
 * the STM32L4+ reference manual RM0432 (Rev 9) and the ARMv7-M Architecture Reference Manual.
 * It checks that the virtual board behaves like the datasheet, not like the vbench HAL.
 *
 * It shares only the start-up code and linker script of the board (startup.c calls main() and
 * turns its return value into a semihosting exit). The application's app.toml says hal = false.
 *
 * Output (LPUART1, 115200 8N1):
 *   bare: hclk=120000000 pclk1=60000000 flash_acr=0x00000705
 *   bare: cycles=<N> checksum=0x<8 hex>
 * hclk/pclk1 are computed back from the RCC registers, not from constants.
 */
#include <stdint.h>

#define REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* RM0432 §2.2.2 Table 3: peripheral boundary addresses. */
#define PWR_BASE     0x40007000u
#define LPUART1_BASE 0x40008000u
#define RCC_BASE     0x40021000u
#define FLASH_BASE_R 0x40022000u   /* FLASH registers (not the flash memory) */
#define GPIOG_BASE   0x48001800u   /* GPIOx at 0x4800_0000 + 0x400 * x, G = 6 */

/* RM0432 §3.7.1 FLASH_ACR: LATENCY[3:0], PRFTEN bit 8, ICEN bit 9, DCEN bit 10. */
#define FLASH_ACR REG(FLASH_BASE_R + 0x00u)

/* RM0432 §5.4 PWR registers: CR1.VOS[10:9], CR2.IOSV bit 9, SR2.VOSF bit 10, CR5.R1MODE bit 8. */
#define PWR_CR1 REG(PWR_BASE + 0x00u)
#define PWR_CR2 REG(PWR_BASE + 0x04u)
#define PWR_SR2 REG(PWR_BASE + 0x14u)
#define PWR_CR5 REG(PWR_BASE + 0x80u)

/* RM0432 §6.4 RCC registers. */
#define RCC_CR       REG(RCC_BASE + 0x00u)  /* HSION bit 8, HSIRDY 10, PLLON 24, PLLRDY 25 */
#define RCC_CFGR     REG(RCC_BASE + 0x08u)  /* SW[1:0], SWS[3:2], HPRE[7:4], PPRE1[10:8], PPRE2[13:11] */
#define RCC_PLLCFGR  REG(RCC_BASE + 0x0Cu)  /* PLLSRC[1:0], PLLM[7:4], PLLN[14:8], PLLREN 24, PLLR[26:25] */
#define RCC_AHB2ENR  REG(RCC_BASE + 0x4Cu)  /* GPIOGEN bit 6 */
#define RCC_APB1ENR1 REG(RCC_BASE + 0x58u)  /* PWREN bit 28 */
#define RCC_APB1ENR2 REG(RCC_BASE + 0x5Cu)  /* LPUART1EN bit 0 */

/* RM0432 §8.5 GPIO registers. */
#define GPIOG_MODER REG(GPIOG_BASE + 0x00u)
#define GPIOG_AFRL  REG(GPIOG_BASE + 0x20u)
#define GPIOG_AFRH  REG(GPIOG_BASE + 0x24u)

/* RM0432 LPUART registers: CR1 UE bit 0, RE bit 2, TE bit 3; ISR TXE bit 7, TC bit 6. */
#define LPUART1_CR1 REG(LPUART1_BASE + 0x00u)
#define LPUART1_BRR REG(LPUART1_BASE + 0x0Cu)
#define LPUART1_ISR REG(LPUART1_BASE + 0x1Cu)
#define LPUART1_TDR REG(LPUART1_BASE + 0x28u)

/* ARMv7-M ARM (DDI0403E) §C1.6.5 DEMCR.TRCENA bit 24; §C1.8 DWT_CTRL.CYCCNTENA bit 0, DWT_CYCCNT. */
#define DEMCR      REG(0xE000EDFCu)
#define DWT_CTRL   REG(0xE0001000u)
#define DWT_CYCCNT REG(0xE0001004u)

#define HSI16_HZ 16000000u

static void clock_120mhz(void)
{
    RCC_APB1ENR1 |= 1u << 28;                 /* PWREN */
    (void)RCC_APB1ENR1;
    PWR_CR5 &= ~(1u << 8);                    /* R1MODE = 0: range 1 boost (VOS = range 1 at reset) */
    while (PWR_SR2 & (1u << 10)) {            /* VOSF */
    }

    RCC_CR |= 1u << 8;                        /* HSION */
    while (!(RCC_CR & (1u << 10))) {          /* HSIRDY */
    }

    /* PLL: source HSI16 (10), M = 2 (field 1), N = 30, R = 2 (field 00), PLLREN. */
    RCC_PLLCFGR = (2u << 0) | (1u << 4) | (30u << 8) | (0u << 25) | (1u << 24);
    RCC_CR |= 1u << 24;                       /* PLLON */
    while (!(RCC_CR & (1u << 25))) {          /* PLLRDY */
    }

    /* 5 wait states, prefetch, I-cache, D-cache: before SYSCLK goes above 16 MHz. */
    FLASH_ACR = (FLASH_ACR & ~0xFu) | 5u | (1u << 8) | (1u << 9) | (1u << 10);
    while ((FLASH_ACR & 0xFu) != 5u) {
    }

    /* Boost-mode transition: AHB /2 (HPRE = 1000), SW = PLL (11), wait SWS = 11, then AHB /1,
     * APB1 /2 (PPRE1 = 100), APB2 /1. */
    RCC_CFGR = (RCC_CFGR & ~(0xFu << 4)) | (8u << 4);
    RCC_CFGR = (RCC_CFGR & ~3u) | 3u;
    while ((RCC_CFGR & (3u << 2)) != (3u << 2)) {
    }
    for (volatile int i = 0; i < 64; i++) {   /* >= 1 us at 60 MHz */
    }
    RCC_CFGR = (RCC_CFGR & ~((0xFu << 4) | (7u << 8) | (7u << 11))) | (4u << 8);
}

/* SYSCLK and prescalers read back from RCC (only the MSI 4 MHz reset case and PLL/HSI16). */
static uint32_t hclk_from_registers(void)
{
    uint32_t cfgr = RCC_CFGR, sysclk = 4000000u;
    uint32_t sws = (cfgr >> 2) & 3u;
    if (sws == 1u) {
        sysclk = HSI16_HZ;
    } else if (sws == 3u) {
        uint32_t pll = RCC_PLLCFGR;
        uint32_t m = ((pll >> 4) & 0xFu) + 1u, n = (pll >> 8) & 0x7Fu, r = (((pll >> 25) & 3u) + 1u) * 2u;
        uint32_t in = (pll & 3u) == 2u ? HSI16_HZ : 4000000u;
        sysclk = in / m * n / r;
    }
    uint32_t hpre = (cfgr >> 4) & 0xFu;
    static const uint8_t ahb_shift[8] = {1, 2, 3, 4, 6, 7, 8, 9}; /* HPRE 1000..1111: /2../512 */
    return hpre & 8u ? sysclk >> ahb_shift[hpre & 7u] : sysclk;
}

static uint32_t pclk1_from_registers(uint32_t hclk)
{
    uint32_t ppre1 = (RCC_CFGR >> 8) & 7u;
    return ppre1 & 4u ? hclk >> ((ppre1 & 3u) + 1u) : hclk;
}

static void lpuart1_init(uint32_t pclk1, uint32_t baud)
{
    RCC_APB1ENR1 |= 1u << 28;                 /* PWREN */
    (void)RCC_APB1ENR1;
    PWR_CR2 |= 1u << 9;                       /* IOSV: VDDIO2 valid, port G powered */
    RCC_AHB2ENR |= 1u << 6;                   /* GPIOGEN */
    (void)RCC_AHB2ENR;
    GPIOG_AFRL = (GPIOG_AFRL & ~(0xFu << 28)) | (8u << 28);   /* PG7 AF8 = LPUART1_TX */
    GPIOG_AFRH = (GPIOG_AFRH & ~0xFu) | 8u;                   /* PG8 AF8 = LPUART1_RX */
    GPIOG_MODER = (GPIOG_MODER & ~((3u << 14) | (3u << 16))) | (2u << 14) | (2u << 16);
    RCC_APB1ENR2 |= 1u << 0;                  /* LPUART1EN; kernel clock PCLK1 (CCIPR reset) */
    (void)RCC_APB1ENR2;
    LPUART1_CR1 = 0;
    LPUART1_BRR = (uint32_t)(((uint64_t)pclk1 * 256u + baud / 2u) / baud); /* 256 * fck / baud */
    LPUART1_CR1 = (1u << 3) | (1u << 2);      /* TE, RE */
    LPUART1_CR1 |= 1u << 0;                   /* UE */
}

static void put_c(char c)
{
    while (!(LPUART1_ISR & (1u << 7))) {      /* TXE */
    }
    LPUART1_TDR = (uint8_t)c;
}

static void put_s(const char *s)
{
    while (*s)
        put_c(*s++);
}

static void put_u32(uint32_t v)
{
    char b[10];
    int n = 0;
    do {
        b[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n)
        put_c(b[--n]);
}

static void put_hex(uint32_t v)
{
    put_s("0x");
    for (int i = 28; i >= 0; i -= 4)
        put_c("0123456789abcdef"[(v >> i) & 0xFu]);
}

static uint32_t __attribute__((noinline)) work(uint32_t h, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        h ^= i & 0xFFu;
        h *= 16777619u;
        h ^= h >> 13;
    }
    return h;
}

int main(void)
{
    static volatile uint32_t seed = 0x811c9dc5u;

    clock_120mhz();
    uint32_t hclk = hclk_from_registers();
    uint32_t pclk1 = pclk1_from_registers(hclk);
    lpuart1_init(pclk1, 115200u);

    DEMCR |= 1u << 24;                        /* TRCENA */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u << 0;                      /* CYCCNTENA */

    put_s("bare: hclk=");
    put_u32(hclk);
    put_s(" pclk1=");
    put_u32(pclk1);
    put_s(" flash_acr=");
    put_hex(FLASH_ACR);
    put_c('\n');

    uint32_t t0 = DWT_CYCCNT;
    uint32_t sum = work(seed, 10000u);
    uint32_t t1 = DWT_CYCCNT;

    put_s("bare: cycles=");
    put_u32(t1 - t0);
    put_s(" checksum=");
    put_hex(sum);
    put_c('\n');

    while (!(LPUART1_ISR & (1u << 6))) {      /* TC: last byte sent before the exit */
    }
    return 0;
}
