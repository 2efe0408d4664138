/* mb_branch_taken / mb_branch_not_taken: 100 copies of `b<cond> 1f; nop; 1:`.
 * Taken (beq zero, zero): CV32E40P branch taken 3 cycles, skips the NOP -> 300.
 * Not taken (bne zero, zero): branch 1 + NOP 1 -> 200. Each + overhead. */
#include "mb_rv.inc"

MB_FUNC mb_branch_taken
    T_START
    .rept 100
    beq     zero, zero, 1f
    nop
1:
    .endr
    T_END
MB_END mb_branch_taken

MB_FUNC mb_branch_not_taken
    T_START
    .rept 100
    bne     zero, zero, 1f
    nop
1:
    .endr
    T_END
MB_END mb_branch_not_taken
