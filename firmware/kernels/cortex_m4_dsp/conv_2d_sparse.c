/* CONV_2D on sparse weights for the Cortex-M4 DSP extension (cortex_m4_dsp variant), bit-exact
 * with reference/conv_2d_sparse.c (same column layout and entry walk).
 *
 * Per block of VB_SPARSE_COLS (8) output pixels, the patches go into the layer's scratch as int16
 * columns, position major, so one position's 8 values are 4 words: [col 0 | col 1], [col 2 | col 3],
 * ...; two pixels at a time (SXTB16, PKHBT / PKHTB: one word store per position). Then an assembly
 * loop (vb_sp_dot8) runs over up to VB_SP_CHUNK output channels: per entry LDRB (delta), the
 * column pointer stepped by delta * 16 bytes, LDRSB (value), two pipelined LDR pairs of column
 * words and 8 SMLABB / SMLATB: 18 cycles per 8 MACs, 4 entries per loop iteration, against 20
 * cycles per 16 MACs for the dense kernel's SMLAD loop, so the sparse kernel gains from a bit
 * under half zeros on (plus its per-channel overhead). The accumulators go to a stack buffer,
 * requantized per channel by an assembly loop over full blocks (vb_sp_rq8_*) or
 * vb_dsp_requant_store (partial blocks, multipliers outside the fast form). */
#include "dsp_common.h"
#include "kernels_sparse.h"
#include "kernels_conv.h"

#define VB_SP_CHUNK 32   /* channels per accumulator buffer (1 KiB of stack) */

#if VB_DSP_NATIVE
/* r0-r7 accumulators (columns 0..7), r8 entry pointer, r9 end of the channel's entries, r10
 * column pointer, r11 value, r12 / lr column words (r12 first holds the delta). Per entry: LDRB
 * of the delta, the column pointer stepped (delta * 16 bytes), LDRSB of the value, two pipelined
 * LDR pairs and 8 SMLABB / SMLATB: 18 cycles, 4 entries per loop iteration. */
#define VB_SP_ENTRY                          \
    "    ldrb    r12, [r8], #1\n"            \
    "    add     r10, r10, r12, lsl #4\n"    \
    "    ldrsb   r11, [r8], #1\n"            \
    "    ldr     r12, [r10]\n"               \
    "    ldr     lr, [r10, #4]\n"            \
    "    smlabb  r0, r12, r11, r0\n"         \
    "    smlatb  r1, r12, r11, r1\n"         \
    "    smlabb  r2, lr, r11, r2\n"          \
    "    smlatb  r3, lr, r11, r3\n"          \
    "    ldr     r12, [r10, #8]\n"           \
    "    ldr     lr, [r10, #12]\n"           \
    "    smlabb  r4, r12, r11, r4\n"         \
    "    smlatb  r5, r12, r11, r5\n"         \
    "    smlabb  r6, lr, r11, r6\n"          \
    "    smlatb  r7, lr, r11, r7\n"

/* For nch channels: acc[8c + j] = bias[c] + sum over the channel's entries of value * column j;
 * returns the entry pointer after the last channel. nch >= 1. */
__attribute__((naked, noinline)) static const int16_t *vb_sp_dot8(
    VB_UNUSED const int16_t *cols, VB_UNUSED const int16_t *entries, VB_UNUSED const uint16_t *counts,
    VB_UNUSED const int32_t *bias, VB_UNUSED int32_t nch, VB_UNUSED int32_t *acc)
{
    __asm__ volatile(
        "    push    {r4-r11, lr}\n"
        "    push    {r0-r3}\n"                 /* sp+0 cols, +8 counts, +12 bias; nch +52, acc +56 */
        "    mov     r8, r1\n"
        "1:  ldr     r12, [sp, #8]\n"
        "    ldrh    r9, [r12], #2\n"           /* count */
        "    str     r12, [sp, #8]\n"
        "    ldr     r12, [sp, #12]\n"
        "    ldr     r0, [r12], #4\n"           /* bias */
        "    str     r12, [sp, #12]\n"
        "    add     r9, r8, r9, lsl #1\n"      /* end of the entries */
        "    mov     r1, r0\n"
        "    mov     r2, r0\n"
        "    mov     r3, r0\n"
        "    mov     r4, r0\n"
        "    mov     r5, r0\n"
        "    mov     r6, r0\n"
        "    mov     r7, r0\n"
        "    ldr     r10, [sp]\n"               /* column pointer at position 0 */
        "    cmp     r8, r9\n"
        "    beq     4f\n"
        "    sub     r12, r9, r8\n"             /* Duff's device: enter the 4-entry loop at */
        "    rsb     r12, r12, #0\n"            /* entry (-count) mod 4 */
        "    ubfx    r12, r12, #1, #2\n"
        "    tbb     [pc, r12]\n"
        "5:  .byte   (3f - 5b) / 2, (6f - 5b) / 2, (7f - 5b) / 2, (8f - 5b) / 2\n"
        "3:\n" VB_SP_ENTRY
        "6:\n" VB_SP_ENTRY
        "7:\n" VB_SP_ENTRY
        "8:\n" VB_SP_ENTRY
        "    cmp     r8, r9\n"
        "    bne     3b\n"
        "4:  ldr     r12, [sp, #56]\n"
        "    stmia   r12!, {r0-r7}\n"
        "    str     r12, [sp, #56]\n"
        "    ldr     r12, [sp, #52]\n"
        "    subs    r12, r12, #1\n"
        "    str     r12, [sp, #52]\n"
        "    bne     1b\n"
        "    mov     r0, r8\n"
        "    add     sp, sp, #16\n"
        "    pop     {r4-r11, pc}\n");
}
#else
static const int16_t *vb_sp_dot8(const int16_t *cols, const int16_t *e, const uint16_t *counts,
                                 const int32_t *bias, int32_t nch, int32_t *acc)
{
    for (int32_t c = 0; c < nch; ++c, acc += VB_SPARSE_COLS) {
        int32_t a[VB_SPARSE_COLS];
        for (int32_t j = 0; j < VB_SPARSE_COLS; ++j) {
            a[j] = bias[c];
        }
        const int16_t *x = cols;
        for (int32_t cnt = counts[c]; cnt > 0; --cnt) {
            const int32_t ent = *e++;
            x += (ent & 0xFF) * VB_SPARSE_COLS;
            const int32_t v = ent >> 8;
            for (int32_t j = 0; j < VB_SPARSE_COLS; ++j) {
                a[j] = vb_smlabb(v, x[j], a[j]);
            }
        }
        for (int32_t j = 0; j < VB_SPARSE_COLS; ++j) {
            acc[j] = a[j];
        }
    }
    return e;
}
#endif

/* Patch of output pixel (oy, ox) into column `col` (stride VB_SPARSE_COLS int16). */
static void vb_sp_im2col(const vb_conv_sparse_params_t *p, const int8_t *in_batch, int32_t oy, int32_t ox,
                         int16_t *col)
{
    const int32_t in_c = p->in_c, fw = p->filter_w;
    const int16_t zp = (int16_t)p->input_zero_point;
    const int32_t iy0 = oy * p->stride_h - p->pad_h, ix0 = ox * p->stride_w - p->pad_w;
    for (int32_t ky = 0; ky < p->filter_h; ++ky) {
        const int32_t iy = iy0 + ky * p->dilation_h;
        const int row_inside = iy >= 0 && iy < p->in_h;
        const int8_t *row = in_batch + (row_inside ? iy : 0) * p->in_w * in_c;
        for (int32_t kx = 0; kx < fw; ++kx) {
            const int32_t ix = ix0 + kx * p->dilation_w;
            int32_t c = in_c;
            if (!row_inside || ix < 0 || ix >= p->in_w) {
                for (; c > 0; --c, col += VB_SPARSE_COLS) {
                    *col = zp;
                }
                continue;
            }
            const int8_t *src = row + ix * in_c;
            for (; c >= 4; c -= 4, src += 4, col += 4 * VB_SPARSE_COLS) {
                const uint32_t w = vb_rd32(src);
                col[0] = (int8_t)w;
                col[VB_SPARSE_COLS] = (int8_t)(w >> 8);
                col[2 * VB_SPARSE_COLS] = (int8_t)(w >> 16);
                col[3 * VB_SPARSE_COLS] = (int8_t)(w >> 24);
            }
            for (; c > 0; --c, col += VB_SPARSE_COLS) {
                *col = *src++;
            }
        }
    }
}

/* Requantization of full blocks (8 pixels) of nc channels, for a layer whose every channel has
 * the fast form (multiplier >= 0, shift -31..-1; see vb_rq_fast): rq8 needs about 11 cycles
 * per value (SSAT clamp) or 16 (compare clamps) and ~20 per channel, against ~28 per value for
 * vb_dsp_rq_run on runs of 8. */
typedef struct {
    const int32_t *mult;       /* advanced by the assembly */
    const int32_t *shift;
    int32_t nc;
    int32_t klo;               /* low word of the rounding constant: 2^30 (double rounding) or 0 */
    uint32_t negmask;          /* 0x80000000 (double rounding) or 0 */
    int32_t out_offset, act_min, act_max;
} vb_sp_rq_t;

#if VB_DSP_NATIVE
/* r0 acc, r1 output (channel c at pixel j: r1 = out + c + j * out_c), r2 out_c, r3 multiplier,
 * r4 shift of the top word, r5/r6 rounding constant (low/high), r7 negmask, r8 output offset,
 * r9/r10 clamp range, r11 accumulator, r12/lr the 64-bit sum */
#define VB_SP_RQ_CORE                        \
    "    ldr     r11, [r0], #4\n"            \
    "    and     lr, r11, r7\n"              \
    "    subs    r12, r5, lr\n"              \
    "    sbc     lr, r6, #0\n"               \
    "    smlal   r12, lr, r11, r3\n"         \
    "    asr     lr, lr, r4\n"               \
    "    add     lr, lr, r8\n"
#define VB_SP_RQ_STORE                       \
    "    strb    lr, [r1]\n"                 \
    "    add     r1, r1, r2\n"
#define VB_SP_RQ_SSAT VB_SP_RQ_CORE "    ssat    lr, #8, lr\n" VB_SP_RQ_STORE
#define VB_SP_RQ_CLAMP VB_SP_RQ_CORE         \
    "    cmp     lr, r9\n"                   \
    "    it      lt\n"                       \
    "    movlt   lr, r9\n"                   \
    "    cmp     lr, r10\n"                  \
    "    it      gt\n"                       \
    "    movgt   lr, r10\n" VB_SP_RQ_STORE
#define VB_SP_RQ8(value)                                                                       \
    __asm__ volatile(                                                                          \
        "    push    {r4-r11, lr}\n"                                                           \
        "    push    {r3}\n"                                                                   \
        "    ldr     r7, [r3, #16]\n"                                                          \
        "    ldrd    r8, r9, [r3, #20]\n"                                                      \
        "    ldr     r10, [r3, #28]\n"                                                         \
        "1:  ldr     r12, [sp]\n"                                                              \
        "    ldrd    r11, lr, [r12]\n"         /* multiplier and shift pointers */             \
        "    ldr     r3, [r11], #4\n"                                                          \
        "    ldr     r4, [lr], #4\n"                                                           \
        "    strd    r11, lr, [r12]\n"                                                         \
        "    ldr     r5, [r12, #12]\n"                                                         \
        "    mvn     r4, r4\n"                 /* sh = -shift - 1 */                           \
        "    subs    r6, r4, #1\n"                                                             \
        "    bmi     2f\n"                                                                     \
        "    movs    lr, #1\n"                                                                 \
        "    lsl     r6, lr, r6\n"             /* high word 2^(sh - 1) */                      \
        "    b       3f\n"                                                                     \
        "2:  add     r5, r5, #0x80000000\n"    /* sh = 0: 2^31 in the low word */              \
        "    movs    r6, #0\n"                                                                 \
        "3:\n" value value value value value value value value                                \
        "    sub     r1, r1, r2, lsl #3\n"                                                     \
        "    add     r1, r1, #1\n"                                                             \
        "    ldr     r12, [sp]\n"                                                              \
        "    ldr     lr, [r12, #8]\n"                                                          \
        "    subs    lr, lr, #1\n"                                                             \
        "    str     lr, [r12, #8]\n"                                                          \
        "    bne     1b\n"                                                                     \
        "    add     sp, sp, #4\n"                                                             \
        "    pop     {r4-r11, pc}\n")

#define VB_UNUSED_RQ __attribute__((unused))
__attribute__((naked, noinline)) static void vb_sp_rq8_ssat(VB_UNUSED_RQ const int32_t *acc, VB_UNUSED_RQ int8_t *out,
                                                            VB_UNUSED_RQ int32_t out_c, VB_UNUSED_RQ vb_sp_rq_t *a)
{
    VB_SP_RQ8(VB_SP_RQ_SSAT);
}

__attribute__((naked, noinline)) static void vb_sp_rq8_clamp(VB_UNUSED_RQ const int32_t *acc, VB_UNUSED_RQ int8_t *out,
                                                             VB_UNUSED_RQ int32_t out_c, VB_UNUSED_RQ vb_sp_rq_t *a)
{
    VB_SP_RQ8(VB_SP_RQ_CLAMP);
}
#else
static void vb_sp_rq8_clamp(const int32_t *acc, int8_t *out, int32_t out_c, vb_sp_rq_t *a)
{
    for (; a->nc > 0; --a->nc, ++out) {
        const int32_t sh = ~*a->shift++;
        const int64_t k = (int64_t)a->klo + ((int64_t)1 << (31 + sh)); /* as vb_rq_fast_setup */
        const int32_t mult = *a->mult++;
        for (int32_t j = 0; j < VB_SPARSE_COLS; ++j) {
            const int32_t x = *acc++;
            const int64_t v = k - (int64_t)((uint32_t)x & a->negmask) + (int64_t)x * mult;
            int32_t r = ((int32_t)(v >> 32) >> sh) + a->out_offset;
            r = r < a->act_min ? a->act_min : r;
            out[j * out_c] = (int8_t)(r > a->act_max ? a->act_max : r);
        }
    }
}
#define vb_sp_rq8_ssat vb_sp_rq8_clamp
#endif

/* [lo half of a | lo half of b] and [hi half of a | hi half of b]: PKHBT / PKHTB */
#if VB_DSP_NATIVE
static inline uint32_t vb_pk_lo(int32_t a, int32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
static inline uint32_t vb_pk_hi(int32_t a, int32_t b)
{
    uint32_t r;
    __asm__("pkhtb %0, %2, %1, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
#else
static inline uint32_t vb_pk_lo(int32_t a, int32_t b) { return ((uint32_t)a & 0xFFFFu) | ((uint32_t)b << 16); }
static inline uint32_t vb_pk_hi(int32_t a, int32_t b) { return ((uint32_t)a >> 16) | ((uint32_t)b & 0xFFFF0000u); }
#endif

/* len input values of pixels a and b (sa, sb; a pointer step of 0 re-reads the zero point) into
 * columns j and j + 1 (colw[4 k] = [a_k | b_k]): per 4 values of both, two LDR, four SXTB16, two
 * PKHBT, two PKHTB and four STR. */
static inline __attribute__((always_inline)) uint32_t *vb_sp_run2(const int8_t *sa, const int8_t *sb, int32_t da,
                                                                  int32_t db, int32_t len, uint32_t *colw)
{
    for (; len >= 4; len -= 4, sa += da, sb += db, colw += 16) {
        const uint32_t wa = vb_rd32(sa), wb = vb_rd32(sb);
        const int32_t ea = vb_sxtb16(wa), oa = vb_sxtb16_ror8(wa);
        const int32_t eb = vb_sxtb16(wb), ob = vb_sxtb16_ror8(wb);
        colw[0] = vb_pk_lo(ea, eb);
        colw[4] = vb_pk_lo(oa, ob);
        colw[8] = vb_pk_hi(ea, eb);
        colw[12] = vb_pk_hi(oa, ob);
    }
    for (; len > 0; --len, sa += da >> 2, sb += db >> 2, colw += 4) {
        colw[0] = vb_pk_lo(*sa, *sb);
    }
    return colw;
}

/* Patches of two output pixels a (oya, oxa) and b (oyb, oxb) into columns j and j + 1 (j even).
 * A filter row inside the image for both pixels (dilation_w 1) is one run of filter_w * in_c
 * values; otherwise tap by tap, a tap in the padding reading the zero point (zp4, step 0). */
static void vb_sp_im2col2(const vb_conv_sparse_params_t *p, const int8_t *in_batch, int32_t oya, int32_t oxa,
                          int32_t oyb, int32_t oxb, uint32_t *colw)
{
    const int32_t in_c = p->in_c, fw = p->filter_w, in_w = p->in_w;
    const uint32_t zp4 = (uint32_t)(uint8_t)p->input_zero_point * 0x01010101u;
    const int8_t *zp = (const int8_t *)(const void *)&zp4;
    const int32_t iya0 = oya * p->stride_h - p->pad_h, ixa0 = oxa * p->stride_w - p->pad_w;
    const int32_t iyb0 = oyb * p->stride_h - p->pad_h, ixb0 = oxb * p->stride_w - p->pad_w;
    const int cols_inside = p->dilation_w == 1 && ixa0 >= 0 && ixa0 + fw <= in_w && ixb0 >= 0 && ixb0 + fw <= in_w;
    for (int32_t ky = 0; ky < p->filter_h; ++ky) {
        const int32_t iya = iya0 + ky * p->dilation_h, iyb = iyb0 + ky * p->dilation_h;
        const int in_a = iya >= 0 && iya < p->in_h, in_b = iyb >= 0 && iyb < p->in_h;
        if (cols_inside && in_a && in_b) {
            colw = vb_sp_run2(in_batch + (iya * in_w + ixa0) * in_c, in_batch + (iyb * in_w + ixb0) * in_c, 4, 4,
                              fw * in_c, colw);
            continue;
        }
        for (int32_t kx = 0; kx < fw; ++kx) {
            const int32_t ixa = ixa0 + kx * p->dilation_w, ixb = ixb0 + kx * p->dilation_w;
            const int ta = in_a && ixa >= 0 && ixa < in_w, tb = in_b && ixb >= 0 && ixb < in_w;
            colw = vb_sp_run2(ta ? in_batch + (iya * in_w + ixa) * in_c : zp,
                              tb ? in_batch + (iyb * in_w + ixb) * in_c : zp, ta ? 4 : 0, tb ? 4 : 0, in_c, colw);
        }
    }
}

void vb_conv_2d_sparse(const vb_conv_sparse_params_t *p, const int8_t *input, int16_t *cols, int8_t *output)
{
    const int32_t K = p->filter_h * p->filter_w * p->in_c;
    const int32_t out_c = p->out_c, npix = p->out_h * p->out_w;
    vb_dsp_out_t ost;
    vb_dsp_out_init(&ost, p->flags, p->output_offset, p->act_min, p->act_max);
    int32_t acc[VB_SP_CHUNK * VB_SPARSE_COLS];
    int fast = 1; /* every channel has the fast requantization form */
    for (int32_t c = 0; c < out_c; ++c) {
        fast &= p->multiplier[c] >= 0 && p->shift[c] <= -1 && p->shift[c] >= -31;
    }
    const int32_t klo = (p->flags & VB_FLAG_SINGLE_ROUNDING) ? 0 : (1 << 30);
    const uint32_t negmask = (p->flags & VB_FLAG_SINGLE_ROUNDING) ? 0u : 0x80000000u;
    const int full_range = p->act_min == -128 && p->act_max == 127;
    VB_FOR_CONV_BATCHES(p, input, output, npix, out_c, in_batch, out_batch, {
        VB_FOR_PIXEL_BLOCKS(npix, VB_SPARSE_COLS, oy, ox, q0, n, {
            int32_t j = 0;
            for (; j + 2 <= n; j += 2) { /* pixel pairs: one word per position */
                int32_t oy1 = oy, ox1 = ox + 1;
                if (ox1 == p->out_w) {
                    ox1 = 0;
                    ++oy1;
                }
                vb_sp_im2col2(p, in_batch, oy, ox, oy1, ox1, (uint32_t *)(void *)(cols + j));
                oy = oy1;
                ox = ox1 + 1;
                if (ox == p->out_w) {
                    ox = 0;
                    ++oy;
                }
            }
            if (j < n) {
                vb_sp_im2col(p, in_batch, oy, ox, cols + j);
                VB_NEXT_PIXEL(oy, ox, p->out_w);
            }
            VB_SPARSE_ZERO_COLS(cols, n, VB_SPARSE_COLS, K);
            const int16_t *e = p->entries;
            int8_t *out = out_batch + q0 * out_c;
            for (int32_t oc0 = 0; oc0 < out_c; oc0 += VB_SP_CHUNK) {
                const int32_t nc = out_c - oc0 < VB_SP_CHUNK ? out_c - oc0 : VB_SP_CHUNK;
                e = vb_sp_dot8(cols, e, p->counts + oc0, p->bias + oc0, nc, acc);
                if (fast && n == VB_SPARSE_COLS) {
                    vb_sp_rq_t a = {p->multiplier + oc0, p->shift + oc0, nc, klo, negmask, p->output_offset,
                                    p->act_min, p->act_max};
                    (full_range ? vb_sp_rq8_ssat : vb_sp_rq8_clamp)(acc, out + oc0, out_c, &a);
                } else {
                    for (int32_t c = 0; c < nc; ++c) {
                        vb_dsp_requant_store(acc + c * VB_SPARSE_COLS, n, out + oc0 + c, out_c,
                                             p->multiplier[oc0 + c], p->shift[oc0 + c], &ost);
                    }
                }
            }
        })
    })
}
