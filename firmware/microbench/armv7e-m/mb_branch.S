/* mb_branch_taken / mb_branch_not_taken: 100 copies of `beq 1f; nop; 1:`.
 * Z = 1: every BEQ is taken and skips the NOP: TRM Table 3-1 B<cond> taken 1 + P
 *        (P = 1..3 with target alignment) -> 100 * (1 + P), 300 with P = 2.
 * Z = 0: no BEQ is taken, the NOP runs: 100 * (1 + 1) = 200.
 * Same code, only the flags differ. */
#include "mb_arm.inc"

/* The timed body both functions share; only the flags set before it differ. */
.macro BRANCHES
    T_START
    .rept 100
    beq     1f
    nop
1:
    .endr
    T_END
.endm

MB_FUNC mb_branch_taken
    movs    r2, #0
    cmp     r2, #0                  @ Z = 1
    BRANCHES
MB_END mb_branch_taken

MB_FUNC mb_branch_not_taken
    movs    r2, #1
    cmp     r2, #0                  @ Z = 0
    BRANCHES
MB_END mb_branch_not_taken
