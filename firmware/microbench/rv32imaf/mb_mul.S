/* mb_mul / mb_mulh: 100 MULs (low word) and 100 MULHs (high word).
 * CV32E40P: MUL 1 cycle; MULH, MULHSU, MULHU 5 cycles.
 * Predictions: 100 and 500, each + overhead. */
#include "mb_rv.inc"

MB_FUNC mb_mul
    li      t1, 123457
    li      t2, 7654321
    T_START
    .rept 100
    mul     t3, t1, t2
    .endr
    T_END
MB_END mb_mul

MB_FUNC mb_mulh
    li      t1, 123457
    li      t2, 7654321
    T_START
    .rept 100
    mulh    t3, t1, t2
    .endr
    T_END
MB_END mb_mulh
