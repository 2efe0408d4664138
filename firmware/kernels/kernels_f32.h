/*
 * Float32 helpers shared by the optimized variants' float kernels (cortex_m4_dsp fpu_f32.h, rv32
 * rvf_f32.h). Macros that define the static inline function where they are expanded: after each
 * variant's #pragma GCC optimize (fp-contract, loop distribution), which a function defined here
 * would not get (and GCC does not inline across differing fp-contract settings).
 */
#ifndef VB_KERNELS_F32_H
#define VB_KERNELS_F32_H

#include <stdint.h>

#include "kernels.h"

/* float name(x, w, n, rows, xrow, wrow): one sum in the reference order: rows runs of n floats,
 * xrow / wrow floats apart. */
#define VB_DEFINE_DOT_ROWS_F32(name)                                                               \
    static inline float name(const float *x, const float *w, int32_t n, int32_t rows, int32_t xrow, \
                             int32_t wrow)                                                         \
    {                                                                                              \
        float t = 0.0f;                                                                            \
        for (int32_t r = 0; r < rows; ++r, x += xrow, w += wrow) {                                 \
            for (int32_t k = 0; k < n; ++k) {                                                      \
                t += x[k] * w[k];                                                                  \
            }                                                                                      \
        }                                                                                          \
        return t;                                                                                  \
    }

/* void name(out, bias, count, lo, hi): out[c] = act(out[c] + bias[c]) for c < count (raw sums in
 * place). */
#define VB_DEFINE_BIAS_ACT_F32(name)                                                               \
    static inline void name(float *out, const float *bias, int32_t count, float lo, float hi)      \
    {                                                                                              \
        for (int32_t c = 0; c < count; ++c) {                                                      \
            out[c] = vb_act_f32(out[c] + bias[c], lo, hi);                                         \
        }                                                                                          \
    }

#endif /* VB_KERNELS_F32_H */
