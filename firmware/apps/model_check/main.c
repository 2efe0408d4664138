/*
 * vbench model_check: one inference of one compiled model, for `vbench check-models`.
 *
 * Built by vbench/modelcheck.py with the model's sources (vbench compile output + runtime +
 * kernels) and these defines:
 *   VB_CHECK_INPUT_BYTES   input tensor bytes (sizes the input buffer)
 *   VB_CHECK_OUTPUT_BYTES  output tensor bytes (sizes the output buffer)
 *
 * Protocol (no UART involved, so the check does not depend on console timing):
 *   1. The host loads the image, writes the input tensor bytes into `vb_check_input` and starts
 *      the core. The buffer lives in a .sram3 (NOLOAD) section, which start-up neither copies
 *      nor zeroes, so the host's bytes survive until main() (both linker scripts provide it).
 *   2. main(): vb_model_init, vb_model_set_input(vb_check_input), vb_model_invoke (the runtime
 *      calls vb_layer_marker around every layer, which is how the host counts instructions and
 *      cycles per inference), output copied to `vb_check_output`, `vb_check_status` = the
 *      runtime's return code, `vb_check_cycles` = the on-target cycle counter across the
 *      set-input + invoke + copy (a cross-check of the marker figures).
 *   3. main returns 0 (exit 0) or 16 + |error| when the runtime reports an error; a size
 *      mismatch between the image and the model plan gives status VB_ERR_INPUT_SIZE.
 *
 * Stack: start-up fills [__stack_bottom, __stack_top) with 0xA5A5A5A5; the host reads the
 * high-water mark from what is left of the pattern after the run.
 */
#include <stdint.h>
#include <string.h>

#include "vb_hal.h"
#include "vb_runtime.h"

#if !defined(VB_CHECK_INPUT_BYTES) || !defined(VB_CHECK_OUTPUT_BYTES)
#error "model_check is built by `vbench check-models` (needs -DVB_CHECK_INPUT_BYTES=, -DVB_CHECK_OUTPUT_BYTES= and a compiled model)"
#endif

/* Written by the host before the run: not zeroed by start-up (NOLOAD, outside .bss). */
__attribute__((section(".sram3.vb_check_input"), aligned(16), used))
uint8_t vb_check_input[VB_CHECK_INPUT_BYTES];

/* Read by the host after the run. */
__attribute__((aligned(16), used)) uint8_t vb_check_output[VB_CHECK_OUTPUT_BYTES];
__attribute__((used)) volatile int32_t vb_check_status = 0x7FFFFFFF; /* "did not finish" */
__attribute__((used)) volatile uint32_t vb_check_output_bytes;
__attribute__((used)) volatile uint32_t vb_check_cycles;

int main(void)
{
    hal_cycles_init();
    int rc = vb_model_init();
    const vb_model_t *info = vb_model_info();
    if (rc == VB_OK && (info->input.bytes != VB_CHECK_INPUT_BYTES || info->output.bytes != VB_CHECK_OUTPUT_BYTES))
        rc = VB_ERR_INPUT_SIZE;

    uint32_t t0 = hal_cycles();
    if (rc == VB_OK)
        rc = vb_model_set_input(vb_check_input, VB_CHECK_INPUT_BYTES);
    if (rc == VB_OK)
        rc = vb_model_invoke();
    if (rc == VB_OK) {
        uint32_t len = 0;
        const int8_t *y = vb_model_output(&len);
        if (len > VB_CHECK_OUTPUT_BYTES)
            len = VB_CHECK_OUTPUT_BYTES;
        memcpy(vb_check_output, y, len);
        vb_check_output_bytes = len;
    }
    vb_check_cycles = hal_cycles() - t0;
    vb_check_status = rc;
    return rc == VB_OK ? 0 : 16 + (rc < 0 ? -rc : rc);
}
