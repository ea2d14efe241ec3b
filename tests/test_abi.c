/* include/axlut/abi.h: the layout table bindings check their mirrors
 * against.  Spot values come from offsetof/sizeof written here (the fields
 * that diverged between branches: a Python mirror without them corrupted
 * the caller's heap); every covered structure is checked to be tiled by its
 * listed fields, so a field added to a header but not to emu/run/abi.c
 * shows as a gap larger than alignment padding. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>

#include "axlut/abi.h"
#include "axlut/mac.h"
#include "axlut/run.h"

static const char *covered[] = {
    "axl_format",     "axl_design_param", "axl_design",      "axl_design_ctx",
    "axl_metrics",    "axl_table_info",   "axl_table_opts",  "axl_mac_spec",
    "axl_gemm_args",  "axl_conv_args",    "axl_layer_macs",  "axl_run_settings",
    "axl_run_report",
};

static size_t field_offset(const char *type, const char *name, size_t *size)
{
    size_t off = 0;
    const char *f;
    for (size_t i = 0; (f = axl_abi_field(type, i, &off, size)); i++)
        if (!strcmp(f, name))
            return off;
    cr_assert_fail("%s.%s: not listed", type, name);
    return 0;
}

Test(abi, sizes_and_fields_agree_with_the_headers)
{
    cr_assert_eq(axl_abi_sizeof("axl_run_report"), sizeof(struct axl_run_report));
    cr_assert_eq(axl_abi_sizeof("axl_mac_spec"), sizeof(struct axl_mac_spec));
    size_t sz = 0;
    cr_assert_eq(field_offset("axl_run_report", "batching", &sz),
                 offsetof(struct axl_run_report, batching));
    cr_assert_eq(sz, sizeof(((struct axl_run_report *)0)->batching));
    cr_assert_eq(field_offset("axl_run_report", "output_error", &sz),
                 offsetof(struct axl_run_report, output_error));
    cr_assert_eq(sz, sizeof(struct axl_error));
    cr_assert_eq(field_offset("axl_mac_spec", "act_amax", &sz),
                 offsetof(struct axl_mac_spec, act_amax));
    cr_assert_eq(sz, sizeof(float));
    cr_assert_eq(field_offset("axl_mac_spec", "mul_params", &sz),
                 offsetof(struct axl_mac_spec, mul_params));
    cr_assert_eq(sz, AXL_MAC_MAX_PARAMS * sizeof(const char *));
}

/* Fields in declaration order, each starting at or after the end of the
 * one before, gaps (and the tail) under 8 bytes: the alignment padding of
 * these structures (no member is aligned beyond 8). */
Test(abi, listed_fields_tile_every_covered_structure)
{
    for (size_t t = 0; t < sizeof covered / sizeof covered[0]; t++) {
        size_t total = axl_abi_sizeof(covered[t]);
        cr_assert_gt(total, 0, "%s: not covered", covered[t]);
        size_t end = 0, off, size, n = 0;
        const char *f;
        for (; (f = axl_abi_field(covered[t], n, &off, &size)); n++) {
            cr_assert_geq(off, end, "%s.%s overlaps the field before", covered[t], f);
            cr_assert_lt(off - end, 8, "%s: %zu bytes unlisted before %s", covered[t],
                         off - end, f);
            cr_assert_gt(size, 0);
            end = off + size;
        }
        cr_assert_gt(n, 1, "%s: no fields", covered[t]);
        cr_assert_leq(end, total, "%s", covered[t]);
        cr_assert_lt(total - end, 8, "%s: %zu bytes unlisted at the end", covered[t],
                     total - end);
    }
}

Test(abi, unknown_structures_and_fields)
{
    cr_assert_eq(axl_abi_sizeof("axl_nothing"), 0);
    cr_assert_eq(axl_abi_sizeof(NULL), 0);
    cr_assert_null(axl_abi_field("axl_nothing", 0, NULL, NULL));
    size_t n = 0;
    while (axl_abi_field("axl_run_settings", n, NULL, NULL))
        n++;
    cr_assert_eq(n, 8); /* through no_reference */
    cr_assert_null(axl_abi_field("axl_run_settings", n, NULL, NULL));
}
