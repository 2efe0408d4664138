/* The blocked float32 dot products of the cortex_m4_dsp variant (see fpu_f32.h): Thumb-2
 * assembly for the FPv4-SP unit, and the same arithmetic in C for the host build. */
#include "fpu_f32.h"

#if VB_FPU_NATIVE
/* Registers: r0 = pixel 0 input, r1 = pixel 1 input (p2), r2-r5 = the group's 4 filter rows,
 * r6 = tap counter, r7 = run counter, r8 = job, r9 = xskip, r10 = wskip, r11 = scratch,
 * r12 = 0, lr = group counter.
 * p2: s0-s3 pixel 0's sums (channels 0-3), s4-s7 pixel 1's, s8-s11 / s12-s15 four inputs of
 * pixel 0 / 1, s16-s19 four weights of one channel, s20-s23 products.
 * p1: s0-s3 sums, s4-s7 products, s8-s11 four inputs, s16-s31 four weights of each channel. */

/* p2, 4 taps of one channel (filter row r) into its sums a (pixel 0) and b (pixel 1). */
#define VB_P2_QUAD_CH(r, a, b)                                                                     \
    "    vldmia  " #r "!, {s16-s19}\n"                                                             \
    VB_F32_MA4(s20, s8, s16, s21, s12, s16, s22, s9, s17, s23, s13, s17, a, b, a, b)               \
    VB_F32_MA4(s20, s10, s18, s21, s14, s18, s22, s11, s19, s23, s15, s19, a, b, a, b)
#define VB_P2_QUAD                                                                                 \
    "    vldmia  r0!, {s8-s11}\n"                                                                  \
    "    vldmia  r1!, {s12-s15}\n"                                                                 \
    VB_P2_QUAD_CH(r2, s0, s4) VB_P2_QUAD_CH(r3, s1, s5) VB_P2_QUAD_CH(r4, s2, s6)                  \
    VB_P2_QUAD_CH(r5, s3, s7)

#define VB_P2_ONE                                                                                  \
    "    vldmia  r0!, {s8}\n"                                                                      \
    "    vldmia  r1!, {s12}\n"                                                                     \
    "    vldmia  r2!, {s16}\n"                                                                     \
    "    vldmia  r3!, {s17}\n"                                                                     \
    "    vldmia  r4!, {s18}\n"                                                                     \
    "    vldmia  r5!, {s19}\n"                                                                     \
    VB_F32_MA4(s20, s8, s16, s21, s12, s16, s22, s8, s17, s23, s12, s17, s0, s4, s1, s5)           \
    VB_F32_MA4(s20, s8, s18, s21, s12, s18, s22, s8, s19, s23, s12, s19, s2, s6, s3, s7)

/* p1: input x against the 4 channels' weights w0..w3. */
#define VB_P1_TAP(x, w0, w1, w2, w3)                                                               \
    VB_F32_MA4(s4, x, w0, s5, x, w1, s6, x, w2, s7, x, w3, s0, s1, s2, s3)
#define VB_P1_QUAD                                                                                 \
    "    vldmia  r0!, {s8-s11}\n"                                                                  \
    "    vldmia  r2!, {s16-s19}\n"                                                                 \
    "    vldmia  r3!, {s20-s23}\n"                                                                 \
    "    vldmia  r4!, {s24-s27}\n"                                                                 \
    "    vldmia  r5!, {s28-s31}\n"                                                                 \
    VB_P1_TAP(s8, s16, s20, s24, s28) VB_P1_TAP(s9, s17, s21, s25, s29)                            \
    VB_P1_TAP(s10, s18, s22, s26, s30) VB_P1_TAP(s11, s19, s23, s27, s31)

#define VB_P1_ONE                                                                                  \
    "    vldmia  r0!, {s8}\n"                                                                      \
    "    vldmia  r2!, {s16}\n"                                                                     \
    "    vldmia  r3!, {s20}\n"                                                                     \
    "    vldmia  r4!, {s24}\n"                                                                     \
    "    vldmia  r5!, {s28}\n"                                                                     \
    VB_P1_TAP(s8, s16, s20, s24, s28)

/* p4 (registers below): weight w against the 4 pixels' inputs x0..x3, into sums a0..a3. */
#define VB_P4_TAP(w, x0, x1, x2, x3, a0, a1, a2, a3)                                               \
    VB_F32_MA4(s26, x0, w, s27, x1, w, s28, x2, w, s29, x3, w, a0, a1, a2, a3)
/* One channel's 2 weights (s24, s25) against the 4 pixels' 2 inputs each. */
#define VB_P4_PAIR_CH(a0, a1, a2, a3)                                                              \
    VB_P4_TAP(s24, s16, s18, s20, s22, a0, a1, a2, a3)                                             \
    VB_P4_TAP(s25, s17, s19, s21, s23, a0, a1, a2, a3)
#define VB_P4_PAIR                                                                                 \
    "    vldmia  r0!, {s16-s17}\n"                                                                 \
    "    vldmia  r1!, {s18-s19}\n"                                                                 \
    "    vldmia  r2!, {s20-s21}\n"                                                                 \
    "    vldmia  r3!, {s22-s23}\n"                                                                 \
    "    vldmia  r4!, {s24-s25}\n"                                                                 \
    VB_P4_PAIR_CH(s0, s4, s8, s12)                                                                 \
    "    vldmia  r5!, {s24-s25}\n"                                                                 \
    VB_P4_PAIR_CH(s1, s5, s9, s13)                                                                 \
    "    vldmia  r6!, {s24-s25}\n"                                                                 \
    VB_P4_PAIR_CH(s2, s6, s10, s14)                                                                \
    "    vldmia  r7!, {s24-s25}\n"                                                                 \
    VB_P4_PAIR_CH(s3, s7, s11, s15)

#define VB_P4_ONE                                                                                  \
    "    vldmia  r0!, {s16}\n"                                                                     \
    "    vldmia  r1!, {s18}\n"                                                                     \
    "    vldmia  r2!, {s20}\n"                                                                     \
    "    vldmia  r3!, {s22}\n"                                                                     \
    "    vldmia  r4!, {s24}\n"                                                                     \
    VB_P4_TAP(s24, s16, s18, s20, s22, s0, s4, s8, s12)                                            \
    "    vldmia  r5!, {s24}\n"                                                                     \
    VB_P4_TAP(s24, s16, s18, s20, s22, s1, s5, s9, s13)                                            \
    "    vldmia  r6!, {s24}\n"                                                                     \
    VB_P4_TAP(s24, s16, s18, s20, s22, s2, s6, s10, s14)                                           \
    "    vldmia  r7!, {s24}\n"                                                                     \
    VB_P4_TAP(s24, s16, s18, s20, s22, s3, s7, s11, s15)

#define VB_UNUSED __attribute__((unused))

/* One group: zero the sums, set up the filter rows, run `rows` runs of QUAD x n/4 + ONE x n%4. */
#define VB_ROWS_BODY(ZERO, QUAD, ONE, RESET_X)                                   \
    "1:  ldr     r2, [r8, #8]\n"          /* w of channel 0 */                \
    "    ldr     r11, [r8, #28]\n"        /* wch */                           \
    RESET_X                                                                   \
    ZERO                                                                      \
    "    add     r3, r2, r11\n"                                               \
    "    add     r4, r3, r11\n"                                               \
    "    add     r5, r4, r11\n"                                               \
    "    add     r11, r5, r11\n"                                              \
    "    str     r11, [r8, #8]\n"         /* the next group's channel 0 */    \
    "    ldr     r7, [r8, #16]\n"         /* rows */                          \
    "2:  ldr     r11, [r8, #12]\n"        /* n */                             \
    "    lsrs    r6, r11, #2\n"                                               \
    "    beq     4f\n"                                                        \
    "3:\n"                                                                    \
    QUAD                                                                      \
    "    subs    r6, r6, #1\n"                                                \
    "    bne     3b\n"                                                        \
    "4:  ands    r6, r11, #3\n"                                               \
    "    beq     6f\n"                                                        \
    "5:\n"                                                                    \
    ONE                                                                       \
    "    subs    r6, r6, #1\n"                                                \
    "    bne     5b\n"                                                        \
    "6:  add     r0, r0, r9\n"                                                \
    "    add     r1, r1, r9\n"                                                \
    "    add     r2, r2, r10\n"                                               \
    "    add     r3, r3, r10\n"                                               \
    "    add     r4, r4, r10\n"                                               \
    "    add     r5, r5, r10\n"                                               \
    "    subs    r7, r7, #1\n"                                                \
    "    bne     2b\n"

__attribute__((naked, noinline)) void vb_f32_rows_p2(VB_UNUSED vb_f32_job_t *job)
{
    __asm__ volatile(
        "    push    {r4-r11, lr}\n"
        "    vpush   {s16-s23}\n"
        "    mov     r8, r0\n"
        "    ldrd    r9, r10, [r8, #20]\n"
        "    ldr     lr, [r8, #32]\n"
        "    movs    r12, #0\n"
        VB_ROWS_BODY("    vmov    s0, r12\n    vmov    s1, r12\n    vmov    s2, r12\n    vmov    s3, r12\n"
                     "    vmov    s4, r12\n    vmov    s5, r12\n    vmov    s6, r12\n    vmov    s7, r12\n",
                     VB_P2_QUAD, VB_P2_ONE, "    ldrd    r0, r1, [r8]\n")
        "    ldrd    r6, r7, [r8, #36]\n"
        "    vstmia  r6!, {s0-s3}\n"
        "    vstmia  r7!, {s4-s7}\n"
        "    strd    r6, r7, [r8, #36]\n"
        "    subs    lr, lr, #1\n"
        "    bne     1b\n"
        "    vpop    {s16-s23}\n"
        "    pop     {r4-r11, pc}\n");
}

__attribute__((naked, noinline)) void vb_f32_rows_p1(VB_UNUSED vb_f32_job_t *job)
{
    __asm__ volatile(
        "    push    {r4-r11, lr}\n"
        "    vpush   {s16-s31}\n"
        "    mov     r8, r0\n"
        "    ldrd    r9, r10, [r8, #20]\n"
        "    ldr     lr, [r8, #32]\n"
        "    movs    r12, #0\n"
        VB_ROWS_BODY("    vmov    s0, r12\n    vmov    s1, r12\n    vmov    s2, r12\n    vmov    s3, r12\n",
                     VB_P1_QUAD, VB_P1_ONE, "    ldr     r0, [r8]\n")
        "    ldr     r6, [r8, #36]\n"
        "    vstmia  r6!, {s0-s3}\n"
        "    str     r6, [r8, #36]\n"
        "    subs    lr, lr, #1\n"
        "    bne     1b\n"
        "    vpop    {s16-s31}\n"
        "    pop     {r4-r11, pc}\n");
}


/* 4 pixels x 4 channels, 2 taps per iteration. r0-r3 the pixels' inputs, r4-r7 the group's
 * filter rows, r8 job, r9 xskip, r10 wskip, r11 tap counter / scratch, r12 runs / ostride,
 * lr groups. s0-s15 sums (pixel p, channel c in s[4p + c]), s16-s23 two inputs of each pixel,
 * s24/s25 two weights, s26-s29 products. */
__attribute__((naked, noinline)) void vb_f32_rows_p4(VB_UNUSED vb_f32_job_t *job)
{
    __asm__ volatile(
        "    push    {r4-r11, lr}\n"
        "    vpush   {s16-s29}\n"
        "    mov     r8, r0\n"
        "    ldrd    r9, r10, [r8, #20]\n"
        "    ldr     lr, [r8, #32]\n"
        "1:  ldr     r0, [r8, #0]\n"
        "    ldr     r11, [r8, #44]\n"        /* pstep */
        "    add     r1, r0, r11\n"
        "    add     r2, r1, r11\n"
        "    add     r3, r2, r11\n"
        "    ldr     r4, [r8, #8]\n"
        "    ldr     r11, [r8, #28]\n"        /* wch */
        "    add     r5, r4, r11\n"
        "    add     r6, r5, r11\n"
        "    add     r7, r6, r11\n"
        "    add     r11, r7, r11\n"
        "    str     r11, [r8, #8]\n"         /* the next group's channel 0 */
        "    movs    r11, #0\n"
        "    vmov    s0, r11\n    vmov    s1, r11\n    vmov    s2, r11\n    vmov    s3, r11\n"
        "    vmov    s4, r11\n    vmov    s5, r11\n    vmov    s6, r11\n    vmov    s7, r11\n"
        "    vmov    s8, r11\n    vmov    s9, r11\n    vmov    s10, r11\n    vmov    s11, r11\n"
        "    vmov    s12, r11\n    vmov    s13, r11\n    vmov    s14, r11\n    vmov    s15, r11\n"
        "    ldr     r12, [r8, #16]\n"        /* rows */
        "2:  ldr     r11, [r8, #12]\n"        /* n: an odd first tap alone, then pairs */
        "    tst     r11, #1\n"
        "    beq     3f\n"
        VB_P4_ONE
        "3:  lsrs    r11, r11, #1\n"
        "    beq     5f\n"
        "4:\n"
        VB_P4_PAIR
        "    subs    r11, r11, #1\n"
        "    bne     4b\n"
        "5:  add     r0, r0, r9\n"
        "    add     r1, r1, r9\n"
        "    add     r2, r2, r9\n"
        "    add     r3, r3, r9\n"
        "    add     r4, r4, r10\n"
        "    add     r5, r5, r10\n"
        "    add     r6, r6, r10\n"
        "    add     r7, r7, r10\n"
        "    subs    r12, r12, #1\n"
        "    bne     2b\n"
        "    ldr     r11, [r8, #36]\n"        /* out0 */
        "    ldr     r12, [r8, #48]\n"        /* ostride */
        "    adds    r0, r11, #16\n"
        "    str     r0, [r8, #36]\n"
        "    vstmia  r11, {s0-s3}\n"
        "    add     r11, r11, r12\n"
        "    vstmia  r11, {s4-s7}\n"
        "    add     r11, r11, r12\n"
        "    vstmia  r11, {s8-s11}\n"
        "    add     r11, r11, r12\n"
        "    vstmia  r11, {s12-s15}\n"
        "    subs    lr, lr, #1\n"
        "    bne     1b\n"
        "    vpop    {s16-s29}\n"
        "    pop     {r4-r11, pc}\n");
}

#else /* host build: the same sums in the same order */

static void vb_f32_rows(vb_f32_job_t *job, int32_t pixels)
{
    const int32_t wch = job->wch / 4, xrow = job->n + job->xskip / 4, wrow = job->n + job->wskip / 4;
    for (int32_t g = 0; g < job->blocks; ++g) {
        for (int32_t c = 0; c < 4; ++c) {
            const float *w = job->w + c * wch;
            for (int32_t i = 0; i < pixels; ++i) {
                /* p2: pixel 1 at x1 / out1; p4: pixels pstep / ostride bytes apart */
                const float *x = pixels == 2 && i == 1 ? job->x1 : job->x0 + i * (job->pstep / 4);
                float *out = pixels == 2 && i == 1 ? job->out1 : job->out0 + i * (job->ostride / 4);
                out[c] = vb_f32_dot_rows(x, w, job->n, job->rows, xrow, wrow);
            }
        }
        job->w += 4 * wch;
        job->out0 += 4;
        if (pixels == 2) {
            job->out1 += 4;
        }
    }
}

void vb_f32_rows_p1(vb_f32_job_t *job) { vb_f32_rows(job, 1); }
void vb_f32_rows_p2(vb_f32_job_t *job) { vb_f32_rows(job, 2); }
void vb_f32_rows_p4(vb_f32_job_t *job) { vb_f32_rows(job, 4); }
#endif
