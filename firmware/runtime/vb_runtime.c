/* vbench int8 runtime: see vb_runtime.h. */
#include "vb_runtime.h"

#include <string.h>

#ifndef VB_SCRATCH_BYTES
#define VB_SCRATCH_BYTES 0
#endif

#if VB_SCRATCH_BYTES > 0
static uint8_t vb_scratch_buffer[VB_SCRATCH_BYTES] __attribute__((aligned(16)));
#endif

static int vb_initialized;

/* Float models (VB_FLOAT32 defined, as firmware_sources does for them) add the float32
 * kernels to the dispatch; int8 images are built without them, unchanged. Likewise the kernels
 * of encoded weights are compiled in only for a model that uses them (VB_WEIGHTS_SPARSE,
 * VB_WEIGHTS_PALETTE, VB_WINOGRAD, set by firmware_sources from the compiled model), so a dense
 * image carries none of their code; a plan naming a kernel the image lacks fails vb_model_init. */
static int vb_op_known(uint32_t op)
{
    switch (op) {
#ifdef VB_WEIGHTS_SPARSE
    case VB_OP_CONV_2D_SPARSE:
    case VB_OP_FULLY_CONNECTED_SPARSE:
        return 1;
#endif
#ifdef VB_WINOGRAD
    case VB_OP_CONV_2D_WINOGRAD:
        return 1;
#endif
#ifdef VB_WEIGHTS_PALETTE
    case VB_OP_FULLY_CONNECTED_PALETTE:
        return 1;
#endif
    default:
        break;
    }
    if (op >= VB_OP_CONV_2D && op <= VB_OP_DEQUANTIZE) {
        return 1;
    }
#ifdef VB_FLOAT32
    if (op >= VB_OP_CONV_2D_F32 && op <= VB_OP_CONV_2D_HYBRID_F32) {
        return 1;
    }
#endif
    return 0;
}

/* Arena spans a layer reads: ADD's second operand; the scratch of the hybrid, sparse and
 * Winograd convolutions; the buffer a weight decoder fills. */
static uint32_t vb_arena_inputs(const vb_layer_t *l)
{
    switch (l->op) {
    case VB_OP_ADD:
    case VB_OP_ADD_F32:
    case VB_OP_CONV_2D_HYBRID_F32:
    case VB_OP_CONV_2D_SPARSE:
    case VB_OP_CONV_2D_WINOGRAD:
        return 2u;
    default:
        return l->decode ? 2u : 1u;
    }
}

void *vb_kernel_scratch(uint32_t *size_bytes)
{
#if VB_SCRATCH_BYTES > 0
    if (size_bytes) {
        *size_bytes = VB_SCRATCH_BYTES;
    }
    return vb_scratch_buffer;
#else
    if (size_bytes) {
        *size_bytes = 0;
    }
    return 0;
#endif
}

static int vb_span_ok(uint32_t offset, uint32_t bytes, uint32_t arena_bytes)
{
    return offset <= arena_bytes && bytes <= arena_bytes - offset;
}

int vb_model_init(void)
{
    const vb_model_t *m = &vb_model;
    vb_initialized = 0;
    if (!m->arena || !m->layers) {
        return VB_ERR_BAD_PLAN;
    }
    if (!vb_span_ok(m->input.offset, m->input.bytes, m->arena_bytes) ||
        !vb_span_ok(m->output.offset, m->output.bytes, m->arena_bytes)) {
        return VB_ERR_BAD_PLAN;
    }
    for (uint32_t i = 0; i < m->num_layers; ++i) {
        const vb_layer_t *l = &m->layers[i];
        const uint32_t n_in = vb_arena_inputs(l);
        for (uint32_t k = 0; k < n_in; ++k) {
            if (!vb_span_ok(l->input_offset[k], l->input_bytes[k], m->arena_bytes)) {
                return VB_ERR_BAD_PLAN;
            }
        }
        if (!vb_span_ok(l->output_offset, l->output_bytes, m->arena_bytes) || !l->params) {
            return VB_ERR_BAD_PLAN;
        }
        if (!vb_op_known(l->op)) {
            return VB_ERR_BAD_PLAN;
        }
#ifndef VB_WEIGHTS_PALETTE
        if (l->decode) {
            return VB_ERR_BAD_PLAN;
        }
#endif
    }
    memset(m->arena, 0, m->arena_bytes);
    vb_initialized = 1;
    return VB_OK;
}

int vb_model_set_input(const uint8_t *data, uint32_t len)
{
    const vb_model_t *m = &vb_model;
    if (!vb_initialized) {
        return VB_ERR_NOT_INITIALIZED;
    }
    if (!data) {
        return VB_ERR_NULL;
    }
    if (len != m->input.bytes) {
        return VB_ERR_INPUT_SIZE;
    }
    memcpy(m->arena + m->input.offset, data, len);
    return VB_OK;
}

int vb_model_set_input_f32(const float *data, uint32_t count)
{
    const vb_model_t *m = &vb_model;
    if (!vb_initialized) {
        return VB_ERR_NOT_INITIALIZED;
    }
    if (!data) {
        return VB_ERR_NULL;
    }
    if (count != m->input.elements) {
        return VB_ERR_INPUT_SIZE;
    }
    uint8_t *dst = m->arena + m->input.offset;
    if (m->input.type == VB_TYPE_INT8) {
        vb_quantize_f32_to_i8(data, (int8_t *)dst, count, m->input.scale, m->input.zero_point);
    } else if (m->input.type == VB_TYPE_FLOAT32) {
        memcpy(dst, data, count * sizeof(float));
    } else {
        return VB_ERR_TYPE;
    }
    return VB_OK;
}

static void vb_run_layer(const vb_model_t *m, const vb_layer_t *l)
{
    uint8_t *in0 = m->arena + l->input_offset[0];
    uint8_t *out = m->arena + l->output_offset;
    switch (l->op) {
    case VB_OP_CONV_2D:
        vb_conv_2d((const vb_conv_params_t *)l->params, (const int8_t *)in0, (int8_t *)out);
        break;
    case VB_OP_DEPTHWISE_CONV_2D:
        vb_depthwise_conv_2d((const vb_conv_params_t *)l->params, (const int8_t *)in0,
                             (int8_t *)out);
        break;
    case VB_OP_FULLY_CONNECTED:
        vb_fully_connected((const vb_fc_params_t *)l->params, (const int8_t *)in0, (int8_t *)out);
        break;
    case VB_OP_AVERAGE_POOL_2D:
        vb_average_pool_2d((const vb_pool_params_t *)l->params, (const int8_t *)in0,
                           (int8_t *)out);
        break;
    case VB_OP_MAX_POOL_2D:
        vb_max_pool_2d((const vb_pool_params_t *)l->params, (const int8_t *)in0, (int8_t *)out);
        break;
    case VB_OP_ADD:
        vb_add((const vb_add_params_t *)l->params, (const int8_t *)in0,
               (const int8_t *)(m->arena + l->input_offset[1]), (int8_t *)out);
        break;
    case VB_OP_RESHAPE:
        vb_reshape((const vb_reshape_params_t *)l->params, in0, out);
        break;
    case VB_OP_SOFTMAX:
        vb_softmax((const vb_softmax_params_t *)l->params, (const int8_t *)in0, (int8_t *)out);
        break;
    case VB_OP_QUANTIZE:
        vb_quantize((const vb_quantize_params_t *)l->params, in0, (int8_t *)out);
        break;
    case VB_OP_DEQUANTIZE:
        vb_dequantize((const vb_dequantize_params_t *)l->params, (const int8_t *)in0,
                      (float *)(void *)out);
        break;
    /* kernels of encoded weights: compiled in when the model uses them (see vb_op_known) */
#ifdef VB_WINOGRAD
    case VB_OP_CONV_2D_WINOGRAD:
        vb_conv_2d_winograd((const vb_conv_winograd_params_t *)l->params, (const int8_t *)in0,
                            (int16_t *)(void *)(m->arena + l->input_offset[1]), (int8_t *)out);
        break;
#endif
#ifdef VB_WEIGHTS_SPARSE
    case VB_OP_CONV_2D_SPARSE:
        vb_conv_2d_sparse((const vb_conv_sparse_params_t *)l->params, (const int8_t *)in0,
                          (int16_t *)(void *)(m->arena + l->input_offset[1]), (int8_t *)out);
        break;
    case VB_OP_FULLY_CONNECTED_SPARSE:
        vb_fully_connected_sparse((const vb_fc_sparse_params_t *)l->params, (const int8_t *)in0,
                                  (int8_t *)out);
        break;
#endif
#ifdef VB_WEIGHTS_PALETTE
    case VB_OP_FULLY_CONNECTED_PALETTE:
        vb_fully_connected_palette((const vb_fc_palette_params_t *)l->params, (const int8_t *)in0,
                                   (int8_t *)out);
        break;
#endif
#ifdef VB_FLOAT32
    case VB_OP_CONV_2D_F32:
        vb_conv_2d_f32((const vb_conv_f32_params_t *)l->params, (const float *)(const void *)in0,
                       (float *)(void *)out);
        break;
    case VB_OP_CONV_2D_HYBRID_F32:
        vb_conv_2d_hybrid_f32((const vb_conv_hybrid_f32_params_t *)l->params,
                              (const float *)(const void *)in0,
                              (int8_t *)(m->arena + l->input_offset[1]), (float *)(void *)out);
        break;
    case VB_OP_DEPTHWISE_CONV_2D_F32:
        vb_depthwise_conv_2d_f32((const vb_conv_f32_params_t *)l->params,
                                 (const float *)(const void *)in0, (float *)(void *)out);
        break;
    case VB_OP_FULLY_CONNECTED_F32:
        vb_fully_connected_f32((const vb_fc_f32_params_t *)l->params,
                               (const float *)(const void *)in0, (float *)(void *)out);
        break;
    case VB_OP_AVERAGE_POOL_2D_F32:
        vb_average_pool_2d_f32((const vb_pool_f32_params_t *)l->params,
                               (const float *)(const void *)in0, (float *)(void *)out);
        break;
    case VB_OP_MAX_POOL_2D_F32:
        vb_max_pool_2d_f32((const vb_pool_f32_params_t *)l->params,
                           (const float *)(const void *)in0, (float *)(void *)out);
        break;
    case VB_OP_ADD_F32:
        vb_add_f32((const vb_add_f32_params_t *)l->params, (const float *)(const void *)in0,
                   (const float *)(const void *)(m->arena + l->input_offset[1]),
                   (float *)(void *)out);
        break;
    case VB_OP_SOFTMAX_F32:
        vb_softmax_f32((const vb_softmax_f32_params_t *)l->params,
                       (const float *)(const void *)in0, (float *)(void *)out);
        break;
#endif
    default:
        break; /* rejected by vb_model_init */
    }
}

int vb_model_invoke(void)
{
    const vb_model_t *m = &vb_model;
    if (!vb_initialized) {
        return VB_ERR_NOT_INITIALIZED;
    }
    for (uint32_t i = 0; i < m->num_layers; ++i) {
        vb_layer_marker(i);
#ifdef VB_WEIGHTS_PALETTE
        /* palette CONV_2D / DEPTHWISE_CONV_2D: expand the layer's weights into its arena buffer */
        if (m->layers[i].decode) {
            vb_decode_palette((const vb_palette_decoder_t *)m->layers[i].decode);
        }
#endif
        vb_run_layer(m, &m->layers[i]);
    }
    vb_layer_marker(VB_LAYER_MARKER_END);
    return VB_OK;
}

const int8_t *vb_model_output(uint32_t *len)
{
    const vb_model_t *m = &vb_model;
    if (len) {
        *len = m->output.bytes;
    }
    return (const int8_t *)(m->arena + m->output.offset);
}

int vb_model_output_f32(float *out, uint32_t count)
{
    const vb_model_t *m = &vb_model;
    if (!vb_initialized) {
        return VB_ERR_NOT_INITIALIZED;
    }
    if (!out) {
        return VB_ERR_NULL;
    }
    if (count != m->output.elements) {
        return VB_ERR_INPUT_SIZE;
    }
    const uint8_t *src = m->arena + m->output.offset;
    if (m->output.type == VB_TYPE_INT8) {
        vb_dequantize_i8_to_f32((const int8_t *)src, out, count, m->output.scale,
                                m->output.zero_point);
    } else if (m->output.type == VB_TYPE_FLOAT32) {
        memcpy(out, src, count * sizeof(float));
    } else {
        return VB_ERR_TYPE;
    }
    return VB_OK;
}

const vb_model_t *vb_model_info(void)
{
    return &vb_model;
}
