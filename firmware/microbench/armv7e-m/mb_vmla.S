/* mb_vmla: 100 VMLA.F32 accumulating into s0 (a MAC chain).
 * TRM §7.2.3 Table 7-1: VMLA 3 cycles. Prediction: 300 + overhead. s16-s31 are not touched,
 * so no FP callee-saved registers need saving. */
#include "mb_arm.inc"

MB_FUNC mb_vmla
    vmov.f32 s0, #1.0
    vmov.f32 s1, #0.5
    vmov.f32 s2, #0.25
    T_START
    .rept 100
    vmla.f32 s0, s1, s2
    .endr
    T_END
MB_END mb_vmla
