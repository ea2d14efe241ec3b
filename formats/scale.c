/* Scaling of floating operands (include/axlut/scale.h). */
#include <float.h>
#include <math.h>
#include <string.h>

#include "axlut/scale.h"

static const char *const k_wscale_names[] = {"none", "per-tensor", "per-channel"};
static const char *const k_ascale_names[] = {"none", "dynamic", "calibrated"};
AXL_ENUM_NAMES_DEFINE(axl_wscale, axl_wscale_name, axl_wscale_parse, k_wscale_names)
AXL_ENUM_NAMES_DEFINE(axl_ascale, axl_ascale_name, axl_ascale_parse, k_ascale_names)

float axl_scale_for(const struct axl_format *f, float amax, int pow2, int margin)
{
    if (f->kind != AXL_KIND_FLOAT || !(amax > 0.0f) || !isfinite(amax))
        return 1.0f;
    margin = margin < 0 ? 0 : (margin > AXL_SCALE_MAX_MARGIN ? AXL_SCALE_MAX_MARGIN : margin);
    const float fmax = axl_format_max_finite(f);
    if (pow2) {
        /* floor(log2(fmax / amax)) of the exact quotient, not of a rounded
         * one (that can round up to the next power of two, and then
         * s * amax > fmax): the exponents' difference, less one when
         * amax's significand is the larger */
        int ef, ea;
        float mf = frexpf(fmax, &ef), ma = frexpf(amax, &ea);
        int e = ef - ea - (mf < ma) - margin;
        return ldexpf(1.0f, e > 127 ? 127 : (e < -149 ? -149 : e));
    }
    float ratio = fmax / amax; /* one rounding */
    if (!isfinite(ratio))
        ratio = FLT_MAX;
    float s = ldexpf(ratio, -margin);
    return s > 0.0f ? s : FLT_TRUE_MIN;
}

/* The loop of axl_scale_amax over contiguous floats, as 16 running maxima
 * (lanes): one maximum was a chain of dependent SSE2 compare-and-selects,
 * 4 floats per step (the pass runs twice per call of a scaled layer on
 * its activations); AVX2 has the signed maximum in one instruction. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx2", "default")))
#endif
static int32_t amax_bits(const float *x, int64_t n)
{
    int32_t lane[16] = {0};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) {
            uint32_t u;
            memcpy(&u, &x[i + j], sizeof u);
            int32_t a = (int32_t)(u & 0x7FFFFFFFu);
            a = a < 0x7F800000 ? a : 0;
            lane[j] = a > lane[j] ? a : lane[j];
        }
    for (; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        int32_t a = (int32_t)(u & 0x7FFFFFFFu);
        a = a < 0x7F800000 ? a : 0;
        lane[0] = a > lane[0] ? a : lane[0];
    }
    int32_t best = 0;
    for (int j = 0; j < 16; j++)
        best = lane[j] > best ? lane[j] : best;
    return best;
}

float axl_scale_amax(const float *x, int64_t n, int64_t stride)
{
    /* the largest finite magnitude, found on the bits: |x| as an integer
     * orders as the float does, and infinities and NaNs are the codes from
     * 0x7F800000 up.  Integer compares vectorise where float ones may not
     * (they may trap); a compare's latency per element, one chain with a
     * branch, made this pass (three per call of a scaled layer) 60% of the
     * e2m1 kernel's time on a 256^3 GEMM (perf, issue 19).  The same value
     * in any order. */
    int32_t best = stride == 1 ? amax_bits(x, n) : 0;
    for (int64_t i = 0; i < n && stride != 1; i++) {
        uint32_t u;
        memcpy(&u, &x[i * stride], sizeof u);
        int32_t a = (int32_t)(u & 0x7FFFFFFFu);
        a = a < 0x7F800000 ? a : 0;
        best = a > best ? a : best;
    }
    float amax;
    memcpy(&amax, &best, sizeof amax);
    return amax;
}
