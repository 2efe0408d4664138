/* FULLY_CONNECTED for the Cortex-M4 DSP extension (cortex_m4_dsp variant), bit-exact with
 * reference/fully_connected.c.
 *
 * Four weight rows per pass: per 4 inputs one input word unpacked once with SXTAB16 (input
 * offset added in the same instruction), then for each row one weight word (SXTB16 unpacked)
 * and two SMLADs, in assembly for input offset 0 (what vbench compile emits: the zero point is
 * folded into the bias); depth % 4 inputs and out_depth % 4 rows use scalar code. Accumulators of up to
 * VB_FC_BLOCK rows are requantized in one run (per-tensor quantization) or row by row
 * (per-channel). No scratch memory. */
#include "dsp_common.h"

#define VB_FC_BLOCK 32

#if VB_DSP_NATIVE
/* Input offset 0 (FULLY_CONNECTED from vbench compile always folds it into the bias): acc[0..3]
 * += 4 weight rows (w, w + depth, ...) . x over `groups` groups of 4 inputs. 14 registers: x and
 * 4 row pointers, 4 accumulators, x unpacked (2), a weight word and its unpacked half, the group
 * count; per group 5 LDR (input and first row pipelined), 10 SXTB16, 8 SMLAD; unrolled twice. */
#define VB_FC_ROW(load, acc)                   \
    load                                       \
    "    sxtb16  r12, r11\n"                  \
    "    sxtb16  r11, r11, ror #8\n"          \
    "    smlad   " acc ", r9, r12, " acc "\n" \
    "    smlad   " acc ", r10, r11, " acc "\n"
#define VB_FC_GROUP                            \
    "    ldr     r10, [r0], #4\n"             \
    "    ldr     r11, [r1], #4\n"             \
    "    sxtb16  r9, r10\n"                   \
    "    sxtb16  r10, r10, ror #8\n"          \
    VB_FC_ROW("", "r5")                        \
    VB_FC_ROW("    ldr     r11, [r2], #4\n", "r6") \
    VB_FC_ROW("    ldr     r11, [r3], #4\n", "r7") \
    VB_FC_ROW("    ldr     r11, [r4], #4\n", "r8")

#define VB_UNUSED __attribute__((unused))
__attribute__((naked, noinline)) static void vb_fc_4rows_asm(VB_UNUSED int32_t *acc, VB_UNUSED const int8_t *x,
                                                             VB_UNUSED const int8_t *w, VB_UNUSED int32_t depth,
                                                             VB_UNUSED int32_t groups)
{
    __asm__ volatile(
        "    push    {r4-r11, lr}\n"
        "    push    {r0}\n"
        "    ldr     lr, [sp, #40]\n"           /* groups */
        "    ldm     r0, {r5-r8}\n"
        "    mov     r0, r1\n"                  /* x */
        "    mov     r1, r2\n"                  /* row 0 */
        "    add     r2, r1, r3\n"              /* row 1 */
        "    add     r4, r2, r3, lsl #1\n"      /* row 3 */
        "    add     r3, r2, r3\n"              /* row 2 */
        "    lsrs    lr, lr, #1\n"
        "    bcc     2f\n"
        VB_FC_GROUP
        "2:  beq     3f\n"                      /* Z from the LSRS */
        "1:\n"
        VB_FC_GROUP
        VB_FC_GROUP
        "    subs    lr, lr, #1\n"
        "    bne     1b\n"
        "3:  pop     {r0}\n"
        "    stm     r0, {r5-r8}\n"
        "    pop     {r4-r11, pc}\n");
}
#endif

/* s += the 4 inputs (xe, xo) . the next 4 weights of row w */
#define VB_FC_ROW_STEP(w, s)                                                                       \
    do {                                                                                           \
        wv = vb_rd32(w);                                                                           \
        w += 4;                                                                                    \
        s = vb_smlad(xe, vb_sxtb16(wv), s);                                                        \
        s = vb_smlad(xo, vb_sxtb16_ror8(wv), s);                                                   \
    } while (0)

/* acc[r] += w[r * depth + i] * (x[i] + offset) for r < 4, i < depth. */
static inline void vb_fc_4rows(const int8_t *x, const int8_t *w, int32_t depth, int32_t off2, int32_t offset,
                               int32_t *acc)
{
    const int8_t *w0 = w, *w1 = w + depth, *w2 = w + 2 * depth, *w3 = w + 3 * depth;
    int32_t i = depth >> 2;
#if VB_DSP_NATIVE
    if (offset == 0) {
        if (i > 0) {
            vb_fc_4rows_asm(acc, x, w, depth, i);
        }
        x += 4 * i;
        w0 += 4 * i;
        w1 += 4 * i;
        w2 += 4 * i;
        w3 += 4 * i;
        i = 0;
    }
#endif
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    for (; i > 0; --i) {
        const uint32_t xv = vb_rd32(x);
        x += 4;
        const int32_t xe = vb_sxtab16(off2, xv), xo = vb_sxtab16_ror8(off2, xv);
        uint32_t wv;
        VB_FC_ROW_STEP(w0, s0);
        VB_FC_ROW_STEP(w1, s1);
        VB_FC_ROW_STEP(w2, s2);
        VB_FC_ROW_STEP(w3, s3);
    }
    for (i = depth & 3; i > 0; --i) {
        const int32_t xv = *x++ + offset;
        s0 += *w0++ * xv;
        s1 += *w1++ * xv;
        s2 += *w2++ * xv;
        s3 += *w3++ * xv;
    }
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
}
#undef VB_FC_ROW_STEP

static inline int32_t vb_fc_row(const int8_t *x, const int8_t *w, int32_t depth, int32_t off2, int32_t offset,
                                int32_t s)
{
    int32_t i = depth >> 2;
    for (; i > 0; --i) {
        const uint32_t xv = vb_rd32(x), wv = vb_rd32(w);
        x += 4;
        w += 4;
        s = vb_smlad(vb_sxtab16(off2, xv), vb_sxtb16(wv), s);
        s = vb_smlad(vb_sxtab16_ror8(off2, xv), vb_sxtb16_ror8(wv), s);
    }
    for (i = depth & 3; i > 0; --i) {
        s += *w++ * (*x++ + offset);
    }
    return s;
}

void vb_fully_connected(const vb_fc_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->in_depth, rows = p->out_depth;
    const int32_t offset = p->input_offset, off2 = vb_dup16(offset);
    vb_dsp_out_t ost;
    vb_dsp_out_init(&ost, p->flags, p->output_offset, p->act_min, p->act_max);
    int32_t acc[VB_FC_BLOCK];
    VB_FC_FOR_BATCHES(p, input, output, depth, rows, x, out, {
        VB_FC_FOR_BLOCKS(rows, VB_FC_BLOCK, r0, n, {
            int32_t r = 0;
            for (; r + 4 <= n; r += 4) {
                VB_FC_BIAS4(acc, p->bias, r0, r);
                vb_fc_4rows(x, p->filter + (r0 + r) * depth, depth, off2, offset, acc + r);
            }
            for (; r < n; ++r) {
                acc[r] = vb_fc_row(x, p->filter + (r0 + r) * depth, depth, off2, offset, p->bias[r0 + r]);
            }
            VB_FC_STORE_BLOCK(p, acc, n, out, r0, vb_dsp_requant_store, &ost);
        })
    })
}
