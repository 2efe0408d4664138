/*
 * Convolution and pooling geometry shared by the reference kernels and the optimized variants
 * (cortex_m4_dsp, rv32): loop nests over output pixels, windows and taps, and whole helper
 * functions. All macros: a loop macro expands to the very statements it replaced, and a
 * VB_DEFINE_* macro defines a static function in the file that uses it, which keeps its own
 * copy, name, inline keyword and compile options (#pragma GCC optimize). So every kernel's
 * machine code is what it was with the code in the file itself (inline functions were tried
 * and changed it).
 */
#ifndef VB_KERNELS_CONV_H
#define VB_KERNELS_CONV_H

#include <stdint.h>

#include "kernels_common.h"

/* The taps of a window whose first tap is at input (IY0, IX0) that lie inside the image, in the
 * reference's order (filter rows, then columns): runs the statement after the names for every
 * such tap (ky, kx), input row iy and column ix. P: any conv parameter block. */
#define VB_FOR_EACH_TAP(P, IY0, IX0, ky, kx, iy, ix, ...)                                          \
    for (int32_t ky = 0; ky < (P)->filter_h; ++ky) {                                               \
        const int32_t iy = (IY0) + (P)->dilation_h * ky;                                           \
        if (iy < 0 || iy >= (P)->in_h) {                                                           \
            continue;                                                                              \
        }                                                                                          \
        for (int32_t kx = 0; kx < (P)->filter_w; ++kx) {                                           \
            const int32_t ix = (IX0) + (P)->dilation_w * kx;                                       \
            if (ix < 0 || ix >= (P)->in_w) {                                                       \
                continue;                                                                          \
            }                                                                                      \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }

/* Steps (oy, ox) to the next output pixel, row by row (a macro: the statement it replaced). */
#define VB_NEXT_PIXEL(oy, ox, out_w)                                                               \
    do {                                                                                           \
        if (++(ox) == (out_w)) {                                                                   \
            (ox) = 0;                                                                              \
            ++(oy);                                                                                \
        }                                                                                          \
    } while (0)

/* For every output row oy (column ox): iy0 (ix0), the input row (column) of its window's first
 * tap, then the statement after the names. */
#define VB_FOR_WINDOW_ROWS(p, oy, iy0, ...)                                                        \
    for (int32_t oy = 0; oy < (p)->out_h; ++oy) {                                                  \
        const int32_t iy0 = oy * (p)->stride_h - (p)->pad_h;                                       \
        __VA_ARGS__                                                                                \
    }
#define VB_FOR_WINDOW_COLS(p, ox, ix0, ...)                                                        \
    for (int32_t ox = 0; ox < (p)->out_w; ++ox) {                                                  \
        const int32_t ix0 = ox * (p)->stride_w - (p)->pad_w;                                       \
        __VA_ARGS__                                                                                \
    }

/* Declares [start, end), the taps of a k-tap window at input i0 that lie inside an axis of
 * `size` (may be empty), as the int8 (_I32) and float (_F32) pools compute it. */
#define VB_POOL_SPAN_I32(i0, k, size, start, end)                                                  \
    const int32_t start = vb_max_i32(0, -(i0));                                                    \
    const int32_t end = vb_min_i32(k, (size) - (i0))
#define VB_POOL_SPAN_F32(i0, k, size, start, end)                                                  \
    const int32_t start = (i0) < 0 ? -(i0) : 0;                                                    \
    const int32_t end = (size) - (i0) < (k) ? (size) - (i0) : (k)

/* The pools' loop nest: for every output pixel (b, oy, ox), iy0 / ix0 its window's first input
 * row / column and [fy0, fy1) x [fx0, fx1) the window's taps inside the image (SPAN:
 * VB_POOL_SPAN_I32 or _F32), then the statement after the names. */
#define VB_FOR_POOL_WINDOWS(p, SPAN, b, oy, ox, iy0, ix0, fy0, fy1, fx0, fx1, ...)                 \
    for (int32_t b = 0; b < (p)->batches; ++b) {                                                   \
        VB_FOR_WINDOW_ROWS(p, oy, iy0, {                                                           \
            SPAN(iy0, (p)->filter_h, (p)->in_h, fy0, fy1);                                         \
            VB_FOR_WINDOW_COLS(p, ox, ix0, {                                                       \
                SPAN(ix0, (p)->filter_w, (p)->in_w, fx0, fx1);                                     \
                __VA_ARGS__                                                                        \
            })                                                                                     \
        })                                                                                         \
    }

/* For every output row oy: iy0, the input row of its windows' first tap, and [fy0, fy1), the filter
 * rows inside the image (RANGE: a VB_DEFINE_TAP_RANGE function); then the statement after the
 * names. */
#define VB_FOR_OUT_ROWS(p, RANGE, oy, iy0, fy0, fy1, ...)                                          \
    for (int32_t oy = 0; oy < (p)->out_h; ++oy) {                                                  \
        const int32_t iy0 = oy * (p)->stride_h - (p)->pad_h;                                       \
        int32_t fy0, fy1;                                                                          \
        RANGE(iy0, (p)->filter_h, (p)->dilation_h, (p)->in_h, &fy0, &fy1);                         \
        __VA_ARGS__                                                                                \
    }

/* For every batch of an int8 conv: in_batch / out_batch at its input and output (npix pixels of
 * out_c channels), then the statement after the names. */
#define VB_FOR_CONV_BATCHES(p, input, output, npix, out_c, in_batch, out_batch, ...)               \
    for (int32_t b_ = 0; b_ < (p)->batches; ++b_) {                                                \
        const int8_t *in_batch = (input) + b_ * (p)->in_h * (p)->in_w * (p)->in_c;                 \
        int8_t *out_batch = (output) + b_ * (npix) * (out_c);                                      \
        __VA_ARGS__                                                                                \
    }

/* The output pixels in blocks of up to COLS: the block [q0, q0 + n), then the statement after the
 * names, which walks (oy, ox) over the block's pixels with VB_NEXT_PIXEL (declared here, in the
 * enclosing block, from (0, 0), as they run on from block to block). */
#define VB_FOR_PIXEL_BLOCKS(npix, COLS, oy, ox, q0, n, ...)                                        \
    int32_t oy = 0, ox = 0;                                                                        \
    for (int32_t q0 = 0; q0 < (npix); q0 += (COLS)) {                                              \
        const int32_t n = (npix) - q0 < (COLS) ? (npix) - q0 : (COLS);                             \
        __VA_ARGS__                                                                                \
    }

/* Output columns [full0, full1) (lvalues, left alone when the window is wider than the row) whose
 * windows, `span` input columns wide, lie wholly inside an image row of in_w. */
#define VB_INSIDE_COLS(in_w, span, pad_w, sw, out_w, full0, full1)                                 \
    do {                                                                                           \
        if ((in_w) >= (span)) {                                                                    \
            full0 = ((pad_w) + (sw) - 1) / (sw);                                                   \
            full1 = ((in_w) - (span) + (pad_w)) / (sw) + 1;                                        \
            full1 = full1 < (out_w) ? full1 : (out_w);                                             \
            full0 = full0 < full1 ? full0 : full1;                                                 \
        }                                                                                          \
    } while (0)

/* SPEC void name(i0, k, dil, size, lo, hi): the valid tap range [lo, hi) along one axis for a
 * window of k taps (dilation dil) whose first tap is at i0, in an axis of `size`. */
#define VB_DEFINE_TAP_RANGE(SPEC, name)                                                            \
    SPEC void name(int32_t i0, int32_t k, int32_t dil, int32_t size, int32_t *lo, int32_t *hi)     \
    {                                                                                              \
        int32_t a = 0, b = k;                                                                      \
        while (a < k && i0 + a * dil < 0) {                                                        \
            ++a;                                                                                   \
        }                                                                                          \
        while (b > a && i0 + (b - 1) * dil >= size) {                                              \
            --b;                                                                                   \
        }                                                                                          \
        *lo = a;                                                                                   \
        *hi = b;                                                                                   \
    }

/* static void name(p, input, output): int8 CONV_2D as a plain loop nest, the reference's order
 * and arithmetic (the optimized kernels' fallback without scratch). */
#define VB_DEFINE_CONV_2D_PLAIN(name)                                                              \
    static void name(const vb_conv_params_t *p, const int8_t *input, int8_t *output)               \
    {                                                                                              \
        const int32_t in_c = p->in_c;                                                              \
        const int32_t filter_stride = p->filter_h * p->filter_w * in_c;                            \
        for (int32_t b = 0; b < p->batches; ++b) {                                                 \
            const int8_t *in_batch = input + b * p->in_h * p->in_w * in_c;                         \
            for (int32_t oy = 0; oy < p->out_h; ++oy) {                                            \
                for (int32_t ox = 0; ox < p->out_w; ++ox) {                                        \
                    for (int32_t oc = 0; oc < p->out_c; ++oc) {                                    \
                        const int8_t *filter = p->filter + oc * filter_stride;                     \
                        int32_t acc = 0;                                                           \
                        VB_FOR_EACH_TAP(p, oy * p->stride_h - p->pad_h,                            \
                                        ox * p->stride_w - p->pad_w, ky, kx, iy, ix, {             \
                            const int8_t *x = in_batch + (iy * p->in_w + ix) * in_c;               \
                            const int8_t *f = filter + (ky * p->filter_w + kx) * in_c;             \
                            for (int32_t ic = 0; ic < in_c; ++ic) {                                \
                                acc += f[ic] * (x[ic] + p->input_offset);                          \
                            }                                                                      \
                        })                                                                         \
                        acc += p->bias[oc];                                                        \
                        acc = vb_requantize(acc, p->multiplier[oc], p->shift[oc], p->flags);       \
                        acc += p->output_offset;                                                   \
                        *output++ = (int8_t)vb_clamp_i32(acc, p->act_min, p->act_max);             \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

/* SPEC void name(p, input, output): float CONV_2D as TFLite's reference_ops::Conv loop nest (the
 * reference kernel, and the cortex_m4_dsp fallback for dilated columns). */
#define VB_DEFINE_CONV_2D_F32(SPEC, name)                                                          \
    SPEC void name(const vb_conv_f32_params_t *p, const float *input, float *output)               \
    {                                                                                              \
        const int32_t in_c = p->in_c;                                                              \
        for (int32_t b = 0; b < p->batches; ++b) {                                                 \
            VB_FOR_WINDOW_ROWS(p, oy, iy0, {                                                       \
                VB_FOR_WINDOW_COLS(p, ox, ix0, {                                                   \
                    float *out = output + ((b * p->out_h + oy) * p->out_w + ox) * p->out_c;        \
                    for (int32_t oc = 0; oc < p->out_c; ++oc) {                                    \
                        float total = 0.0f;                                                        \
                        VB_FOR_EACH_TAP(p, iy0, ix0, fy, fx, iy, ix, {                             \
                            const float *x = input + ((b * p->in_h + iy) * p->in_w + ix) * in_c;   \
                            const float *w =                                                       \
                                p->filter + ((oc * p->filter_h + fy) * p->filter_w + fx) * in_c;   \
                            for (int32_t ic = 0; ic < in_c; ++ic) {                                \
                                total += x[ic] * w[ic];                                            \
                            }                                                                      \
                        })                                                                         \
                        out[oc] = vb_act_f32(total + p->bias[oc], p->act_min, p->act_max);         \
                    }                                                                              \
                })                                                                                 \
            })                                                                                     \
        }                                                                                          \
    }

#endif /* VB_KERNELS_CONV_H */
