/* CONV_2D on sparse weights for the Cortex-M4 DSP extension (cortex_m4_dsp variant), bit-exact
 * with reference/conv_2d_sparse.c (same column layout and entry walk).
 *
 * Per block of VB_SPARSE_COLS (8) output pixels, the patches go into the layer's scratch as int16
 * columns, position major, so one position's 8 values are 4 words: [col 0 | col 1], [col 2 | col 3],
 * ... Then an assembly loop (vb_sp_dot8) runs over up to VB_SP_CHUNK output channels: per entry one
 * LDRSH, UXTB (delta) and ASR (value), the column pointer stepped by delta * 16 bytes, four
 * column words (two pipelined LDR pairs) and 8 SMLABB / SMLATB, unrolled twice (about 21 cycles
 * per 8 MACs, against 20 per 16 MACs for the dense kernel's SMLAD loop: the sparse kernel wins
 * once about half the weights are zero, minus its per-channel overhead). The channel loop stays
 * in the assembly; the accumulators go to a stack buffer, which the fast requantization
 * (vb_dsp_requant_store) turns into the outputs of each channel. */
#include "dsp_common.h"
#include "kernels_sparse.h"

#define VB_SP_CHUNK 32   /* channels per accumulator buffer (1 KiB of stack) */
#define VB_STR_(x) #x
#define VB_STR(x) VB_STR_(x)

#if VB_DSP_NATIVE
/* r0-r7 accumulators (columns 0..7), r8 entry pointer, r9 end of the channel's entries, r10
 * column pointer, r11 value, r12 / lr column words (r12 first holds the delta). */
#define VB_SP_ENTRY                          \
    "    ldrsh   r11, [r8], #2\n"            \
    "    uxtb    r12, r11\n"                 \
    "    add     r10, r10, r12, lsl #4\n"    \
    "    asr     r11, r11, #8\n"             \
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

#define VB_UNUSED __attribute__((unused))
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
        "    sub     r12, r9, r8\n"
        "    tst     r12, #2\n"                 /* odd count: one entry first */
        "    beq     2f\n"
        VB_SP_ENTRY
        "2:  cmp     r8, r9\n"
        "    beq     4f\n"
        "3:\n"
        VB_SP_ENTRY
        VB_SP_ENTRY
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

/* Requantize the accumulators of nc channels (VB_SPARSE_COLS each, the first n used) into
 * out[j * out_c + c]. The fast form inline (vb_dsp_rq_fast: one SMLAL), since a run of 8 values
 * is too short to pay for vb_dsp_rq_run's set-up. */
__attribute__((noinline)) static void vb_sp_requant(const int32_t *acc, int32_t nc, int32_t n, int8_t *out, int32_t out_c,
                          const int32_t *mult, const int32_t *shift, const vb_dsp_out_t *o)
{
    const int32_t oo = o->out_offset, lo = o->act_min, hi = o->act_max;
    for (int32_t c = 0; c < nc; ++c, acc += VB_SPARSE_COLS) {
        vb_dsp_rq_t q;
        if (!vb_dsp_rq_setup(&q, mult[c], shift[c], o->flags)) {
            vb_dsp_rq_general(acc, n, out + c, out_c, o, mult[c], shift[c]);
            continue;
        }
        int8_t *dst = out + c;
        for (int32_t j = 0; j < n; ++j, dst += out_c) {
            int32_t r = vb_dsp_rq_fast(acc[j], &q) + oo;
            r = r < lo ? lo : r;
            *dst = (int8_t)(r > hi ? hi : r);
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
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + b * p->in_h * p->in_w * p->in_c;
        int8_t *out_batch = output + b * npix * out_c;
        int32_t oy = 0, ox = 0;
        for (int32_t q0 = 0; q0 < npix; q0 += VB_SPARSE_COLS) {
            const int32_t n = npix - q0 < VB_SPARSE_COLS ? npix - q0 : VB_SPARSE_COLS;
            for (int32_t j = 0; j < n; ++j) {
                vb_sp_im2col(p, in_batch, oy, ox, cols + j);
                if (++ox == p->out_w) {
                    ox = 0;
                    ++oy;
                }
            }
            for (int32_t j = n; j < VB_SPARSE_COLS; ++j) { /* unused columns: defined values */
                for (int32_t k = 0; k < K; ++k) {
                    cols[k * VB_SPARSE_COLS + j] = 0;
                }
            }
            const int16_t *e = p->entries;
            int8_t *out = out_batch + q0 * out_c;
            for (int32_t oc0 = 0; oc0 < out_c; oc0 += VB_SP_CHUNK) {
                const int32_t nc = out_c - oc0 < VB_SP_CHUNK ? out_c - oc0 : VB_SP_CHUNK;
                e = vb_sp_dot8(cols, e, p->counts + oc0, p->bias + oc0, nc, acc);
                vb_sp_requant(acc, nc, n, out + oc0, out_c, p->multiplier + oc0, p->shift + oc0, &ost);
            }
        }
    }
}
