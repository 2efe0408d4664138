/*
 * vbench int8 kernel table: one function per TFLite operator, with the parameter
 * block the compiler (vbench/compiler) fills offline.
 *
 * Layout conventions (as in TFLite): activations are NHWC int8; CONV_2D filters are
 * [out_c][kh][kw][in_c]; DEPTHWISE_CONV_2D filters are [kh][kw][out_c] with
 * out_c = in_c * depth_multiplier; FULLY_CONNECTED weights are [out][in].
 *
 * Each kernel lives in firmware/kernels/reference/<op>.c. An optimized variant
 * directory firmware/kernels/<variant>/ may provide a file with the same basename
 * that replaces the reference file at build time (TFLite-Micro style); it must
 * implement the same function(s) bit-exactly.
 */
#ifndef VB_KERNELS_H
#define VB_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    VB_OP_CONV_2D = 1,
    VB_OP_DEPTHWISE_CONV_2D = 2,
    VB_OP_FULLY_CONNECTED = 3,
    VB_OP_AVERAGE_POOL_2D = 4,
    VB_OP_MAX_POOL_2D = 5,
    VB_OP_ADD = 6,
    VB_OP_RESHAPE = 7,
    VB_OP_SOFTMAX = 8,
    VB_OP_QUANTIZE = 9,
    VB_OP_DEQUANTIZE = 10,
    /* float32 kernels (firmware/kernels/reference/<op>_f32.c); the runtime dispatches them
     * only when built with VB_FLOAT32 (firmware_sources sets it for float models). */
    VB_OP_CONV_2D_F32 = 11,
    VB_OP_DEPTHWISE_CONV_2D_F32 = 12,
    VB_OP_FULLY_CONNECTED_F32 = 13,
    VB_OP_AVERAGE_POOL_2D_F32 = 14,
    VB_OP_MAX_POOL_2D_F32 = 15,
    VB_OP_ADD_F32 = 16,
    VB_OP_SOFTMAX_F32 = 17,
    VB_OP_CONV_2D_HYBRID_F32 = 18,
    /* int8 kernels for encoded weights (`vbench compile --weights sparse`, `--winograd`):
     * same arithmetic as CONV_2D / FULLY_CONNECTED (bit-exact), other weight layout. The
     * layer's second arena span (input_offset[1]) is the scratch the compiler planned for it. */
    VB_OP_CONV_2D_SPARSE = 19,
    VB_OP_FULLY_CONNECTED_SPARSE = 20,
    VB_OP_CONV_2D_WINOGRAD = 21,
    VB_OP_FULLY_CONNECTED_PALETTE = 22   /* `--weights palette`, kernels_palette.h */
} vb_op_t;

/* Element types of graph tensors (values match TFLite's TensorType). */
typedef enum {
    VB_TYPE_FLOAT32 = 0,
    VB_TYPE_INT8 = 9
} vb_type_t;

/* vb_conv_params_t.flags / vb_fc_params_t.flags:
 * ZP_FOLDED: the compiler folded -input_zero_point * sum(filter) into the bias (then
 *   input_offset == 0).
 * SINGLE_ROUNDING: requantize with TFLite's single-rounding MultiplyByQuantizedMultiplier
 *   (one 64-bit rounding) instead of the default double rounding. LiteRT, vbench's golden
 *   model, uses it for FULLY_CONNECTED only; see vb_requantize() in kernels_common.h. */
#define VB_FLAG_ZP_FOLDED 1u
#define VB_FLAG_SINGLE_ROUNDING 2u

/* The fields every convolution parameter block starts with (kernels_sparse.h too), then pad_h and
 * pad_w (top / left padding, TFLite ComputePadding). */
#define VB_CONV_GEOMETRY                                                                           \
    int32_t batches;                                                                               \
    int32_t in_h, in_w, in_c;                                                                      \
    int32_t out_h, out_w, out_c;                                                                   \
    int32_t filter_h, filter_w;                                                                    \
    int32_t stride_h, stride_w;                                                                    \
    int32_t dilation_h, dilation_w

/* CONV_2D and DEPTHWISE_CONV_2D. */
typedef struct {
    VB_CONV_GEOMETRY;
    int32_t pad_h, pad_w;          /* top / left padding, TFLite ComputePadding */
    int32_t depth_multiplier;      /* depthwise only (1 for CONV_2D) */
    int32_t input_offset;          /* -input_zero_point, or 0 when folded */
    int32_t output_offset;         /* output zero point */
    int32_t act_min, act_max;      /* fused activation range, int8 */
    uint32_t flags;                /* VB_FLAG_* */
    const int8_t *filter;
    const int32_t *bias;           /* [out_c], never NULL */
    const int32_t *multiplier;     /* [out_c] Q31 requantization multipliers */
    const int32_t *shift;          /* [out_c] exponent, > 0 = left shift */
} vb_conv_params_t;

typedef struct {
    int32_t batches, in_depth, out_depth;
    int32_t input_offset, output_offset;
    int32_t act_min, act_max;
    uint32_t flags;                /* VB_FLAG_* */
    uint32_t per_channel;          /* 1: multiplier/shift have out_depth entries, else 1 */
    const int8_t *filter;          /* [out_depth][in_depth] */
    const int32_t *bias;           /* [out_depth], never NULL */
    const int32_t *multiplier;
    const int32_t *shift;
} vb_fc_params_t;

/* The first fields of the FULLY_CONNECTED blocks of encoded weights (kernels_sparse.h,
 * kernels_palette.h): the input zero point is folded into the bias (VB_FLAG_ZP_FOLDED always
 * set); per_channel 1: multiplier / shift have out_depth entries, else 1. */
#define VB_FC_FOLDED_HEAD                                                                          \
    int32_t batches, in_depth, out_depth;                                                          \
    int32_t output_offset;                                                                         \
    int32_t act_min, act_max;                                                                      \
    uint32_t flags;                                                                                \
    uint32_t per_channel

/* AVERAGE_POOL_2D and MAX_POOL_2D (input and output share scale and zero point). */
#define VB_POOL_GEOMETRY                                                                           \
    int32_t batches, in_h, in_w, channels, out_h, out_w;                                           \
    int32_t filter_h, filter_w, stride_h, stride_w, pad_h, pad_w

typedef struct {
    VB_POOL_GEOMETRY;
    int32_t act_min, act_max;
} vb_pool_params_t;

/* ADD of two same-shape int8 tensors (TFLite int8 add with left_shift 20). */
typedef struct {
    int32_t size;
    int32_t input1_offset, input2_offset, output_offset;
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} vb_add_params_t;

typedef struct {
    int32_t bytes;
} vb_reshape_params_t;

/* int8 softmax over the last dimension; constants from PreprocessSoftmaxScaling. */
typedef struct {
    int32_t outer, depth;
    int32_t input_multiplier, input_left_shift, diff_min;
} vb_softmax_params_t;

/* QUANTIZE: float32 -> int8 (scale, zero_point) or int8 -> int8 (requantize). */
typedef struct {
    int32_t size;
    int32_t input_type;            /* vb_type_t */
    float scale;                   /* output scale (float input) */
    int32_t zero_point;            /* output zero point */
    int32_t input_zero_point;      /* int8 input */
    int32_t multiplier, shift;     /* int8 input: input_scale / output_scale */
} vb_quantize_params_t;

/* DEQUANTIZE: int8 -> float32. */
typedef struct {
    int32_t size;
    float scale;
    int32_t zero_point;
} vb_dequantize_params_t;

void vb_conv_2d(const vb_conv_params_t *p, const int8_t *input, int8_t *output);
void vb_depthwise_conv_2d(const vb_conv_params_t *p, const int8_t *input, int8_t *output);
void vb_fully_connected(const vb_fc_params_t *p, const int8_t *input, int8_t *output);
void vb_average_pool_2d(const vb_pool_params_t *p, const int8_t *input, int8_t *output);
void vb_max_pool_2d(const vb_pool_params_t *p, const int8_t *input, int8_t *output);
void vb_add(const vb_add_params_t *p, const int8_t *input1, const int8_t *input2, int8_t *output);
void vb_reshape(const vb_reshape_params_t *p, const void *input, void *output);
void vb_softmax(const vb_softmax_params_t *p, const int8_t *input, int8_t *output);
void vb_quantize(const vb_quantize_params_t *p, const void *input, int8_t *output);
void vb_dequantize(const vb_dequantize_params_t *p, const int8_t *input, float *output);

/* ---------------------------------------------------------------- float32 kernels
 * Float activations (NHWC float32) and float32 weights, same layouts as the int8 kernels.
 * Each follows the loop and summation order of TFLite's float reference kernel
 * (reference_ops::Conv, DepthwiseConv, FullyConnected, AveragePool, MaxPool, Add, Softmax),
 * so with IEEE single precision and no FMA contraction a host build matches the TFLite
 * reference interpreter except for expf() in SOFTMAX; firmware builds may contract
 * multiply-adds (GCC's default in GNU C), which rounds differently. act_min/act_max are the
 * fused activation's float range (TFLite CalculateActivationRange). */

/* CONV_2D and DEPTHWISE_CONV_2D, float32. */
typedef struct {
    VB_CONV_GEOMETRY;
    int32_t pad_h, pad_w;
    int32_t depth_multiplier;      /* depthwise only (1 for CONV_2D) */
    float act_min, act_max;
    const float *filter;
    const float *bias;             /* [out_c], never NULL */
} vb_conv_f32_params_t;

/* CONV_2D with float activations and int8 weights (a TFLite "hybrid" conv, per-tensor
 * weight scale): the input is quantized symmetrically per batch (scale max|x| / 127, into
 * the int8 scratch the compiler plans in the arena), accumulated in int32 and scaled back:
 * y = act(acc * (input_scale * filter_scale) + bias), as TFLite's EvalHybrid. */
typedef struct {
    VB_CONV_GEOMETRY;
    int32_t pad_h, pad_w;
    float act_min, act_max;
    float filter_scale;
    const int8_t *filter;          /* [out_c][kh][kw][in_c] */
    const float *bias;             /* [out_c], never NULL */
} vb_conv_hybrid_f32_params_t;

typedef struct {
    int32_t batches, in_depth, out_depth;
    float act_min, act_max;
    const float *filter;           /* [out_depth][in_depth] */
    const float *bias;             /* [out_depth], never NULL */
} vb_fc_f32_params_t;

typedef struct {
    VB_POOL_GEOMETRY;
    float act_min, act_max;
} vb_pool_f32_params_t;

typedef struct {
    int32_t size;
    float act_min, act_max;
} vb_add_f32_params_t;

typedef struct {
    int32_t outer, depth;
    float beta;
} vb_softmax_f32_params_t;

/* TFLite ActivationFunctionWithMinMax: min(max(x, lo), hi) with std::min/std::max semantics. */
static inline float vb_act_f32(float x, float lo, float hi)
{
    const float y = x < lo ? lo : x;
    return hi < y ? hi : y;
}

void vb_conv_2d_f32(const vb_conv_f32_params_t *p, const float *input, float *output);
void vb_conv_2d_hybrid_f32(const vb_conv_hybrid_f32_params_t *p, const float *input,
                           int8_t *input_q, float *output);
void vb_depthwise_conv_2d_f32(const vb_conv_f32_params_t *p, const float *input, float *output);
void vb_fully_connected_f32(const vb_fc_f32_params_t *p, const float *input, float *output);
void vb_average_pool_2d_f32(const vb_pool_f32_params_t *p, const float *input, float *output);
void vb_max_pool_2d_f32(const vb_pool_f32_params_t *p, const float *input, float *output);
void vb_add_f32(const vb_add_f32_params_t *p, const float *input1, const float *input2,
                float *output);
void vb_softmax_f32(const vb_softmax_f32_params_t *p, const float *input, float *output);

/* Float helpers with TFLite QUANTIZE / DEQUANTIZE semantics (bit-exact; QUANTIZE
 * divides in single precision like LiteRT). Quantized values beyond int32 saturate. */
void vb_quantize_f32_to_i8(const float *input, int8_t *output, uint32_t count,
                           float scale, int32_t zero_point);
void vb_dequantize_i8_to_f32(const int8_t *input, float *output, uint32_t count,
                             float scale, int32_t zero_point);

/* Kernels for encoded weights (vbench/compiler/encodings), one header each. */
/* @encoded-kernel-headers: one #include line per encoding below */
#include "kernels_palette.h"
#include "kernels_winograd.h"
#include "kernels_sparse.h"

/* Scratch memory for optimized kernels (im2col and the like). The runtime owns a
 * static buffer of VB_SCRATCH_BYTES (default 0: returns NULL and *size_bytes = 0);
 * a kernel that gets too little must fall back to a path that needs none. */
void *vb_kernel_scratch(uint32_t *size_bytes);

#ifdef __cplusplus
}
#endif

#endif /* VB_KERNELS_H */
