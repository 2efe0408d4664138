/* mb_load_use: 50 x (LW t1; ADD using t1 right away).
 * CV32E40P hazards: 1-cycle stall when a load result is used by the next instruction.
 * Prediction: 50 * (1 + 1 + 1) = 150 + overhead (100 without the interlock). */
#include "mb_rv.inc"

MB_FUNC mb_load_use
    la      a1, mb_buf
    li      t2, 0
    T_START
    .rept 50
    lw      t1, 0(a1)
    add     t2, t2, t1
    .endr
    T_END
MB_END mb_load_use
