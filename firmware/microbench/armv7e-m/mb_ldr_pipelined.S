/* mb_ldr_pipelined: 100 back-to-back LDRs from SRAM whose addresses do not depend on earlier
 * loads (base r1 fixed). TRM §3.3.2: LDR is 2 cycles, but neighbouring loads pipeline their
 * address and data phases, so N independent LDRs take N + 1. Prediction: ~101 + overhead. */
#include "mb_arm.inc"

MB_FUNC mb_ldr_pipelined
    ldr     r1, =mb_buf
    T_START
    .rept 50
    ldr     r2, [r1]
    ldr     r3, [r1, #4]
    .endr
    T_END
MB_END mb_ldr_pipelined
