/* mb_str_imm: 100 STR Rt, [Rn, #imm] to SRAM.
 * TRM §3.3.2: "STR Rx,[Ry,#imm] is always one cycle" (the write buffer absorbs the data
 * phase). Prediction: 100 + overhead. */
#include "mb_arm.inc"

MB_FUNC mb_str_imm
    ldr     r1, =mb_buf
    movs    r2, #7
    T_START
    .rept 25
    str     r2, [r1]
    str     r2, [r1, #4]
    str     r2, [r1, #8]
    str     r2, [r1, #12]
    .endr
    T_END
MB_END mb_str_imm
