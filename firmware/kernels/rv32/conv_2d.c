/* CONV_2D for RV32IM cores (rv32 variant), bit-exact with reference/conv_2d.c.
 *
 * im2col of up to VB_RV_CONV_COLS output pixels into the runtime's scratch buffer as int16 with
 * the input offset added (taps in the padding become 0, which is what skipping them in the
 * reference amounts to). Columns are stored four at a time interleaved element by element
 * ([k][4] int16), so one pointer with immediate offsets feeds four pixels. For every pair of
 * output channels and every quad of columns a 2x4 register-blocked dot product: per filter tap
 * 4 LH + 2 LB, 8 MUL and 8 ADD into int32 accumulators, unrolled by 4. An odd last channel
 * uses a 1x4 block; columns of a partial quad are computed against stale scratch and not
 * stored.
 *
 * Scratch: 8 * K bytes per column quad (K = filter_h * filter_w * in_c); with less the kernel
 * uses a plain loop nest with the reference's order and arithmetic. */
#include "rv32_common.h"
#include "kernels_conv.h"

#define VB_RV_CONV_COLS 16

/* Plain loop nest (the reference's order and arithmetic). */
VB_DEFINE_CONV_2D_PLAIN(vb_rv_conv_plain)

VB_RV_DEFINE_IM2COL(vb_rv_im2col, vb_conv_params_t, p->input_offset)
VB_RV_DEFINE_DOT_2X4(vb_rv_dot_2x4, 1)
VB_RV_DEFINE_DOT_1X4(vb_rv_dot_1x4, 1)

void vb_conv_2d(const vb_conv_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t K = p->filter_h * p->filter_w * p->in_c;
    const uint32_t quad_bytes = (uint32_t)K * 8u;
    uint32_t scratch_bytes = 0;
    int16_t *scratch = (int16_t *)vb_kernel_scratch(&scratch_bytes);
    if (!scratch || scratch_bytes < quad_bytes) {
        vb_rv_conv_plain(p, input, output);
        return;
    }
    int32_t max_cols = (int32_t)(scratch_bytes / quad_bytes) * 4;
    if (max_cols > VB_RV_CONV_COLS) {
        max_cols = VB_RV_CONV_COLS;
    }
    const int32_t out_c = p->out_c, npix = p->out_h * p->out_w, quad_elems = 4 * K;
    const uint32_t flags = p->flags;
    const int32_t oo = p->output_offset, lo = p->act_min, hi = p->act_max;

    VB_FOR_CONV_BATCHES(p, input, output, npix, out_c, in_batch, out_batch, {
        VB_FOR_PIXEL_BLOCKS(npix, max_cols, oy, ox, q0, n, {
            for (int32_t i = 0; i < n; ++i) {
                vb_rv_im2col(p, in_batch, oy, ox, scratch + (i >> 2) * quad_elems + (i & 3));
                VB_NEXT_PIXEL(oy, ox, p->out_w);
            }
            const int32_t nquads = (n + 3) >> 2;
            int8_t *out = out_batch + q0 * out_c;
            int32_t oc = 0;
            for (; oc + 2 <= out_c; oc += 2) {
                const int8_t *w0 = p->filter + oc * K;
                int32_t acc[2][VB_RV_CONV_COLS];
                for (int32_t j = 0; j < nquads; ++j) {
                    int32_t a[8] = {p->bias[oc], p->bias[oc], p->bias[oc], p->bias[oc],
                                    p->bias[oc + 1], p->bias[oc + 1], p->bias[oc + 1], p->bias[oc + 1]};
                    vb_rv_dot_2x4(scratch + j * quad_elems, w0, w0 + K, K, a);
                    for (int32_t t = 0; t < 4; ++t) {
                        acc[0][4 * j + t] = a[t];
                        acc[1][4 * j + t] = a[4 + t];
                    }
                }
                vb_rv_requant_store(acc[0], n, out + oc, out_c, p->multiplier[oc], p->shift[oc], flags, oo, lo, hi);
                vb_rv_requant_store(acc[1], n, out + oc + 1, out_c, p->multiplier[oc + 1], p->shift[oc + 1], flags,
                                    oo, lo, hi);
            }
            if (oc < out_c) {
                int32_t acc[VB_RV_CONV_COLS];
                for (int32_t j = 0; j < nquads; ++j) {
                    int32_t *a = acc + 4 * j;
                    a[0] = a[1] = a[2] = a[3] = p->bias[oc];
                    vb_rv_dot_1x4(scratch + j * quad_elems, p->filter + oc * K, K, a);
                }
                vb_rv_requant_store(acc, n, out + oc, out_c, p->multiplier[oc], p->shift[oc], flags, oo, lo, hi);
            }
        })
    })
}
