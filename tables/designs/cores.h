/* Built-in design ids and the dispatch over the unsigned integer cores.
 *
 * The id is stored in table files (and selects the device code path), so
 * values only grow at the end; 0 is a user design.  Each integer design X
 * has an unsigned core used three ways: on uintN codes, on intN codes
 * through sign-magnitude (multipliers) or two's complement (adders), and
 * on floating significands by fpmul_X / fpadd_X.
 */
#ifndef AXLUT_TABLES_DESIGNS_CORES_H
#define AXLUT_TABLES_DESIGNS_CORES_H

#include "designs/aca.h"
#include "designs/add_exact.h"
#include "designs/ama5.h"
#include "designs/bam.h"
#include "designs/common.h"
#include "designs/drum.h"
#include "designs/eta1.h"
#include "designs/kulkarni.h"
#include "designs/loa.h"
#include "designs/mbm.h"
#include "designs/mitchell.h"
#include "designs/mul_exact.h"
#include "designs/roba.h"
#include "designs/trunc_add.h"

/* Stored in table files: only grow at the end. */
enum axl_design_id {
    AXL_DESIGN_USER = 0,
    AXL_DESIGN_MUL_EXACT = 1,
    AXL_DESIGN_MITCHELL = 2,
    AXL_DESIGN_MBM = 3,
    AXL_DESIGN_DRUM = 4,
    AXL_DESIGN_BAM = 5,
    AXL_DESIGN_KULKARNI = 6,
    AXL_DESIGN_ROBA = 7,
    AXL_DESIGN_ADD_EXACT = 8,
    AXL_DESIGN_LOA = 9,
    AXL_DESIGN_AMA5 = 10,
    AXL_DESIGN_ETA1 = 11,
    AXL_DESIGN_TRUNC_ADD = 12,
    AXL_DESIGN_ACA = 13,
    AXL_DESIGN_FPMUL_MITCHELL = 14,
    AXL_DESIGN_FPMUL_MBM = 15,
    AXL_DESIGN_FPMUL_DRUM = 16,
    AXL_DESIGN_FPMUL_BAM = 17,
    AXL_DESIGN_FPMUL_KULKARNI = 18,
    AXL_DESIGN_FPMUL_ROBA = 19,
    AXL_DESIGN_FPADD_LOA = 20,
    AXL_DESIGN_FPADD_AMA5 = 21,
    AXL_DESIGN_FPADD_ETA1 = 22,
    AXL_DESIGN_FPADD_TRUNC_ADD = 23,
    AXL_DESIGN_FPADD_ACA = 24,
    AXL_DESIGN_ID_END_ /* not an id; keep last */
};

/* Unsigned n-bit x n-bit multiplier core `id` (an integer multiplier id),
 * n <= 32; returns the (up to 2n-bit) product. */
AXL_HD axl_sig_t axl_umul_core(uint32_t id, const int32_t *param, axl_sig_t x, axl_sig_t y, int n)
{
    switch (id) {
    case AXL_DESIGN_MITCHELL:
        return axl_umul_mitchell(x, y);
    case AXL_DESIGN_MBM:
        return axl_umul_mbm(x, y, n);
    case AXL_DESIGN_DRUM:
        return axl_umul_drum(x, y, param[0]);
    case AXL_DESIGN_BAM:
        return axl_umul_bam(x, y, n, param[0], param[1]);
    case AXL_DESIGN_KULKARNI:
        return axl_umul_kulkarni(x, y, n);
    case AXL_DESIGN_ROBA:
        return axl_umul_roba(x, y);
    default:
        return axl_umul_exact(x, y);
    }
}

/* Unsigned w-bit + w-bit adder core `id` (an integer adder id), w <= 62;
 * returns the w+1-bit sum (carry out at bit w). */
AXL_HD axl_sig_t axl_uadd_core(uint32_t id, const int32_t *param, axl_sig_t x, axl_sig_t y, int w)
{
    switch (id) {
    case AXL_DESIGN_LOA:
        return axl_uadd_loa(x, y, w, param[0]);
    case AXL_DESIGN_AMA5:
        return axl_uadd_ama5(x, y, w, param[0]);
    case AXL_DESIGN_ETA1:
        return axl_uadd_eta1(x, y, w, param[0]);
    case AXL_DESIGN_TRUNC_ADD:
        return axl_uadd_trunc(x, y, w, param[0]);
    case AXL_DESIGN_ACA:
        return axl_uadd_aca(x, y, w, param[0]);
    default:
        return axl_uadd_exact(x, y);
    }
}

#endif
