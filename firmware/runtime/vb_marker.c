/*
 * vb_layer_marker: an empty, never-inlined function the runtime calls before each layer
 * (argument = layer index) and once after the last (0xFFFFFFFF). The simulator hooks
 * this symbol's address to split cycle counts per layer. The asm memory clobber keeps
 * the compiler from proving the call useless and dropping it; the fixed cost per
 * marker is one call + return.
 *
 * Host builds (VB_HOST_MARKER_HOOK defined, never in firmware) may register a callback,
 * which vbench uses to read every layer's output for debugging and tests.
 */
#include "vb_runtime.h"

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8
#define VB_MARKER_ATTRS __attribute__((noinline, noipa, used))
#else
#define VB_MARKER_ATTRS __attribute__((noinline, used))
#endif

#ifdef VB_HOST_MARKER_HOOK
static void (*vb_marker_hook)(uint32_t layer_index);

void vb_set_layer_marker_hook(void (*hook)(uint32_t layer_index))
{
    vb_marker_hook = hook;
}
#endif

VB_MARKER_ATTRS void vb_layer_marker(uint32_t layer_index)
{
    (void)layer_index;
#ifdef VB_HOST_MARKER_HOOK
    if (vb_marker_hook) {
        vb_marker_hook(layer_index);
    }
#endif
    __asm__ volatile("" ::: "memory");
}
