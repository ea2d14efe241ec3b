/* roba: rounding-based approximate multiplier.
 *
 * R. Zendegani, M. Kamal, M. Bahadori, A. Afzali-Kusha, M. Pedram, "RoBA
 * Multiplier: A Rounding-Based Approximate Multiplier for High-Speed yet
 * Energy-Efficient Digital Signal Processing", IEEE Transactions on VLSI
 * Systems, 25(2), pp. 393-401, 2017.
 *
 * Each operand is rounded to its nearest power of two, xr and yr (a value
 * 3 * 2^(p-1), equally far from both, goes to the larger one, which is what
 * the paper's rounding logic does: the bit below the leading one decides).
 * x y = xr y + x yr - xr yr + (x - xr)(y - yr); the last term is dropped,
 * so the product needs only shifts and one addition.  Signed operands use
 * sign-magnitude (axl_int_mag), as the paper's signed variant does.
 */
#ifndef AXLUT_TABLES_DESIGNS_ROBA_H
#define AXLUT_TABLES_DESIGNS_ROBA_H

#include "designs/common.h"

AXL_HD axl_sig_t axl_roba_round(axl_sig_t x)
{
    if (x == 0)
        return 0;
    int p = axl_sig_msb(x);
    return (p > 0 && ((x >> (p - 1)) & 1u)) ? axl_sig_pow2(p + 1) : axl_sig_pow2(p);
}

AXL_HD axl_sig_t axl_umul_roba(axl_sig_t x, axl_sig_t y)
{
    axl_sig_t xr = axl_roba_round(x), yr = axl_roba_round(y);
    /* x y - (x - xr)(y - yr) >= 0, computed modulo 2^AXL_SIG_BITS */
    return xr * y + x * yr - xr * yr;
}

#endif
