/* mb_fmadd: 100 FMADD.S accumulating into fa0 (a MAC chain).
 * CV32E40P with FPU_ADDMUL_LAT = 0: FMADD is an add/mul-class op, 1 cycle, result forwarded.
 * Prediction: 100 + overhead. Needs mstatus.FS != 0 (set by startup.S). */
#include "mb_rv.inc"

MB_FUNC mb_fmadd
    li      t1, 0x3f800000          /* 1.0f */
    fmv.w.x fa0, t1
    li      t1, 0x3f000000          /* 0.5f */
    fmv.w.x fa1, t1
    li      t1, 0x3e800000          /* 0.25f */
    fmv.w.x fa2, t1
    T_START
    .rept 100
    fmadd.s fa0, fa1, fa2, fa0
    .endr
    T_END
MB_END mb_fmadd
