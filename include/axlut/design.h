/* Designs: behavioural models of approximate (or exact) arithmetic units.
 *
 * A design is a pure function over operand codes,
 *
 *     uint32_t eval(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
 *
 * returning a code of the result format, plus a descriptor that says what it
 * is (name, description, citation), which operation it performs (mul or
 * add), which operand formats it accepts, its parameters, and whether a
 * floating design approximates only the mantissa core (then a mantissa table
 * can serve it, with sign and exponent handled exactly).
 *
 * `a` is always the activation (the table's row) and `b` the weight (the
 * table's column); most approximate designs are not commutative.
 *
 * A user's design is one C file that includes this header and defines
 *
 *     const struct axl_design axl_user_design = { .abi = AXL_DESIGN_ABI, ... };
 *
 * `axlut gen my_design.c` compiles it into a shared object and loads it.
 */
#ifndef AXLUT_DESIGN_H
#define AXLUT_DESIGN_H

#include <stdint.h>

#include "format.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AXL_DESIGN_ABI 1
#define AXL_DESIGN_MAX_PARAMS 4

/* Stored in table files: only grow at the end. */
enum axl_op { AXL_OP_MUL = 0, AXL_OP_ADD = 1 };
/* "mul", "add" ("?" out of range); parse gives AXL_ERR_INVALID otherwise. */
AXL_ENUM_NAMES_DECL(axl_op, axl_op_name, axl_op_parse);

/* Which operand formats a design accepts. */
enum axl_operands {
    AXL_OPERANDS_FIXED = 0, /* exactly fmt_a x fmt_b -> fmt_r */
    AXL_OPERANDS_UINT = 1,  /* any uintN (N <= 16; adders N <= 32) */
    AXL_OPERANDS_INT = 2,   /* any intN (N <= 16; adders N <= 32) */
    AXL_OPERANDS_FLOAT = 3, /* any eXmY */
    AXL_OPERANDS_ANYINT = 4, /* any intN or uintN (widths as above) */
    AXL_OPERANDS_ANY = 5,    /* any intN, uintN or eXmY */
};

struct axl_design_param {
    const char *name; /* e.g. "k" */
    int32_t def, min, max;
    const char *help;
};

/* What eval sees: the operand and result formats and parameter values.
 * Integer results are codes of fmt_r: for an N-bit integer mul, fmt_r is
 * the 2N-bit integer of the same signedness; for an N-bit add, N+1 bits,
 * or N bits where the adder is an accumulator register (the carry out
 * dropped, the sum modulo 2^N; always for N = 32: a code holds 32 bits).
 * Floating results are codes of fmt_r (by default the operands' format). */
struct axl_design_ctx {
    struct axl_format fa, fb, fr;
    int32_t param[AXL_DESIGN_MAX_PARAMS];
    uint32_t id; /* built-in design id (device dispatch); 0 for user designs */
    uint8_t round; /* enum axl_round used where the design rounds its result */
};

typedef uint32_t (*axl_eval_fn)(const struct axl_design_ctx *c, uint32_t a, uint32_t b);

/* Batch forms of a design's eval (host only), so that the kernels ask for a
 * block of results per call instead of one call through a pointer per MAC:
 *   row:  out[i] = eval(c, a[i], b)     one weight code b, n activation codes
 *   pair: out[i] = eval(c, x[i], y[i])  n independent adds; out may be x or y
 * Lanes are independent, so each result is the scalar eval's, bit for bit.
 * Built-in designs have them (axl_design_batch); a user's file never defines
 * them: axlut generates them around its eval (axl_user_design_batch). */
typedef void (*axl_batch_row_fn)(const struct axl_design_ctx *c, const uint32_t *a, uint32_t b,
                                 uint32_t *out, int64_t n);
typedef void (*axl_batch_pair_fn)(const struct axl_design_ctx *c, const uint32_t *x,
                                  const uint32_t *y, uint32_t *out, int64_t n);

struct axl_design {
    uint32_t abi;            /* AXL_DESIGN_ABI */
    const char *name;        /* short identifier, [A-Za-z0-9_] (published names such as
                                EvoApprox's mul8u_FTA keep their case) */
    const char *description; /* one line */
    const char *citation;    /* the publication it implements */
    uint8_t op;              /* enum axl_op */
    uint8_t operands;        /* enum axl_operands */
    uint8_t mantissa_only;   /* floating design: sign/exponent exact */
    const char *fmt_a, *fmt_b, *fmt_r; /* AXL_OPERANDS_FIXED only */
    uint32_t nparams;
    struct axl_design_param params[AXL_DESIGN_MAX_PARAMS];
    axl_eval_fn eval;
    uint32_t version;        /* bump when the arithmetic changes */
    /* mantissa_only designs: name of the integer design applied to the two
     * (m+1)-bit significands (hidden bit included); a mantissa table is that
     * design's table over uint(m+1) x uint(m+1). */
    const char *mantissa_core;
};

/* What the emulator may assume of a built-in design beyond its function,
 * so that it can choose a faster evaluation that gives the same bits
 * (emu/mac/plan.c).  Declared by the registry, never guessed from names. */
enum axl_design_cap {
    /* the correctly rounded operation (exact for integers, IEEE-style
     * rounding into the result format for floats, in the context's rounding
     * mode): hardware arithmetic of a wider format plus one rounding gives
     * its bits */
    AXL_CAP_EXACT = 1u << 0,
    /* a floating design whose approximation is confined to the product of
     * the significands (mantissa_core), sign and exponent exact: a mantissa
     * table can serve it through axl_fpmul_split/join */
    AXL_CAP_MANTISSA = 1u << 1,
};

/* The AXL_CAP_* flags of a design; 0 for user designs. */
uint32_t axl_design_caps(const struct axl_design *d);

/* The batch forms of a design for this CPU (AVX-512, AVX2 or baseline
 * code, chosen once; AXL_CPU_KERNEL=avx2 or =scalar forces the narrower
 * ones).  Built-in designs: both set.  Others (user designs): both NULL,
 * for axl_user_design_batch to fill, and then the scalar loops below. */
struct axl_design_batch {
    axl_batch_row_fn row;
    axl_batch_pair_fn pair;
    axl_eval_fn eval; /* the scalar eval, for designs without batch forms */
};
struct axl_design_batch axl_design_batch(const struct axl_design *d);
/* The ISA of the built-in batch forms in use: "avx512", "avx2" or "scalar". */
const char *axl_design_batch_isa(void);
/* The batch forms, or the scalar eval in a loop where there are none. */
void axl_batch_row(const struct axl_design_batch *bt, const struct axl_design_ctx *c,
                   const uint32_t *a, uint32_t b, uint32_t *out, int64_t n);
void axl_batch_pair(const struct axl_design_batch *bt, const struct axl_design_ctx *c,
                    const uint32_t *x, const uint32_t *y, uint32_t *out, int64_t n);

/* out[i] = axl_format_decode(f, codes[i]), i < n, a block at a time (the
 * kernels' products and accumulators). */
void axl_batch_decode(const struct axl_format *f, const uint32_t *codes, float *out, int64_t n);
/* out[i] = axl_format_encode(f, in[i], AXL_ROUND_NEAREST_EVEN, 0), i < n
 * (the kernels' conversion of products into the accumulator format). */
void axl_batch_encode(const struct axl_format *f, const float *in, uint32_t *out, int64_t n);

/* Built-in designs. */
size_t axl_design_count(void);
const struct axl_design *axl_design_at(size_t i);
const struct axl_design *axl_design_find(const char *name);

/* Fill a context for `d` over operand formats fa, fb: checks that the
 * design accepts them, derives the result format (fr_override may be NULL)
 * and applies "name=value" parameters (defaults for the rest).  On error a
 * one-line message in msg. */
enum axl_status axl_design_bind(const struct axl_design *d, const struct axl_format *fa,
                                const struct axl_format *fb, const struct axl_format *fr_override,
                                const char *const *params, int nparams, struct axl_design_ctx *out,
                                char *msg);

#ifdef __cplusplus
}
#endif

#endif
