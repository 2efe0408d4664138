/* mb_div_small_divisor / mb_div_large_divisor: 100 DIVs of 0x7fffffff by 3 and by 0x40000000.
 * CV32E40P: DIV 3..35 cycles depending on the divisor's leading zeros (the serial divider
 * shifts the divisor up first): a small divisor is slow (near 35), a large one fast (near 3).
 * Predictions: ~100 * 34 and ~100 * 3, each + overhead. */
#include "mb_rv.inc"

MB_FUNC mb_div_small_divisor
    li      t1, 0x7fffffff
    li      t2, 3
    T_START
    .rept 100
    div     t3, t1, t2
    .endr
    T_END
MB_END mb_div_small_divisor

MB_FUNC mb_div_large_divisor
    li      t1, 0x7fffffff
    li      t2, 0x40000000
    T_START
    .rept 100
    div     t3, t1, t2
    .endr
    T_END
MB_END mb_div_large_divisor
