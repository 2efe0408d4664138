/* CONV_2D as Winograd F(2x2,3x3) for RV32IM cores (rv32 variant), bit-exact with
 * reference/conv_2d_winograd.c and reference/conv_2d.c (see kernels_winograd.h).
 *
 * Blocks of up to VB_RV_WINO_T = 4 tiles along a row of tiles (each output row of a block is one
 * run for vb_rv_requant_store). The transformed input of a block is stored as int16
 * [position][channel slot][tile], so one pointer with immediate offsets feeds the four tiles;
 * the filter's interleaved output-channel pairs feed two channels from one pointer. The dot
 * product runs 4 output channels x 4 tiles: per slot 4 + 4 LH, 16 MUL and 16 ADD (16 multiplies
 * per 4 outputs and input channel, against 36 in the direct kernel); 2 or 1 channels for the rest.
 * The 16 sums per tile and channel go through A^T M A, the exact division by 4 and the bias.
 *
 * Scratch: 4 * 32 * in_c4 bytes of transformed input, then in_c bytes of the zero point (what
 * pixels outside the image read). */
#include "rv32_common.h"

#include "kernels_winograd.h"

#define VB_RV_WINO_T 4

/* Transform the 16 pixels px[4 * r + s] (in_c channels each) into tile slot t:
 * v[(pos * in_c4 + slot) * 4 + t]. The slots of channels in_c .. in_c4 - 1 are set to 0. */
static void vb_rv_wino_tile_in(const int8_t *const px[16], int32_t in_c, int32_t in_c4, int16_t *v, int32_t t)
{
    static const int8_t slot_of[4] = {0, 2, 1, 3};
    const int32_t pos_stride = in_c4 * VB_RV_WINO_T;
    for (int32_t c = 0; c < in_c4; ++c) {
        int16_t *dst = v + ((c & ~3) + slot_of[c & 3]) * VB_RV_WINO_T + t;
        if (c >= in_c) {
            for (int32_t pos = 0; pos < 16; ++pos, dst += pos_stride) {
                *dst = 0;
            }
            continue;
        }
        const int32_t d0 = px[0][c], d1 = px[1][c], d2 = px[2][c], d3 = px[3][c];
        const int32_t d4 = px[4][c], d5 = px[5][c], d6 = px[6][c], d7 = px[7][c];
        const int32_t d8 = px[8][c], d9 = px[9][c], d10 = px[10][c], d11 = px[11][c];
        const int32_t d12 = px[12][c], d13 = px[13][c], d14 = px[14][c], d15 = px[15][c];
        /* rows of B^T d, then each row . B */
#define VB_RV_WINO_ROW(t0, t1, t2, t3)          \
    do {                                        \
        const int32_t e0 = (t0), e1 = (t1), e2 = (t2), e3 = (t3); \
        dst[0] = (int16_t)(e0 - e2);            \
        dst += pos_stride;                      \
        dst[0] = (int16_t)(e1 + e2);            \
        dst += pos_stride;                      \
        dst[0] = (int16_t)(e2 - e1);            \
        dst += pos_stride;                      \
        dst[0] = (int16_t)(e1 - e3);            \
        dst += pos_stride;                      \
    } while (0)
        VB_RV_WINO_ROW(d0 - d8, d1 - d9, d2 - d10, d3 - d11);
        VB_RV_WINO_ROW(d4 + d8, d5 + d9, d6 + d10, d7 + d11);
        VB_RV_WINO_ROW(d8 - d4, d9 - d5, d10 - d6, d11 - d7);
        VB_RV_WINO_ROW(d4 - d12, d5 - d13, d6 - d14, d7 - d15);
#undef VB_RV_WINO_ROW
    }
}

/* m[0..7] = a0, b0, a1, b1, a2, b2, a3, b3: the two channels of each of the 4 tiles. */
#define VB_RV_WINO_PUT(m, a0, a1, a2, a3, b0, b1, b2, b3)                                          \
    do {                                                                                           \
        (m)[0] = a0;                                                                               \
        (m)[1] = b0;                                                                               \
        (m)[2] = a1;                                                                               \
        (m)[3] = b1;                                                                               \
        (m)[4] = a2;                                                                               \
        (m)[5] = b2;                                                                               \
        (m)[6] = a3;                                                                               \
        (m)[7] = b3;                                                                               \
    } while (0)

/* 2 output channels x 4 tiles: m[pos * 8 + 2 * t + o] = sum over slots of U[o][pos][slot] * V.
 * v: [16][in_c4][4] int16; u: per (position, slot pair) [o0 s0, o0 s1, o1 s0, o1 s1]. */
__attribute__((noinline)) static void vb_rv_wino_dot_2x4(const int16_t *v, const int16_t *u, int32_t in_c4,
                                                         int32_t *m)
{
    for (int32_t pos = 0; pos < 16; ++pos, m += 8) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
#define VB_RV_SLOT(f0, f1, x)                                                     \
    do {                                                                          \
        const int32_t x0 = (x)[0], x1 = (x)[1], x2 = (x)[2], x3 = (x)[3];         \
        VB_RV_MAC_X4(f0, a0, a1, a2, a3);                                         \
        VB_RV_MAC_X4(f1, b0, b1, b2, b3);                                         \
    } while (0)
        for (int32_t k = 0; k < in_c4; k += 2, u += 4, v += 8) {
            const int32_t u00 = u[0], u01 = u[1], u10 = u[2], u11 = u[3];
            VB_RV_SLOT(u00, u10, v);
            VB_RV_SLOT(u01, u11, v + 4);
        }
#undef VB_RV_SLOT
        VB_RV_WINO_PUT(m, a0, a1, a2, a3, b0, b1, b2, b3);
    }
}

/* 4 output channels (two interleaved pairs, ua and ub) x 4 tiles: pair a as vb_rv_wino_dot_2x4
 * stores it (m[pos * 8 + 2 * t + o]), pair b 128 words further. */
__attribute__((noinline, optimize("no-schedule-insns"))) static void vb_rv_wino_dot_4x4(
    const int16_t *v, const int16_t *ua, const int16_t *ub, int32_t in_c4, int32_t *m)
{
    for (int32_t pos = 0; pos < 16; ++pos, m += 8) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
        int32_t c0 = 0, c1 = 0, c2 = 0, c3 = 0, e0 = 0, e1 = 0, e2 = 0, e3 = 0;
        const int16_t *const vend = v + 4 * in_c4;
        /* per slot: the 4 tiles' V, then each channel's U against them (one U register; with
         * GCC's scheduler on, this block spills accumulators) */
#define VB_RV_SLOT4(xs, i)                                                        \
    do {                                                                          \
        const int32_t x0 = (xs)[0], x1 = (xs)[1], x2 = (xs)[2], x3 = (xs)[3];     \
        int32_t f = ua[i];                                                        \
        VB_RV_MAC_X4(f, a0, a1, a2, a3);                                          \
        f = ua[(i) + 2];                                                          \
        VB_RV_MAC_X4(f, b0, b1, b2, b3);                                          \
        f = ub[i];                                                                \
        VB_RV_MAC_X4(f, c0, c1, c2, c3);                                          \
        f = ub[(i) + 2];                                                          \
        VB_RV_MAC_X4(f, e0, e1, e2, e3);                                          \
    } while (0)
        for (; v < vend; v += 8, ua += 4, ub += 4) {
            VB_RV_SLOT4(v, 0);
            VB_RV_SLOT4(v + 4, 1);
        }
#undef VB_RV_SLOT4
        VB_RV_WINO_PUT(m, a0, a1, a2, a3, b0, b1, b2, b3);
        VB_RV_WINO_PUT(m + 128, c0, c1, c2, c3, e0, e1, e2, e3);
    }
}

/* 1 output channel x 4 tiles (an odd last channel; u: [16][in_c4]): m[pos * 8 + 2 * t]. */
__attribute__((noinline)) static void vb_rv_wino_dot_1x4(const int16_t *v, const int16_t *u, int32_t in_c4,
                                                         int32_t *m)
{
    for (int32_t pos = 0; pos < 16; ++pos, m += 8) {
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (int32_t k = 0; k < in_c4; ++k, v += 4) {
            const int32_t f = *u++;
            a0 += f * v[0];
            a1 += f * v[1];
            a2 += f * v[2];
            a3 += f * v[3];
        }
        m[0] = a0;
        m[2] = a1;
        m[4] = a2;
        m[6] = a3;
    }
}

VB_DEFINE_WINO_OUT(vb_rv_wino_out, VB_RV_WINO_T)

void vb_conv_2d_winograd(const vb_conv_winograd_params_t *p, const int8_t *input, int16_t *scratch,
                         int8_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c, in_c4 = p->in_c4;
    const int32_t out_h = p->out_h, out_w = p->out_w, out_c = p->out_c;
    const int32_t tiles_h = (out_h + 1) >> 1, tiles_w = (out_w + 1) >> 1;
    const uint32_t flags = p->flags;
    const int32_t oo = p->output_offset, lo = p->act_min, hi = p->act_max;
    int16_t *v = scratch;   /* p->tiles >= VB_RV_WINO_T (the compiler's SCRATCH_TILES) */
    /* pixels outside the image read in_c bytes of the zero point after the transformed input */
    int8_t *zp = (int8_t *)scratch + (uint32_t)p->tiles * 32u * (uint32_t)in_c4;
    for (int32_t c = 0; c < in_c; ++c) {
        zp[c] = (int8_t)p->pad_value;
    }
    int32_t m[2 * 16 * 8], acc[2][2 * VB_RV_WINO_T];
    const int8_t *px[16];

    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * in_h * in_w * in_c;
        int8_t *out_batch = output + b * out_h * out_w * out_c;
        for (int32_t ty = 0; ty < tiles_h; ++ty) {
            const int32_t oy = 2 * ty, iy0 = oy - p->pad_h, rows = out_h - oy < 2 ? 1 : 2;
            for (int32_t tx0 = 0; tx0 < tiles_w; tx0 += VB_RV_WINO_T) {
                const int32_t nt = tiles_w - tx0 < VB_RV_WINO_T ? tiles_w - tx0 : VB_RV_WINO_T;
                const int32_t ox0 = 2 * tx0, cols = out_w - ox0 < 2 * nt ? out_w - ox0 : 2 * nt;
                for (int32_t t = 0; t < VB_RV_WINO_T; ++t) {
                    if (t >= nt) {
                        /* unused slot: zeros keep its sums defined (they are not stored) */
                        for (int32_t k = 0; k < 16 * in_c4; ++k) {
                            v[k * VB_RV_WINO_T + t] = 0;
                        }
                        continue;
                    }
                    const int32_t ix0 = ox0 + 2 * t - p->pad_w;
                    for (int32_t k = 0; k < 16; ++k) {
                        const int32_t iy = iy0 + (k >> 2), ix = ix0 + (k & 3);
                        px[k] = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w ? in_batch + (iy * in_w + ix) * in_c : zp;
                    }
                    vb_rv_wino_tile_in(px, in_c, in_c4, v, t);
                }
                int8_t *out = out_batch + (oy * out_w + ox0) * out_c;
                for (int32_t oc = 0; oc < out_c;) {
                    const int32_t n_oc = out_c - oc >= 4 ? 4 : out_c - oc;
                    const int16_t *u = p->filter + oc * 16 * in_c4;
                    if (n_oc == 4) {
                        vb_rv_wino_dot_4x4(v, u, u + 32 * in_c4, in_c4, m);
                    } else if (n_oc >= 2) {
                        vb_rv_wino_dot_2x4(v, u, in_c4, m);
                    } else {
                        vb_rv_wino_dot_1x4(v, u, in_c4, m);
                    }
                    const int32_t done = n_oc == 3 ? 2 : n_oc;
                    for (int32_t o = 0; o < done; ++o, ++oc) {
                        vb_rv_wino_out(m + (o >> 1) * 128 + (o & 1), nt, p->bias[oc], acc);
                        for (int32_t i = 0; i < rows; ++i) {
                            vb_rv_requant_store(acc[i], cols, out + i * out_w * out_c + oc, out_c,
                                                p->multiplier[oc], p->shift[oc], flags, oo, lo, hi);
                        }
                    }
                }
            }
        }
    }
}
