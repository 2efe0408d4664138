/* Shared out-of-line helpers of the cortex_m4_dsp kernels (see dsp_common.h). */
#include "dsp_common.h"

/* Fast requantization of a run of one channel's accumulators (see vb_rq_fast), for a
 * multiplier >= 0 and -31 <= shift <= -1. With sh = -shift - 1 (= ~shift) the 64-bit constant is
 *   double rounding: 2^30 + 2^(31+sh) - [x < 0] * 2^31   (sh = 0: 0xC0000000 - [x < 0] * 2^31)
 *   single rounding: 2^(31+sh)
 * and the result is the top word of constant + x * mult, shifted right by sh. */
#if VB_DSP_NATIVE
/* Per value: LDR, the constant (minus 2^31 for a negative accumulator under double rounding),
 * SMLAL, ASR of the top word, output offset, clamp (SSAT, or two compare/IT/MOV), STRB; 11
 * constants + 3 temporaries use all 14 usable registers, hence assembly. */
#define VB_RQ_LOOP(label, rounding, clamp)                  \
    label ":\n"                                            \
    "    ldr     r12, [r0], #4\n"                          \
    rounding                                                \
    "    smlal   r11, lr, r12, r4\n"                       \
    "    asr     lr, lr, r5\n"                             \
    "    add     lr, lr, r8\n"                             \
    clamp                                                   \
    "    strb    lr, [r2]\n"                               \
    "    add     r2, r2, r3\n"                             \
    "    subs    r1, r1, #1\n"                             \
    "    bne     " label "b\n"                             \
    "    pop     {r4-r11, pc}\n"
#define VB_RQ_DOUBLE                                        \
    "    and     lr, r12, #0x80000000\n"                   \
    "    subs    r11, r6, lr\n"                            \
    "    sbc     lr, r7, #0\n"
#define VB_RQ_SINGLE_K                                      \
    "    mov     r11, r6\n"                                \
    "    mov     lr, r7\n"
/* SSAT modes, two values per iteration (r9/r10 are free there): x in r12 and r9 */
#define VB_RQ_ONE(x, rounding)                              \
    rounding                                                \
    "    smlal   r11, lr, " x ", r4\n"                     \
    "    asr     lr, lr, r5\n"                             \
    "    add     lr, lr, r8\n"                             \
    "    ssat    lr, #8, lr\n"                             \
    "    strb    lr, [r2]\n"                               \
    "    add     r2, r2, r3\n"
#define VB_RQ_DOUBLE_X(x)                                   \
    "    and     lr, " x ", #0x80000000\n"                 \
    "    subs    r11, r6, lr\n"                            \
    "    sbc     lr, r7, #0\n"
#define VB_RQ_LOOP_SAT2(label, rounding_r12, rounding_r9)   \
    label ":\n"                                            \
    "    tst     r1, #1\n"                                 \
    "    beq     " label "1f\n"                            \
    "    ldr     r12, [r0], #4\n"                          \
    VB_RQ_ONE("r12", rounding_r12)                          \
    "    subs    r1, r1, #1\n"                             \
    "    it      eq\n"                                     \
    "    popeq   {r4-r11, pc}\n"                           \
    label "1:\n"                                           \
    "    ldr     r12, [r0]\n"                              \
    "    ldr     r9, [r0, #4]\n"                           \
    "    add     r0, r0, #8\n"                             \
    VB_RQ_ONE("r12", rounding_r12)                          \
    VB_RQ_ONE("r9", rounding_r9)                            \
    "    subs    r1, r1, #2\n"                             \
    "    bne     " label "1b\n"                            \
    "    pop     {r4-r11, pc}\n"
#define VB_RQ_CLAMP                                         \
    "    cmp     lr, r9\n"                                 \
    "    it      lt\n"                                     \
    "    movlt   lr, r9\n"                                 \
    "    cmp     lr, r10\n"                                \
    "    it      gt\n"                                     \
    "    movgt   lr, r10\n"

#define VB_UNUSED __attribute__((unused))
__attribute__((naked, noinline)) void vb_dsp_rq_run(VB_UNUSED const int32_t *acc, VB_UNUSED int32_t n,
                                                    VB_UNUSED int8_t *out, VB_UNUSED int32_t ostride,
                                                    VB_UNUSED const vb_dsp_out_t *o, VB_UNUSED int32_t mult,
                                                    VB_UNUSED int32_t shift)
{
    __asm__ volatile(
        "    push    {r4-r11, lr}\n"
        "    cmp     r1, #0\n"
        "    it      le\n"
        "    pople   {r4-r11, pc}\n"
        "    ldrd    r12, r4, [sp, #36]\n"     /* o, mult */
        "    ldr     r5, [sp, #44]\n"          /* shift */
        "    ldm     r12, {r8-r11}\n"          /* out_offset, act_min, act_max, mode */
        "    mvn     r5, r5\n"                 /* sh = -shift - 1 */
        "    subs    r7, r5, #1\n"
        "    bmi     1f\n"
        "    movs    r6, #1\n"
        "    lsl     r7, r6, r7\n"             /* khi = 2^(sh-1) */
        "    tst     r11, #2\n"
        "    ite     eq\n"
        "    moveq   r6, #0x40000000\n"        /* klo: double 2^30, single 0 */
        "    movne   r6, #0\n"
        "    b       2f\n"
        "1:  movs    r7, #0\n"                 /* sh = 0 */
        "    tst     r11, #2\n"
        "    ite     eq\n"
        "    moveq   r6, #0xC0000000\n"
        "    movne   r6, #0x80000000\n"
        "2:  cmp     r11, #1\n"
        "    beq     12f\n"
        "    cmp     r11, #2\n"
        "    beq     13f\n"
        "    cmp     r11, #3\n"
        "    beq     14f\n"
        VB_RQ_LOOP("11", VB_RQ_DOUBLE, VB_RQ_CLAMP)
        VB_RQ_LOOP_SAT2("12", VB_RQ_DOUBLE_X("r12"), VB_RQ_DOUBLE_X("r9"))
        VB_RQ_LOOP("13", VB_RQ_SINGLE_K, VB_RQ_CLAMP)
        VB_RQ_LOOP_SAT2("14", VB_RQ_SINGLE_K, VB_RQ_SINGLE_K));
}
#else
void vb_dsp_rq_run(const int32_t *acc, int32_t n, int8_t *out, int32_t ostride, const vb_dsp_out_t *o,
                   int32_t mult, int32_t shift)
{
    vb_rq_fast_t q;
    if (!vb_rq_fast_setup(&q, mult, shift, o->flags)) {
        vb_dsp_rq_general(acc, n, out, ostride, o, mult, shift);
        return;
    }
    for (; n > 0; --n, out += ostride) {
        int32_t r = vb_rq_fast(*acc++, &q) + o->out_offset; /* |r| <= 2^30 + 1: no overflow */
        r = r < o->act_min ? o->act_min : r;
        *out = (int8_t)(r > o->act_max ? o->act_max : r);
    }
}
#endif

/* Any multiplier and shift: the reference formulas. */
void vb_dsp_rq_general(const int32_t *acc, int32_t n, int8_t *out, int32_t ostride, const vb_dsp_out_t *o,
                       int32_t mult, int32_t shift)
{
    for (; n > 0; --n, out += ostride) {
        int32_t v = vb_requantize(*acc++, mult, shift, o->flags);
        v = (int32_t)((uint32_t)v + (uint32_t)o->out_offset); /* wraps as the reference's int32 add */
        v = v < o->act_min ? o->act_min : v;
        *out = (int8_t)(v > o->act_max ? o->act_max : v);
    }
}
