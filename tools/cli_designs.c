/* axlut list designs: every built-in design with its operation, operand
 * formats, parameters (default and range), description and citation. */
#include <stdio.h>

#include "axlut/design.h"
#include "cli.h"

static const char *operands_text(const struct axl_design *d, char *buf, size_t n)
{
    switch (d->operands) {
    case AXL_OPERANDS_UINT:
        return "uintN x uintN";
    case AXL_OPERANDS_INT:
        return "intN x intN";
    case AXL_OPERANDS_FLOAT:
        return "eXmY x eXmY";
    case AXL_OPERANDS_ANYINT:
        return "intN|uintN (same kind and width)";
    case AXL_OPERANDS_ANY:
        return "intN|uintN|eXmY (same kind)";
    default:
        snprintf(buf, n, "%s x %s -> %s", d->fmt_a ? d->fmt_a : "?", d->fmt_b ? d->fmt_b : "?",
                 d->fmt_r ? d->fmt_r : "?");
        return buf;
    }
}

int cli_list_designs(void)
{
    size_t n = axl_design_count();
    printf("%-16s %-4s %-34s %s\n", "name", "op", "operands", "parameters");
    for (size_t i = 0; i < n; i++) {
        const struct axl_design *d = axl_design_at(i);
        char buf[160];
        printf("%-16s %-4s %-34s", d->name, axl_op_name((enum axl_op)d->op),
               operands_text(d, buf, sizeof buf));
        if (d->nparams == 0)
            printf(" -");
        for (uint32_t p = 0; p < d->nparams; p++)
            printf(" %s=%d [%d..%d]", d->params[p].name, (int)d->params[p].def, (int)d->params[p].min,
                   (int)d->params[p].max);
        printf("\n");
        printf("    %s%s\n", d->description, d->mantissa_only ? " [mantissa-separable]" : "");
        for (uint32_t p = 0; p < d->nparams; p++)
            printf("    %s: %s\n", d->params[p].name, d->params[p].help);
        printf("    cite: %s\n", d->citation);
    }
    printf("\nResults: intN x intN -> int2N, uintN x uintN -> uint2N, N-bit add -> N+1 bits; floating\n"
           "designs round into the operand format (or --format-r) with round=MODE (default nearest).\n"
           "Signed integer multipliers work in sign-magnitude on the unsigned core.\n");
    return CLI_OK;
}
