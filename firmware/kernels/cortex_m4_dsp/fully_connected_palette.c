/* Fused palette FULLY_CONNECTED (kernels_palette.h) for the Cortex-M4 DSP extension
 * (cortex_m4_dsp variant), bit-exact with reference/fully_connected_palette.c.
 *
 * Per call, a 256-entry table of weight pairs is built on the stack (1 KB): packed index byte
 * -> its two weights sign-extended to int16 in one word, the halves SMLAD multiplies with
 * SXTB16(x) or SXTB16(x ROR 8) of an input word (the index layout pairs inputs 0/2 and 1/3).
 * Then four rows per pass (one group of the layout): per chunk of 4 inputs one input word
 * unpacked once, and per row two LDRB of index bytes, two LDR from the pair table and two
 * SMLAD; in assembly, the loads in runs of 8-9 so they pipeline (the byte loads are addressed
 * off one pointer, stepped by the chunk's last load), unrolled four times. 29 cycles per 16
 * weights in the loop (about 32 with flash reads and calls in AD, against about 33 for the
 * dense kernel): no weight unpacking (the table holds the weights unpacked) and half the flash
 * bytes. The input tail (in_depth % 4) is one more chunk with the missing inputs 0, and a
 * last group of 1 to 3 rows runs in C (a loop over its rows). Accumulators of up to
 * VB_FCP_BLOCK rows are requantized in one run (per-tensor) or row by row (per-channel). */
#include "dsp_common.h"
#include "kernels_palette_decode.h"

#define VB_FCP_BLOCK 32   /* a multiple of VB_FC_PALETTE_ROWS */
#define VB_UNUSED __attribute__((unused))

/* tab[hi * 16 + lo] = table[lo] (low half, int16) | table[hi] << 16. Eight low halves stay in
 * registers while the 16 rows get their 8 entries (an ORR and a STR each): about 800 cycles. */
static void vb_fcp_pairs(const int8_t *table, uint32_t *tab)
{
    for (int32_t half = 0; half < 2; ++half, table += 8, tab += 8) {
        const uint32_t l0 = (uint16_t)table[0], l1 = (uint16_t)table[1], l2 = (uint16_t)table[2],
                       l3 = (uint16_t)table[3], l4 = (uint16_t)table[4], l5 = (uint16_t)table[5],
                       l6 = (uint16_t)table[6], l7 = (uint16_t)table[7];
        const int8_t *t = table - 8 * half;
        uint32_t *row = tab;
        for (int32_t hi = 0; hi < 16; ++hi, row += 16) {
            const uint32_t h = (uint32_t)(int32_t)t[hi] << 16;
            row[0] = l0 | h;
            row[1] = l1 | h;
            row[2] = l2 | h;
            row[3] = l3 | h;
            row[4] = l4 | h;
            row[5] = l5 | h;
            row[6] = l6 | h;
            row[7] = l7 | h;
        }
    }
}

/* One chunk of a group of n rows (2n index bytes at q): acc[r] += row r's 4 weights . xv. */
static inline void vb_fcp_chunk(const uint32_t *tab, const uint8_t *q, uint32_t xv, int32_t *acc, int32_t n)
{
    const int32_t xa = vb_sxtb16(xv), xb = vb_sxtb16_ror8(xv);
    for (int32_t r = 0; r < n; ++r) {
        acc[r] = vb_smlad(xa, (int32_t)tab[q[2 * r]], acc[r]);
        acc[r] = vb_smlad(xb, (int32_t)tab[q[2 * r + 1]], acc[r]);
    }
}

/* acc[0..n-1] += the n rows of a group . x[0..depth-1], chunk by chunk (the host build's twin
 * of the assembly, and the last group of fewer than 4 rows); the input tail is a chunk whose
 * missing inputs are 0 and add nothing. */
static void vb_fcp_rows(const int8_t *x, const uint8_t *q, const uint32_t *tab, int32_t depth, int32_t *acc,
                        int32_t n)
{
    int32_t d = 0;
    for (; d + 4 <= depth; d += 4, q += 2 * n) {
        vb_fcp_chunk(tab, q, vb_rd32(x + d), acc, n);
    }
    if (d < depth) {
        uint32_t xv = 0;
        for (int32_t k = 0; d + k < depth; ++k) {
            xv |= (uint32_t)(uint8_t)x[d + k] << (8 * k);
        }
        vb_fcp_chunk(tab, q, xv, acc, n);
    }
}

#if VB_DSP_NATIVE
/* acc[0..3] += the group's rows . x over `chunks` full chunks (q: the group's index bytes).
 * 14 registers: x, q - 1 (stepped by the chunk's last byte load), the pair table, the count,
 * 4 accumulators, the input word unpacked (2), 4 index / pair temporaries. Per chunk: LDR x
 * and 4 LDRB + 4 LDR (one pipelined run), 2 SXTB16, 4 SMLAD, 4 LDRB + 4 LDR, 4 SMLAD; the
 * loop does 4 chunks, chunks % 4 go first. */
#define VB_FCP_CHUNK                            \
    "    ldr     r9, [r0], #4\n"               \
    "    ldrb    r10, [r1, #1]\n"              \
    "    ldrb    r11, [r1, #2]\n"              \
    "    ldrb    r12, [r1, #3]\n"              \
    "    ldrb    lr, [r1, #4]\n"               \
    "    ldr     r10, [r2, r10, lsl #2]\n"     \
    "    ldr     r11, [r2, r11, lsl #2]\n"     \
    "    ldr     r12, [r2, r12, lsl #2]\n"     \
    "    ldr     lr, [r2, lr, lsl #2]\n"       \
    "    sxtb16  r8, r9\n"                     \
    "    sxtb16  r9, r9, ror #8\n"             \
    "    smlad   r4, r8, r10, r4\n"            \
    "    smlad   r4, r9, r11, r4\n"            \
    "    smlad   r5, r8, r12, r5\n"            \
    "    smlad   r5, r9, lr, r5\n"             \
    "    ldrb    r10, [r1, #5]\n"              \
    "    ldrb    r11, [r1, #6]\n"              \
    "    ldrb    r12, [r1, #7]\n"              \
    "    ldrb    lr, [r1, #8]!\n"              \
    "    ldr     r10, [r2, r10, lsl #2]\n"     \
    "    ldr     r11, [r2, r11, lsl #2]\n"     \
    "    ldr     r12, [r2, r12, lsl #2]\n"     \
    "    ldr     lr, [r2, lr, lsl #2]\n"       \
    "    smlad   r6, r8, r10, r6\n"            \
    "    smlad   r6, r9, r11, r6\n"            \
    "    smlad   r7, r8, r12, r7\n"            \
    "    smlad   r7, r9, lr, r7\n"

__attribute__((naked, noinline)) static void vb_fcp_4rows_asm(VB_UNUSED int32_t *acc, VB_UNUSED const int8_t *x,
                                                              VB_UNUSED const uint8_t *q,
                                                              VB_UNUSED const uint32_t *tab,
                                                              VB_UNUSED int32_t chunks)
{
    __asm__ volatile(
        "    push    {r4-r11, lr}\n"
        "    push    {r0}\n"
        "    ldm     r0, {r4-r7}\n"
        "    mov     r0, r1\n"                  /* x */
        "    sub     r1, r2, #1\n"              /* q - 1 */
        "    mov     r2, r3\n"                  /* pair table */
        "    ldr     r3, [sp, #40]\n"           /* chunks */
        "    lsrs    r3, r3, #1\n"              /* chunks % 2 */
        "    bcc     2f\n"
        VB_FCP_CHUNK
        "2:  lsrs    r3, r3, #1\n"              /* chunks % 4 >= 2 */
        "    bcc     4f\n"
        VB_FCP_CHUNK
        VB_FCP_CHUNK
        "4:  beq     3f\n"                      /* Z from the second LSRS */
        "1:\n"
        VB_FCP_CHUNK
        VB_FCP_CHUNK
        VB_FCP_CHUNK
        VB_FCP_CHUNK
        "    subs    r3, r3, #1\n"
        "    bne     1b\n"
        "3:  pop     {r0}\n"
        "    stm     r0, {r4-r7}\n"
        "    pop     {r4-r11, pc}\n");
}
#endif

/* acc[0..3] += the 4 rows of a full group (index bytes at q) . x[0..depth-1]. */
static void vb_fcp_group(const int8_t *x, const uint8_t *q, const uint32_t *tab, int32_t depth, int32_t *acc)
{
#if VB_DSP_NATIVE
    const int32_t full = depth >> 2;
    if (full > 0) {
        vb_fcp_4rows_asm(acc, x, q, tab, full);
    }
    if (depth & 3) {
        vb_fcp_rows(x + 4 * full, q + 8 * full, tab, depth & 3, acc, VB_FC_PALETTE_ROWS);
    }
#else
    vb_fcp_rows(x, q, tab, depth, acc, VB_FC_PALETTE_ROWS);
#endif
}

void vb_fully_connected_palette(const vb_fc_palette_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->in_depth, rows = p->out_depth;
    const int32_t group_bytes = (depth + 3) / 4 * 8;
    uint32_t tab[256];
    vb_fcp_pairs(p->table, tab);
    vb_dsp_out_t ost;
    vb_dsp_out_init(&ost, p->flags, p->output_offset, p->act_min, p->act_max);
    int32_t acc[VB_FCP_BLOCK];
    VB_FC_FOR_BATCHES(p, input, output, depth, rows, x, out, {
        VB_FC_FOR_BLOCKS(rows, VB_FCP_BLOCK, r0, n, {
            VB_FCP_FOR_GROUPS(p, n, r0, group_bytes, acc, r, q, g, {
                if (g == VB_FC_PALETTE_ROWS) {
                    vb_fcp_group(x, q, tab, depth, acc + r);
                } else {   /* the last group, 1 to 3 rows */
                    vb_fcp_rows(x, q, tab, depth, acc + r, g);
                }
            })
            VB_FC_STORE_BLOCK(p, acc, n, out, r0, vb_dsp_requant_store, &ost);
        })
    })
}
