/*
 * vbench microbenchmarks: hand-written instruction sequences timed with the core's own cycle
 * counter, to check the simulator's timing model against the TRMs instruction by instruction.
 *
 * The sequences are the .S files in armv7e-m/ and rv32imaf/ (the build driver adds the directory named
 * after the platform's ISA). Output, one line per benchmark, then the end marker:
 *     <name> <cycles>
 *     microbench: done
 * <cycles> is the raw counter difference; it includes one counter read (see `empty`).
 *
 * Build options (-D):
 *     MB_ONLY="name"   run only that benchmark (default: all, in table order)
 *     MB_COLD=1        report the first call of each benchmark instead of the second one (the
 *                      default second call sees warm caches and a trained flash prefetcher)
 */
#include <string.h>

#include "vb_hal.h"

/* Scratch buffer for the load/store sequences (SRAM, 32-byte aligned). */
uint32_t mb_buf[64] __attribute__((aligned(32)));

typedef uint32_t (*mb_fn)(void);

struct mb {
    const char *name;
    mb_fn fn;
};

#define MB(name) {#name, mb_##name}

#if defined(__arm__)
uint32_t mb_empty(void), mb_alu(void), mb_mul(void), mb_mla(void);
uint32_t mb_ldr_pipelined(void), mb_ldr_dependent(void), mb_str_imm(void), mb_ldr_flash(void);
uint32_t mb_ldm4(void), mb_ldm8(void), mb_stm4(void), mb_stm8(void);
uint32_t mb_branch_taken(void), mb_branch_not_taken(void);
uint32_t mb_sdiv_small(void), mb_sdiv_large(void), mb_vmla(void);
uint32_t mb_it_pass(void), mb_it_fail(void);
uint32_t mb_loop_flash(void), mb_loop_sram(void);

static const struct mb benches[] = {
    MB(empty), MB(alu), MB(mul), MB(mla),
    MB(ldr_pipelined), MB(ldr_dependent), MB(str_imm), MB(ldr_flash),
    MB(ldm4), MB(ldm8), MB(stm4), MB(stm8),
    MB(branch_taken), MB(branch_not_taken),
    MB(sdiv_small), MB(sdiv_large), MB(vmla),
    MB(it_pass), MB(it_fail),
    MB(loop_flash), MB(loop_sram),
};
#elif defined(__riscv)
uint32_t mb_empty(void), mb_alu(void), mb_lw_pipelined(void), mb_load_use(void);
uint32_t mb_branch_taken(void), mb_branch_not_taken(void), mb_mul(void), mb_mulh(void);
uint32_t mb_div_small_divisor(void), mb_div_large_divisor(void), mb_fmadd(void);

static const struct mb benches[] = {
    MB(empty), MB(alu), MB(lw_pipelined), MB(load_use),
    MB(branch_taken), MB(branch_not_taken), MB(mul), MB(mulh),
    MB(div_small_divisor), MB(div_large_divisor), MB(fmadd),
};
#else
#error "microbench: unknown ISA"
#endif

int main(void)
{
    hal_uart_init(VB_HAL_DEFAULT_BAUD);
    hal_cycles_init();
    hal_print_str("microbench: platform=");
    hal_print_str(hal_platform_name());
    hal_print_str(" core_clock_hz=");
    hal_print_u32(hal_core_clock_hz());
    hal_print_char('\n');

    unsigned ran = 0;
    for (unsigned i = 0; i < sizeof benches / sizeof benches[0]; i++) {
#ifdef MB_ONLY
        if (strcmp(benches[i].name, MB_ONLY) != 0)
            continue;
#endif
        uint32_t cycles = benches[i].fn();
#if !defined(MB_COLD) || !MB_COLD
        cycles = benches[i].fn();
#endif
        hal_print_str(benches[i].name);
        hal_print_char(' ');
        hal_print_u32(cycles);
        hal_print_char('\n');
        ran++;
    }
    hal_print_str("microbench: done\n");
    return ran ? 0 : 1; /* MB_ONLY naming no benchmark is an error */
}
