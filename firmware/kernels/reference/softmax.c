/*
 * SOFTMAX, int8 in -> int8 out (scale 1/256, zero point -128), bit-exact with TFLite's
 * reference quantized softmax. Input differences to the row max are rescaled to Q5.26
 * with the offline constants (input_multiplier, input_left_shift, diff_min from
 * PreprocessSoftmaxScaling with 5 integer bits); exp() is the gemmlowp-style
 * fixed-point evaluation (Taylor series on [-1/4, 0) times a barrel of exp(-2^k)
 * constants); the sum is kept in Q12.19 and inverted with Newton-Raphson.
 */
#include "kernels_common.h"

#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUM_INTEGER_BITS 12

/* x * 2^exponent with saturation (gemmlowp SaturatingRoundingMultiplyByPOT, exponent > 0). */
static int32_t saturating_shift_left(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return vb_shl_wrap(x, exponent);
}

static int32_t add_wrap(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static int32_t sub_wrap(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* exp(a) for a in [-1/4, 0), a and result in Q0.31. */
static int32_t exp_on_negative_quarter(int32_t a)
{
    const int32_t constant_term = 1895147668;     /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;  /* 1/3 */
    const int32_t x = add_wrap(a, 1 << 28);       /* a + 1/8 */
    const int32_t x2 = vb_srdhm(x, x);
    const int32_t x3 = vb_srdhm(x2, x);
    const int32_t x4 = vb_srdhm(x2, x2);
    const int32_t x4_over_4 = vb_rounding_divide_by_pot(x4, 2);
    const int32_t poly = vb_rounding_divide_by_pot(
        add_wrap(vb_srdhm(add_wrap(x4_over_4, x3), constant_1_over_3), x2), 1);
    return add_wrap(constant_term, vb_srdhm(constant_term, add_wrap(x, poly)));
}

/* exp(a) for a <= 0; a in Q5.26, result in Q0.31. */
static int32_t exp_on_negative_values(int32_t a)
{
    static const int32_t barrel[7] = {
        1672461947, /* exp(-1/4) */
        1302514674, /* exp(-1/2) */
        790015084,  /* exp(-1) */
        290630308,  /* exp(-2) */
        39332535,   /* exp(-4) */
        720401,     /* exp(-8) */
        242,        /* exp(-16) */
    };
    const int32_t fractional_bits = 31 - SCALED_DIFF_INTEGER_BITS;
    const int32_t one_quarter = 1 << (fractional_bits - 2);
    const int32_t mask = one_quarter - 1;
    const int32_t a_mod_quarter_minus_quarter = sub_wrap(a & mask, one_quarter);
    int32_t result = exp_on_negative_quarter(
        saturating_shift_left(a_mod_quarter_minus_quarter, SCALED_DIFF_INTEGER_BITS));
    const int32_t remainder = sub_wrap(a_mod_quarter_minus_quarter, a);
    for (int32_t k = 0; k < 7; ++k) {
        if (remainder & (1 << (fractional_bits - 2 + k))) {
            result = vb_srdhm(result, barrel[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out (Newton-Raphson, 3 iterations). */
static int32_t one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + (int64_t)INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t constant_48_over_17 = 1515870810;      /* Q2.29 */
    const int32_t constant_neg_32_over_17 = -1010580540; /* Q2.29 */
    int32_t x = add_wrap(constant_48_over_17, vb_srdhm(half_denominator, constant_neg_32_over_17));
    for (int i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = vb_srdhm(half_denominator, x);
        const int32_t one_minus = sub_wrap(1 << 29, half_denominator_times_x);
        x = add_wrap(x, saturating_shift_left(vb_srdhm(x, one_minus), 2));
    }
    return saturating_shift_left(x, 1);
}

static int32_t count_leading_zeros(uint32_t x)
{
    if (x == 0) {
        return 32;
    }
#if defined(__GNUC__)
    return (int32_t)__builtin_clz(x);
#else
    int32_t n = 0;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
#endif
}

void vb_softmax(const vb_softmax_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->depth;
    if (depth <= 0) {
        return;
    }
    for (int32_t row = 0; row < p->outer; ++row) {
        const int8_t *in = input + row * depth;
        int8_t *out = output + row * depth;
        int32_t max_in_row = VB_INT8_MIN;
        for (int32_t c = 0; c < depth; ++c) {
            max_in_row = vb_max_i32(max_in_row, in[c]);
        }

        int32_t sum_of_exps = 0; /* Q12.19 */
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t rescaled = vb_srdhm(vb_shl_wrap(diff, p->input_left_shift),
                                                  p->input_multiplier);
                sum_of_exps = add_wrap(sum_of_exps,
                                       vb_rounding_divide_by_pot(exp_on_negative_values(rescaled),
                                                                 ACCUM_INTEGER_BITS));
            }
        }

        /* Reciprocal of the sum: normalise to [1, 2), invert, remember the exponent. */
        const int32_t headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
        const int32_t num_bits_over_unit = ACCUM_INTEGER_BITS - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t shifted_scale = one_over_one_plus_x(shifted_sum_minus_one);
        int32_t out_exponent = num_bits_over_unit + 31 - 8;
        out_exponent = vb_clamp_i32(out_exponent, 0, 31);

        for (int32_t c = 0; c < depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t rescaled = vb_srdhm(vb_shl_wrap(diff, p->input_left_shift),
                                                  p->input_multiplier);
                const int32_t exp_in_0 = exp_on_negative_values(rescaled);
                const int32_t unsat =
                    vb_rounding_divide_by_pot(vb_srdhm(shifted_scale, exp_in_0), out_exponent);
                out[c] = (int8_t)vb_clamp_i32(unsat + VB_INT8_MIN, VB_INT8_MIN, VB_INT8_MAX);
            } else {
                out[c] = (int8_t)VB_INT8_MIN;
            }
        }
    }
}
