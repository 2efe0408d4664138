/* mb_loop_flash / mb_loop_sram: the same counted loop, once in flash (.text) and once in SRAM
 * (.ramfunc, copied there by the start-up code), for the flash wait-state / ART sweep.
 * Body: 16 ADDs + SUBS + BNE (taken) = 17 + (1 + P) cycles at zero wait states; 64 iterations.
 * Prediction from SRAM: 64 * 20 - 2 = ~1278 + overhead (P = 2, last BNE not taken).
 * From flash with LATENCY = 5: close to SRAM with the ART I-cache on (the loop fits one
 * 128-byte stretch); far slower with prefetch and caches off (each 64-bit fetch waits 5 cycles). */
#include "mb_arm.inc"

.macro LOOP_BODY
    movs    r1, #64
    movs    r2, #0
    movs    r3, #1
    T_START
1:
    .rept 16
    add     r2, r2, r3
    .endr
    subs    r1, r1, #1
    bne     1b
    T_END
.endm

MB_FUNC mb_loop_flash
    LOOP_BODY
MB_END mb_loop_flash

MB_RAMFUNC mb_loop_sram
    LOOP_BODY
MB_END mb_loop_sram
