/* The prepared state of a plan: the multiplier's table transposed and
 * decoded for the kernels (and as byte planes for VBMI), the mantissa table
 * and its precomputed rounded products, the decode tables of the narrow
 * exact forms.  Built once, when the plan is made. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "designs/builtin.h"
#include "prepare.h"

enum axl_narrow axl_plan_narrow_kind(const struct axl_format *f)
{
    struct axl_format bf16, fp16;
    axl_format_parse("bf16", &bf16, NULL);
    axl_format_parse("fp16", &fp16, NULL);
    return axl_format_equal(f, &bf16)   ? AXL_NARROW_BF16
           : axl_format_equal(f, &fp16) ? AXL_NARROW_FP16
                                            : AXL_NARROW_NONE;
}

/* The values of every code of a 16-bit format, and that of its NaN code. */
static float *decode_table(const struct axl_format *f, float *nan_value)
{
    float *t = malloc((size_t)65536 * sizeof *t);
    if (!t)
        return NULL;
    for (uint32_t c = 0; c < 65536; c++)
        t[c] = axl_format_decode(f, c);
    *nan_value = t[axl_format_nan_code(f)];
    return t;
}

/* AXL_SRC_TABLE: the transposed table in the accumulator's terms (plan.h). */
static enum axl_status prepare_table(struct axl_mac *m, char *msg)
{
    const struct axl_table_info *ti = axl_table_info(m->table);
    m->na = (uint32_t)ti->rows;
    m->nb = (uint32_t)ti->cols;
    size_t n = (size_t)m->na * m->nb;
    if (m->acc == AXL_ACC_INT || m->acc == AXL_ACC_INT_ADD)
        m->ti = malloc(n * sizeof *m->ti);
    else if (m->acc == AXL_ACC_F32)
        m->tf = malloc(n * sizeof *m->tf);
    else
        m->tc = malloc(n * sizeof *m->tc);
    if (m->tc && m->acc == AXL_ACC_NARROW && m->order == AXL_ORDER_SEQUENTIAL &&
        !(m->tn = malloc(n * sizeof *m->tn)))
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory preparing a %zu-entry table", n);
    if (!m->ti && !m->tf && !m->tc)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory preparing a %zu-entry table", n);
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < (int64_t)m->nb; b++) {
        for (uint32_t a = 0; a < m->na; a++) {
            uint32_t p = axl_table_entry(m->table, a, (uint32_t)b);
            size_t i = (size_t)b * m->na + a;
            if (m->ti)
                m->ti[i] = (int32_t)axl_format_decode(&m->fp, p);
            else if (m->tf)
                m->tf[i] = axl_format_decode(&m->fp, p);
            else {
                m->tc[i] = m->convert_p ? axl_format_encode(&m->facc, axl_format_decode(&m->fp, p),
                                                            AXL_ROUND_NEAREST_EVEN, 0)
                                        : p;
                if (m->tn)
                    m->tn[i] = axl_format_decode(&m->facc, m->tc[i]);
            }
        }
    }
    /* byte planes for the VBMI kernels: integer tables summed in int32, and
     * float tables summed in sequential order (the sums they implement) */
    if ((m->ti && m->acc == AXL_ACC_INT) || (m->tf && m->order == AXL_ORDER_SEQUENTIAL)) {
        axl_vbmi_prepare(&m->vb, m->tf, m->ti, m->na, m->nb);
        /* tables of at most 64 activation codes also in registers (cpu/small.c) */
        axl_small_prepare(&m->sm, m->tf, m->ti, m->na, m->nb, axl_small_isa(), AXL_SMALL_ALL_MODES);
    }
    return AXL_OK;
}

/* AXL_SRC_MANTISSA_FAST (plan.h), only where it gives the same bits as the
 * long way: float32 adds, nearest rounding, one format for operands and
 * product, codes of at most 16 bits. */
static enum axl_status prepare_mantissa_fast(struct axl_mac *m, char *msg)
{
    if (m->acc != AXL_ACC_F32 || m->src != AXL_SRC_MANTISSA ||
        m->mul_c.round != AXL_ROUND_NEAREST_EVEN || m->fa.bits > 16 ||
        !axl_format_equal(&m->fa, &m->fw) || !axl_format_equal(&m->fa, &m->fp) ||
        m->fp.bias < 1 || (int)(axl_format_max_mag(&m->fp) >> m->fp.mbits) - m->fp.bias < 2)
        return AXL_OK;
    const uint32_t mb = m->fa.mbits, rows = 1u << (mb + 1), cols = m->mt_cols;
    const uint32_t ncodes = 1u << m->fa.bits;
    m->mrt = malloc((size_t)rows * cols * sizeof *m->mrt);
    m->unpacked = malloc((size_t)ncodes * sizeof *m->unpacked);
    if (!m->mrt || !m->unpacked)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    /* The product rounded by the format's own round-and-pack, placed in
     * [1, 2) where every format with bias >= 1 is normal, then scaled back:
     * round_{m+1}(p) as an exact float (p < 2^24). */
    for (size_t i = 0; i < (size_t)rows * cols; i++) {
        uint64_t p = m->mt[i];
        if (p == 0) {
            m->mrt[i] = 0.0f; /* never used: zero products go the long way */
            continue;
        }
        int msb = axl_msb64(p);
        uint32_t code = axl_format_pack(&m->fp, 0, p, -msb, 0, AXL_ROUND_NEAREST_EVEN, 0);
        float one_two = axl_format_decode(&m->fp, code); /* in [1, 2] */
        m->mrt[i] = one_two * (float)(1ull << msb);
    }
    for (uint32_t code = 0; code < ncodes; code++) {
        struct axl_fpmul_parts r = axl_fpmul_split(&m->mul_c, code, code);
        uint32_t te = (code >> mb) & ((1u << m->fa.ebits) - 1u);
        struct axl_unpacked_code *u = &m->unpacked[code];
        u->normal = r.special == 0 && te != 0;
        u->sig = (uint32_t)r.sx;
        u->k = (int16_t)(r.special == 0 ? r.k / 2 : 0); /* split of (code, code): k is twice */
        u->sign = (uint8_t)((code >> (m->fa.bits - 1)) & 1u);
    }
    /* normal results only, one binade below the top kept apart so that
     * overflow and the top codes of finite formats go the long way */
    m->mrt_emin = 1 - m->fa.bias;
    m->mrt_emax = (int)(axl_format_max_mag(&m->fa) >> mb) - m->fa.bias - 1;
    m->src = AXL_SRC_MANTISSA_FAST;
    return AXL_OK;
}

/* Generates the multiplier's table when no table file gave it: full, or
 * (max_bits below any operand) the mantissa table. */
static enum axl_status generate(struct axl_mac *m, int mantissa, const char *mul, char *msg)
{
    char tmp[AXL_MSG_LEN];
    struct axl_table_opts o;
    memset(&o, 0, sizeof o);
    o.max_bits = mantissa ? 1 : AXL_TABLE_MAX_BITS;
    o.skip_metrics = 1;
    /* a user's design fills its table in a child: a pair the load-time
     * probe missed cannot crash or hang the run (user_design.h) */
    enum axl_status st =
        m->mul_user ? axl_table_generate_isolated(m->mul_d, &m->mul_c, &o,
                                                  axl_user_design_timeout(), &m->table, NULL, tmp)
                    : axl_table_generate(m->mul_d, &m->mul_c, &o, &m->table, tmp);
    if (st != AXL_OK)
        return axl_msgf(msg, st, "generating the %stable of '%.100s': %.300s",
                        mantissa ? "mantissa " : "", mul, tmp);
    return AXL_OK;
}

/* Whether every entry of the mantissa table is the product axl_fpmul's
 * own core gives (unsaturated, on significands of m+1 bits).  The table is
 * the integer design's over uint(m+1) (whose results saturate at 2^(2m+2)
 * - 1, where axl_fpmul's core does not) or a file's, so this is checked,
 * not assumed; a built-in design only, whose eval is axl_fpmul. */
int axl_plan_mantissa_is_core(const struct axl_mac *m, uint32_t rows, uint32_t cols)
{
    if (m->mul_user || !(axl_design_caps(m->mul_d) & AXL_CAP_MANTISSA) ||
        m->fa.mbits != m->fw.mbits)
        return 0;
    const uint32_t core = axl_design_core(m->mul_c.id);
    const int n = m->fa.mbits + 1;
    for (uint32_t r = 0; r < rows; r++)
        for (uint32_t c = 0; c < cols; c++)
            if ((uint64_t)m->mt[(size_t)r * cols + c] != axl_umul_core(core, m->mul_c.param, r, c, n))
                return 0;
    return 1;
}

/* The mantissa path: the significand table as the kernels read it. */
static enum axl_status prepare_mantissa(struct axl_mac *m, const char *mul, char *msg)
{
    enum axl_status st;
    if (!m->table && (st = generate(m, 1, mul, msg)) != AXL_OK)
        return st;
    const struct axl_table_info *mi = axl_table_info(m->table);
    if (mi->path != AXL_TABLE_MANTISSA || mi->rows != (1u << (m->fa.mbits + 1)) ||
        mi->cols != (1u << (m->fw.mbits + 1)))
        return axl_msgf(msg, AXL_ERR_MISMATCH, "the mantissa table of '%.100s' is not over "
                        "%u-bit significands", mul, m->fa.mbits + 1u);
    m->mt_cols = (uint32_t)mi->cols;
    m->mt = malloc((size_t)mi->rows * mi->cols * sizeof *m->mt);
    if (!m->mt)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    for (uint32_t r = 0; r < mi->rows; r++)
        for (uint32_t c = 0; c < mi->cols; c++)
            m->mt[(size_t)r * mi->cols + c] = axl_table_entry(m->table, r, c);
    m->mt_is_core = (uint8_t)axl_plan_mantissa_is_core(m, mi->rows, (uint32_t)mi->cols);
    return prepare_mantissa_fast(m, msg);
}

enum axl_status axl_plan_prepare(struct axl_mac *m, const char *mul, char *msg)
{
    enum axl_status st;
    if (m->path == AXL_PATH_TABLE) {
        if (!m->table && (st = generate(m, 0, mul, msg)) != AXL_OK)
            return st;
        if ((st = prepare_table(m, msg)) != AXL_OK)
            return st;
    }
    /* the mantissa table also when an exact form serves the CPU: the CUDA
     * backend runs the mantissa path */
    if (m->path == AXL_PATH_MANTISSA && (st = prepare_mantissa(m, mul, msg)) != AXL_OK)
        return st;
    if (m->src == AXL_SRC_EXACT_NARROW && !(m->dop = decode_table(&m->fa, &m->op_nan)))
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    /* a user's adder runs in-process on every sum: every pair first, in a
     * child, where the accumulator fits a table */
    if (m->add_user && (st = axl_user_design_check_pairs(m->add_d, &m->add_c,
                                                         axl_user_design_timeout(), msg)) != AXL_OK)
        return st;
    if (m->acc == AXL_ACC_NARROW && !(m->dacc = decode_table(&m->facc, &m->acc_nan)))
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    /* activations of narrow floating formats encoded by a byte lookup (encode.c);
     * without the table (no memory) they go the long way, same codes */
    if (!m->int_mode)
        axl_enc8_prepare(&m->enc8, &m->fa, m->round);
    return AXL_OK;
}
