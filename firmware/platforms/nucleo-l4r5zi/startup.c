/*
 * vbench start-up for the Nucleo-L4R5ZI (STM32L4R5ZI, Cortex-M4F).
 *
 * Vector table: 16 Cortex-M4 system entries (ARMv7-M ARM DDI0403E §B1.5.2) followed by the 95
 * STM32L4R5 interrupt lines (RM0432 Rev 9 §15.3 Table 58, positions 0..94; positions that the
 * L4R5 leaves reserved hold 0). Every handler is a weak alias of Default_Handler, which reports
 * the exception through semihosting and exits with 128 + exception number.
 *
 * Reset_Handler: FPU on (CPACR CP10/CP11 full access, DSB, ISB), stack pre-filled with
 * 0xA5A5A5A5, .data/.ramfunc/.tdata copied from flash, .bss/.tbss zeroed, picolibc TLS pointer
 * set, C constructors run, then system_init() (the HAL's clock set-up, if linked), main(), and a
 * semihosting exit with main's return value.
 */
#include <stdint.h>

#if __has_include(<picolibc.h>)
#include <picolibc.h> /* defines PICOLIBC_TLS when the C library keeps errno etc. in TLS */
#endif

#define STACK_FILL 0xA5A5A5A5u

/* ARMv7-M ARM DDI0403E §B3.2.20: CPACR at 0xE000ED88; CP10 = bits 21:20, CP11 = bits 23:22. */
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

/* Arm semihosting v2 (Arm IHI 0080 / DUI0471): BKPT 0xAB in Thumb state; r0 = operation. */
#define SEMI_SYS_WRITE0 0x04
#define SEMI_SYS_EXIT 0x18
#define SEMI_SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define ADP_STOPPED_RUNTIME_ERROR_UNKNOWN 0x20023u

/* Linker-script symbols (linker.ld). */
extern uint32_t __stack_top[], __stack_bottom[];
extern uint32_t _sidata[], _sdata[], _edata[];
extern uint32_t _sbss[], _ebss[];
extern uint32_t __ramfunc_load[], __ramfunc_start[], __ramfunc_end[];
extern uint32_t __tdata_source[], __tdata_start[], __tdata_end[];
extern uint32_t __tbss_start[], __tbss_end[];
extern uint32_t __tls_base[];
extern void (*__preinit_array_start[])(void);
extern void (*__preinit_array_end[])(void);
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

int main(void);
/* Weak so that firmware linked without the vbench HAL (and without its own) still starts. */
void system_init(void) __attribute__((weak));
#if defined(PICOLIBC_TLS)
void _set_tls(void *tls);
#endif

void Reset_Handler(void) __attribute__((noreturn));
void Default_Handler(void) __attribute__((naked));

static int semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void __attribute__((noreturn)) semihost_exit(uint32_t reason, int code)
{
    uint32_t block[2] = {reason, (uint32_t)code};
    semihost(SEMI_SYS_EXIT_EXTENDED, block);
    /* A debugger without SYS_EXIT_EXTENDED: 32-bit SYS_EXIT takes the reason itself in r1. */
    semihost(SEMI_SYS_EXIT, (const void *)(uintptr_t)(code == 0 ? ADP_STOPPED_APPLICATION_EXIT
                                                                   : ADP_STOPPED_RUNTIME_ERROR_UNKNOWN));
    for (;;) {
    }
}

/* Copy and clear loops must stay loops: no memcpy/memset before .data and TLS exist. */
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void Reset_Handler(void)
{
    /* FPU: full access to CP10/CP11 before any floating-point instruction (DDI0403E §B3.2.20). */
    SCB_CPACR |= (0xFu << 20);
    __asm__ volatile("dsb\n\tisb" ::: "memory");

    /* Stack pattern below the current SP (this function's own frame lies above it). */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (volatile uint32_t *p = __stack_bottom; p < sp; p++)
        *p = STACK_FILL;

    const uint32_t *src = _sidata;
    for (uint32_t *dst = _sdata; dst < _edata;)
        *dst++ = *src++;
    src = __ramfunc_load;
    for (uint32_t *dst = __ramfunc_start; dst < __ramfunc_end;)
        *dst++ = *src++;
    src = __tdata_source;
    for (uint32_t *dst = __tdata_start; dst < __tdata_end;)
        *dst++ = *src++;
    for (uint32_t *dst = __tbss_start; dst < __tbss_end;)
        *dst++ = 0;
    for (uint32_t *dst = _sbss; dst < _ebss;)
        *dst++ = 0;
    /* Code was just written to SRAM (.ramfunc): make sure it is fetched fresh. */
    __asm__ volatile("dsb\n\tisb" ::: "memory");

#if defined(PICOLIBC_TLS)
    _set_tls(__tls_base);
#endif
    for (void (**f)(void) = __preinit_array_start; f < __preinit_array_end; f++)
        (*f)();
    for (void (**f)(void) = __init_array_start; f < __init_array_end; f++)
        (*f)();

    if (system_init)
        system_init();
    int rc = main();
    semihost_exit(ADP_STOPPED_APPLICATION_EXIT, rc);
}

/* ------------------------------------------------------------------ fault reporting */

static char *put_str(char *o, const char *s)
{
    while (*s)
        *o++ = *s++;
    return o;
}

static char *put_hex(char *o, uint32_t v)
{
    *o++ = '0';
    *o++ = 'x';
    for (int i = 28; i >= 0; i -= 4)
        *o++ = "0123456789abcdef"[(v >> i) & 0xF];
    return o;
}

static char *put_dec(char *o, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *o++ = tmp[--n];
    return o;
}

static const char *exception_name(uint32_t n)
{
    switch (n) {
    case 2: return "NMI";
    case 3: return "HardFault";
    case 4: return "MemManage";
    case 5: return "BusFault";
    case 6: return "UsageFault";
    case 11: return "SVCall";
    case 12: return "DebugMonitor";
    case 14: return "PendSV";
    case 15: return "SysTick";
    default: return n >= 16 ? "IRQ" : "reserved";
    }
}

/* Called by Default_Handler with the exception frame (r0-r3, r12, lr, pc, xPSR) and IPSR. */
__attribute__((used, noreturn)) static void vb_unhandled_exception(const uint32_t *frame, uint32_t ipsr)
{
    char msg[128];
    char *o = msg;
    uint32_t n = ipsr & 0x1FF;
    o = put_str(o, "\nvbench: unhandled exception ");
    o = put_dec(o, n);
    o = put_str(o, " (");
    o = put_str(o, exception_name(n));
    if (n >= 16) {
        o = put_str(o, " ");
        o = put_dec(o, n - 16);
    }
    o = put_str(o, ") pc=");
    o = put_hex(o, frame[6]);
    o = put_str(o, " lr=");
    o = put_hex(o, frame[5]);
    o = put_str(o, "\n");
    *o = 0;
    semihost(SEMI_SYS_WRITE0, msg);
    semihost_exit(ADP_STOPPED_RUNTIME_ERROR_UNKNOWN, (int)(128 + n));
}

/* Pick the stack the exception frame was pushed on (EXC_RETURN bit 2), read IPSR, report. */
void Default_Handler(void)
{
    __asm__ volatile(
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "mrs r1, ipsr\n\t"
        "b vb_unhandled_exception\n\t");
}

/* ------------------------------------------------------------------ vector table */

#define WEAK_HANDLER(name) void name(void) __attribute__((weak, alias("Default_Handler")))

WEAK_HANDLER(NMI_Handler);
WEAK_HANDLER(HardFault_Handler);
WEAK_HANDLER(MemManage_Handler);
WEAK_HANDLER(BusFault_Handler);
WEAK_HANDLER(UsageFault_Handler);
WEAK_HANDLER(SVC_Handler);
WEAK_HANDLER(DebugMon_Handler);
WEAK_HANDLER(PendSV_Handler);
WEAK_HANDLER(SysTick_Handler);
/* STM32L4R5 interrupt lines, RM0432 Table 58. */
WEAK_HANDLER(WWDG_IRQHandler);
WEAK_HANDLER(PVD_PVM_IRQHandler);
WEAK_HANDLER(TAMP_STAMP_IRQHandler);
WEAK_HANDLER(RTC_WKUP_IRQHandler);
WEAK_HANDLER(FLASH_IRQHandler);
WEAK_HANDLER(RCC_IRQHandler);
WEAK_HANDLER(EXTI0_IRQHandler);
WEAK_HANDLER(EXTI1_IRQHandler);
WEAK_HANDLER(EXTI2_IRQHandler);
WEAK_HANDLER(EXTI3_IRQHandler);
WEAK_HANDLER(EXTI4_IRQHandler);
WEAK_HANDLER(DMA1_Channel1_IRQHandler);
WEAK_HANDLER(DMA1_Channel2_IRQHandler);
WEAK_HANDLER(DMA1_Channel3_IRQHandler);
WEAK_HANDLER(DMA1_Channel4_IRQHandler);
WEAK_HANDLER(DMA1_Channel5_IRQHandler);
WEAK_HANDLER(DMA1_Channel6_IRQHandler);
WEAK_HANDLER(DMA1_Channel7_IRQHandler);
WEAK_HANDLER(ADC1_IRQHandler);
WEAK_HANDLER(CAN1_TX_IRQHandler);
WEAK_HANDLER(CAN1_RX0_IRQHandler);
WEAK_HANDLER(CAN1_RX1_IRQHandler);
WEAK_HANDLER(CAN1_SCE_IRQHandler);
WEAK_HANDLER(EXTI9_5_IRQHandler);
WEAK_HANDLER(TIM1_BRK_TIM15_IRQHandler);
WEAK_HANDLER(TIM1_UP_TIM16_IRQHandler);
WEAK_HANDLER(TIM1_TRG_COM_TIM17_IRQHandler);
WEAK_HANDLER(TIM1_CC_IRQHandler);
WEAK_HANDLER(TIM2_IRQHandler);
WEAK_HANDLER(TIM3_IRQHandler);
WEAK_HANDLER(TIM4_IRQHandler);
WEAK_HANDLER(I2C1_EV_IRQHandler);
WEAK_HANDLER(I2C1_ER_IRQHandler);
WEAK_HANDLER(I2C2_EV_IRQHandler);
WEAK_HANDLER(I2C2_ER_IRQHandler);
WEAK_HANDLER(SPI1_IRQHandler);
WEAK_HANDLER(SPI2_IRQHandler);
WEAK_HANDLER(USART1_IRQHandler);
WEAK_HANDLER(USART2_IRQHandler);
WEAK_HANDLER(USART3_IRQHandler);
WEAK_HANDLER(EXTI15_10_IRQHandler);
WEAK_HANDLER(RTC_Alarm_IRQHandler);
WEAK_HANDLER(DFSDM1_FLT3_IRQHandler);
WEAK_HANDLER(TIM8_BRK_IRQHandler);
WEAK_HANDLER(TIM8_UP_IRQHandler);
WEAK_HANDLER(TIM8_TRG_COM_IRQHandler);
WEAK_HANDLER(TIM8_CC_IRQHandler);
WEAK_HANDLER(FMC_IRQHandler);
WEAK_HANDLER(SDMMC1_IRQHandler);
WEAK_HANDLER(TIM5_IRQHandler);
WEAK_HANDLER(SPI3_IRQHandler);
WEAK_HANDLER(UART4_IRQHandler);
WEAK_HANDLER(UART5_IRQHandler);
WEAK_HANDLER(TIM6_DAC_IRQHandler);
WEAK_HANDLER(TIM7_IRQHandler);
WEAK_HANDLER(DMA2_Channel1_IRQHandler);
WEAK_HANDLER(DMA2_Channel2_IRQHandler);
WEAK_HANDLER(DMA2_Channel3_IRQHandler);
WEAK_HANDLER(DMA2_Channel4_IRQHandler);
WEAK_HANDLER(DMA2_Channel5_IRQHandler);
WEAK_HANDLER(DFSDM1_FLT0_IRQHandler);
WEAK_HANDLER(DFSDM1_FLT1_IRQHandler);
WEAK_HANDLER(DFSDM1_FLT2_IRQHandler);
WEAK_HANDLER(COMP_IRQHandler);
WEAK_HANDLER(LPTIM1_IRQHandler);
WEAK_HANDLER(LPTIM2_IRQHandler);
WEAK_HANDLER(OTG_FS_IRQHandler);
WEAK_HANDLER(DMA2_Channel6_IRQHandler);
WEAK_HANDLER(DMA2_Channel7_IRQHandler);
WEAK_HANDLER(LPUART1_IRQHandler);
WEAK_HANDLER(OCTOSPI1_IRQHandler);
WEAK_HANDLER(I2C3_EV_IRQHandler);
WEAK_HANDLER(I2C3_ER_IRQHandler);
WEAK_HANDLER(SAI1_IRQHandler);
WEAK_HANDLER(SAI2_IRQHandler);
WEAK_HANDLER(OCTOSPI2_IRQHandler);
WEAK_HANDLER(TSC_IRQHandler);
WEAK_HANDLER(RNG_IRQHandler);
WEAK_HANDLER(FPU_IRQHandler);
WEAK_HANDLER(CRS_IRQHandler);
WEAK_HANDLER(I2C4_ER_IRQHandler);
WEAK_HANDLER(I2C4_EV_IRQHandler);
WEAK_HANDLER(DCMI_IRQHandler);
WEAK_HANDLER(DMA2D_IRQHandler);
WEAK_HANDLER(LTDC_IRQHandler);
WEAK_HANDLER(LTDC_ER_IRQHandler);
WEAK_HANDLER(GFXMMU_IRQHandler);
WEAK_HANDLER(DMAMUX1_OVR_IRQHandler);

typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used)) const vector_t vb_vector_table[16 + 95] = {
    /* ARMv7-M system exceptions */
    (vector_t)__stack_top, /* 0: initial MSP */
    Reset_Handler,         /* 1 */
    NMI_Handler,           /* 2 */
    HardFault_Handler,     /* 3 */
    MemManage_Handler,     /* 4 */
    BusFault_Handler,      /* 5 */
    UsageFault_Handler,    /* 6 */
    0, 0, 0, 0,            /* 7-10: reserved */
    SVC_Handler,           /* 11 */
    DebugMon_Handler,      /* 12 */
    0,                     /* 13: reserved */
    PendSV_Handler,        /* 14 */
    SysTick_Handler,       /* 15 */
    /* STM32L4R5 IRQ 0.. (RM0432 Table 58) */
    WWDG_IRQHandler,               /* 0 */
    PVD_PVM_IRQHandler,            /* 1 */
    TAMP_STAMP_IRQHandler,         /* 2 */
    RTC_WKUP_IRQHandler,           /* 3 */
    FLASH_IRQHandler,              /* 4 */
    RCC_IRQHandler,                /* 5 */
    EXTI0_IRQHandler,              /* 6 */
    EXTI1_IRQHandler,              /* 7 */
    EXTI2_IRQHandler,              /* 8 */
    EXTI3_IRQHandler,              /* 9 */
    EXTI4_IRQHandler,              /* 10 */
    DMA1_Channel1_IRQHandler,      /* 11 */
    DMA1_Channel2_IRQHandler,      /* 12 */
    DMA1_Channel3_IRQHandler,      /* 13 */
    DMA1_Channel4_IRQHandler,      /* 14 */
    DMA1_Channel5_IRQHandler,      /* 15 */
    DMA1_Channel6_IRQHandler,      /* 16 */
    DMA1_Channel7_IRQHandler,      /* 17 */
    ADC1_IRQHandler,               /* 18 */
    CAN1_TX_IRQHandler,            /* 19 */
    CAN1_RX0_IRQHandler,           /* 20 */
    CAN1_RX1_IRQHandler,           /* 21 */
    CAN1_SCE_IRQHandler,           /* 22 */
    EXTI9_5_IRQHandler,            /* 23 */
    TIM1_BRK_TIM15_IRQHandler,     /* 24 */
    TIM1_UP_TIM16_IRQHandler,      /* 25 */
    TIM1_TRG_COM_TIM17_IRQHandler, /* 26 */
    TIM1_CC_IRQHandler,            /* 27 */
    TIM2_IRQHandler,               /* 28 */
    TIM3_IRQHandler,               /* 29 */
    TIM4_IRQHandler,               /* 30 */
    I2C1_EV_IRQHandler,            /* 31 */
    I2C1_ER_IRQHandler,            /* 32 */
    I2C2_EV_IRQHandler,            /* 33 */
    I2C2_ER_IRQHandler,            /* 34 */
    SPI1_IRQHandler,               /* 35 */
    SPI2_IRQHandler,               /* 36 */
    USART1_IRQHandler,             /* 37 */
    USART2_IRQHandler,             /* 38 */
    USART3_IRQHandler,             /* 39 */
    EXTI15_10_IRQHandler,          /* 40 */
    RTC_Alarm_IRQHandler,          /* 41 */
    DFSDM1_FLT3_IRQHandler,        /* 42 */
    TIM8_BRK_IRQHandler,           /* 43 */
    TIM8_UP_IRQHandler,            /* 44 */
    TIM8_TRG_COM_IRQHandler,       /* 45 */
    TIM8_CC_IRQHandler,            /* 46 */
    0,                             /* 47: reserved */
    FMC_IRQHandler,                /* 48 */
    SDMMC1_IRQHandler,             /* 49 */
    TIM5_IRQHandler,               /* 50 */
    SPI3_IRQHandler,               /* 51 */
    UART4_IRQHandler,              /* 52 */
    UART5_IRQHandler,              /* 53 */
    TIM6_DAC_IRQHandler,           /* 54 */
    TIM7_IRQHandler,               /* 55 */
    DMA2_Channel1_IRQHandler,      /* 56 */
    DMA2_Channel2_IRQHandler,      /* 57 */
    DMA2_Channel3_IRQHandler,      /* 58 */
    DMA2_Channel4_IRQHandler,      /* 59 */
    DMA2_Channel5_IRQHandler,      /* 60 */
    DFSDM1_FLT0_IRQHandler,        /* 61 */
    DFSDM1_FLT1_IRQHandler,        /* 62 */
    DFSDM1_FLT2_IRQHandler,        /* 63 */
    COMP_IRQHandler,               /* 64 */
    LPTIM1_IRQHandler,             /* 65 */
    LPTIM2_IRQHandler,             /* 66 */
    OTG_FS_IRQHandler,             /* 67 */
    DMA2_Channel6_IRQHandler,      /* 68 */
    DMA2_Channel7_IRQHandler,      /* 69 */
    LPUART1_IRQHandler,            /* 70 */
    OCTOSPI1_IRQHandler,           /* 71 */
    I2C3_EV_IRQHandler,            /* 72 */
    I2C3_ER_IRQHandler,            /* 73 */
    SAI1_IRQHandler,               /* 74 */
    SAI2_IRQHandler,               /* 75 */
    OCTOSPI2_IRQHandler,           /* 76 */
    TSC_IRQHandler,                /* 77 */
    0,                             /* 78: reserved */
    0,                             /* 79: reserved (AES on L4S5 only) */
    RNG_IRQHandler,                /* 80 */
    FPU_IRQHandler,                /* 81 */
    CRS_IRQHandler,                /* 82 */
    I2C4_ER_IRQHandler,            /* 83 */
    I2C4_EV_IRQHandler,            /* 84 */
    DCMI_IRQHandler,               /* 85 */
    0, 0, 0, 0,                    /* 86-89: reserved */
    DMA2D_IRQHandler,              /* 90 */
    LTDC_IRQHandler,               /* 91 (LTDC: L4R9/L4S9 only) */
    LTDC_ER_IRQHandler,            /* 92 */
    GFXMMU_IRQHandler,             /* 93 */
    DMAMUX1_OVR_IRQHandler,        /* 94 */
};
