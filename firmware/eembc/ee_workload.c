/*
 * vbench EEMBC harness: the per-benchmark part (input conversion, inference, result line), as the
 * MLPerf Tiny reference ports define it (docs/sources.md §Harness 2.6):
 *
 *   kws01  490 B int8 MFCC, copied unchanged      12 values "0.%d%d%d" (truncated to 3 decimals)
 *   vww01  27648 B uint8 RGB, minus 128 -> int8   2 values "%0.3f", each followed by ','
 *   ic01   3072 B uint8 RGB, minus 128 -> int8    10 values "%0.3f" joined by ','
 *   ad01   2560 B = 640 float32 LE, quantized     1 value "%0.3f": mean squared error between the
 *          with the model's input scale/zp        dequantized output and the float input
 *
 * Select one with -DEE_MODEL_KWS01 / _VWW01 / _IC01 / _AD01. The model itself comes from
 * `vbench compile` (vb_model), linked in by vbench/harness/build.py.
 */
#include <string.h>

#include "ee_harness.h"
#include "vb_runtime.h"

#if defined(EE_MODEL_KWS01)
#define EE_MODEL_VERSION "kws01"
#define EE_DB_BYTES 490u
#define EE_TENSOR_BYTES 490u
#define EE_OUTPUTS 12u
#elif defined(EE_MODEL_VWW01)
#define EE_MODEL_VERSION "vww01"
#define EE_DB_BYTES (96u * 96u * 3u)
#define EE_TENSOR_BYTES (96u * 96u * 3u)
#define EE_OUTPUTS 2u
#elif defined(EE_MODEL_IC01)
#define EE_MODEL_VERSION "ic01"
#define EE_DB_BYTES (32u * 32u * 3u)
#define EE_TENSOR_BYTES (32u * 32u * 3u)
#define EE_OUTPUTS 10u
#elif defined(EE_MODEL_AD01)
#define EE_MODEL_VERSION "ad01"
#define EE_AD_ELEMENTS 640u
#define EE_DB_BYTES (EE_AD_ELEMENTS * 4u)
#define EE_TENSOR_BYTES EE_AD_ELEMENTS
#define EE_OUTPUTS EE_AD_ELEMENTS
#else
#error "define one of EE_MODEL_KWS01, EE_MODEL_VWW01, EE_MODEL_IC01, EE_MODEL_AD01"
#endif

/* The converted input, copied into the arena before every inference. */
static int8_t prepared[EE_TENSOR_BYTES] __attribute__((aligned(4)));
static float output_f32[EE_OUTPUTS];
#if defined(EE_MODEL_AD01)
static float input_f32[EE_AD_ELEMENTS];
#endif
static int model_ready;

const char *ee_workload_model_id(void)
{
    return EE_MODEL_VERSION;
}

uint32_t ee_workload_db_bytes(void)
{
    return EE_DB_BYTES;
}

int ee_workload_init(void)
{
    const vb_model_t *m = vb_model_info();
    if (vb_model_init() != VB_OK) {
        ee_print_error("Model plan rejected by vb_model_init");
        return -1;
    }
    if (m->input.bytes != EE_TENSOR_BYTES || m->output.elements != EE_OUTPUTS) {
        ee_print("e-[Model '");
        ee_print(m->name);
        ee_print("' does not fit " EE_MODEL_VERSION ": input ");
        ee_print_u32(m->input.bytes);
        ee_print(" B, output ");
        ee_print_u32(m->output.elements);
        ee_print(" elements]\r\n");
        return -2;
    }
    model_ready = 1;
    return 0;
}

void ee_workload_load(const uint8_t *db, uint32_t len)
{
    (void)len; /* == EE_DB_BYTES, checked by the harness */
#if defined(EE_MODEL_KWS01)
    memcpy(prepared, db, EE_TENSOR_BYTES);
#elif defined(EE_MODEL_VWW01) || defined(EE_MODEL_IC01)
    for (uint32_t i = 0; i < EE_TENSOR_BYTES; i++)
        prepared[i] = (int8_t)(db[i] ^ 0x80u); /* u8 - 128 as int8, without overflow */
#elif defined(EE_MODEL_AD01)
    const vb_model_t *m = vb_model_info();
    memcpy(input_f32, db, sizeof input_f32); /* little-endian float32 on both boards */
    /* The runtime's QUANTIZE (TFLite semantics) writes the arena input; keep a copy of it. */
    if (model_ready && vb_model_set_input_f32(input_f32, EE_AD_ELEMENTS) == VB_OK)
        memcpy(prepared, m->arena + m->input.offset, EE_TENSOR_BYTES);
#endif
}

int ee_workload_infer(void)
{
    if (!model_ready)
        return VB_ERR_NOT_INITIALIZED;
    int rc = vb_model_set_input((const uint8_t *)prepared, EE_TENSOR_BYTES);
    return rc ? rc : vb_model_invoke();
}

void ee_workload_results(void)
{
    if (!model_ready || vb_model_output_f32(output_f32, EE_OUTPUTS) != VB_OK) {
        ee_print_error("No model output");
        return;
    }
    ee_print("m-results-[");
#if defined(EE_MODEL_KWS01)
    for (uint32_t i = 0; i < EE_OUTPUTS; i++) {
        /* The reference prints 3 truncated decimals with integer printf only. */
        float p = output_f32[i];
        ee_print("0.");
        ee_print_i32((int32_t)(p * 10.0f));
        ee_print_i32((int32_t)(p * 100.0f) % 10);
        ee_print_i32((int32_t)(p * 1000.0f) % 10);
        if (i + 1u < EE_OUTPUTS)
            ee_print(",");
    }
#elif defined(EE_MODEL_VWW01)
    for (uint32_t i = 0; i < EE_OUTPUTS; i++) {
        ee_print_fixed3(output_f32[i]);
        ee_print(","); /* the reference loops to nresults = 3: a comma after every value */
    }
#elif defined(EE_MODEL_IC01)
    for (uint32_t i = 0; i < EE_OUTPUTS; i++) {
        if (i)
            ee_print(",");
        ee_print_fixed3(output_f32[i]);
    }
#elif defined(EE_MODEL_AD01)
    float sum = 0.0f;
    for (uint32_t i = 0; i < EE_AD_ELEMENTS; i++) {
        float diff = output_f32[i] - input_f32[i];
        sum += diff * diff;
    }
    ee_print_fixed3(sum / (float)EE_AD_ELEMENTS);
#endif
    ee_print("]\r\n");
}
