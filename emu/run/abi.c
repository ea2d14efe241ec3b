/* The layout table of include/axlut/abi.h, computed by the compiler from the
 * public headers (offsetof, sizeof), so that it cannot disagree with them.
 * A field added to a covered structure must be listed here too: the test
 * (tests/test_abi.c) checks that the listed fields tile each structure up
 * to its size, so a field left out shows as a gap. */
#include <axlut/abi.h>

#include <string.h>

#include <axlut/design.h>
#include <axlut/format.h>
#include <axlut/layers.h>
#include <axlut/mac.h>
#include <axlut/run.h>
#include <axlut/table.h>

struct abi_field {
    const char *name;
    size_t offset, size;
};

struct abi_struct {
    const char *name;
    size_t size;
    const struct abi_field *fields;
    size_t nfields;
};

#define F(T, f) {#f, offsetof(struct T, f), sizeof(((struct T *)0)->f)}
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct abi_field format_f[] = {
    F(axl_format, kind),       F(axl_format, bits),     F(axl_format, ebits),
    F(axl_format, mbits),      F(axl_format, special),  F(axl_format, subnormals),
    F(axl_format, overflow),   F(axl_format, pad_),     F(axl_format, bias),
    F(axl_format, name),
};

static const struct abi_field design_param_f[] = {
    F(axl_design_param, name), F(axl_design_param, def), F(axl_design_param, min),
    F(axl_design_param, max),  F(axl_design_param, help),
};

static const struct abi_field design_f[] = {
    F(axl_design, abi),           F(axl_design, name),       F(axl_design, description),
    F(axl_design, citation),      F(axl_design, op),         F(axl_design, operands),
    F(axl_design, mantissa_only), F(axl_design, fmt_a),      F(axl_design, fmt_b),
    F(axl_design, fmt_r),         F(axl_design, nparams),    F(axl_design, params),
    F(axl_design, eval),          F(axl_design, version),    F(axl_design, mantissa_core),
};

static const struct abi_field design_ctx_f[] = {
    F(axl_design_ctx, fa),    F(axl_design_ctx, fb), F(axl_design_ctx, fr),
    F(axl_design_ctx, param), F(axl_design_ctx, id), F(axl_design_ctx, round),
};

static const struct abi_field metrics_f[] = {
    F(axl_metrics, pairs),        F(axl_metrics, compared),
    F(axl_metrics, errors),       F(axl_metrics, nan_results),
    F(axl_metrics, inf_results),  F(axl_metrics, exact_nonfinite),
    F(axl_metrics, special_mismatch), F(axl_metrics, rel_pairs),
    F(axl_metrics, ep),           F(axl_metrics, mean_error),
    F(axl_metrics, mae),          F(axl_metrics, mse),
    F(axl_metrics, rmse),         F(axl_metrics, wce),
    F(axl_metrics, mred),         F(axl_metrics, wre),
    F(axl_metrics, max_exact),    F(axl_metrics, nmed),
    F(axl_metrics, wce_a),        F(axl_metrics, wce_b),
    F(axl_metrics, wre_a),        F(axl_metrics, wre_b),
    F(axl_metrics, output_range), F(axl_metrics, ep_pct),
    F(axl_metrics, mre_pct),      F(axl_metrics, wcre_pct),
    F(axl_metrics, mae_pct),      F(axl_metrics, wce_pct),
    F(axl_metrics, hist_range),   F(axl_metrics, hist),
    F(axl_metrics, samples),      F(axl_metrics, seed),
    F(axl_metrics, ci95_mean_error), F(axl_metrics, ci95_mae),
    F(axl_metrics, ci95_mse),     F(axl_metrics, ci95_mred),
    F(axl_metrics, ci95_ep),
};

static const struct abi_field table_info_f[] = {
    F(axl_table_info, path),           F(axl_table_info, op),
    F(axl_table_info, round),          F(axl_table_info, fa),
    F(axl_table_info, fb),             F(axl_table_info, fr),
    F(axl_table_info, ta),             F(axl_table_info, tb),
    F(axl_table_info, tr),             F(axl_table_info, rows),
    F(axl_table_info, cols),           F(axl_table_info, entry_bytes),
    F(axl_table_info, design_version), F(axl_table_info, nparams),
    F(axl_table_info, param_names),    F(axl_table_info, param),
    F(axl_table_info, design),         F(axl_table_info, core_design),
    F(axl_table_info, description),    F(axl_table_info, citation),
    F(axl_table_info, parameters),     F(axl_table_info, source_sha256),
    F(axl_table_info, generator_version), F(axl_table_info, generator_commit),
    F(axl_table_info, created),        F(axl_table_info, metrics),
    F(axl_table_info, metrics_only),   F(axl_table_info, block_format),
};

static const struct abi_field table_opts_f[] = {
    F(axl_table_opts, threads),       F(axl_table_opts, max_bits),
    F(axl_table_opts, progress),      F(axl_table_opts, progress_user),
    F(axl_table_opts, source_sha256), F(axl_table_opts, mantissa_core),
    F(axl_table_opts, skip_metrics),  F(axl_table_opts, block_format),
};

static const struct abi_field mac_spec_f[] = {
    F(axl_mac_spec, mul),            F(axl_mac_spec, mul_params),
    F(axl_mac_spec, n_mul_params),   F(axl_mac_spec, fmt_a),
    F(axl_mac_spec, fmt_w),          F(axl_mac_spec, fmt_p),
    F(axl_mac_spec, round),          F(axl_mac_spec, seed),
    F(axl_mac_spec, add),            F(axl_mac_spec, add_params),
    F(axl_mac_spec, n_add_params),   F(axl_mac_spec, fmt_acc),
    F(axl_mac_spec, order),          F(axl_mac_spec, chunk),
    F(axl_mac_spec, path),           F(axl_mac_spec, max_table_bits),
    F(axl_mac_spec, wquant),         F(axl_mac_spec, act_range_set),
    F(axl_mac_spec, act_min),        F(axl_mac_spec, act_max),
    F(axl_mac_spec, wscale),         F(axl_mac_spec, ascale),
    F(axl_mac_spec, scale_pow2),     F(axl_mac_spec, scale_margin),
    F(axl_mac_spec, act_amax),       F(axl_mac_spec, block_add),
    F(axl_mac_spec, block_add_params), F(axl_mac_spec, n_block_add_params),
    F(axl_mac_spec, fmt_block_acc),
};

static const struct abi_field gemm_args_f[] = {
    F(axl_gemm_args, trans_a), F(axl_gemm_args, trans_b), F(axl_gemm_args, m),
    F(axl_gemm_args, n),       F(axl_gemm_args, k),       F(axl_gemm_args, a),
    F(axl_gemm_args, lda),     F(axl_gemm_args, b),       F(axl_gemm_args, ldb),
    F(axl_gemm_args, bias),    F(axl_gemm_args, c),       F(axl_gemm_args, ldc),
};

static const struct abi_field conv_args_f[] = {
    F(axl_conv_args, n),        F(axl_conv_args, c),        F(axl_conv_args, h),
    F(axl_conv_args, w),        F(axl_conv_args, oc),       F(axl_conv_args, kh),
    F(axl_conv_args, kw),       F(axl_conv_args, stride_h), F(axl_conv_args, stride_w),
    F(axl_conv_args, pad_t),    F(axl_conv_args, pad_l),    F(axl_conv_args, pad_b),
    F(axl_conv_args, pad_r),    F(axl_conv_args, dil_h),    F(axl_conv_args, dil_w),
    F(axl_conv_args, groups),   F(axl_conv_args, x),        F(axl_conv_args, weight),
    F(axl_conv_args, bias),     F(axl_conv_args, y),
};

static const struct abi_field layer_macs_f[] = {
    F(axl_layer_macs, n), F(axl_layer_macs, macs), F(axl_layer_macs, owned),
    F(axl_layer_macs, nowned),
};

static const struct abi_field run_settings_f[] = {
    F(axl_run_settings, backend),      F(axl_run_settings, batch),
    F(axl_run_settings, limit),        F(axl_run_settings, progress),
    F(axl_run_settings, progress_user), F(axl_run_settings, save_outputs),
    F(axl_run_settings, save_layers),  F(axl_run_settings, no_reference),
};

static const struct abi_field run_report_f[] = {
    F(axl_run_report, samples),       F(axl_run_report, batch),
    F(axl_run_report, batching),      F(axl_run_report, has_labels),
    F(axl_run_report, top_k),         F(axl_run_report, top1),
    F(axl_run_report, top5),          F(axl_run_report, exact_top1),
    F(axl_run_report, exact_top5),    F(axl_run_report, agreement),
    F(axl_run_report, seconds),       F(axl_run_report, exact_seconds),
    F(axl_run_report, samples_per_s), F(axl_run_report, nlayers),
    F(axl_run_report, layers),        F(axl_run_report, out_sums),
    F(axl_run_report, output_error),  F(axl_run_report, reference),
};

#define S(T, fields) {#T, sizeof(struct T), fields, COUNT(fields)}

static const struct abi_struct structs[] = {
    S(axl_format, format_f),         S(axl_design_param, design_param_f),
    S(axl_design, design_f),         S(axl_design_ctx, design_ctx_f),
    S(axl_metrics, metrics_f),       S(axl_table_info, table_info_f),
    S(axl_table_opts, table_opts_f), S(axl_mac_spec, mac_spec_f),
    S(axl_gemm_args, gemm_args_f),   S(axl_conv_args, conv_args_f),
    S(axl_layer_macs, layer_macs_f), S(axl_run_settings, run_settings_f),
    S(axl_run_report, run_report_f),
};

static const struct abi_struct *find(const char *type)
{
    if (!type)
        return NULL;
    for (size_t i = 0; i < COUNT(structs); i++)
        if (!strcmp(structs[i].name, type))
            return &structs[i];
    return NULL;
}

size_t axl_abi_sizeof(const char *type)
{
    const struct abi_struct *s = find(type);
    return s ? s->size : 0;
}

const char *axl_abi_field(const char *type, size_t i, size_t *offset, size_t *size)
{
    const struct abi_struct *s = find(type);
    if (!s || i >= s->nfields)
        return NULL;
    if (offset)
        *offset = s->fields[i].offset;
    if (size)
        *size = s->fields[i].size;
    return s->fields[i].name;
}
