/* mb_ldm4 / mb_ldm8 / mb_stm4 / mb_stm8: 25 LDM/STM of 4 or 8 registers from/to SRAM.
 * TRM Table 3-1: LDM, STM 1 + N. Predictions: 4 registers 25 * 5 = 125, 8 registers
 * 25 * 9 = 225, each + overhead. r4-r9 are saved outside the timed region. */
#include "mb_arm.inc"

MB_FUNC mb_ldm4
    push    {r4-r5}
    ldr     r1, =mb_buf
    T_START
    .rept 25
    ldm     r1, {r2, r3, r4, r5}
    .endr
    T_END
    pop     {r4-r5}
MB_END mb_ldm4

MB_FUNC mb_ldm8
    push    {r4-r9}
    ldr     r1, =mb_buf
    T_START
    .rept 25
    ldm     r1, {r2-r9}
    .endr
    T_END
    pop     {r4-r9}
MB_END mb_ldm8

MB_FUNC mb_stm4
    push    {r4-r5}
    ldr     r1, =mb_buf
    T_START
    .rept 25
    stm     r1, {r2, r3, r4, r5}
    .endr
    T_END
    pop     {r4-r5}
MB_END mb_stm4

MB_FUNC mb_stm8
    push    {r4-r9}
    ldr     r1, =mb_buf
    T_START
    .rept 25
    stm     r1, {r2-r9}
    .endr
    T_END
    pop     {r4-r9}
MB_END mb_stm8
