/* Design-space sweeps: the lists and ranges of formats and designs that
 * `axlut sweep` runs every combination of.
 *
 * Format lists are comma-separated format names or ranges
 * e<X1>..<X2>m<Y1>..<Y2> (either bound may be a single number:
 * e4m1..3, e3..8m2), which expand to every eXmY pair, exponent outermost.
 * Design lists are comma-separated design names, each with optional
 * parameters after colons: fpmul_drum:k=4, loa:k=2.
 */
#ifndef AXLUT_SWEEP_H
#define AXLUT_SWEEP_H

#include <stddef.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AXL_SWEEP_NAME 64

/* Expand a format list; *out (malloc'd array of *n names of
 * AXL_SWEEP_NAME bytes) is freed by the caller.  Every name is checked with
 * axl_format_parse; a bad range or name gives AXL_ERR_INVALID and one line
 * saying which part is wrong. */
enum axl_status axl_sweep_formats(const char *list, char (**out)[AXL_SWEEP_NAME], size_t *n,
                                  char *msg);

struct axl_sweep_design {
    char name[AXL_SWEEP_NAME];
    char params[4][48]; /* "k=4" */
    int nparams;
    char label[160];    /* "fpmul_drum(k=4)" */
};

/* Split a design list (names are not checked here: the engine does). */
enum axl_status axl_sweep_designs(const char *list, struct axl_sweep_design **out, size_t *n,
                                  char *msg);

#ifdef __cplusplus
}
#endif

#endif
