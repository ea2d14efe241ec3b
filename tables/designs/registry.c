/* The registry of built-in designs: one designated-initialiser table of
 * descriptors.  Every eval is the same thin wrapper around
 * axl_builtin_eval (builtin.h), which dispatches on the bound context's id;
 * the CUDA kernels call axl_builtin_eval directly. */
#include <string.h>

#include "axlut/design.h"
#include "designs/builtin.h"
#include "designs/registry.h"

static uint32_t eval_builtin(const struct axl_design_ctx *c, uint32_t a, uint32_t b)
{
    return axl_builtin_eval(c, a, b);
}

struct entry {
    uint32_t id;
    struct axl_design d;
};

#define CITE_MITCHELL                                                                              \
    "J. N. Mitchell, \"Computer Multiplication and Division Using Binary Logarithms\", IRE Trans. " \
    "Electronic Computers, EC-11(4), 512-517, 1962"
#define CITE_MBM                                                                                   \
    "H. Saadat, H. Bokhari, S. Parameswaran, \"Minimally Biased Multipliers for Approximate "      \
    "Integer and Floating-Point Multiplication\", IEEE TCAD 37(11), 2623-2635, 2018"
#define CITE_DRUM                                                                                  \
    "S. Hashemi, R. I. Bahar, S. Reda, \"DRUM: A Dynamic Range Unbiased Multiplier for "           \
    "Approximate Applications\", ICCAD 2015, 418-425"
#define CITE_MAHDIANI                                                                              \
    "H. R. Mahdiani, A. Ahmadi, S. M. Fakhraie, C. Lucas, \"Bio-Inspired Imprecise "               \
    "Computational Blocks for Efficient VLSI Implementation of Soft-Computing Applications\", "    \
    "IEEE TCAS-I 57(4), 850-862, 2010"
#define CITE_KULKARNI                                                                              \
    "P. Kulkarni, P. Gupta, M. Ercegovac, \"Trading Accuracy for Power with an Underdesigned "     \
    "Multiplier Architecture\", VLSI Design 2011, 346-351"
#define CITE_ROBA                                                                                  \
    "R. Zendegani, M. Kamal, M. Bahadori, A. Afzali-Kusha, M. Pedram, \"RoBA Multiplier: A "       \
    "Rounding-Based Approximate Multiplier for High-Speed yet Energy-Efficient Digital Signal "    \
    "Processing\", IEEE TVLSI 25(2), 393-401, 2017"
#define CITE_AMA5                                                                                  \
    "V. Gupta, D. Mohapatra, A. Raghunathan, K. Roy, \"Low-Power Digital Signal Processing Using " \
    "Approximate Adders\", IEEE TCAD 32(1), 124-137, 2013"
#define CITE_ETA1                                                                                  \
    "N. Zhu, W. L. Goh, W. Zhang, K. S. Yeo, Z. H. Kong, \"Design of Low-Power High-Speed "        \
    "Truncation-Error-Tolerant Adder and Its Application in Digital Signal Processing\", IEEE "    \
    "TVLSI 18(8), 1225-1229, 2010"
#define CITE_TRUNC                                                                                 \
    "truncated adder baseline, as compared in H. Jiang, J. Han, F. Lombardi, \"A Comparative "     \
    "Review and Evaluation of Approximate Adders\", GLSVLSI 2015, 343-348"
#define CITE_ACA                                                                                   \
    "A. K. Verma, P. Brisk, P. Ienne, \"Variable Latency Speculative Addition: A New Paradigm "    \
    "for Arithmetic Circuit Design\", DATE 2008, 1250-1255"
#define CITE_IEEE "IEEE 754-2019, correctly rounded operation, for generic eXmY formats"

#define FP_NOTE ", on the (m+1)-bit significands; sign and exponent exact; rounded by axl_format_pack"
#define FPADD_NOTE ", on the aligned significands (3 guard bits, sticky jammed); rounded by axl_format_pack"

#define P_K(def, lo, hi, what) {"k", def, lo, hi, what}
#define K_LOWER "number of low bits computed approximately"
#define K_DRUM "bits kept from each operand, starting at its leading one"
#define P_HBL(def) {"hbl", def, 0, 32, "horizontal break level: partial-product rows (bits of b) dropped"}
#define P_VBL(def) {"vbl", def, 0, 64, "vertical break level: product columns of weight < 2^vbl dropped"}
#define K_ACA "carry window: each sum bit sees carries from the k bits below it only"

#define MUL(name_, desc, cite, ops, mant) \
    .abi = AXL_DESIGN_ABI, .name = name_, .description = desc, .citation = cite, .op = AXL_OP_MUL, \
    .operands = ops, .mantissa_only = mant, .eval = eval_builtin, .version = 1
#define ADD(name_, desc, cite, ops) \
    .abi = AXL_DESIGN_ABI, .name = name_, .description = desc, .citation = cite, .op = AXL_OP_ADD, \
    .operands = ops, .mantissa_only = 0, .eval = eval_builtin, .version = 1

static const struct entry k_designs[] = {
    {AXL_DESIGN_MUL_EXACT,
     {MUL("mul_exact", "exact product; floats correctly rounded into the result format", CITE_IEEE,
          AXL_OPERANDS_ANY, 1), .mantissa_core = "mul_exact"}},
    {AXL_DESIGN_MITCHELL,
     {MUL("mitchell", "logarithmic multiplier: log2 approximated by k + fraction",
          CITE_MITCHELL, AXL_OPERANDS_ANYINT, 0)}},
    {AXL_DESIGN_MBM,
     {MUL("mbm", "Mitchell's multiplier plus a 1/12 error-reduction term: minimally biased",
          CITE_MBM, AXL_OPERANDS_ANYINT, 0)}},
    {AXL_DESIGN_DRUM,
     {MUL("drum", "k bits from each leading one, lowest forced to 1, exact k x k product",
          CITE_DRUM, AXL_OPERANDS_ANYINT, 0),
      .nparams = 1, .params = {P_K(6, 2, 32, K_DRUM)}}},
    {AXL_DESIGN_BAM,
     {MUL("bam", "broken-array multiplier: cells below the break levels omitted", CITE_MAHDIANI,
          AXL_OPERANDS_ANYINT, 0),
      .nparams = 2, .params = {P_HBL(0), P_VBL(6)}}},
    {AXL_DESIGN_KULKARNI,
     {MUL("kulkarni", "underdesigned multiplier from 2x2 blocks with 3 x 3 = 7", CITE_KULKARNI,
          AXL_OPERANDS_ANYINT, 0)}},
    {AXL_DESIGN_ROBA,
     {MUL("roba", "operands rounded to powers of two; (x - xr)(y - yr) dropped", CITE_ROBA,
          AXL_OPERANDS_ANYINT, 0)}},
    {AXL_DESIGN_ADD_EXACT,
     {ADD("add_exact", "exact sum; floats correctly rounded into the result format", CITE_IEEE,
          AXL_OPERANDS_ANY)}},
    {AXL_DESIGN_LOA,
     {ADD("loa", "lower-part OR adder: low k bits ORed, AND of their top bits as carry",
          CITE_MAHDIANI, AXL_OPERANDS_ANYINT),
      .nparams = 1, .params = {P_K(4, 0, 32, K_LOWER)}}},
    {AXL_DESIGN_AMA5,
     {ADD("ama5", "approximate mirror adder 5 in the low k bits: sum = b, carry = a", CITE_AMA5,
          AXL_OPERANDS_ANYINT),
      .nparams = 1, .params = {P_K(4, 0, 32, K_LOWER)}}},
    {AXL_DESIGN_ETA1,
     {ADD("eta1", "error-tolerant adder I: low k bits XOR until the first 1+1, then all ones",
          CITE_ETA1, AXL_OPERANDS_ANYINT),
      .nparams = 1, .params = {P_K(4, 0, 32, K_LOWER)}}},
    {AXL_DESIGN_TRUNC_ADD,
     {ADD("trunc_add", "truncated adder: low k bits of the operands dropped, sum bits 0",
          CITE_TRUNC, AXL_OPERANDS_ANYINT),
      .nparams = 1, .params = {P_K(4, 0, 32, K_LOWER)}}},
    {AXL_DESIGN_ACA,
     {ADD("aca", "almost correct adder: carry of each bit speculated from k bits below",
          CITE_ACA, AXL_OPERANDS_ANYINT),
      .nparams = 1, .params = {P_K(4, 1, 64, K_ACA)}}},
    {AXL_DESIGN_FPMUL_MITCHELL,
     {MUL("fpmul_mitchell", "Mitchell's multiplier" FP_NOTE, CITE_MITCHELL, AXL_OPERANDS_FLOAT, 1), .mantissa_core = "mitchell"}},
    {AXL_DESIGN_FPMUL_MBM,
     {MUL("fpmul_mbm", "minimally biased multiplier" FP_NOTE, CITE_MBM, AXL_OPERANDS_FLOAT, 1), .mantissa_core = "mbm"}},
    {AXL_DESIGN_FPMUL_DRUM,
     {MUL("fpmul_drum", "DRUM" FP_NOTE, CITE_DRUM, AXL_OPERANDS_FLOAT, 1), .mantissa_core = "drum",
      .nparams = 1, .params = {P_K(4, 2, 32, K_DRUM)}}},
    {AXL_DESIGN_FPMUL_BAM,
     {MUL("fpmul_bam", "broken-array multiplier" FP_NOTE, CITE_MAHDIANI, AXL_OPERANDS_FLOAT, 1), .mantissa_core = "bam",
      .nparams = 2, .params = {P_HBL(0), P_VBL(3)}}},
    {AXL_DESIGN_FPMUL_KULKARNI,
     {MUL("fpmul_kulkarni", "Kulkarni's underdesigned multiplier" FP_NOTE, CITE_KULKARNI,
          AXL_OPERANDS_FLOAT, 1), .mantissa_core = "kulkarni"}},
    {AXL_DESIGN_FPMUL_ROBA,
     {MUL("fpmul_roba", "RoBA multiplier" FP_NOTE, CITE_ROBA, AXL_OPERANDS_FLOAT, 1), .mantissa_core = "roba"}},
    {AXL_DESIGN_FPADD_LOA,
     {ADD("fpadd_loa", "lower-part OR adder" FPADD_NOTE, CITE_MAHDIANI, AXL_OPERANDS_FLOAT),
      .nparams = 1, .params = {P_K(4, 0, 32, K_LOWER)}}},
    {AXL_DESIGN_FPADD_AMA5,
     {ADD("fpadd_ama5", "approximate mirror adder 5" FPADD_NOTE, CITE_AMA5, AXL_OPERANDS_FLOAT),
      .nparams = 1, .params = {P_K(4, 0, 32, K_LOWER)}}},
    {AXL_DESIGN_FPADD_ETA1,
     {ADD("fpadd_eta1", "error-tolerant adder I" FPADD_NOTE, CITE_ETA1, AXL_OPERANDS_FLOAT),
      .nparams = 1, .params = {P_K(4, 0, 32, K_LOWER)}}},
    {AXL_DESIGN_FPADD_TRUNC_ADD,
     {ADD("fpadd_trunc_add", "truncated adder" FPADD_NOTE, CITE_TRUNC, AXL_OPERANDS_FLOAT),
      .nparams = 1, .params = {P_K(4, 0, 32, K_LOWER)}}},
    {AXL_DESIGN_FPADD_ACA,
     {ADD("fpadd_aca", "almost correct adder" FPADD_NOTE, CITE_ACA, AXL_OPERANDS_FLOAT),
      .nparams = 1, .params = {P_K(4, 1, 64, K_ACA)}}},
};

#define N_DESIGNS (sizeof k_designs / sizeof k_designs[0])

size_t axl_design_count(void) { return N_DESIGNS; }

const struct axl_design *axl_design_at(size_t i) { return i < N_DESIGNS ? &k_designs[i].d : NULL; }

const struct axl_design *axl_design_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < N_DESIGNS; i++)
        if (!strcmp(k_designs[i].d.name, name))
            return &k_designs[i].d;
    return NULL;
}

/* The capabilities a descriptor cannot say (AXL_CAP_MANTISSA it says). */
static const uint32_t k_caps[AXL_DESIGN_ID_END_] = {
    [AXL_DESIGN_MUL_EXACT] = AXL_CAP_EXACT,
    [AXL_DESIGN_ADD_EXACT] = AXL_CAP_EXACT,
};

uint32_t axl_design_caps(const struct axl_design *d)
{
    for (size_t i = 0; i < N_DESIGNS; i++)
        if (d == &k_designs[i].d)
            return k_caps[k_designs[i].id] |
                   (d->mantissa_only && d->mantissa_core ? (uint32_t)AXL_CAP_MANTISSA : 0u);
    return 0;
}

uint32_t axl_design_builtin_id(const struct axl_design *d)
{
    for (size_t i = 0; i < N_DESIGNS; i++)
        if (d == &k_designs[i].d)
            return k_designs[i].id;
    return AXL_DESIGN_USER;
}
