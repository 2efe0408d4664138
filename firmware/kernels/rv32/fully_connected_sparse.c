/* FULLY_CONNECTED on sparse weights for RV32IM cores (rv32 variant), bit-exact with
 * reference/fully_connected_sparse.c.
 *
 * One output row at a time, in assembly: four entries per iteration, delta (LBU) and value (LB)
 * bytes loaded directly (no unpacking), the four input addresses chained, the four inputs
 * gathered, four MUL + ADD, every load used at least two instructions later (no load-use
 * stall): 28 cycles per 4 non-zero weights, against about 3.3 cycles per weight for the dense
 * kernel. Requantization as in the dense kernel (vb_rv_requant_store). */
#include "kernels_sparse.h"
#include "rv32_common.h"

#define VB_RV_FC_SP_BLOCK 32

#if defined(__riscv) && __riscv_xlen == 32
#define VB_UNUSED __attribute__((unused))
/* acc + sum over `count` entries (bytes: delta, value) of value * x[position] */
__attribute__((naked, noinline)) static int32_t vb_rv_fc_sp_row(VB_UNUSED const int8_t *x,
                                                                VB_UNUSED const int16_t *e,
                                                                VB_UNUSED int32_t count, VB_UNUSED int32_t acc)
{
    /* a0 input pointer, a1 entries, a2 end, a3 acc; t1/t3/t5/a4 deltas, then addresses, then
     * inputs; t2/t4/t6/a5 values */
    __asm__ volatile(
        "    andi    t0, a2, 3\n"
        "    slli    a2, a2, 1\n"
        "    add     a2, a1, a2\n"
        "    beqz    t0, 2f\n"
        "1:  lbu     t1, 0(a1)\n"                /* count % 4 entries one by one */
        "    lb      t2, 1(a1)\n"
        "    addi    a1, a1, 2\n"
        "    add     a0, a0, t1\n"
        "    lb      t1, 0(a0)\n"
        "    addi    t0, t0, -1\n"
        "    mul     t1, t1, t2\n"
        "    add     a3, a3, t1\n"
        "    bnez    t0, 1b\n"
        "2:  beq     a1, a2, 4f\n"
        "3:  lbu     t1, 0(a1)\n"
        "    lbu     t3, 2(a1)\n"
        "    lbu     t5, 4(a1)\n"
        "    lbu     a4, 6(a1)\n"
        "    add     t1, a0, t1\n"
        "    lb      t2, 1(a1)\n"
        "    add     t3, t1, t3\n"
        "    lb      t4, 3(a1)\n"
        "    add     t5, t3, t5\n"
        "    lb      t6, 5(a1)\n"
        "    add     a0, t5, a4\n"
        "    lb      a5, 7(a1)\n"
        "    lb      t1, 0(t1)\n"
        "    lb      t3, 0(t3)\n"
        "    lb      t5, 0(t5)\n"
        "    lb      a4, 0(a0)\n"
        "    mul     t1, t1, t2\n"
        "    mul     t3, t3, t4\n"
        "    mul     t5, t5, t6\n"
        "    mul     a4, a4, a5\n"
        "    add     a3, a3, t1\n"
        "    add     a3, a3, t3\n"
        "    add     a3, a3, t5\n"
        "    add     a3, a3, a4\n"
        "    addi    a1, a1, 8\n"
        "    bne     a1, a2, 3b\n"
        "4:  mv      a0, a3\n"
        "    ret\n");
}
#else
static int32_t vb_rv_fc_sp_row(const int8_t *x, const int16_t *e, int32_t count, int32_t acc)
{
    for (; count > 0; --count) {
        const int32_t ent = *e++;
        x += ent & 0xFF;
        acc += (ent >> 8) * *x;
    }
    return acc;
}
#endif

void vb_fully_connected_sparse(const vb_fc_sparse_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->in_depth, rows = p->out_depth;
    int32_t acc[VB_RV_FC_SP_BLOCK];
    VB_FC_FOR_BATCHES(p, input, output, depth, rows, x, out, {
        const int16_t *e = p->entries;
        VB_FC_FOR_BLOCKS(rows, VB_RV_FC_SP_BLOCK, r0, n, {
            for (int32_t r = 0; r < n; ++r) {
                const int32_t count = p->counts[r0 + r];
                acc[r] = vb_rv_fc_sp_row(x, e, count, p->bias[r0 + r]);
                e += count;
            }
            VB_FC_STORE_BLOCK(p, acc, n, out, r0, vb_rv_requant_store, p->flags, p->output_offset,
                              p->act_min, p->act_max);
        })
    })
}
