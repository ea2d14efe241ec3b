/* An example user design: an 8x8 unsigned truncated multiplier.
 *
 * The array multiplier's partial-product bits a_i * b_j of weight
 * 2^(i+j) < 2^k are never built (the k lowest product columns are cut
 * away, without a correction constant), as in the truncated multipliers
 * of Schulte and Swartzlander, "Truncated multiplication with correction
 * constant", VLSI Signal Processing VI, 1993 (here k = 0 is exact).
 *
 * Build its table and metrics with
 *
 *     axlut gen tables/examples/my_lomul.c --param k=6 --format uint8 -o lomul.h5
 *
 * axlut compiles this file with the system C compiler (cc or $CC) into a
 * cached shared object and evaluates axl_user_design over all 256 x 256
 * operand pairs.  `a` is the activation (table row), `b` the weight
 * (table column).  The evaluation runs in a child process: if the code
 * crashes or never returns (limit: --timeout, 60 s by default), axlut
 * reports the signal and the operand pair and writes nothing.
 *
 * Wrapping a model with another signature.  Many published C libraries of
 * circuits (EvoApprox8b's C models, for instance) define
 *
 *     uint64_t mul8u_xyz(uint64_t B, uint64_t A);
 *
 * with the operands in the other order.  Paste that function into this
 * file and let eval call it with the operands swapped back:
 *
 *     static uint32_t eval_wrapped(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
 *     {
 *         (void)c;
 *         return (uint32_t)mul8u_xyz(b, a);  // the library's first argument is B
 *     }
 *
 * and set .eval = eval_wrapped, .nparams = 0 below.  For a signed model
 * (int8 operands), convert codes to values first: (int8_t)a, and return
 * the product's low 16 bits: (uint32_t)(p & 0xFFFF).
 */
#include <axlut/design.h>

static uint32_t lomul_eval(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    const int k = c->param[0];
    uint32_t p = 0;
    for (int j = 0; j < 8; j++) {      /* one partial-product row per bit of b */
        if (!((b >> j) & 1u))
            continue;
        uint32_t row = a << j;          /* bits of weight 2^(i+j) */
        if (k > 0)
            row &= ~((1u << k) - 1u);   /* columns below 2^k are not built */
        p += row;
    }
    return p & 0xFFFFu;
}

const struct axl_design axl_user_design = {
    .abi = AXL_DESIGN_ABI,
    .name = "my_lomul",
    .description = "8x8 unsigned truncated multiplier: product columns below 2^k omitted",
    .citation = "M. J. Schulte, E. E. Swartzlander, \"Truncated multiplication with correction "
                "constant\", VLSI Signal Processing VI, 1993 (without the constant)",
    .op = AXL_OP_MUL,
    .operands = AXL_OPERANDS_FIXED,
    .fmt_a = "uint8",
    .fmt_b = "uint8",
    .fmt_r = "uint16",
    .nparams = 1,
    .params = {{"k", 6, 0, 15, "product columns of weight < 2^k omitted"}},
    .eval = lomul_eval,
    .version = 1,
};
