/* CONV_2D as Winograd F(2x2,3x3) for the Cortex-M4 DSP extension (cortex_m4_dsp variant),
 * bit-exact with reference/conv_2d_winograd.c and reference/conv_2d.c (see kernels_winograd.h).
 *
 * Blocks of up to VB_WINO_T = 4 tiles along a row of tiles (so each output row of a block is one
 * run for the requantization). Input transform per tile and group of 4 channels: one LDR per
 * pixel, SXTB16 and SXTB16 ROR 8 split it into the slot pairs (c0, c2) and (c1, c3) that the
 * filter's slot order expects, and B^T d B runs on both halfword lanes at once with SADD16 /
 * SSUB16 (|V| <= 512 fits a lane). Pixels outside the image read a zero-point buffer; with
 * in_c % 4 != 0 the patch is copied into the scratch first (zero point outside, zeros in the
 * padding channels) so that whole words can be read. V is stored as words
 * [position][slot pair][tile]: the dot-product loop (assembly, vb_wino_dot_2x4) walks one pointer
 * for the 4 tiles and one for the filter (output channels interleaved in pairs), per slot pair 6
 * LDR and 8 SMLAD for 16 multiplies. The 16 sums per tile and channel go through A^T M A, the
 * exact division by 4 and the bias (vb_wino_out), then the requantization of dsp_common
 * (vb_dsp_requant_store, once per output row of the block).
 *
 * Scratch: 4 * 32 * in_c4 bytes of V + 16 * in_c4 bytes (zero-point buffer or patch). */
#include "dsp_common.h"
#include "kernels_winograd.h"

#define VB_WINO_T 4

#if VB_DSP_NATIVE
static inline int32_t vb_ssub16(int32_t a, int32_t b) { return __ssub16(a, b); }
#else
static inline int32_t vb_ssub16(int32_t a, int32_t b)
{
    return vb_pack16(vb_lo16(a) - vb_lo16(b), vb_hi16(a) - vb_hi16(b));
}
#endif

/* Transform one tile into tile slot `t` of the V block (word ((pos * cp_n + cp) * VB_WINO_T + t)),
 * its 16 pixels at px[4 * r + s] (in_c4 readable bytes each). Per group of 4 channels: the columns
 * (B^T d, both slot pairs) into tt[], then the rows (. B) into V. */
static void vb_wino_tile_in(const int8_t *const px[16], int32_t in_c4, int32_t *vw, int32_t t)
{
    const int32_t pos_stride = (in_c4 >> 1) * VB_WINO_T;
    int32_t tt[2][16];   /* [slot pair][4 * i + j] */
    for (int32_t g = 0; g < in_c4; g += 4, vw += 2 * VB_WINO_T) {
        for (int32_t j = 0; j < 4; ++j) {
            const uint32_t x0 = vb_rd32(px[j] + g), x1 = vb_rd32(px[4 + j] + g), x2 = vb_rd32(px[8 + j] + g),
                           x3 = vb_rd32(px[12 + j] + g);
            int32_t d0 = vb_sxtb16(x0), d1 = vb_sxtb16(x1), d2 = vb_sxtb16(x2), d3 = vb_sxtb16(x3);
            tt[0][j] = vb_ssub16(d0, d2);
            tt[0][4 + j] = vb_sadd16(d1, d2);
            tt[0][8 + j] = vb_ssub16(d2, d1);
            tt[0][12 + j] = vb_ssub16(d1, d3);
            d0 = vb_sxtb16_ror8(x0);
            d1 = vb_sxtb16_ror8(x1);
            d2 = vb_sxtb16_ror8(x2);
            d3 = vb_sxtb16_ror8(x3);
            tt[1][j] = vb_ssub16(d0, d2);
            tt[1][4 + j] = vb_sadd16(d1, d2);
            tt[1][8 + j] = vb_ssub16(d2, d1);
            tt[1][12 + j] = vb_ssub16(d1, d3);
        }
        for (int32_t h = 0; h < 2; ++h) {
            int32_t *dst = vw + h * VB_WINO_T + t;
            const int32_t *ti = tt[h];
            for (int32_t i = 0; i < 4; ++i, ti += 4, dst += 4 * pos_stride) {
                const int32_t t0 = ti[0], t1 = ti[1], t2 = ti[2], t3 = ti[3];
                dst[0] = vb_ssub16(t0, t2);
                dst[pos_stride] = vb_sadd16(t1, t2);
                dst[2 * pos_stride] = vb_ssub16(t2, t1);
                dst[3 * pos_stride] = vb_ssub16(t1, t3);
            }
        }
    }
}

/* The 16 pixel pointers of the tile whose patch starts at (iy0, ix0). in_c % 4 == 0: pixels in
 * the image point into the input, the others at `zp` (in_c4 bytes of the zero point). Otherwise
 * every pixel is copied into patch ([16][in_c4] bytes: the zero point outside the image, zeros in
 * the channels in_c .. in_c4 - 1) so that whole words can be read. */
static void vb_wino_pixels(const vb_conv_winograd_params_t *p, const int8_t *in_batch, int32_t iy0, int32_t ix0,
                           const int8_t *zp, int8_t *patch, const int8_t *px[16])
{
    const int32_t in_c = p->in_c, in_c4 = p->in_c4, in_h = p->in_h, in_w = p->in_w;
    const int8_t pad = (int8_t)p->pad_value;
    for (int32_t r = 0; r < 4; ++r) {
        const int32_t iy = iy0 + r;
        for (int32_t s = 0; s < 4; ++s) {
            const int32_t ix = ix0 + s;
            const int inside = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w;
            const int8_t *src = in_batch + (iy * in_w + ix) * in_c;
            if (in_c == in_c4) {
                px[4 * r + s] = inside ? src : zp;
                continue;
            }
            int8_t *d = patch + (4 * r + s) * in_c4;
            px[4 * r + s] = d;
            for (int32_t c4 = 0; c4 < in_c4; c4 += 4) {   /* word by word (no memset calls) */
                uint32_t w = 0;
                for (int32_t k = 0; k < 4 && c4 + k < in_c; ++k) {
                    w |= (uint32_t)(uint8_t)(inside ? src[c4 + k] : pad) << (8 * k);
                }
                memcpy(d + c4, &w, 4);
            }
        }
    }
}

VB_DEFINE_WINO_OUT(vb_wino_out, VB_WINO_T)

/* 2 output channels x 4 tiles: m[pos * 8 + 2 * t + o] = sum over the slot pairs k of
 * SMLAD(V[pos][k][t], U[o][pos][k]); v: [16][cp_n][4] words, u: [16][cp_n][2] words; cp_n even. */
#if VB_DSP_NATIVE
/* All 14 usable registers: 8 accumulators (r4-r11), V pointer (r0, pre-indexed), U pointer (r1),
 * two V words (r2, r3) and both U words (r12, lr); the slot-pair loop ends on the V pointer (its
 * end is on the stack). Per slot pair 4 + 2 pipelined LDR (no load's address depends on the
 * writeback of the load before it) and 8 SMLAD: 16 cycles for 16 multiplies. Each position starts
 * with SMUAD (no zeroing) and one double step, then double steps four at a time (one more first
 * when their count is odd). */
#define VB_WINO_STEP_(mac, acc4, acc5, acc6, acc7, acc8, acc9, acc10, acc11) \
    "    ldr     lr, [r1, #4]\n"              \
    "    ldr     r12, [r1], #8\n"             \
    "    ldr     r2, [r0, #4]\n"              \
    "    ldr     r3, [r0, #8]\n"              \
    "    " mac "   r4, r2, r12" acc4 "\n"     \
    "    " mac "   r5, r2, lr" acc5 "\n"      \
    "    " mac "   r6, r3, r12" acc6 "\n"     \
    "    " mac "   r7, r3, lr" acc7 "\n"      \
    "    ldr     r2, [r0, #12]\n"             \
    "    ldr     r3, [r0, #16]!\n"            \
    "    " mac "   r8, r2, r12" acc8 "\n"     \
    "    " mac "   r9, r2, lr" acc9 "\n"      \
    "    " mac "   r10, r3, r12" acc10 "\n"   \
    "    " mac "   r11, r3, lr" acc11 "\n"
#define VB_WINO_STEP \
    VB_WINO_STEP_("smlad", ", r4", ", r5", ", r6", ", r7", ", r8", ", r9", ", r10", ", r11")
/* the first slot pair of a position starts the sums (SMUAD: no zeroing) */
#define VB_WINO_STEP_FIRST VB_WINO_STEP_("smuad", "", "", "", "", "", "", "", "")

#define VB_UNUSED __attribute__((unused))
__attribute__((naked, noinline)) static void vb_wino_dot_2x4(VB_UNUSED const int32_t *v, VB_UNUSED const int32_t *u,
                                                             VB_UNUSED int32_t cp_n, VB_UNUSED int32_t *m)
{
    __asm__ volatile(
        "    push    {r4-r11, lr}\n"
        "    subs    r0, r0, #4\n"
        "    lsls    r2, r2, #4\n"              /* V bytes per position: cp_n * 4 tiles * 4 */
        "    adds    r12, r0, r2\n"             /* V pointer at the end of position 0 */
        "    add     lr, r3, #512\n"            /* end of m: 16 positions * 8 words */
        "    push    {r2, r3, r12, lr}\n"       /* sp+0 step, +4 m, +8 V end, +12 m end */
        "1:\n"
        VB_WINO_STEP_FIRST
        VB_WINO_STEP
        "    ldr     r2, [sp, #8]\n"
        "    cmp     r0, r2\n"
        "    beq     3f\n"
        "    ldr     r2, [sp]\n"
        "    tst     r2, #32\n"                 /* cp_n / 2 - 1 more double steps: odd? one first */
        "    bne     2f\n"
        VB_WINO_STEP
        VB_WINO_STEP
        "    ldr     r2, [sp, #8]\n"
        "    cmp     r0, r2\n"
        "    beq     3f\n"
        "2:\n"
        VB_WINO_STEP
        VB_WINO_STEP
        VB_WINO_STEP
        VB_WINO_STEP
        "    ldr     r2, [sp, #8]\n"
        "    cmp     r0, r2\n"
        "    bne     2b\n"
        "3:  ldmia   sp, {r2, r3, r12}\n"
        "    stmia   r3!, {r4-r11}\n"
        "    add     r12, r12, r2\n"
        "    ldr     r2, [sp, #12]\n"
        "    strd    r3, r12, [sp, #4]\n"
        "    cmp     r3, r2\n"
        "    bne     1b\n"
        "    add     sp, sp, #16\n"
        "    pop     {r4-r11, pc}\n");
}
#else
static void vb_wino_dot_2x4(const int32_t *v, const int32_t *u, int32_t cp_n, int32_t *m)
{
    for (int32_t pos = 0; pos < 16; ++pos, m += 8) {
        int32_t s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int32_t k = 0; k < cp_n; ++k, u += 2, v += 4) {
            for (int32_t t = 0; t < 4; ++t) {
                s[2 * t] = vb_smlad(v[t], u[0], s[2 * t]);
                s[2 * t + 1] = vb_smlad(v[t], u[1], s[2 * t + 1]);
            }
        }
        for (int32_t i = 0; i < 8; ++i) {
            m[i] = s[i];
        }
    }
}
#endif

/* 1 output channel x 4 tiles (an odd last channel; u: [16][cp_n] words): m[pos * 8 + 2 * t]. */
static void vb_wino_dot_1x4(const int32_t *v, const int32_t *u, int32_t cp_n, int32_t *m)
{
    for (int32_t pos = 0; pos < 16; ++pos, m += 8) {
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int32_t k = 0; k < cp_n; ++k, v += 4) {
            const int32_t u0 = *u++;
            s0 = vb_smlad(v[0], u0, s0);
            s1 = vb_smlad(v[1], u0, s1);
            s2 = vb_smlad(v[2], u0, s2);
            s3 = vb_smlad(v[3], u0, s3);
        }
        m[0] = s0;
        m[2] = s1;
        m[4] = s2;
        m[6] = s3;
    }
}

void vb_conv_2d_winograd(const vb_conv_winograd_params_t *p, const int8_t *input, int16_t *scratch,
                         int8_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c, in_c4 = p->in_c4, cp_n = in_c4 >> 1;
    const int32_t out_h = p->out_h, out_w = p->out_w, out_c = p->out_c;
    const int32_t tiles_h = (out_h + 1) >> 1, tiles_w = (out_w + 1) >> 1;
    int32_t *vw = (int32_t *)(void *)scratch;   /* p->tiles >= VB_WINO_T (the compiler's SCRATCH_TILES) */
    int8_t *patch = (int8_t *)scratch + (uint32_t)p->tiles * 32u * (uint32_t)in_c4;
    const int whole_groups = (in_c & 3) == 0;
    int8_t *zp = patch;   /* in_c % 4 == 0: in_c4 bytes of the zero point for pixels outside */
    int32_t m[16 * 8], acc[2][2 * VB_WINO_T];
    const int8_t *px[16];
    if (whole_groups) {
        const uint32_t zp4 = (uint32_t)(uint8_t)p->pad_value * 0x01010101u;
        for (int32_t c = 0; c < in_c4; c += 4) {
            memcpy(zp + c, &zp4, 4);
        }
    }
    vb_dsp_out_t ost;
    vb_dsp_out_init(&ost, p->flags, p->output_offset, p->act_min, p->act_max);

    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * in_h * in_w * in_c;
        int8_t *out_batch = output + b * out_h * out_w * out_c;
        /* blocks of up to 4 tiles along a row of tiles: their output rows are contiguous runs */
        for (int32_t ty = 0; ty < tiles_h; ++ty) {
            const int32_t oy = 2 * ty, iy0 = oy - p->pad_h, rows = out_h - oy < 2 ? 1 : 2;
            for (int32_t tx0 = 0; tx0 < tiles_w; tx0 += VB_WINO_T) {
                const int32_t nt = tiles_w - tx0 < VB_WINO_T ? tiles_w - tx0 : VB_WINO_T;
                const int32_t ox0 = 2 * tx0, cols = out_w - ox0 < 2 * nt ? out_w - ox0 : 2 * nt;
                for (int32_t t = 0; t < VB_WINO_T; ++t) {
                    const int32_t ix0 = ox0 + 2 * t - p->pad_w;
                    if (t >= nt) {
                        /* unused slot: zeros keep its sums defined (they are not stored) */
                        int32_t *dst = vw + t;
                        for (int32_t k = 0; k < 16 * cp_n; ++k, dst += VB_WINO_T) {
                            *dst = 0;
                        }
                        continue;
                    }
                    if (whole_groups && iy0 >= 0 && ix0 >= 0 && iy0 + 4 <= in_h && ix0 + 4 <= in_w) {
                        const int8_t *src = in_batch + (iy0 * in_w + ix0) * in_c;
                        for (int32_t k = 0; k < 16; ++k) {
                            px[k] = src + ((k >> 2) * in_w + (k & 3)) * in_c;
                        }
                    } else {
                        vb_wino_pixels(p, in_batch, iy0, ix0, zp, patch, px);
                    }
                    vb_wino_tile_in(px, in_c4, vw, t);
                }
                int8_t *out = out_batch + (oy * out_w + ox0) * out_c;
                int32_t oc = 0;
                for (; oc < out_c; oc += 2) {
                    const int32_t pair = oc + 2 <= out_c;
                    const int32_t *u = (const int32_t *)(const void *)(p->filter + oc * 16 * in_c4);
                    if (pair) {
                        vb_wino_dot_2x4(vw, u, cp_n, m);
                    } else {
                        vb_wino_dot_1x4(vw, u, cp_n, m);
                    }
                    for (int32_t o = 0; o < 1 + pair; ++o) {
                        vb_wino_out(m + o, nt, p->bias[oc + o], acc);
                        for (int32_t i = 0; i < rows; ++i) {
                            vb_dsp_requant_store(acc[i], cols, out + i * out_w * out_c + oc + o, out_c,
                                                 p->multiplier[oc + o], p->shift[oc + o], &ost);
                        }
                    }
                }
            }
        }
    }
}
