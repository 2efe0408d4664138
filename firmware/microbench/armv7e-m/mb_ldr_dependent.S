/* mb_ldr_dependent: pointer chase, 100 LDRs each using the previous LDR's result as its address
 * (mb_buf[0] holds its own address). No pipelining is possible. TRM Table 3-1: LDR 2.
 * Prediction: 200 + overhead (more if the model adds a load-to-address interlock). */
#include "mb_arm.inc"

MB_FUNC mb_ldr_dependent
    ldr     r2, =mb_buf
    str     r2, [r2]
    T_START
    .rept 100
    ldr     r2, [r2]
    .endr
    T_END
MB_END mb_ldr_dependent
