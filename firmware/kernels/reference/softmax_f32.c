/* SOFTMAX, float32, over the last dimension: TFLite reference_ops::Softmax (float):
 * exp((x - max) * beta) summed in order, each divided by the sum. expf() comes from the C
 * library (glibc on the host, picolibc in firmware), so results may differ from TFLite's
 * by an ulp or so. */
#include <float.h>
#include <math.h>

#include "kernels.h"

void vb_softmax_f32(const vb_softmax_f32_params_t *p, const float *input, float *output)
{
    const int32_t depth = p->depth;
    for (int32_t i = 0; i < p->outer; ++i) {
        const float *x = input + i * depth;
        float *y = output + i * depth;
        float max = -FLT_MAX;
        for (int32_t c = 0; c < depth; ++c) {
            max = max < x[c] ? x[c] : max;
        }
        float sum = 0.0f;
        for (int32_t c = 0; c < depth; ++c) {
            const float e = expf((x[c] - max) * p->beta);
            y[c] = e;
            sum += e;
        }
        for (int32_t c = 0; c < depth; ++c) {
            y[c] = y[c] / sum;
        }
    }
}
