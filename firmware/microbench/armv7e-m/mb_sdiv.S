/* mb_sdiv_small / mb_sdiv_large: 100 SDIVs with a small quotient (100 / 7 = 14) and a large
 * one (0x7fffffff / 3). TRM Table 3-1: SDIV 2..12, "division operations use early termination
 * depending on the size of the operands". Predictions: small near 100 * 2-4, large near
 * 100 * 12, each + overhead. */
#include "mb_arm.inc"

MB_FUNC mb_sdiv_small
    movs    r3, #100
    movs    r1, #7
    T_START
    .rept 100
    sdiv    r2, r3, r1
    .endr
    T_END
MB_END mb_sdiv_small

MB_FUNC mb_sdiv_large
    ldr     r3, =0x7fffffff
    movs    r1, #3
    T_START
    .rept 100
    sdiv    r2, r3, r1
    .endr
    T_END
MB_END mb_sdiv_large
