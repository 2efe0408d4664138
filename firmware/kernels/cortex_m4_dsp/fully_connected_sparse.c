/* FULLY_CONNECTED on sparse weights for the Cortex-M4 (cortex_m4_dsp variant), bit-exact with
 * reference/fully_connected_sparse.c.
 *
 * One output row at a time (a batch-1 FC has no second column to share an entry with), rows and
 * entries in assembly: four entries per iteration, their delta and value bytes fetched by eight
 * pipelined LDRB / LDRSB, the running input offsets summed, the four inputs gathered by
 * pipelined register-offset LDRSBs and four SMLABBs: 27 cycles per 4 non-zero weights, against
 * about 1.7 cycles per weight for the dense SMLAD kernel, so this kernel only wins beyond about
 * 70% zeros. Requantization as in the dense kernel: runs of up to 32 rows (per-tensor) or row by
 * row (per-channel). */
#include "dsp_common.h"
#include "kernels_sparse.h"

#define VB_FC_SP_BLOCK 32

#if VB_DSP_NATIVE
#define VB_UNUSED __attribute__((unused))
/* For n rows: acc[r] = bias[r] + sum over the row's counts[r] entries (bytes: delta, value) of
 * value * x[position]; returns the entry pointer after the last row. n >= 1. */
__attribute__((naked, noinline)) static const int16_t *vb_fc_sp_rows(VB_UNUSED const int8_t *x,
                                                                     VB_UNUSED const int16_t *e,
                                                                     VB_UNUSED const uint16_t *counts,
                                                                     VB_UNUSED const int32_t *bias, VB_UNUSED int32_t n,
                                                                     VB_UNUSED int32_t *acc)
{
    /* r0 input pointer, r1 entries, r2 end of the row's entries, r3 acc; r4-r7 deltas then
     * running offsets then inputs, r8-r11 values, r12 the fourth input; lr row state pointer */
    __asm__ volatile(
        "    push    {r4-r11, lr}\n"
        "    push    {r0, r2, r3}\n"            /* sp+0 x, +4 counts, +8 bias; n +48, acc +52 */
        "1:  ldrd    r2, r3, [sp, #4]\n"
        "    ldrh    r12, [r2], #2\n"           /* count */
        "    ldr     lr, [r3], #4\n"            /* bias */
        "    strd    r2, r3, [sp, #4]\n"
        "    mov     r3, lr\n"
        "    ldr     r0, [sp]\n"
        "    add     r2, r1, r12, lsl #1\n"     /* end of the row's entries */
        "    ands    r12, r12, #3\n"
        "    beq     3f\n"
        "2:  ldrb    r4, [r1], #1\n"            /* count % 4 entries one by one */
        "    ldrsb   r8, [r1], #1\n"
        "    ldrsb   r5, [r0, r4]\n"
        "    add     r0, r0, r4\n"
        "    smlabb  r3, r5, r8, r3\n"
        "    subs    r12, r12, #1\n"
        "    bne     2b\n"
        "3:  cmp     r1, r2\n"
        "    beq     5f\n"
        "4:  ldrb    r4, [r1]\n"
        "    ldrb    r5, [r1, #2]\n"
        "    ldrb    r6, [r1, #4]\n"
        "    ldrb    r7, [r1, #6]\n"
        "    ldrsb   r8, [r1, #1]\n"
        "    ldrsb   r9, [r1, #3]\n"
        "    ldrsb   r10, [r1, #5]\n"
        "    ldrsb   r11, [r1, #7]\n"
        "    add     r5, r5, r4\n"
        "    add     r6, r6, r5\n"
        "    add     r7, r7, r6\n"
        "    ldrsb   r4, [r0, r4]\n"
        "    ldrsb   r5, [r0, r5]\n"
        "    ldrsb   r6, [r0, r6]\n"
        "    ldrsb   r12, [r0, r7]\n"
        "    add     r0, r0, r7\n"
        "    add     r1, r1, #8\n"
        "    smlabb  r3, r4, r8, r3\n"
        "    smlabb  r3, r5, r9, r3\n"
        "    smlabb  r3, r6, r10, r3\n"
        "    smlabb  r3, r12, r11, r3\n"
        "    cmp     r1, r2\n"
        "    bne     4b\n"
        "5:  ldrd    r4, r5, [sp, #48]\n"      /* n, acc */
        "    str     r3, [r5], #4\n"
        "    subs    r4, r4, #1\n"
        "    strd    r4, r5, [sp, #48]\n"
        "    bne     1b\n"
        "    mov     r0, r1\n"
        "    add     sp, sp, #12\n"
        "    pop     {r4-r11, pc}\n");
}
#else
static const int16_t *vb_fc_sp_rows(const int8_t *x, const int16_t *e, const uint16_t *counts, const int32_t *bias,
                                    int32_t n, int32_t *acc)
{
    for (int32_t r = 0; r < n; ++r) {
        int32_t a = bias[r];
        const int8_t *px = x;
        for (int32_t cnt = counts[r]; cnt > 0; --cnt) {
            const int32_t ent = *e++;
            px += ent & 0xFF;
            a = vb_smlabb(*px, ent >> 8, a);
        }
        acc[r] = a;
    }
    return e;
}
#endif

void vb_fully_connected_sparse(const vb_fc_sparse_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->in_depth, rows = p->out_depth;
    vb_dsp_out_t ost;
    vb_dsp_out_init(&ost, p->flags, p->output_offset, p->act_min, p->act_max);
    int32_t acc[VB_FC_SP_BLOCK];
    VB_FC_FOR_BATCHES(p, input, output, depth, rows, x, out, {
        const int16_t *e = p->entries;
        VB_FC_FOR_BLOCKS(rows, VB_FC_SP_BLOCK, r0, n, {
            e = vb_fc_sp_rows(x, e, p->counts + r0, p->bias + r0, n, acc);
            VB_FC_STORE_BLOCK(p, acc, n, out, r0, vb_dsp_requant_store, &ost);
        })
    })
}
