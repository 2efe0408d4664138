/* mb_alu: 100 independent-result ADDs (register, 16-bit encoding).
 * TRM Table 3-1: ADD 1 cycle. Prediction: 100 + overhead. */
#include "mb_arm.inc"

MB_FUNC mb_alu
    movs    r2, #0
    movs    r3, #1
    T_START
    .rept 100
    add     r2, r2, r3
    .endr
    T_END
MB_END mb_alu
