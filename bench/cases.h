/* The cases of `axlut bench`: shapes (ResNet-18's 3x3 convolutions at
 * 224x224 input, a 1024^3 GEMM, smaller ones for --quick and tests) crossed
 * with MAC configurations (an 8-bit integer table, an fp8 table, a floating
 * design on the function path in bf16 and fp32, an approximate adder into
 * an fp16 accumulator). */
#ifndef AXLUT_BENCH_CASES_H
#define AXLUT_BENCH_CASES_H

#include <stddef.h>

#include "axlut/mac.h"
#include "baselines.h"

/* Which runs include a shape (bit set). */
enum {
    BENCH_FULL = 1,     /* the default run */
    BENCH_QUICK = 2,    /* --quick */
    BENCH_FN_FULL = 4,  /* the function-path config runs on it in the default run */
    BENCH_FN_QUICK = 8, /* ... and in --quick (it is slow: few, small shapes) */
    BENCH_TINY = 16,    /* only when asked for by name (tests); every config */
};

struct bench_shape {
    const char *name;  /* "conv64_56x56_b1" */
    const char *group; /* "resnet18", "gemm", "tiny" */
    struct bench_dims d;
    unsigned runs;     /* BENCH_* bits */
};

struct bench_config {
    const char *name;  /* "int8_mitchell" */
    const char *mul;   /* built-in design */
    const char *param; /* "k=4" or NULL */
    const char *fmt;   /* activations and weights */
    enum axl_path path;
    const char *lut_fmt; /* 8-bit format of the naive LUT baseline's table */
    int function_path;   /* 1: only on shapes with BENCH_FN_* for the run (the slow
                            paths: design functions, approximate adders) */
    const char *add;       /* adder design, or NULL for exact float32 adds */
    const char *add_param; /* "k=4" or NULL */
    const char *acc_fmt;   /* the adder's accumulator format */
};

size_t bench_shape_count(void);
const struct bench_shape *bench_shape_at(size_t i);
size_t bench_config_count(void);
/* 1 where the config's operands are scaled into the format's range
 * (per-channel weights, dynamic activations), as FP4 / FP6 layers are run:
 * the bench's inputs lie below e2m1's smallest subnormal otherwise. */
int bench_config_scaled(const struct bench_config *c);
const struct bench_config *bench_config_at(size_t i);

/* A shape's one-line description: "conv N=1 C=64 56x56 -> OC=64 3x3 s1 p1". */
void bench_shape_describe(const struct bench_shape *s, char *buf, size_t len);

/* 1 when shape s with config c belongs to a run: name NULL selects the
 * cases of the full or the --quick run; a name selects the case
 * ("shape/config", always), a shape or a group ("tiny" included; the
 * function path only on its BENCH_FN_* and tiny shapes), or a config on the
 * shapes of the run. */
int bench_case_selected(const struct bench_shape *s, const struct bench_config *c, int quick,
                        const char *name);

#endif
