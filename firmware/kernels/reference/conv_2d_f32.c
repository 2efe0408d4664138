/* CONV_2D, float32: TFLite reference_ops::Conv (float). For each output, the sum runs over
 * filter rows, filter columns and input channels in that order, taps in the padding are
 * skipped, then the bias is added and the fused activation applied. */
#include "kernels.h"
#include "kernels_conv.h"

VB_DEFINE_CONV_2D_F32(, vb_conv_2d_f32) /* kernels_conv.h */
