/* mb_alu: 100 ADDs. CV32E40P: integer computational 1 cycle. Prediction: 100 + overhead. */
#include "mb_rv.inc"

MB_FUNC mb_alu
    li      t1, 0
    li      t2, 1
    T_START
    .rept 100
    add     t1, t1, t2
    .endr
    T_END
MB_END mb_alu
