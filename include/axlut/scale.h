/* Scaling of floating operands: the factor a tensor (or each output
 * channel of a weight tensor) is multiplied by before it is encoded into a
 * narrow floating format, so that its largest magnitude lands near the
 * format's largest finite value, as FP8 inference and training do
 * (Micikevicius et al., "FP8 Formats for Deep Learning", arXiv:2209.05433,
 * 2022, section 4.3; NVIDIA Transformer Engine's amax scaling recipe).
 *
 *   s = (max_finite / amax) / 2^margin            default
 *   s = 2^(floor(log2(max_finite / amax)) - margin)   pow2: exact to apply
 *
 * amax is the largest finite magnitude (NaN and inf are left to the
 * format's own rules); amax == 0 gives s = 1; an s beyond float32 is the
 * largest float32 (pow2: 2^127).  The operand is encoded as encode(x * s)
 * and the MAC's result is multiplied back by d = 1 / s of each operand
 * (docs/FORMATS.md gives the whole formula).  Integer formats have their
 * own affine scale and take none of this.
 */
#ifndef AXLUT_SCALE_H
#define AXLUT_SCALE_H

#include <stdint.h>

#include "format.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Weight scaling.  Stored in reports: only grow. */
enum axl_wscale {
    AXL_WSCALE_NONE = 0,    /* encode the values as they are (the default) */
    AXL_WSCALE_TENSOR = 1,  /* one s from the whole tensor's amax */
    AXL_WSCALE_CHANNEL = 2, /* one s per output channel */
};

/* Activation scaling.  Stored in reports: only grow. */
enum axl_ascale {
    AXL_ASCALE_NONE = 0,       /* the default */
    AXL_ASCALE_DYNAMIC = 1,    /* s from the amax of each call's tensor (one batch) */
    AXL_ASCALE_CALIBRATED = 2, /* s from a fixed amax found beforehand */
};

/* "none", "per-tensor", "per-channel"; "none", "dynamic", "calibrated";
 * parse gives AXL_ERR_INVALID for other text. */
AXL_ENUM_NAMES_DECL(axl_wscale, axl_wscale_name, axl_wscale_parse);
AXL_ENUM_NAMES_DECL(axl_ascale, axl_ascale_name, axl_ascale_parse);

#define AXL_SCALE_MAX_MARGIN 32

/* The scale s of the formula above for format f (1 for integer formats);
 * margin in 0..AXL_SCALE_MAX_MARGIN. */
float axl_scale_for(const struct axl_format *f, float amax, int pow2, int margin);

/* Largest finite |x[i]| of n values at stride (0 when there is none). */
float axl_scale_amax(const float *x, int64_t n, int64_t stride);

#ifdef __cplusplus
}
#endif

#endif
