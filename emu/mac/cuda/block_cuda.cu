/* CUDA kernels of block-scaled layers (emu/mac/block_plan.h): the bits of
 * the CPU's (cpu/block_cpu.c) and of the reference.
 *
 * The operands are quantized and laid out on the host by the code the CPU
 * backend runs (axl_block_gemm_run / axl_block_conv2d_run hand this file's
 * runner the same struct axl_block_core), so both backends see the same
 * codes and scales; the device runs the reduction.  One thread computes
 * one output: block after block, the element products from the plan's
 * product table (global memory, a few hundred KB at most), the block sum
 * in element order (float32 adds, or the block adder's AXL_HD function on
 * codes), the scaling and the add across blocks (float32, or the adder's
 * function).  --fmad=false keeps every multiply and add rounded apart, as
 * on the CPU.  Adjacent threads take adjacent positions, so activation
 * loads coalesce and a warp shares one weight row.
 *
 * Device buffers are made per call (the tables per call too): simple, and
 * what a block-scaled layer costs here is quantization on the host.  User
 * designs serve as multipliers (their products are in the table) but not
 * as adders on this backend.
 */
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block_plan.h"
#include "designs/builtin.h"

struct dev_block {
    int64_t nb, size, mcount, mvalid, n, total;
    int64_t xg, xsg, wg, wsg;
    const uint32_t *x, *xs, *w, *ws;
    const float *ptf;
    const uint32_t *ptc;
    const float *svalue; /* NVFP4: the values of the E4M3 scale codes */
    uint32_t na;
    int bcode, code_acc, mx;
    struct axl_design_ctx badd, add;
    struct axl_format fbacc, facc;
    uint32_t bacc_zero, acc_zero;
    float *y; /* [groups][n][mvalid] */
};

static __global__ void block_kernel(const dev_block d)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= d.total)
        return;
    const int64_t pos = t % d.mvalid, n = (t / d.mvalid) % d.n, g = t / (d.mvalid * d.n);
    const uint32_t *x = d.x + g * d.xg + pos, *xs = d.xs + g * d.xsg + pos;
    const uint32_t *w = d.w + g * d.wg + n * d.nb * d.size, *ws = d.ws + g * d.wsg + n * d.nb;
    float acc = 0.0f;
    uint32_t accc = d.acc_zero;
    for (int64_t b = 0; b < d.nb; b++) {
        float s = 0.0f;
        if (!d.bcode) {
            for (int64_t i = 0; i < d.size; i++)
                s = __fadd_rn(s, d.ptf[(size_t)w[b * d.size + i] * d.na +
                                       x[(b * d.size + i) * d.mcount]]);
        } else {
            uint32_t c = d.bacc_zero;
            for (int64_t i = 0; i < d.size; i++)
                c = axl_builtin_eval(&d.badd, c,
                                     d.ptc[(size_t)w[b * d.size + i] * d.na +
                                           x[(b * d.size + i) * d.mcount]]);
            s = axl_format_decode(&d.fbacc, c);
        }
        const uint32_t sa = xs[b * d.mcount], sw = ws[b];
        float term;
        if (d.mx) {
            int e = (int)sa - 127 + ((int)sw - 127);
            if (sa == 255u || sw == 255u)
                term = NAN;
            else if (e >= -126 && e <= 127)
                term = __fmul_rn(s, __uint_as_float((uint32_t)(e + 127) << 23));
            else
                term = ldexpf(s, e);
        } else {
            float va = d.svalue[sa], vw = d.svalue[sw];
            term = isnan(va) || isnan(vw) ? NAN : __fmul_rn(__fmul_rn(s, va), vw);
        }
        if (d.code_acc)
            accc = axl_builtin_eval(&d.add, accc,
                                    axl_format_encode(&d.facc, term, AXL_ROUND_NEAREST_EVEN, 0));
        else
            acc = __fadd_rn(acc, term);
    }
    d.y[t] = d.code_acc ? axl_format_decode(&d.facc, accc) : acc;
}

#define CK(call)                                                                                  \
    do {                                                                                          \
        cudaError_t e_ = (call);                                                                  \
        if (e_ != cudaSuccess) {                                                                  \
            st = axl_msgf(msg, AXL_ERR_CUDA, "CUDA: %s failed: %s", #call, cudaGetErrorString(e_)); \
            goto done;                                                                            \
        }                                                                                         \
    } while (0)

template <typename T>
static cudaError_t to_dev(T **dst, const T *src, size_t n)
{
    cudaError_t e = cudaMalloc((void **)dst, n * sizeof(T) + 4);
    return e != cudaSuccess ? e : cudaMemcpy(*dst, src, n * sizeof(T), cudaMemcpyHostToDevice);
}

/* The runner (block_plan.h: axl_block_runner): device copies, the kernel,
 * then the outputs scattered with the tensor scales and the bias, as
 * cpu/block_cpu.c writes them. */
static enum axl_status run_cuda(const struct axl_block_core *c, int64_t groups, int64_t xg,
                                int64_t xsg, int64_t wg, int64_t wsg, int64_t og, char *msg)
{
    const struct axl_mac *m = c->m;
    const struct axl_block_plan *bp = c->bp;
    enum axl_status st = AXL_OK;
    if (bp->badd_user || m->add_user)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "a user design as the adder of a "
                        "block-scaled layer runs on the cpu backend");
    dev_block d;
    memset(&d, 0, sizeof d);
    const int64_t ny = groups * c->n * c->mvalid;
    float *y = (float *)malloc((size_t)ny * sizeof *y);
    uint32_t *dx = NULL, *dxs = NULL, *dw = NULL, *dws = NULL, *dptc = NULL;
    float *dptf = NULL, *dsv = NULL, *dy = NULL;
    if (!y)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    const size_t ntab = (size_t)bp->na * bp->nw;
    CK(to_dev(&dx, c->x, (size_t)((groups - 1) * xg + c->nb * c->size * c->mcount)));
    CK(to_dev(&dxs, c->xs, (size_t)((groups - 1) * xsg + c->nb * c->mcount)));
    CK(to_dev(&dw, c->w, (size_t)((groups - 1) * wg + c->n * c->nb * c->size)));
    CK(to_dev(&dws, c->ws, (size_t)((groups - 1) * wsg + c->n * c->nb)));
    if (bp->bcode)
        CK(to_dev(&dptc, bp->ptc, ntab));
    else
        CK(to_dev(&dptf, bp->ptf, ntab));
    CK(to_dev(&dsv, bp->svalue, 256));
    CK(cudaMalloc((void **)&dy, (size_t)ny * sizeof *dy));
    d.nb = c->nb, d.size = c->size, d.mcount = c->mcount, d.mvalid = c->mvalid, d.n = c->n;
    d.total = ny, d.xg = xg, d.xsg = xsg, d.wg = wg, d.wsg = wsg;
    d.x = dx, d.xs = dxs, d.w = dw, d.ws = dws, d.ptf = dptf, d.ptc = dptc, d.svalue = dsv;
    d.na = bp->na, d.bcode = bp->bcode, d.code_acc = m->add_d != NULL;
    d.mx = bp->bfa.scale == AXL_BSCALE_E8M0;
    d.badd = bp->badd_c, d.add = m->add_c, d.fbacc = bp->fbacc, d.facc = m->facc;
    d.bacc_zero = bp->bacc_zero, d.acc_zero = m->acc_zero, d.y = dy;
    block_kernel<<<(unsigned)((ny + 255) / 256), 256>>>(d);
    CK(cudaGetLastError());
    CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(y, dy, (size_t)ny * sizeof *y, cudaMemcpyDeviceToHost));
    for (int64_t g = 0; g < groups; g++)
        for (int64_t n = 0; n < c->n; n++) {
            const float *src = y + (g * c->n + n) * c->mvalid;
            const float *bias = c->bias ? c->bias + g * c->n : NULL;
            for (int64_t pos = 0; pos < c->mvalid; pos++) {
                float v = src[pos];
                if (!d.mx)
                    v *= c->tsinv;
                if (isnan(v)) /* the canonical NaN, as the reference gives it */
                    v = NAN;
                c->out[g * og + (pos / c->p) * c->oi + n * c->sn + (pos % c->p) * c->sm] =
                    bias ? v + bias[n] : v;
            }
        }
done:
    cudaFree(dx);
    cudaFree(dxs);
    cudaFree(dw);
    cudaFree(dws);
    cudaFree(dptc);
    cudaFree(dptf);
    cudaFree(dsv);
    cudaFree(dy);
    free(y);
    return st;
}

extern "C" enum axl_status axl_cuda_block_gemm(const struct axl_mac *m,
                                               const struct axl_gemm_args *g, char *msg)
{
    return axl_block_gemm_run(m, g, run_cuda, msg);
}

extern "C" enum axl_status axl_cuda_block_conv2d(const struct axl_mac *m,
                                                 const struct axl_conv_args *a, int64_t oh,
                                                 int64_t ow, char *msg)
{
    return axl_block_conv2d_run(m, a, oh, ow, run_cuda, msg);
}
