/* mb_ldr_flash: 100 LDRs of consecutive words of a constant table in flash (.rodata, read over
 * D-Code through the ART data cache). TRM: LDR 2, pipelined N + 1 at zero wait states; with
 * LATENCY = 5 each 64-bit flash line costs the wait states unless the D-cache holds it.
 * Prediction: ~101 at 0 WS; 101 + (lines missed) * 5 at 5 WS. */
#include "mb_arm.inc"

    .section .rodata.mb_flash_table, "a", %progbits
    .align 3
mb_flash_table:
    .rept 100
    .word 0x5a5a5a5a
    .endr

MB_FUNC mb_ldr_flash
    ldr     r1, =mb_flash_table
    T_START
    .set off, 0
    .rept 100
    ldr     r2, [r1, #off]
    .set off, off + 4
    .endr
    T_END
MB_END mb_ldr_flash
