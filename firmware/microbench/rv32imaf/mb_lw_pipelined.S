/* mb_lw_pipelined: 100 LWs from SRAM, none using an earlier load's result.
 * CV32E40P: load 1 cycle (aligned, zero-wait data interface). Prediction: 100 + overhead. */
#include "mb_rv.inc"

MB_FUNC mb_lw_pipelined
    la      a1, mb_buf
    T_START
    .rept 50
    lw      t1, 0(a1)
    lw      t2, 4(a1)
    .endr
    T_END
MB_END mb_lw_pipelined
