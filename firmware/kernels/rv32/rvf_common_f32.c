/* The blocked float32 dot products of the rv32 variant (see rvf_f32.h). */
#include "rvf_f32.h"

/* 4 pixels x 4 channels: 16 sums in registers, 8 pointers advanced once per 4 taps. */
static void vb_rvf_p4(const vb_rvf_job_t *j, const float *w, float *out)
{
    const int32_t n = j->n, q = n >> 2, rest = n & 3, ps = j->pstep, wc = j->wch, os = j->ostride;
    float a00 = 0.0f, a01 = 0.0f, a02 = 0.0f, a03 = 0.0f, a10 = 0.0f, a11 = 0.0f, a12 = 0.0f, a13 = 0.0f;
    float a20 = 0.0f, a21 = 0.0f, a22 = 0.0f, a23 = 0.0f, a30 = 0.0f, a31 = 0.0f, a32 = 0.0f, a33 = 0.0f;
    const float *xr = j->x, *wr = w;
    for (int32_t r = 0; r < j->rows; ++r, xr += j->xrow, wr += j->wrow) {
        const float *x0 = xr, *x1 = xr + ps, *x2 = xr + 2 * ps, *x3 = xr + 3 * ps;
        const float *w0 = wr, *w1 = wr + wc, *w2 = wr + 2 * wc, *w3 = wr + 3 * wc;
#define VB_RVF_TAP4(k)                                                          \
    do {                                                                        \
        const float v0 = x0[k], v1 = x1[k], v2 = x2[k], v3 = x3[k];             \
        const float f0 = w0[k], f1 = w1[k], f2 = w2[k], f3 = w3[k];             \
        a00 += v0 * f0; a01 += v0 * f1; a02 += v0 * f2; a03 += v0 * f3;         \
        a10 += v1 * f0; a11 += v1 * f1; a12 += v1 * f2; a13 += v1 * f3;         \
        a20 += v2 * f0; a21 += v2 * f1; a22 += v2 * f2; a23 += v2 * f3;         \
        a30 += v3 * f0; a31 += v3 * f1; a32 += v3 * f2; a33 += v3 * f3;         \
    } while (0)
        for (int32_t i = q; i > 0; --i) {
            VB_RVF_TAP4(0);
            VB_RVF_TAP4(1);
            VB_RVF_TAP4(2);
            VB_RVF_TAP4(3);
            x0 += 4; x1 += 4; x2 += 4; x3 += 4;
            w0 += 4; w1 += 4; w2 += 4; w3 += 4;
        }
        for (int32_t k = 0; k < rest; ++k) {
            VB_RVF_TAP4(k);
        }
#undef VB_RVF_TAP4
    }
    out[0] = a00; out[1] = a01; out[2] = a02; out[3] = a03;
    out[os] = a10; out[os + 1] = a11; out[os + 2] = a12; out[os + 3] = a13;
    out[2 * os] = a20; out[2 * os + 1] = a21; out[2 * os + 2] = a22; out[2 * os + 3] = a23;
    out[3 * os] = a30; out[3 * os + 1] = a31; out[3 * os + 2] = a32; out[3 * os + 3] = a33;
}

/* 2 pixels x 4 channels. */
static void vb_rvf_p2(const vb_rvf_job_t *j, const float *w, float *out)
{
    const int32_t n = j->n, q = n >> 2, rest = n & 3, wc = j->wch, os = j->ostride;
    float a00 = 0.0f, a01 = 0.0f, a02 = 0.0f, a03 = 0.0f, a10 = 0.0f, a11 = 0.0f, a12 = 0.0f, a13 = 0.0f;
    const float *xr = j->x, *wr = w;
    for (int32_t r = 0; r < j->rows; ++r, xr += j->xrow, wr += j->wrow) {
        const float *x0 = xr, *x1 = xr + j->pstep;
        const float *w0 = wr, *w1 = wr + wc, *w2 = wr + 2 * wc, *w3 = wr + 3 * wc;
#define VB_RVF_TAP2(k)                                                          \
    do {                                                                        \
        const float v0 = x0[k], v1 = x1[k];                                     \
        const float f0 = w0[k], f1 = w1[k], f2 = w2[k], f3 = w3[k];             \
        a00 += v0 * f0; a01 += v0 * f1; a02 += v0 * f2; a03 += v0 * f3;         \
        a10 += v1 * f0; a11 += v1 * f1; a12 += v1 * f2; a13 += v1 * f3;         \
    } while (0)
        for (int32_t i = q; i > 0; --i) {
            VB_RVF_TAP2(0);
            VB_RVF_TAP2(1);
            VB_RVF_TAP2(2);
            VB_RVF_TAP2(3);
            x0 += 4; x1 += 4;
            w0 += 4; w1 += 4; w2 += 4; w3 += 4;
        }
        for (int32_t k = 0; k < rest; ++k) {
            VB_RVF_TAP2(k);
        }
#undef VB_RVF_TAP2
    }
    out[0] = a00; out[1] = a01; out[2] = a02; out[3] = a03;
    out[os] = a10; out[os + 1] = a11; out[os + 2] = a12; out[os + 3] = a13;
}

/* 1 pixel x 4 channels. */
static void vb_rvf_p1(const vb_rvf_job_t *j, const float *w, float *out)
{
    const int32_t n = j->n, q = n >> 2, rest = n & 3, wc = j->wch;
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    const float *xr = j->x, *wr = w;
    for (int32_t r = 0; r < j->rows; ++r, xr += j->xrow, wr += j->wrow) {
        const float *x0 = xr;
        const float *w0 = wr, *w1 = wr + wc, *w2 = wr + 2 * wc, *w3 = wr + 3 * wc;
#define VB_RVF_TAP1(k)                                                          \
    do {                                                                        \
        const float v0 = x0[k];                                                 \
        a0 += v0 * w0[k]; a1 += v0 * w1[k]; a2 += v0 * w2[k]; a3 += v0 * w3[k]; \
    } while (0)
        for (int32_t i = q; i > 0; --i) {
            VB_RVF_TAP1(0);
            VB_RVF_TAP1(1);
            VB_RVF_TAP1(2);
            VB_RVF_TAP1(3);
            x0 += 4;
            w0 += 4; w1 += 4; w2 += 4; w3 += 4;
        }
        for (int32_t k = 0; k < rest; ++k) {
            VB_RVF_TAP1(k);
        }
#undef VB_RVF_TAP1
    }
    out[0] = a0; out[1] = a1; out[2] = a2; out[3] = a3;
}

void vb_rvf_rows(const vb_rvf_job_t *job, int32_t pixels)
{
    const float *w = job->w;
    float *out = job->out;
    for (int32_t g = 0; g < job->blocks; ++g, w += 4 * job->wch, out += 4) {
        if (pixels == 4) {
            vb_rvf_p4(job, w, out);
        } else if (pixels == 2) {
            vb_rvf_p2(job, w, out);
        } else {
            vb_rvf_p1(job, w, out);
        }
    }
}
