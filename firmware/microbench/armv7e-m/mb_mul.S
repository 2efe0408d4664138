/* mb_mul / mb_mla: 100 MULs, and 100 MLAs accumulating into the same register.
 * TRM Table 3-1: MUL 1, MLA 1 (single-cycle 32x32 multiplier; the accumulate chain does not
 * stall). Prediction: 100 each + overhead. */
#include "mb_arm.inc"

MB_FUNC mb_mul
    movs    r2, #0
    movs    r3, #3
    movs    r1, #5
    T_START
    .rept 100
    mul     r2, r3, r1
    .endr
    T_END
MB_END mb_mul

MB_FUNC mb_mla
    movs    r2, #0
    movs    r3, #3
    movs    r1, #5
    T_START
    .rept 100
    mla     r2, r3, r1, r2
    .endr
    T_END
MB_END mb_mla
