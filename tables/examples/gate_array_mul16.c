/* An example gate-level user design: a 16x16 unsigned array multiplier
 * simulated gate by gate (AND partial products, rows of ripple-carry full
 * adders of XOR/AND/OR gates), whose cells in the k lowest product columns
 * are replaced by a single OR gate without a carry, as in the lower-part-OR
 * adder of Mahdiani et al., "Bio-Inspired Imprecise Computational Blocks
 * for Efficient VLSI Implementation of Soft-Computing Applications", IEEE
 * TCAS-I 57(4), 2010 (k = 0 is exact).
 *
 * Each pair costs some 1,500 gate evaluations, so this is the slow end of
 * what `axlut gen --metrics-only` meets; tools/bench_scale.sh measures its
 * pairs/s.  Its 2^32 pairs are characterised with
 *
 *     axlut gen tables/examples/gate_array_mul16.c --param k=8 --format uint16 \
 *         --metrics-only -o m.h5
 *     mpirun -n 64 axlut gen tables/examples/gate_array_mul16.c --param k=8 --format uint16 ...
 *
 * or sampled with --samples N.
 */
#include <axlut/design.h>

static uint32_t gate_eval(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    const int k = c->param[0];
    uint8_t s[33] = {0}; /* the running sum, one bit per product column */
    for (int j = 0; j < 16; j++) {
        const uint32_t bj = (b >> j) & 1u;
        uint32_t carry = 0;
        for (int i = 0; i < 16; i++) {
            const int col = i + j;
            const uint32_t x = s[col], y = ((a >> i) & 1u) & bj; /* AND gate */
            if (col < k) {
                s[col] = (uint8_t)(x | y); /* approximate cell: one OR, no carry */
                continue;
            }
            const uint32_t h = x ^ y; /* full adder: two XOR, two AND, one OR */
            s[col] = (uint8_t)(h ^ carry);
            carry = (x & y) | (carry & h);
        }
        /* the sum so far is below 2^(j+16): column j+16 is still empty */
        s[j + 16] = (uint8_t)carry;
    }
    uint32_t p = 0;
    for (int col = 0; col < 32; col++)
        p |= (uint32_t)s[col] << col;
    return p;
}

const struct axl_design axl_user_design = {
    .abi = AXL_DESIGN_ABI,
    .name = "gate_array_mul16",
    .description = "16x16 unsigned array multiplier simulated gate by gate; cells of the k "
                   "lowest columns are OR gates without carry",
    .citation = "H. R. Mahdiani, A. Ahmadi, S. M. Fakhraie, C. Lucas, IEEE TCAS-I 57(4), "
                "850-862, 2010 (lower-part OR)",
    .op = AXL_OP_MUL,
    .operands = AXL_OPERANDS_UINT, /* bound to uint16 (--format uint16): result uint32 */
    .nparams = 1,
    .params = {{"k", 8, 0, 32, "product columns below 2^k built from OR gates"}},
    .eval = gate_eval,
    .version = 1,
};
