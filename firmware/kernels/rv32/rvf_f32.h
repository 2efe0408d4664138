/*
 * Helpers shared by the float32 kernels of the rv32 variant (RV32IMAF, CV32E40P-class timing:
 * FLW, FMADD.S, FADD.S and FMUL.S issue in one cycle each, taken branches cost three).
 *
 * Arithmetic: each output is summed in the reference kernel's order (filter rows, columns,
 * input channels; padding taps skipped), starting from +0 and adding the bias last. GCC's default
 * -ffp-contract=fast turns each `sum += x * w` into one FMADD.S, exactly as it does in the
 * reference kernels' firmware builds, so on the board these kernels give the reference
 * firmware's results bit for bit; the host build (no FMA) gives TFLite's. Register blocking
 * only changes how many independent sums run side by side, never the order within one sum.
 *
 * vb_rvf_rows(): the blocked dot products shared by CONV_2D and FULLY_CONNECTED: 1, 2 or 4
 * output pixels x 4 output channels per pass (sums for `rows` runs of `n` consecutive floats,
 * as in the cortex_m4_dsp variant), FLW with immediate offsets, 4 taps per iteration. Per tap of
 * 4 pixels x 4 channels: 4 + 4 loads and 16 FMADD.S (1.5 cycles per MAC before pointer
 * updates and loop branches). Raw sums go to out[p * ostride + c]; the caller adds the bias and
 * applies the activation.
 */
#ifndef VB_RVF_F32_H
#define VB_RVF_F32_H

#include <stdint.h>

#include "kernels.h"
#include "kernels_f32.h"
#include "kernels_conv.h"

/* No calls of the C library's byte-wise memset / memcpy for short zero or copy loops. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

typedef struct {
    const float *x;     /* first input of pixel 0's first run */
    int32_t pstep;      /* floats from one pixel's input to the next pixel's */
    const float *w;     /* first weight of channel 0 */
    int32_t wch;        /* floats from one channel's filter to the next */
    int32_t n;          /* floats per run, >= 1 */
    int32_t rows;       /* runs per sum, >= 1 */
    int32_t xrow;       /* floats from one run's start to the next, input */
    int32_t wrow;       /* the same, filter */
    int32_t blocks;     /* groups of 4 channels */
    float *out;         /* pixel 0's raw sums, channel 0 */
    int32_t ostride;    /* floats from one pixel's outputs to the next */
} vb_rvf_job_t;

void vb_rvf_rows(const vb_rvf_job_t *job, int32_t pixels); /* pixels: 1, 2 or 4 */

VB_DEFINE_DOT_ROWS_F32(vb_rvf_dot_rows)
VB_DEFINE_BIAS_ACT_F32(vb_rvf_bias_act)

VB_DEFINE_TAP_RANGE(static inline, vb_rvf_range)

#endif /* VB_RVF_F32_H */
