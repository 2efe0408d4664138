/* mb_it_pass / mb_it_fail: 100 copies of `it eq; addeq r2, r2, r3` with the condition true
 * (pass) or false (fail). TRM Table 3-1: IT 1 (may fold into a preceding 16-bit instruction on
 * silicon; vbench does not model folding), ADD 1; a condition-failed instruction still takes its
 * cycle. Prediction: 200 + overhead for both. (Unicorn skips the code hook for failed IT-block
 * instructions; the counts must not depend on that.) */
#include "mb_arm.inc"

/* The timed body both functions share; only the flags set before it differ. */
.macro IT_ADDS
    T_START
    .rept 100
    it      eq
    addeq   r2, r2, r3
    .endr
    T_END
.endm

MB_FUNC mb_it_pass
    movs    r2, #0
    movs    r3, #1
    cmp     r2, r2                  @ Z = 1: EQ passes
    IT_ADDS
MB_END mb_it_pass

MB_FUNC mb_it_fail
    movs    r2, #0
    movs    r3, #1
    cmp     r3, r2                  @ Z = 0: EQ fails
    IT_ADDS
MB_END mb_it_fail
