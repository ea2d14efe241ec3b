/* Block-scaled formats (include/axlut/block.h): the named formats and their
 * conversion.  Element arithmetic is format.h's: elements are encoded by
 * axl_format_pack / axl_format_encode and decoded by axl_format_decode, so
 * an MX element is bit for bit the code its element format gives. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "axlut/block.h"

struct named_block {
    const char *name;
    const char *elem;  /* element format, format.h grammar */
    enum axl_block_scale scale;
    int size, emax, shift;
    const char *note;
};

/* OCP MX v1.0, section 5 (table of concrete MX formats): block size 32,
 * E8M0 scale; emax_elem is the exponent of the element format's largest
 * normal (E4M3 448 = 1.75 * 2^8, E5M2 57344 = 1.75 * 2^15, E3M2 28 = 1.75
 * * 2^4, E2M3 7.5 = 1.875 * 2^2, E2M1 6 = 1.5 * 2^2, INT8 1.984375 =
 * 127 * 2^-6).  MX conversion clamps elements to the largest normal, so
 * e5m2 is taken saturating.  NVFP4: arXiv:2509.25149, section 2. */
static const struct named_block k_blocks[] = {
    [AXL_BLOCK_MXFP8] = {"mxfp8", "e4m3", AXL_BSCALE_E8M0, 32, 8, 0,
                         "OCP MX: 32 x e4m3, E8M0 scale"},
    [AXL_BLOCK_MXFP8E5M2] = {"mxfp8e5m2", "e5m2sat", AXL_BSCALE_E8M0, 32, 15, 0,
                             "OCP MX: 32 x e5m2 (saturating), E8M0 scale"},
    [AXL_BLOCK_MXFP6E3M2] = {"mxfp6e3m2", "e3m2", AXL_BSCALE_E8M0, 32, 4, 0,
                             "OCP MX: 32 x e3m2, E8M0 scale"},
    [AXL_BLOCK_MXFP6E2M3] = {"mxfp6e2m3", "e2m3", AXL_BSCALE_E8M0, 32, 2, 0,
                             "OCP MX: 32 x e2m3, E8M0 scale"},
    [AXL_BLOCK_MXFP4] = {"mxfp4", "e2m1", AXL_BSCALE_E8M0, 32, 2, 0,
                         "OCP MX: 32 x e2m1, E8M0 scale"},
    [AXL_BLOCK_MXINT8] = {"mxint8", "int8", AXL_BSCALE_E8M0, 32, 0, -6,
                          "OCP MX: 32 x int8 (value code/64), E8M0 scale"},
    [AXL_BLOCK_NVFP4] = {"nvfp4", "e2m1", AXL_BSCALE_E4M3, 16, 2, 0,
                         "NVIDIA: 16 x e2m1, E4M3 scale, fp32 tensor scale"},
};

#define N_BLOCKS (sizeof k_blocks / sizeof k_blocks[0])

size_t axl_block_named_count(void) { return N_BLOCKS; }
const char *axl_block_named(size_t i) { return i < N_BLOCKS ? k_blocks[i].name : NULL; }
const char *axl_block_named_note(size_t i) { return i < N_BLOCKS ? k_blocks[i].note : NULL; }

int axl_block_format_is(const char *name)
{
    for (size_t i = 0; name && i < N_BLOCKS; i++)
        if (!strcmp(name, k_blocks[i].name))
            return 1;
    return 0;
}

enum axl_status axl_block_format_parse(const char *name, struct axl_block_format *out, char *msg)
{
    for (size_t i = 0; name && i < N_BLOCKS; i++) {
        if (strcmp(name, k_blocks[i].name))
            continue;
        const struct named_block *b = &k_blocks[i];
        struct axl_block_format f;
        memset(&f, 0, sizeof f);
        enum axl_status st = axl_format_parse(b->elem, &f.elem, msg);
        if (st != AXL_OK)
            return st;
        if (b->scale == AXL_BSCALE_E4M3 && (st = axl_format_parse("e4m3", &f.sfmt, msg)) != AXL_OK)
            return st;
        f.kind = (uint8_t)i;
        f.scale = (uint8_t)b->scale;
        f.size = (uint16_t)b->size;
        f.emax = b->emax;
        f.elem_shift = b->shift;
        snprintf(f.name, sizeof f.name, "%s", b->name);
        *out = f;
        return AXL_OK;
    }
    char list[128] = "";
    for (size_t i = 0; i < N_BLOCKS; i++) {
        strncat(list, k_blocks[i].name, sizeof list - strlen(list) - 1);
        if (i + 1 < N_BLOCKS)
            strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    return axl_msgf(msg, AXL_ERR_INVALID, "block format '%s': unknown; use one of %s",
                    name ? name : "(null)", list);
}

int64_t axl_block_count(const struct axl_block_format *bf, int64_t n)
{
    return n <= 0 ? 0 : (n + bf->size - 1) / bf->size;
}

int axl_block_scale_is_nan(const struct axl_block_format *bf, uint32_t scale_code)
{
    if (bf->scale == AXL_BSCALE_E8M0)
        return scale_code == 0xFFu;
    return axl_format_is_nan(&bf->sfmt, scale_code);
}

float axl_block_scale_value(const struct axl_block_format *bf, uint32_t scale_code)
{
    if (axl_block_scale_is_nan(bf, scale_code))
        return NAN;
    if (bf->scale == AXL_BSCALE_E8M0)
        return ldexpf(1.0f, (int)scale_code - 127);
    return axl_format_decode(&bf->sfmt, scale_code);
}

double axl_block_elem_value(const struct axl_block_format *bf, uint32_t code)
{
    return ldexp((double)axl_format_decode(&bf->elem, code), bf->elem_shift);
}

float axl_block_tensor_scale(const struct axl_block_format *bf, float amax)
{
    if (bf->scale != AXL_BSCALE_E4M3 || !(amax > 0.0f) || !isfinite(amax))
        return 1.0f;
    /* 6 = e2m1's largest value, 448 = e4m3's: the tensor's largest block
     * scale lands on e4m3's largest value */
    float s = (6.0f * 448.0f) / amax;
    return isfinite(s) ? s : FLT_MAX;
}

/* Largest finite magnitude of a block and whether it holds NaN or inf. */
static float block_amax(const float *x, int64_t n, int *special)
{
    float amax = 0.0f;
    *special = 0;
    for (int64_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (!isfinite(a))
            *special = 1;
        else if (a > amax)
            amax = a;
    }
    return amax;
}

/* floor(log2(a)) of a finite a > 0, from its bits. */
static int floor_log2(float a)
{
    uint32_t u = axl_f32_bits(a);
    uint32_t e = (u >> 23) & 0xFFu;
    return e ? (int)e - 127 : axl_msb32(u & 0x7FFFFFu) - 149;
}

/* OCP MX v1.0 section 6.3: a block's shared exponent floor(log2(amax)) -
 * emax_elem, in E8M0's range (-127 for a zero block). */
static int mx_shared_exp(const struct axl_block_format *bf, float amax)
{
    int se = amax > 0.0f ? floor_log2(amax) - bf->emax : -127;
    return se < -127 ? -127 : (se > 127 ? 127 : se);
}

/* MX elements by integer arithmetic on float64 bits: the same codes as
 * axl_format_encode_pow2 (round to nearest even), much faster.  x * 2^k is
 * exact in float64 for every float32 x and |k| < 900, so it is rounded once:
 * in the element's normal range by adding half an ulp less one (plus the
 * kept lsb: ties to even) at bit 52 - m of its bits, whose exponent and
 * top m fraction bits then read as the element's biased exponent and
 * mantissa; in its subnormal range by adding 2^(emin - m + 52), whose ulp
 * is the element's quantum.  Formats without subnormals, with an unsigned
 * zero or without mantissa bits, and results past the largest magnitude
 * (saturation, inf or NaN by the format's rules), go to
 * axl_format_encode_pow2. */
struct fast_elem {
    int on, m, emin;
    uint32_t maxmag, sshift;
    uint64_t off;  /* (1023 - bias) << m */
    double magic;  /* 2^(emin - m + 52) */
};

static void fast_elem_init(const struct axl_format *f, enum axl_round round, struct fast_elem *fe)
{
    memset(fe, 0, sizeof *fe);
    if (f->kind != AXL_KIND_FLOAT || round != AXL_ROUND_NEAREST_EVEN || !f->subnormals ||
        f->special == AXL_SPECIAL_FNUZ || f->mbits < 1 || f->mbits > 10 || f->ebits > 8)
        return;
    fe->on = 1;
    fe->m = f->mbits;
    fe->emin = 1 - f->bias;
    fe->maxmag = axl_format_max_mag(f);
    fe->sshift = (uint32_t)f->ebits + f->mbits;
    fe->off = (uint64_t)(1023 - f->bias) << f->mbits;
    fe->magic = ldexp(1.0, fe->emin - fe->m + 52);
}

/* The element magnitude of y = |x| * 2^k >= 0 (exact in float64), past
 * fe->maxmag when it saturates; both ranges computed and one selected, so
 * that loops over it vectorise (a zero y falls in the subnormal range and
 * gives 0). */
static inline uint64_t fast_elem_mag(const struct fast_elem *fe, double y)
{
    const int r = 52 - fe->m;
    uint64_t b, tb, mb;
    memcpy(&b, &y, sizeof b);
    double t = y + fe->magic;
    memcpy(&tb, &t, sizeof tb);
    memcpy(&mb, &fe->magic, sizeof mb);
    return (int64_t)(b >> 52) - 1023 >= fe->emin
               ? ((b + (((uint64_t)1 << (r - 1)) - 1) + ((b >> r) & 1)) >> r) - fe->off
               : tb - mb;
}

static uint32_t fast_elem_encode(const struct fast_elem *fe, const struct axl_format *f, float x,
                                 int k, double p2k)
{
    uint32_t sign = axl_f32_bits(x) >> 31;
    uint64_t mag = fast_elem_mag(fe, fabs((double)x) * p2k); /* p2k = 2^k: exact */
    if (mag > fe->maxmag)
        return axl_format_encode_pow2(f, x, k, AXL_ROUND_NEAREST_EVEN, 0);
    return (sign << fe->sshift) | (uint32_t)mag;
}

static uint32_t scale_nan_code(const struct axl_block_format *bf)
{
    return bf->scale == AXL_BSCALE_E8M0 ? 0xFFu : axl_format_nan_code(&bf->sfmt);
}

enum axl_status axl_block_quantize(const struct axl_block_format *bf, const float *x, int64_t n,
                                   enum axl_round round, uint64_t seed,
                                   const float *given_tensor_scale, uint32_t *codes,
                                   uint32_t *scales, float *tensor_scale, char *msg)
{
    if (n < 0 || (n > 0 && (!x || !codes || !scales)) || !tensor_scale)
        return axl_msgf(msg, AXL_ERR_INVALID, "%s: quantize needs n >= 0 and its buffers",
                        bf->name);
    const int nvfp = bf->scale == AXL_BSCALE_E4M3;
    float ts = 1.0f;
    if (nvfp && given_tensor_scale) {
        ts = *given_tensor_scale;
        if (!(ts > 0.0f) || !isfinite(ts))
            return axl_msgf(msg, AXL_ERR_INVALID, "%s: tensor scale %g must be positive and "
                            "finite", bf->name, (double)ts);
    } else if (nvfp) {
        int special;
        ts = axl_block_tensor_scale(bf, block_amax(x, n, &special));
    }
    *tensor_scale = ts;
    const int64_t size = bf->size, nb = axl_block_count(bf, n);
    const uint32_t zero = axl_format_encode(&bf->elem, 0.0f, AXL_ROUND_NEAREST_EVEN, 0);
    struct fast_elem fe;
    fast_elem_init(&bf->elem, round, &fe);
    for (int64_t b = 0; b < nb; b++) {
        const int64_t i0 = b * size, len = n - i0 < size ? n - i0 : size;
        uint32_t *c = codes + i0;
        for (int64_t i = 0; i < size; i++)
            c[i] = zero; /* the padding of a partial last block, and NaN blocks */
        int special;
        float amax = block_amax(x + i0, len, &special);
        if (special) {
            scales[b] = scale_nan_code(bf);
            continue;
        }
        if (!nvfp) {
            /* OCP MX v1.0 section 6.3: shared_exp = floor(log2(amax)) -
             * emax_elem, in E8M0's range; V_i / X to the element format,
             * clamped to its largest normal */
            int se = mx_shared_exp(bf, amax);
            scales[b] = (uint32_t)(se + 127);
            if (fe.on) {
                const int k = -se - bf->elem_shift;
                const double p2k = ldexp(1.0, k);
                for (int64_t i = 0; i < len; i++)
                    c[i] = fast_elem_encode(&fe, &bf->elem, x[i0 + i], k, p2k);
                continue;
            }
            for (int64_t i = 0; i < len; i++) {
                uint32_t rnd = round == AXL_ROUND_STOCHASTIC ? axl_rand32(seed, (uint64_t)(i0 + i)) : 0;
                c[i] = axl_format_encode_pow2(&bf->elem, x[i0 + i], -se - bf->elem_shift, round,
                                              rnd);
                if (bf->elem.kind == AXL_KIND_INT && c[i] == 1u << (bf->elem.bits - 1))
                    c[i]++; /* MXINT8 clamps symmetrically: -2 is not used */
            }
            continue;
        }
        /* NVFP4: the block's decode scale amax_b / 6 times the tensor's
         * encode scale, to E4M3 (nearest-even, saturating); elements are
         * x * (ts / scale) to E2M1 */
        uint32_t sb = axl_format_encode(&bf->sfmt, (amax / 6.0f) * ts, AXL_ROUND_NEAREST_EVEN, 0);
        scales[b] = sb;
        float sbv = axl_format_decode(&bf->sfmt, sb);
        if (sbv == 0.0f)
            continue; /* every element is below half of e2m1's smallest step */
        float r = ts / sbv;
        if (!isfinite(r))
            r = FLT_MAX;
        for (int64_t i = 0; i < len; i++) {
            uint32_t rnd = round == AXL_ROUND_STOCHASTIC ? axl_rand32(seed, (uint64_t)(i0 + i)) : 0;
            c[i] = axl_format_encode(&bf->elem, x[i0 + i] * r, round, rnd);
        }
    }
    return AXL_OK;
}

/* One tile of columns of axl_block_quantize_cols: the element codes of
 * block rows I0..I0+BLEN of NC columns, lane by lane without branches
 * (vectorised across columns), codes past the largest magnitude marked
 * 0xFF..., to be redone by fast_elem_encode. */
static inline int cols_encode(const struct fast_elem *fe, int satmax, const float *x,
                              int64_t xstride, int64_t nrow, int nc, const double *p2k,
                              uint32_t *out)
{
    int sat = 0;
    for (int64_t i = 0; i < nrow; i++)
        for (int c = 0; c < nc; c++) {
            float v = x[i * xstride + c];
            uint32_t u;
            memcpy(&u, &v, sizeof u);
            uint64_t mag = fast_elem_mag(fe, fabs((double)v) * p2k[c]);
            int big = mag > fe->maxmag;
            sat |= big;
            mag = big && satmax ? fe->maxmag : mag;
            out[i * nc + c] = big && !satmax ? 0xFFFFFFFFu
                                             : ((u >> 31) << fe->sshift) | (uint32_t)mag;
        }
    return sat;
}

/* axl_block_quantize_cols for a format it serves, in clones for the ISAs
 * (the loops across columns vectorise). */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
quantize_cols(const struct axl_block_format *bf, const struct fast_elem *fep, const float *x,
              int64_t len, int64_t ncol, int64_t xstride, uint8_t *codes, uint32_t *scales,
              int64_t ostride)
{
    const struct fast_elem fe = *fep;
    enum { T = 64 }; /* columns per tile */
    /* Whether values past the largest magnitude saturate to it: in a block
     * every |x| * 2^k lies below 2^(emax + 1), and rounding is monotone, so
     * encode_pow2 at the ends of (largest value, 2^(emax + 1)) and at the
     * tie above the largest value tells; then such lanes need no call. */
    const float top = axl_format_decode(&bf->elem, fe.maxmag);
    const float below = axl_format_decode(&bf->elem, fe.maxmag - 1);
    const float probe[] = {nextafterf(top, INFINITY), top + (top - below) / 2.0f,
                           nextafterf(top + (top - below) / 2.0f, INFINITY),
                           nextafterf(ldexpf(1.0f, bf->emax + 1), 0.0f)};
    int satmax = bf->elem_shift == 0;
    for (size_t i = 0; i < sizeof probe / sizeof probe[0]; i++)
        for (int sgn = 0; sgn < 2; sgn++)
            satmax &= axl_format_encode_pow2(&bf->elem, sgn ? -probe[i] : probe[i], 0,
                                             AXL_ROUND_NEAREST_EVEN, 0) ==
                      (((uint32_t)sgn << fe.sshift) | fe.maxmag);
    const int64_t size = bf->size, nb = axl_block_count(bf, len);
    const uint8_t zero = (uint8_t)axl_format_encode(&bf->elem, 0.0f, AXL_ROUND_NEAREST_EVEN, 0);
    uint32_t tmp[AXL_BLOCK_MAX_SIZE * T];
    for (int64_t c0 = 0; c0 < ncol; c0 += T) {
        const int nc = (int)(ncol - c0 < T ? ncol - c0 : T);
        for (int64_t b = 0; b < nb; b++) {
            const int64_t i0 = b * size, blen = len - i0 < size ? len - i0 : size;
            const float *xb = x + i0 * xstride + c0;
            float amax[T];
            int special[T], k[T];
            double p2k[T];
            for (int c = 0; c < nc; c++) {
                amax[c] = 0.0f;
                special[c] = 0;
            }
            for (int64_t i = 0; i < blen; i++)
                for (int c = 0; c < nc; c++) { /* block_amax, column by column */
                    float a = fabsf(xb[i * xstride + c]);
                    int fin = a <= FLT_MAX;
                    special[c] |= !fin;
                    amax[c] = fin && a > amax[c] ? a : amax[c];
                }
            for (int c = 0; c < nc; c++) { /* as axl_block_quantize: OCP MX v1.0 6.3 */
                int se = mx_shared_exp(bf, amax[c]);
                scales[b * ostride + c0 + c] = special[c] ? 0xFFu : (uint32_t)(se + 127);
                k[c] = -se - bf->elem_shift;
                p2k[c] = ldexp(1.0, k[c]);
            }
            if (cols_encode(&fe, satmax, xb, xstride, blen, nc, p2k, tmp) && !satmax)
                for (int64_t i = 0; i < blen; i++)
                    for (int c = 0; c < nc; c++)
                        if (tmp[i * nc + c] == 0xFFFFFFFFu)
                            tmp[i * nc + c] = fast_elem_encode(&fe, &bf->elem,
                                                               xb[i * xstride + c], k[c], p2k[c]);
            for (int64_t i = 0; i < size; i++) {
                uint8_t *o = codes + (i0 + i) * ostride + c0;
                for (int c = 0; c < nc; c++) /* padding and NaN blocks: zero codes */
                    o[c] = i < blen && !special[c] ? (uint8_t)tmp[i * nc + c] : zero;
            }
        }
    }
}

int axl_block_quantize_cols(const struct axl_block_format *bf, const float *x, int64_t len,
                            int64_t ncol, int64_t xstride, uint8_t *codes, uint32_t *scales,
                            int64_t ostride)
{
    struct fast_elem fe;
    fast_elem_init(&bf->elem, AXL_ROUND_NEAREST_EVEN, &fe);
    if (bf->scale != AXL_BSCALE_E8M0 || !fe.on || bf->elem.bits > 8 || len < 1)
        return 0;
    quantize_cols(bf, &fe, x, len, ncol, xstride, codes, scales, ostride);
    return 1;
}

enum axl_status axl_block_decode(const struct axl_block_format *bf, const uint32_t *codes,
                                 const uint32_t *scales, float tensor_scale, int64_t n,
                                 float *out, char *msg)
{
    if (n < 0 || (n > 0 && (!codes || !scales || !out)))
        return axl_msgf(msg, AXL_ERR_INVALID, "%s: decode needs n >= 0 and its buffers",
                        bf->name);
    for (int64_t i = 0; i < n; i++) {
        uint32_t s = scales[i / bf->size];
        double v = axl_block_elem_value(bf, codes[i]);
        if (axl_block_scale_is_nan(bf, s))
            out[i] = NAN;
        else if (bf->scale == AXL_BSCALE_E8M0)
            out[i] = (float)ldexp(v, (int)s - 127);
        else
            out[i] = (float)v * axl_block_scale_value(bf, s) / tensor_scale; /* e2m1 x e4m3
                                                        is exact: one rounding, the divide */
    }
    return AXL_OK;
}

enum axl_status axl_block_dot_ref(const struct axl_block_vec *a, const struct axl_block_vec *w,
                                  int64_t nblocks, const struct axl_block_mul *mul, float *out,
                                  char *msg)
{
    const struct axl_block_format *fa = a->bf, *fw = w->bf;
    if (fa->size != fw->size || fa->scale != fw->scale)
        return axl_msgf(msg, AXL_ERR_INVALID, "block dot: %s and %s differ in block size or "
                        "scale encoding", fa->name, fw->name);
    if (nblocks < 0)
        return axl_msgf(msg, AXL_ERR_INVALID, "block dot: %lld blocks", (long long)nblocks);
    const int exact = !mul || !mul->eval;
    const int bcode = mul && mul->badd, acode = mul && mul->add;
    const int shift = fa->elem_shift + fw->elem_shift;
    float acc = 0.0f;
    uint32_t accc = acode ? axl_format_encode(&mul->facc, 0.0f, AXL_ROUND_NEAREST_EVEN, 0) : 0;
    for (int64_t b = 0; b < nblocks; b++) {
        const uint32_t *ca = a->codes + b * fa->size, *cw = w->codes + b * fw->size;
        float bsum = 0.0f; /* the block accumulator: exact fp32 adds, in i order */
        uint32_t bc = bcode ? axl_format_encode(&mul->fbacc, 0.0f, AXL_ROUND_NEAREST_EVEN, 0) : 0;
        for (int i = 0; i < fa->size; i++) {
            float p;
            if (exact)
                p = (float)axl_block_elem_value(fa, ca[i]) * (float)axl_block_elem_value(fw, cw[i]);
            else
                p = ldexpf(axl_format_decode(&mul->fp, mul->eval(mul->ctx, ca[i], cw[i])), shift);
            if (bcode)
                bc = mul->badd(mul->badd_ctx, bc,
                               axl_format_encode(&mul->fbacc, p, AXL_ROUND_NEAREST_EVEN, 0));
            else
                bsum += p;
        }
        if (bcode)
            bsum = axl_format_decode(&mul->fbacc, bc);
        uint32_t sa = a->scales[b], sw = w->scales[b];
        float term;
        if (axl_block_scale_is_nan(fa, sa) || axl_block_scale_is_nan(fw, sw))
            term = NAN;
        else if (fa->scale == AXL_BSCALE_E8M0)
            term = ldexpf(bsum, ((int)sa - 127) + ((int)sw - 127));
        else
            term = (bsum * axl_block_scale_value(fa, sa)) * axl_block_scale_value(fw, sw);
        if (acode)
            accc = mul->add(mul->add_ctx, accc,
                            axl_format_encode(&mul->facc, term, AXL_ROUND_NEAREST_EVEN, 0));
        else
            acc += term;
    }
    if (acode)
        acc = axl_format_decode(&mul->facc, accc);
    if (fa->scale == AXL_BSCALE_E4M3)
        acc *= 1.0f / (a->tensor_scale * w->tensor_scale);
    /* which NaN an add returns depends on its operand order, which a
     * vectorising compiler may swap: every NaN result is the quiet NaN */
    if (isnan(acc))
        acc = NAN;
    *out = acc;
    return AXL_OK;
}
