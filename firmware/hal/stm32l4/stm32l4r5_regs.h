/*
 * STM32L4R5 register addresses and bit positions used by the vbench HAL.
 *
 * Peripheral base addresses: RM0432 Rev 9 §2.2.2 Table 3. Register offsets and bit positions:
 * RM0432 register sections of the FLASH (chapter 3), PWR (5), RCC (6), GPIO (8) and LPUART (39)
 * chapters; Cortex-M core registers: ARMv7-M Architecture Reference Manual (DDI0403E) §B3.2 (SCB)
 * and §C1.8 (DWT).
 * Only what the HAL touches is listed: a board model must implement at least these registers.
 */
#ifndef VB_STM32L4R5_REGS_H
#define VB_STM32L4R5_REGS_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* ---- FLASH interface, base 0x4002_2000 */
#define FLASH_ACR          REG32(0x40022000u)
#define FLASH_ACR_LATENCY_Msk (0xFu << 0)     /* LATENCY[3:0]: wait states */
#define FLASH_ACR_PRFTEN   (1u << 8)           /* prefetch enable */
#define FLASH_ACR_ICEN     (1u << 9)           /* instruction cache enable */
#define FLASH_ACR_DCEN     (1u << 10)          /* data cache enable */

/* ---- PWR, base 0x4000_7000 */
#define PWR_CR1            REG32(0x40007000u)
#define PWR_CR1_VOS_Msk    (3u << 9)           /* VOS[1:0]: 01 = range 1, 10 = range 2 */
#define PWR_CR1_VOS_RANGE1 (1u << 9)
#define PWR_CR2            REG32(0x40007004u)
#define PWR_CR2_IOSV       (1u << 9)           /* VDDIO2 valid: port G PG[15:2] usable */
#define PWR_SR2            REG32(0x40007014u)
#define PWR_SR2_VOSF       (1u << 10)          /* voltage scaling in progress */
#define PWR_CR5            REG32(0x40007080u)
#define PWR_CR5_R1MODE     (1u << 8)           /* 1 = range 1 normal, 0 = range 1 boost */

/* ---- RCC, base 0x4002_1000 */
#define RCC_CR             REG32(0x40021000u)
#define RCC_CR_HSION       (1u << 8)
#define RCC_CR_HSIRDY      (1u << 10)
#define RCC_CR_PLLON       (1u << 24)
#define RCC_CR_PLLRDY      (1u << 25)
#define RCC_CFGR           REG32(0x40021008u)
#define RCC_CFGR_SW_Msk    (3u << 0)           /* 00 MSI, 01 HSI16, 10 HSE, 11 PLL */
#define RCC_CFGR_SW_PLL    (3u << 0)
#define RCC_CFGR_SWS_Msk   (3u << 2)
#define RCC_CFGR_SWS_PLL   (3u << 2)
#define RCC_CFGR_HPRE_Msk  (0xFu << 4)         /* 0xxx = /1, 1000 = /2 */
#define RCC_CFGR_HPRE_DIV1 (0u << 4)
#define RCC_CFGR_HPRE_DIV2 (8u << 4)
#define RCC_CFGR_PPRE1_Msk (7u << 8)           /* 0xx = /1, 100 = /2 */
#define RCC_CFGR_PPRE1_DIV2 (4u << 8)
#define RCC_CFGR_PPRE2_Msk (7u << 11)
#define RCC_CFGR_PPRE2_DIV1 (0u << 11)
#define RCC_PLLCFGR        REG32(0x4002100Cu)
#define RCC_PLLCFGR_PLLSRC_HSI16 (2u << 0)     /* PLLSRC[1:0] = 10 */
#define RCC_PLLCFGR_PLLM_Pos 4                 /* PLLM[3:0]: M = value + 1 */
#define RCC_PLLCFGR_PLLN_Pos 8                 /* PLLN[6:0]: 8..127 */
#define RCC_PLLCFGR_PLLREN (1u << 24)          /* PLLCLK (SYSCLK) output enable */
#define RCC_PLLCFGR_PLLR_Pos 25                /* PLLR[1:0]: 00 = /2, 01 = /4, 10 = /6, 11 = /8 */
#define RCC_AHB2ENR        REG32(0x4002104Cu)
#define RCC_AHB2ENR_GPIOFEN (1u << 5)
#define RCC_AHB2ENR_GPIOGEN (1u << 6)
#define RCC_APB1ENR1       REG32(0x40021058u)
#define RCC_APB1ENR1_PWREN (1u << 28)
#define RCC_APB1ENR2       REG32(0x4002105Cu)
#define RCC_APB1ENR2_LPUART1EN (1u << 0)
/* RCC_CCIPR (0x88) LPUART1SEL[11:10] stays at its reset value 00: LPUART1 kernel clock = PCLK1. */

/* ---- GPIO: port x at 0x4800_0000 + 0x400 * x (A = 0 ... I = 8) */
#define GPIO_BASE(port)    (0x48000000u + 0x400u * (uint32_t)(port))
#define GPIO_MODER(port)   REG32(GPIO_BASE(port) + 0x00u)   /* 2 bits per pin: 00 in, 01 out, 10 AF, 11 analog */
#define GPIO_OSPEEDR(port) REG32(GPIO_BASE(port) + 0x08u)
#define GPIO_BSRR(port)    REG32(GPIO_BASE(port) + 0x18u)   /* BS[15:0] set, BR[31:16] reset */
#define GPIO_AFRL(port)    REG32(GPIO_BASE(port) + 0x20u)   /* 4 bits per pin, pins 0..7 */
#define GPIO_AFRH(port)    REG32(GPIO_BASE(port) + 0x24u)   /* pins 8..15 */
#define GPIO_PORT_F 5
#define GPIO_PORT_G 6

/* ---- LPUART1, base 0x4000_8000 */
#define LPUART1_BASE       0x40008000u
#define LPUART1_CR1        REG32(LPUART1_BASE + 0x00u)
#define LPUART1_BRR        REG32(LPUART1_BASE + 0x0Cu)  /* BRR = 256 * f_ck / baud, 0x300..0xFFFFF */
#define LPUART1_ISR        REG32(LPUART1_BASE + 0x1Cu)
#define LPUART1_ICR        REG32(LPUART1_BASE + 0x20u)
#define LPUART1_RDR        REG32(LPUART1_BASE + 0x24u)
#define LPUART1_TDR        REG32(LPUART1_BASE + 0x28u)
#define LPUART1_PRESC      REG32(LPUART1_BASE + 0x2Cu)  /* kernel clock prescaler (L4+ only) */
#define USART_CR1_UE       (1u << 0)
#define USART_CR1_RE       (1u << 2)
#define USART_CR1_TE       (1u << 3)
#define USART_ISR_ORE      (1u << 3)
#define USART_ISR_RXNE     (1u << 5)
#define USART_ISR_TC       (1u << 6)
#define USART_ISR_TXE      (1u << 7)
#define USART_ISR_TEACK    (1u << 21)
#define USART_ISR_REACK    (1u << 22)
#define USART_ICR_ORECF    (1u << 3)

/* ---- Cortex-M4 core */
#define SCB_CPACR          REG32(0xE000ED88u)
#define DEMCR              REG32(0xE000EDFCu)  /* CoreDebug DEMCR, DDI0403E §C1.6.5 */
#define DEMCR_TRCENA       (1u << 24)
#define DWT_CTRL           REG32(0xE0001000u)
#define DWT_CTRL_CYCCNTENA (1u << 0)
#define DWT_CYCCNT         REG32(0xE0001004u)

#endif /* VB_STM32L4R5_REGS_H */
