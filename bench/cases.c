/* The case table of `axlut bench`. */
#include <stdio.h>
#include <string.h>

#include "cases.h"

#define CONV(n_, c_, hw_) {.n = n_, .c = c_, .h = hw_, .w = hw_, .oc = c_, .k = 3, .stride = 1, .pad = 1}
#define GEMM(m_, n_, k_) {.is_gemm = 1, .gm = m_, .gn = n_, .gk = k_}

static const struct bench_shape k_shapes[] = {
    /* ResNet-18 at 224x224: the 3x3 convolutions of layer1..layer4 */
    {"conv64_56x56_b1", "resnet18", CONV(1, 64, 56), BENCH_FULL | BENCH_QUICK | BENCH_FN_FULL},
    {"conv128_28x28_b1", "resnet18", CONV(1, 128, 28), BENCH_FULL | BENCH_QUICK},
    {"conv256_14x14_b1", "resnet18", CONV(1, 256, 14), BENCH_FULL},
    {"conv512_7x7_b1", "resnet18", CONV(1, 512, 7), BENCH_FULL | BENCH_FN_FULL},
    {"conv64_56x56_b8", "resnet18", CONV(8, 64, 56), BENCH_FULL},
    {"conv128_28x28_b8", "resnet18", CONV(8, 128, 28), BENCH_FULL},
    {"conv256_14x14_b8", "resnet18", CONV(8, 256, 14), BENCH_FULL},
    {"conv512_7x7_b8", "resnet18", CONV(8, 512, 7), BENCH_FULL},
    /* issue 19: the batch that must not be slower per MAC than batch 1, and
     * a 1024 -> 1024 linear layer over 256 rows (M=256: rows, N: outputs) */
    {"conv64_56x56_b16", "resnet18", CONV(16, 64, 56), BENCH_FULL},
    {"gemm1024", "gemm", GEMM(1024, 1024, 1024), BENCH_FULL},
    {"linear256x1024x1024", "gemm", GEMM(256, 1024, 1024), BENCH_FULL},
    {"gemm256", "gemm", GEMM(256, 256, 256), BENCH_QUICK | BENCH_FN_QUICK},
    /* for tests: stride 2 and odd sizes so that indexing mistakes show */
    {"tiny_conv", "tiny", {.n = 2, .c = 3, .h = 9, .w = 7, .oc = 5, .k = 3, .stride = 2, .pad = 1},
     BENCH_TINY},
    {"tiny_gemm", "tiny", GEMM(17, 9, 33), BENCH_TINY},
};

static const struct bench_config k_configs[] = {
    {"int8_mitchell", "mitchell", NULL, "int8", AXL_PATH_TABLE, "int8", 0, NULL, NULL, NULL},
    {"e4m3_drum4", "fpmul_drum", "k=4", "e4m3", AXL_PATH_TABLE, "e4m3", 0, NULL, NULL, NULL},
    /* no 16-bit table fits; its naive baseline is the e4m3 table of the
     * same design, which is what a peer tool would fall back to */
    {"bf16_mitchell_fn", "fpmul_mitchell", NULL, "bf16", AXL_PATH_FUNCTION, "e4m3", 1, NULL, NULL, NULL},
    {"fp32_mitchell_fn", "fpmul_mitchell", NULL, "fp32", AXL_PATH_FUNCTION, "e4m3", 1, NULL, NULL, NULL},
    /* the e4m3 table's products added by an approximate adder on fp16
     * codes: the adder's cost, against e4m3_drum4's float32 adds */
    {"e4m3_drum4_loa16", "fpmul_drum", "k=4", "e4m3", AXL_PATH_TABLE, "e4m3", 1, "fpadd_loa",
     "k=4", "fp16"},
    /* small tables held in registers (emu/mac/cpu/small.c): 4-bit and 6-bit
     * operands on the same shapes as int8_mitchell; the naive baseline keeps
     * the 8-bit table a peer tool would use */
    {"int4_mitchell", "mitchell", NULL, "int4", AXL_PATH_TABLE, "int8", 0, NULL, NULL, NULL},
    {"e2m1_exact", "mul_exact", NULL, "e2m1", AXL_PATH_TABLE, "e4m3", 0, NULL, NULL, NULL},
    {"e2m1_mitchell", "fpmul_mitchell", NULL, "e2m1", AXL_PATH_TABLE, "e4m3", 0, NULL, NULL, NULL},
    {"e3m2_mitchell", "fpmul_mitchell", NULL, "e3m2", AXL_PATH_TABLE, "e4m3", 0, NULL, NULL, NULL},
    /* block-scaled layers (OCP MX) against the unscaled table paths of
     * their element formats (e2m1_exact above, scaled per tensor) and exact
     * BLAS in the same run; marked like the
     * slow paths so that they run on a few shapes only (select them by
     * name: `axlut bench --case mxfp4_exact`) */
    {"e4m3_exact", "mul_exact", NULL, "e4m3", AXL_PATH_TABLE, "e4m3", 1, NULL, NULL, NULL},
    {"mxfp8_exact", "mul_exact", NULL, "mxfp8", AXL_PATH_TABLE, "e4m3", 1, NULL, NULL, NULL},
    {"mxfp4_exact", "mul_exact", NULL, "mxfp4", AXL_PATH_TABLE, "e4m3", 1, NULL, NULL, NULL},
    /* the mantissa path's slow case (a code accumulator): bf16 products
     * from the design's batch forms where the mantissa table is the core's
     * (plan.h: mt_is_core), before them a split-lookup-join per product */
    {"bf16_mitchell_mant_loa16", "fpmul_mitchell", NULL, "bf16", AXL_PATH_MANTISSA, "e4m3", 1,
     "fpadd_loa", "k=4", "fp16"},
    /* the integer function path: int8 products from the design's batch
     * form (vectorised with int8's widths as constants, batch_spec.h:
     * k_ispec), against int8_mitchell's table on the same shapes */
    {"int8_mitchell_fn", "mitchell", NULL, "int8", AXL_PATH_FUNCTION, "int8", 1, NULL, NULL, NULL},
    /* approximate adders in integer layers (AXL_ACC_INT_ADD): int8_mitchell's
     * table products added by LOA (k = 4) into an int16 and an int32
     * register, a block of adds per call of the adder's batch form; int8
     * products overflow an int16 register on these sums (it wraps), so the
     * first measures speed, not accuracy */
    {"int8_mitchell_loa16", "mitchell", NULL, "int8", AXL_PATH_TABLE, "int8", 1, "loa", "k=4",
     "int16"},
    {"int8_mitchell_loa32", "mitchell", NULL, "int8", AXL_PATH_TABLE, "int8", 1, "loa", "k=4",
     "int32"},
    /* exact bf16/fp16 arithmetic (the format study's 16-bit points): fp16
     * products into float32 sums, and the e4m3 table's products added
     * exactly into a bf16 accumulator (every add rounded), in sequential
     * order (kernels.c: the fused loops) */
    {"fp16_exact", "mul_exact", NULL, "fp16", AXL_PATH_AUTO, "e4m3", 1, NULL, NULL, NULL},
    {"e4m3_exact_bf16acc", "mul_exact", NULL, "e4m3", AXL_PATH_TABLE, "e4m3", 1, "add_exact", NULL,
     "bf16"},
};

size_t bench_shape_count(void) { return sizeof k_shapes / sizeof k_shapes[0]; }
const struct bench_shape *bench_shape_at(size_t i) { return &k_shapes[i]; }
size_t bench_config_count(void) { return sizeof k_configs / sizeof k_configs[0]; }
const struct bench_config *bench_config_at(size_t i) { return &k_configs[i]; }

int bench_config_scaled(const struct bench_config *c)
{
    static const char *const scaled[] = {"e2m1_exact", "e2m1_mitchell", "e3m2_mitchell"};
    for (size_t i = 0; i < sizeof scaled / sizeof scaled[0]; i++)
        if (!strcmp(c->name, scaled[i]))
            return 1;
    return 0;
}

void bench_shape_describe(const struct bench_shape *s, char *buf, size_t len)
{
    const struct bench_dims *d = &s->d;
    if (d->is_gemm)
        snprintf(buf, len, "gemm M=%lld N=%lld K=%lld", (long long)d->gm, (long long)d->gn,
                 (long long)d->gk);
    else
        snprintf(buf, len, "conv N=%lld C=%lld %lldx%lld -> OC=%lld %lldx%lld s%lld p%lld",
                 (long long)d->n, (long long)d->c, (long long)d->h, (long long)d->w,
                 (long long)d->oc, (long long)d->k, (long long)d->k, (long long)d->stride,
                 (long long)d->pad);
}

int bench_case_selected(const struct bench_shape *s, const struct bench_config *c, int quick,
                        const char *name)
{
    unsigned run = quick ? BENCH_QUICK : BENCH_FULL, fn = quick ? BENCH_FN_QUICK : BENCH_FN_FULL;
    int in_run = (s->runs & run) && (!c->function_path || (s->runs & fn));
    if (!name)
        return in_run;
    char full[160];
    snprintf(full, sizeof full, "%s/%s", s->name, c->name);
    if (!strcmp(name, full))
        return 1;
    if (!strcmp(name, c->name)) /* a config: on the shapes of the run */
        return in_run;
    if (strcmp(name, s->name) && strcmp(name, s->group))
        return 0;
    /* a shape or group: the function path only where it is affordable */
    return !c->function_path || (s->runs & (BENCH_TINY | BENCH_FN_FULL | BENCH_FN_QUICK));
}
