/* CONV_2D on sparse weights for RV32IM cores (rv32 variant), bit-exact with
 * reference/conv_2d_sparse.c.
 *
 * The layer's scratch (VB_SPARSE_COLS int16 columns = 16 bytes per patch position) is used here
 * as 16 int8 columns, position major (cols[k * 16 + j]): loads cost the same for int8 and int16
 * on this core, and 16 columns per pass halve the per-entry decoding (LBU, LB, ADDI, SLLI, ADD)
 * per MAC: per entry 16 x (LB, MUL, ADD). The last block of a layer, when it has at most 8
 * pixels, uses 8 columns ([k][8] int8). Requantization per channel over the block
 * (vb_rv_requant_store), accumulators in a stack buffer of up to VB_RV_SP_CHUNK channels. */
#include "kernels_sparse.h"
#include "rv32_common.h"
#include "kernels_conv.h"

#define VB_RV_SP_COLS 16
#define VB_RV_SP_CHUNK 16   /* channels per accumulator buffer (1 KiB of stack) */

/* len input values from src (a step of 0 re-reads the zero point) into column `col`, `stride`
 * bytes per position (16 or 8: a constant after inlining, so the stores use immediate offsets). */
static inline __attribute__((always_inline)) int8_t *vb_rv_sp_run(const int8_t *src, int32_t step, int32_t len,
                                                                  int8_t *col, int32_t stride)
{
    for (; len >= 4; len -= 4, src += 4 * step, col += 4 * stride) {
        const int8_t v0 = src[0], v1 = src[step], v2 = src[2 * step], v3 = src[3 * step];
        col[0] = v0;
        col[stride] = v1;
        col[2 * stride] = v2;
        col[3 * stride] = v3;
    }
    for (; len > 0; --len, src += step, col += stride) {
        *col = *src;
    }
    return col;
}

/* Patch of output pixel (oy, ox) into int8 column `col` of a block `stride` columns wide: a
 * filter row inside the image (dilation_w 1) is one run of filter_w * in_c values, otherwise tap
 * by tap with the zero point in the padding. */
static inline __attribute__((always_inline)) void vb_rv_sp_im2col(const vb_conv_sparse_params_t *p,
                                                                  const int8_t *in_batch, int32_t oy, int32_t ox,
                                                                  int8_t *col, int32_t stride)
{
    const int32_t in_c = p->in_c, fw = p->filter_w, in_w = p->in_w;
    const int8_t zp = (int8_t)p->input_zero_point;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    const int cols_inside = p->dilation_w == 1 && ix0 >= 0 && ix0 + fw <= in_w;
    for (int32_t ky = 0; ky < p->filter_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dilation_h;
        const int row_inside = iy >= 0 && iy < p->in_h;
        if (cols_inside && row_inside) {
            col = vb_rv_sp_run(in_batch + (iy * in_w + ix0) * in_c, 1, fw * in_c, col, stride);
            continue;
        }
        for (int32_t kx = 0; kx < fw; ++kx) {
            const int32_t ix = ix0 + kx * p->dilation_w;
            const int inside = row_inside && ix >= 0 && ix < in_w;
            col = vb_rv_sp_run(inside ? in_batch + (iy * in_w + ix) * in_c : &zp, inside, in_c, col, stride);
        }
    }
}

static void vb_rv_sp_im2col16(const vb_conv_sparse_params_t *p, const int8_t *in_batch, int32_t oy, int32_t ox,
                              int8_t *col)
{
    vb_rv_sp_im2col(p, in_batch, oy, ox, col, 16);
}

static void vb_rv_sp_im2col8(const vb_conv_sparse_params_t *p, const int8_t *in_batch, int32_t oy, int32_t ox,
                             int8_t *col)
{
    vb_rv_sp_im2col(p, in_batch, oy, ox, col, 8);
}

/* For nch channels: acc[16 c + j] = bias[c] + sum over the channel's entries of value *
 * cols[pos * ncols + j] (j < ncols = 16 or 8); returns the entry pointer after the last channel. */
#if defined(__riscv) && __riscv_xlen == 32
/* Assembly, because GCC either hoists all 16 loads (and spills) or puts every load right before
 * its use (a load-use stall per MAC): 16 accumulators s0-s11, t3-t6; a1 entries, a6 end of the
 * channel's entries, a7 column pointer, t0 value, t1 delta then loaded columns with t2, each
 * loaded one MAC ahead. Per entry LBU (delta), LB (value), ADDI, SLLI, ADD, then per column LB,
 * MUL, ADD. */
#define VB_UNUSED __attribute__((unused))
/* The accumulators live in s0-s11, which the callee saves. */
#define VB_RV_SAVE_S0_S11                                                                          \
    "    addi    sp, sp, -48\n"                                                                    \
    "    sw      s0, 0(sp)\n    sw      s1, 4(sp)\n    sw      s2, 8(sp)\n    sw      s3, 12(sp)\n"   \
    "    sw      s4, 16(sp)\n   sw      s5, 20(sp)\n   sw      s6, 24(sp)\n   sw      s7, 28(sp)\n"   \
    "    sw      s8, 32(sp)\n   sw      s9, 36(sp)\n   sw      s10, 40(sp)\n  sw      s11, 44(sp)\n"
#define VB_RV_RESTORE_S0_S11                                                                       \
    "    lw      s0, 0(sp)\n    lw      s1, 4(sp)\n    lw      s2, 8(sp)\n    lw      s3, 12(sp)\n"   \
    "    lw      s4, 16(sp)\n   lw      s5, 20(sp)\n   lw      s6, 24(sp)\n   lw      s7, 28(sp)\n"   \
    "    lw      s8, 32(sp)\n   lw      s9, 36(sp)\n   lw      s10, 40(sp)\n  lw      s11, 44(sp)\n"   \
    "    addi    sp, sp, 48\n"
/* Assembly pieces: accumulator k (s0-s11, t3-t6) takes column k's product, its load register
 * (t1 for even k, t2 for odd) reloaded with column k + 2 when there is one. */
#define VB_RV_SP_MACL(r, acc, next)                                                                \
    "    mul     " #r ", " #r ", t0\n"                                                             \
    "    add     " #acc ", " #acc ", " #r "\n"                                                     \
    "    lb      " #r ", " #next "(a7)\n"
#define VB_RV_SP_MAC(r, acc)                                                                       \
    "    mul     " #r ", " #r ", t0\n"                                                             \
    "    add     " #acc ", " #acc ", " #r "\n"
#define VB_RV_SP_MACS_0_5                                                                          \
    VB_RV_SP_MACL(t1, s0, 2) VB_RV_SP_MACL(t2, s1, 3) VB_RV_SP_MACL(t1, s2, 4)                     \
    VB_RV_SP_MACL(t2, s3, 5) VB_RV_SP_MACL(t1, s4, 6) VB_RV_SP_MACL(t2, s5, 7)
#define VB_RV_SP_SET_S0_S7                                                                         \
    "    mv      s0, t0\n    mv      s1, t0\n    mv      s2, t0\n    mv      s3, t0\n"             \
    "    mv      s4, t0\n    mv      s5, t0\n    mv      s6, t0\n    mv      s7, t0\n"
#define VB_RV_SP_STORE_S0_S7                                                                       \
    "    sw      s0, 0(a5)\n    sw      s1, 4(a5)\n    sw      s2, 8(a5)\n    sw      s3, 12(a5)\n" \
    "    sw      s4, 16(a5)\n   sw      s5, 20(a5)\n   sw      s6, 24(a5)\n   sw      s7, 28(a5)\n"

/* Defines name(cols, e, counts, bias, nch, acc) for ncols = 1 << LOG2 columns: per channel the
 * accumulators from its bias (SET_REST: the ones past s7), per entry the column pointer stepped
 * by delta << LOG2 and one MAC per column (MACS: those past column 5), then the stores. */
#define VB_RV_SP_DEFINE_DOT(name, LOG2, SET_REST, MACS, STORE_REST)                                \
    __attribute__((naked, noinline)) static const int16_t *name(                                   \
        VB_UNUSED const int8_t *cols, VB_UNUSED const int16_t *e, VB_UNUSED const uint16_t *counts, \
        VB_UNUSED const int32_t *bias, VB_UNUSED int32_t nch, VB_UNUSED int32_t *acc)             \
    {                                                                                              \
        __asm__ volatile(                                                                          \
            VB_RV_SAVE_S0_S11                                                                      \
            "1:\n"                                                                                 \
            "    lhu     t1, 0(a2)\n"                                                              \
            "    lw      t0, 0(a3)\n"                                                              \
            "    addi    a2, a2, 2\n"                                                              \
            "    addi    a3, a3, 4\n"                                                              \
            "    slli    t1, t1, 1\n"                                                              \
            "    add     a6, a1, t1\n"                                                             \
            VB_RV_SP_SET_S0_S7                                                                     \
            SET_REST                                                                               \
            "    mv      a7, a0\n"                                                                 \
            "    beq     a1, a6, 3f\n"                                                             \
            "2:\n"                                                                                 \
            "    lbu     t1, 0(a1)\n"                                                              \
            "    lb      t0, 1(a1)\n"                                                              \
            "    addi    a1, a1, 2\n"                                                              \
            "    slli    t1, t1, " #LOG2 "\n"                                                      \
            "    add     a7, a7, t1\n"                                                             \
            "    lb      t1, 0(a7)\n"                                                              \
            "    lb      t2, 1(a7)\n"                                                              \
            VB_RV_SP_MACS_0_5                                                                      \
            MACS                                                                                   \
            "    bne     a1, a6, 2b\n"                                                             \
            "3:\n"                                                                                 \
            VB_RV_SP_STORE_S0_S7                                                                   \
            STORE_REST                                                                             \
            "    addi    a5, a5, 64\n"                                                             \
            "    addi    a4, a4, -1\n"                                                             \
            "    bnez    a4, 1b\n"                                                                 \
            "    mv      a0, a1\n"                                                                 \
            VB_RV_RESTORE_S0_S11                                                                   \
            "    ret\n");                                                                          \
    }

VB_RV_SP_DEFINE_DOT(vb_rv_sp_dot16, 4,
                    "    mv      s8, t0\n    mv      s9, t0\n    mv      s10, t0\n   mv      s11, t0\n"
                    "    mv      t3, t0\n    mv      t4, t0\n    mv      t5, t0\n    mv      t6, t0\n",
                    VB_RV_SP_MACL(t1, s6, 8) VB_RV_SP_MACL(t2, s7, 9) VB_RV_SP_MACL(t1, s8, 10)
                    VB_RV_SP_MACL(t2, s9, 11) VB_RV_SP_MACL(t1, s10, 12) VB_RV_SP_MACL(t2, s11, 13)
                    VB_RV_SP_MACL(t1, t3, 14) VB_RV_SP_MACL(t2, t4, 15) VB_RV_SP_MAC(t1, t5)
                    VB_RV_SP_MAC(t2, t6),
                    "    sw      s8, 32(a5)\n   sw      s9, 36(a5)\n   sw      s10, 40(a5)\n  sw      s11, 44(a5)\n"
                    "    sw      t3, 48(a5)\n   sw      t4, 52(a5)\n   sw      t5, 56(a5)\n   sw      t6, 60(a5)\n")
VB_RV_SP_DEFINE_DOT(vb_rv_sp_dot8, 3, "", VB_RV_SP_MAC(t1, s6) VB_RV_SP_MAC(t2, s7), "")
#else
static const int16_t *vb_rv_sp_dot(const int8_t *cols, const int16_t *e, const uint16_t *counts,
                                   const int32_t *bias, int32_t nch, int32_t *acc, int32_t ncols)
{
    for (int32_t c = 0; c < nch; ++c, acc += 16) {
        for (int32_t j = 0; j < ncols; ++j) {
            acc[j] = bias[c];
        }
        const int8_t *x = cols;
        for (int32_t cnt = counts[c]; cnt > 0; --cnt) {
            const int32_t ent = *e++;
            x += (ent & 0xFF) * ncols;
            for (int32_t j = 0; j < ncols; ++j) {
                acc[j] += (ent >> 8) * x[j];
            }
        }
    }
    return e;
}

static const int16_t *vb_rv_sp_dot16(const int8_t *cols, const int16_t *e, const uint16_t *counts,
                                     const int32_t *bias, int32_t nch, int32_t *acc)
{
    return vb_rv_sp_dot(cols, e, counts, bias, nch, acc, 16);
}

static const int16_t *vb_rv_sp_dot8(const int8_t *cols, const int16_t *e, const uint16_t *counts,
                                    const int32_t *bias, int32_t nch, int32_t *acc)
{
    return vb_rv_sp_dot(cols, e, counts, bias, nch, acc, 8);
}
#endif

void vb_conv_2d_sparse(const vb_conv_sparse_params_t *p, const int8_t *input, int16_t *scratch, int8_t *output)
{
    const int32_t K = p->filter_h * p->filter_w * p->in_c;
    const int32_t out_c = p->out_c, npix = p->out_h * p->out_w;
    int8_t *cols = (int8_t *)(void *)scratch; /* K * 16 bytes */
    int32_t acc[VB_RV_SP_CHUNK * 16];
    VB_FOR_CONV_BATCHES(p, input, output, npix, out_c, in_batch, out_batch, {
        int32_t oy = 0, ox = 0;
        for (int32_t q0 = 0; q0 < npix;) {
            const int32_t left = npix - q0;
            const int32_t width = left <= 8 ? 8 : VB_RV_SP_COLS;
            const int32_t n = left < width ? left : width;
            for (int32_t j = 0; j < n; ++j) {
                (width == 16 ? vb_rv_sp_im2col16 : vb_rv_sp_im2col8)(p, in_batch, oy, ox, cols + j);
                VB_NEXT_PIXEL(oy, ox, p->out_w);
            }
            VB_SPARSE_ZERO_COLS(cols, n, width, K);
            const int16_t *e = p->entries;
            int8_t *out = out_batch + q0 * out_c;
            for (int32_t oc0 = 0; oc0 < out_c; oc0 += VB_RV_SP_CHUNK) {
                const int32_t nc = out_c - oc0 < VB_RV_SP_CHUNK ? out_c - oc0 : VB_RV_SP_CHUNK;
                e = (width == 16 ? vb_rv_sp_dot16 : vb_rv_sp_dot8)(cols, e, p->counts + oc0, p->bias + oc0, nc, acc);
                for (int32_t c = 0; c < nc; ++c) {
                    vb_rv_requant_store(acc + 16 * c, n, out + oc0 + c, out_c, p->multiplier[oc0 + c],
                                        p->shift[oc0 + c], p->flags, p->output_offset, p->act_min, p->act_max);
                }
            }
            q0 += n;
        }
    })
}
