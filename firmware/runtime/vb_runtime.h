/*
 * vbench int8 inference runtime: executes the layer plan that `vbench compile` emits
 * (<name>_model.c). One model per image; all activations live in one static arena
 * whose offsets the compiler planned offline. No malloc, no libc beyond memcpy/memset.
 *
 * The input tensor shares arena bytes with later activations: set it before every
 * vb_model_invoke().
 *
 * Typical use:
 *   vb_model_init();
 *   vb_model_set_input(bytes, len);          // or vb_model_set_input_f32(x, n)
 *   vb_model_invoke();
 *   const int8_t *y = vb_model_output(&len); // or vb_model_output_f32(y, n)
 *
 * Layer markers: before layer i the runtime calls vb_layer_marker(i) (i = operator
 * index in the .tflite graph) and after the last layer vb_layer_marker(0xFFFFFFFF).
 * The simulator watches calls to this symbol to attribute cycles to layers. Each
 * marker costs one call + return (plus moving the index into the argument register)
 * and is counted in the layer that follows it.
 *
 * Float models (`compile_model(..., dtype="float32")`) use the same API with float32 input
 * and output tensors (vb_model_set_input takes their bytes); build them with -DVB_FLOAT32 and
 * the float32 kernels (firmware_sources does both), which the layer loop then dispatches.
 */
#ifndef VB_RUNTIME_H
#define VB_RUNTIME_H

#include <stdint.h>

#include "kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VB_OK 0
#define VB_ERR_NOT_INITIALIZED (-1)
#define VB_ERR_INPUT_SIZE (-2)
#define VB_ERR_TYPE (-3)
#define VB_ERR_BAD_PLAN (-4)
#define VB_ERR_NULL (-5)

#define VB_LAYER_MARKER_END 0xFFFFFFFFu

/* One operator of the plan. Tensor locations are byte offsets into the arena. */
typedef struct {
    uint32_t op;              /* vb_op_t */
    uint32_t input_offset[2]; /* second entry used by ADD only */
    uint32_t input_bytes[2];
    uint32_t output_offset;
    uint32_t output_bytes;
    const void *params;       /* vb_*_params_t matching op */
    const void *decode;       /* NULL, or a weight decoder run before the layer: it expands
                               * compressed weights into the arena span input_offset[1],
                               * which params->filter points at (`--weights palette`) */
} vb_layer_t;

/* Graph input or output tensor. */
typedef struct {
    uint32_t type;            /* vb_type_t */
    uint32_t offset;          /* in the arena */
    uint32_t bytes;
    uint32_t elements;
    float scale;              /* quantization (int8 tensors) */
    int32_t zero_point;
} vb_io_t;

typedef struct {
    const char *name;
    uint32_t num_layers;
    const vb_layer_t *layers;
    uint32_t arena_bytes;
    uint8_t *arena;
    vb_io_t input;
    vb_io_t output;
} vb_model_t;

/* Defined by the emitted model source. */
extern const vb_model_t vb_model;

/* Checks the plan against the arena; returns VB_OK or VB_ERR_BAD_PLAN. */
int vb_model_init(void);

/* Copies exactly the input tensor's bytes (int8, or float32 for float-input graphs);
 * any other len returns VB_ERR_INPUT_SIZE. */
int vb_model_set_input(const uint8_t *data, uint32_t len);

/* Float input: quantized with the input tensor's scale / zero point (TFLite QUANTIZE,
 * bit-exact) when the input is int8, copied when it is float32. count = elements. */
int vb_model_set_input_f32(const float *data, uint32_t count);

int vb_model_invoke(void);

/* Output tensor bytes; *len (if not NULL) receives the byte count. */
const int8_t *vb_model_output(uint32_t *len);

/* Float output: int8 outputs dequantized with TFLite DEQUANTIZE semantics, float32
 * outputs copied. count must equal the output element count. */
int vb_model_output_f32(float *out, uint32_t count);

const vb_model_t *vb_model_info(void);

/* Hook for the simulator; see vb_marker.c. */
void vb_layer_marker(uint32_t layer_index);

#ifdef __cplusplus
}
#endif

#endif /* VB_RUNTIME_H */
