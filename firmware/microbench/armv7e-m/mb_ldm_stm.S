/* mb_ldm4 / mb_ldm8 / mb_stm4 / mb_stm8: 25 LDM/STM of 4 or 8 registers from/to SRAM.
 * TRM Table 3-1: LDM, STM 1 + N. Predictions: 4 registers 25 * 5 = 125, 8 registers
 * 25 * 9 = 225, each + overhead. r4-r9 are saved outside the timed region. */
#include "mb_arm.inc"

/* One timed function: save the registers the list uses, 25 x `op r1, {regs}` on mb_buf, restore. */
.macro MULTIPLE name, op, saved, regs:vararg
MB_FUNC \name
    push    {\saved}
    ldr     r1, =mb_buf
    T_START
    .rept 25
    \op     r1, {\regs}
    .endr
    T_END
    pop     {\saved}
MB_END \name
.endm

MULTIPLE mb_ldm4, ldm, r4-r5, r2, r3, r4, r5
MULTIPLE mb_ldm8, ldm, r4-r9, r2-r9
MULTIPLE mb_stm4, stm, r4-r5, r2, r3, r4, r5
MULTIPLE mb_stm8, stm, r4-r9, r2-r9
