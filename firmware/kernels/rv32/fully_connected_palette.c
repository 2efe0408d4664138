/* Fused palette FULLY_CONNECTED (kernels_palette.h) for RV32IM cores (rv32 variant),
 * bit-exact with reference/fully_connected_palette.c.
 *
 * Per call, two 256-entry byte tables are built on the stack (512 bytes): lo[b] = table[b & 15]
 * and, 256 bytes on, hi[b] = table[b >> 4], so an index byte gives both its weights with one
 * address add and two LB at immediate offsets 0 and 256 (no nibble extraction). Then four rows
 * per pass (one group of the layout): per chunk of 4 inputs the inputs are loaded once, and per
 * row two LBU of index bytes, two adds, four LB and four MUL + ADD. The input tail
 * (in_depth % 4) is one more chunk with the missing inputs 0, and a last group of 1 to 3 rows
 * takes a loop over its rows. Accumulators of up to VB_RV_FCP_BLOCK rows are requantized in
 * one run (per-tensor) or row by row (per-channel). */
#include "rv32_common.h"
#include "kernels_palette_decode.h"

#define VB_RV_FCP_BLOCK 32   /* a multiple of VB_FC_PALETTE_ROWS */

/* As bytes: tab[b] = table[b & 15], tab[256 + b] = table[b >> 4]; four bytes per store (the
 * kernel reads the words through int8_t, which may alias anything). */
static void vb_rv_fcp_tables(const int8_t *table, uint32_t *dst)
{
    uint32_t lo[4];
    const uint8_t *t = (const uint8_t *)table;
    for (uint32_t k = 0; k < 4; ++k) {
        lo[k] = t[4 * k] | (uint32_t)t[4 * k + 1] << 8 | (uint32_t)t[4 * k + 2] << 16 | (uint32_t)t[4 * k + 3] << 24;
    }
    for (uint32_t hi = 0; hi < 16; ++hi, dst += 4) {
        const uint32_t h = t[hi] * 0x01010101u;
        dst[0] = lo[0];
        dst[1] = lo[1];
        dst[2] = lo[2];
        dst[3] = lo[3];
        dst[64] = h;
        dst[65] = h;
        dst[66] = h;
        dst[67] = h;
    }
}

/* One chunk: s += row r's 4 weights . (x0, x1, x2, x3); q: the chunk's index bytes, 2 per row. */
#define VB_RV_FCP_ROW(r, s)                                                  \
    do {                                                                     \
        const int8_t *e0 = tab + q[2 * (r)], *e1 = tab + q[2 * (r) + 1];     \
        s += e0[0] * x0 + e1[0] * x1 + e0[256] * x2 + e1[256] * x3;          \
    } while (0)

/* acc[0..3] += the rows of a full group . x over `chunks` chunks. */
__attribute__((noinline)) static void vb_rv_fcp_group(const int8_t *x, const uint8_t *q, const int8_t *tab,
                                                      int32_t chunks, int32_t *acc)
{
    int32_t s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    for (const uint8_t *end = q + 8 * chunks; q < end; q += 8, x += 4) {
        const int32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
        VB_RV_FCP_ROW(0, s0);
        VB_RV_FCP_ROW(1, s1);
        VB_RV_FCP_ROW(2, s2);
        VB_RV_FCP_ROW(3, s3);
    }
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
}

/* acc[0..n-1] += the n rows of a group . x over `chunks` chunks (2n index bytes per chunk): the
 * last group of 1 to 3 rows, and the input tail of every group. */
static void vb_rv_fcp_rows(const int8_t *x, const uint8_t *q, const int8_t *tab, int32_t chunks, int32_t *acc,
                           int32_t n)
{
    for (int32_t c = 0; c < chunks; ++c, q += 2 * n, x += 4) {
        const int32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
        for (int32_t r = 0; r < n; ++r) {
            VB_RV_FCP_ROW(r, acc[r]);
        }
    }
}

void vb_fully_connected_palette(const vb_fc_palette_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->in_depth, rows = p->out_depth;
    const int32_t full = depth >> 2, group_bytes = (depth + 3) / 4 * 8;
    uint32_t words[128];
    vb_rv_fcp_tables(p->table, words);
    const int8_t *tab = (const int8_t *)words;
    int32_t acc[VB_RV_FCP_BLOCK];
    VB_FC_FOR_BATCHES(p, input, output, depth, rows, x, out, {
        int8_t tail[4] = {0, 0, 0, 0};   /* the partial chunk, missing inputs 0 */
        for (int32_t k = 0; k < (depth & 3); ++k) {
            tail[k] = x[4 * full + k];
        }
        VB_FC_FOR_BLOCKS(rows, VB_RV_FCP_BLOCK, r0, n, {
            VB_FCP_FOR_GROUPS(p, n, r0, group_bytes, acc, r, q, g, {
                if (g == VB_FC_PALETTE_ROWS) {
                    vb_rv_fcp_group(x, q, tab, full, acc + r);
                } else {   /* the last group, 1 to 3 rows */
                    vb_rv_fcp_rows(x, q, tab, full, acc + r, g);
                }
                if (depth & 3) {
                    vb_rv_fcp_rows(tail, q + 2 * g * full, tab, 1, acc + r, g);
                }
            })
            VB_FC_STORE_BLOCK(p, acc, n, out, r0, vb_rv_requant_store, p->flags, p->output_offset,
                              p->act_min, p->act_max);
        })
    })
}
