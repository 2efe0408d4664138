/*
 * Helpers shared by the float32 kernels of the cortex_m4_dsp variant (Cortex-M4F, FPv4-SP).
 *
 * Arithmetic: every output is summed in the reference kernel's order (filter rows, columns,
 * input channels; taps in the padding skipped) with a separate VMUL.F32 and VADD.F32 per tap,
 * starting from +0 and adding the bias last, so each result is the correctly rounded IEEE
 * single-precision sequence TFLite's float reference kernels compute: bit-exact with them and
 * with the host build of the same C (the reference kernels' firmware builds instead let GCC
 * contract a*b+c into VFMA.F32, which rounds once). Register blocking only changes how many
 * independent sums run side by side, never the order within one sum.
 *
 * Why VMUL + VADD and not VMLA/VFMA: Cortex-M4 TRM Table 7-1 gives 1 cycle each for VMUL.F32
 * and VADD.F32 and 3 for VMLA/VFMA; an FP result consumed by the very next instruction costs
 * one more cycle on the hardware, so the loops interleave two or four independent sums and
 * keep products two instructions ahead of the adds that consume them.
 *
 * vb_f32_rows_p1/p2: the blocked dot products. One call covers `blocks` groups of 4 output
 * channels for one (p1) or two (p2) output pixels: for each group, 4 (or 8) sums from +0 over
 * `rows` runs of `n` consecutive floats (a filter row inside the image: n = valid columns x
 * in_c), loads by VLDM (1 + N cycles for N registers, TRM Table 7-1), 4 taps per iteration.
 * The raw sums go to out0[0..3] (and out1[0..3]), then out0/out1 and w advance by one group;
 * the caller adds the bias and applies the activation. Per 32 MACs of p2: 30 cycles of loads,
 * 64 of VMUL/VADD, 4 of loop (about 3.1 cycles per MAC); p1 (per 16 MACs: 25 + 32 + 4) about
 * 3.8. vb_f32_rows_p4: 4 pixels (pstep bytes apart, sums ostride bytes apart) x 4 channels, 2
 * taps per iteration (per 32 MACs: 12 + 12 cycles of loads, 64 of VMUL/VADD, 4 of loop: about
 * 2.9), each weight loaded once for 4 pixels, which also halves p2's flash D-cache misses on
 * the filter. The job struct is read by the assembly at fixed offsets and updated in place.
 */
#ifndef VB_FPU_F32_H
#define VB_FPU_F32_H

#include <stdint.h>

#include "kernels.h"
#include "kernels_f32.h"

#if defined(__ARM_FP) && (__ARM_FP & 4) && defined(__thumb2__)
#define VB_FPU_NATIVE 1
#else
#define VB_FPU_NATIVE 0
#endif

/* Plain float loops in these kernels (tails, fallbacks) must not be contracted into VFMA
 * either: they keep the reference's separate multiply and add. Nor are short zero / copy loops
 * turned into calls of the C library's byte-wise memset / memcpy. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off", "no-tree-loop-distribute-patterns")
#endif

/* Assembly pieces (FPv4-SP): products t_i = x_i * y_i, then sums a_i += t_i, each product two or
 * more instructions before the add that reads it. */
#define VB_F32_MA2(t0, x0, y0, t1, x1, y1, a0, a1)                                                 \
    "    vmul.f32 " #t0 ", " #x0 ", " #y0 "\n"                                                     \
    "    vmul.f32 " #t1 ", " #x1 ", " #y1 "\n"                                                     \
    "    vadd.f32 " #a0 ", " #a0 ", " #t0 "\n"                                                     \
    "    vadd.f32 " #a1 ", " #a1 ", " #t1 "\n"
#define VB_F32_MA4(t0, x0, y0, t1, x1, y1, t2, x2, y2, t3, x3, y3, a0, a1, a2, a3)                 \
    "    vmul.f32 " #t0 ", " #x0 ", " #y0 "\n"                                                     \
    "    vmul.f32 " #t1 ", " #x1 ", " #y1 "\n"                                                     \
    "    vmul.f32 " #t2 ", " #x2 ", " #y2 "\n"                                                     \
    "    vmul.f32 " #t3 ", " #x3 ", " #y3 "\n"                                                     \
    "    vadd.f32 " #a0 ", " #a0 ", " #t0 "\n"                                                     \
    "    vadd.f32 " #a1 ", " #a1 ", " #t1 "\n"                                                     \
    "    vadd.f32 " #a2 ", " #a2 ", " #t2 "\n"                                                     \
    "    vadd.f32 " #a3 ", " #a3 ", " #t3 "\n"

typedef struct {
    const float *x0;    /*  0: first input of pixel 0's first run */
    const float *x1;    /*  4: the same for pixel 1 (p2 only) */
    const float *w;     /*  8: first weight of the group's channel 0 (advanced by 4 * wch per group) */
    int32_t n;          /* 12: floats per run, >= 1 */
    int32_t rows;       /* 16: runs per sum, >= 1 */
    int32_t xskip;      /* 20: bytes from the end of a run to the start of the next, input */
    int32_t wskip;      /* 24: the same, filter */
    int32_t wch;        /* 28: bytes from one channel's filter to the next */
    int32_t blocks;     /* 32: groups of 4 channels, >= 1 */
    float *out0;        /* 36: pixel 0's raw sums, 4 per group (advanced) */
    float *out1;        /* 40: pixel 1's (p2 only) */
    int32_t pstep;      /* 44: p4: bytes from one pixel's input to the next's */
    int32_t ostride;    /* 48: p4: bytes from one pixel's sums to the next's */
} vb_f32_job_t;

void vb_f32_rows_p1(vb_f32_job_t *job);
void vb_f32_rows_p2(vb_f32_job_t *job);
void vb_f32_rows_p4(vb_f32_job_t *job);

/* The blocked dot products of `job` (an lvalue) for `pixels` (4, 2 or 1) pixels; a macro, as an
 * inline function changes the callers' code. */
#define VB_F32_ROWS(job, pixels)                                                                   \
    do {                                                                                           \
        if ((pixels) == 4) {                                                                       \
            vb_f32_rows_p4(&(job));                                                                \
        } else if ((pixels) == 2) {                                                                \
            vb_f32_rows_p2(&(job));                                                                \
        } else {                                                                                   \
            vb_f32_rows_p1(&(job));                                                                \
        }                                                                                          \
    } while (0)

VB_DEFINE_DOT_ROWS_F32(vb_f32_dot_rows)
VB_DEFINE_BIAS_ACT_F32(vb_f32_bias_act)

#endif /* VB_FPU_F32_H */
