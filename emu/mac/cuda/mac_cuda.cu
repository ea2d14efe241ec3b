/* CUDA kernels of the MAC engine: implicit-GEMM convolution (GEMM is a 1x1
 * convolution of the transposed activations) with the MAC configuration
 * applied to every product and addition.
 *
 * Shape of the code (as ggml's CUDA ops): a static __global__ kernel, a
 * static launcher, public entries that check arguments and every runtime
 * call.  The arithmetic is not written here: products come from the table
 * through a texture object (tex1Dfetch on a linear buffer) or from the
 * design's AXL_HD function (tables/designs/builtin.h), accumulation follows
 * emu/mac/mac_step.h, and operands are encoded on the host by
 * emu/encode.c, the code the CPU backend uses, so both see the same codes
 * and produce the same bits.
 *
 * One thread computes one output, in the defined order over the reduction
 * index; adjacent threads take adjacent output positions, so activation
 * code loads coalesce and a warp shares one weight row.
 */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/mac_kernel.cuh"
#include "cuda/user_kernel.h"
#include "plan.h"

template <int ACC, int SRC, int ORDER>
static __global__ void conv_kernel(const dev_conv d)
{
    if (SRC == SRC_SHARED)
        load_shared_table(d);
    conv_body<ACC, SRC, ORDER>(d);
}

#define CK(call)                                                                                  \
    do {                                                                                          \
        cudaError_t e_ = (call);                                                                  \
        if (e_ != cudaSuccess) {                                                                  \
            snprintf(msg, AXL_MSG_LEN, "CUDA: %s failed: %s", #call, cudaGetErrorString(e_));   \
            st = AXL_ERR_CUDA;                                                                    \
            goto done;                                                                            \
        }                                                                                         \
    } while (0)

template <int ACC, int SRC, int ORDER>
static void launch_one(const dev_conv &d, unsigned blocks, size_t smem)
{
    if (smem > 48 * 1024)
        cudaFuncSetAttribute(conv_kernel<ACC, SRC, ORDER>,
                             cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    conv_kernel<ACC, SRC, ORDER><<<blocks, 256, smem>>>(d);
}

template <int ACC, int SRC>
static void launch_order(const dev_conv &d, int64_t total)
{
    unsigned blocks = (unsigned)((total + 255) / 256);
    size_t smem = SRC == SRC_SHARED ? d.smem_bytes : 0;
    switch (d.order) {
    case AXL_ORDER_SEQUENTIAL:
        launch_one<ACC, SRC, AXL_ORDER_SEQUENTIAL>(d, blocks, smem);
        break;
    case AXL_ORDER_PAIRWISE:
        launch_one<ACC, SRC, AXL_ORDER_PAIRWISE>(d, blocks, smem);
        break;
    default:
        launch_one<ACC, SRC, AXL_ORDER_CHUNKED>(d, blocks, smem);
        break;
    }
}

template <int ACC>
static void launch_src(const dev_conv &d, int src, int64_t total)
{
    if (src == SRC_TABLE)
        launch_order<ACC, SRC_TABLE>(d, total);
    else if (src == SRC_SHARED)
        launch_order<ACC, SRC_SHARED>(d, total);
    else if (src == SRC_MANTISSA)
        launch_order<ACC, SRC_MANTISSA>(d, total);
    else if (src == SRC_EXACT_F32)
        launch_order<ACC, SRC_EXACT_F32>(d, total);
    else
        launch_order<ACC, SRC_FUNCTION>(d, total);
}

static void launch(const dev_conv &d, int acc, int src, int64_t total)
{
    if (acc == ACC_INT)
        launch_src<ACC_INT>(d, src, total);
    else if (acc == ACC_F32)
        launch_src<ACC_F32>(d, src, total);
    else
        launch_src<ACC_CODE>(d, src, total);
}

/* Runs one convolution whose operands are already codes on the host. */
static enum axl_status run_conv(const struct axl_mac *m, dev_conv d, const uint32_t *acts,
                                int64_t nacts, const uint32_t *wts, const float *bias,
                                const struct axl_quant *qa, const struct axl_quant *qw, float *y,
                                int64_t ny, char *msg)
{
    enum axl_status st = AXL_OK;
    uint32_t *dacts = NULL, *dwts = NULL;
    float *dbias = NULL, *dy = NULL, *dsw = NULL;
    int32_t *dzw = NULL;
    int64_t *dsumw = NULL;
    void *dtab = NULL;
    cudaTextureObject_t tex = 0;
    float *hsw = NULL, *hlut = NULL, *dslut = NULL;
    uint16_t *hstab = NULL, *dstab = NULL;
    int32_t *hzw = NULL;
    int64_t *hsumw = NULL;
    int acc = m->int_mode ? ACC_INT : (m->add_exact ? ACC_F32 : ACC_CODE);
    int src = m->path == AXL_PATH_TABLE      ? SRC_TABLE
              : m->path == AXL_PATH_MANTISSA ? SRC_MANTISSA
              : m->exact_f32                 ? SRC_EXACT_F32
                                             : SRC_FUNCTION;
    int64_t total = d.n * d.oc * d.oh * d.ow;

    /* a user design's function runs in a kernel NVRTC builds around it */
    int user_mul = src == SRC_FUNCTION && m->mul_c.id == 0;
    int user_add = !m->int_mode && !m->add_exact && m->add_c.id == 0;
    if (user_mul && user_add) {
        snprintf(msg, AXL_MSG_LEN, "a GPU kernel takes one user design, this layer has a user "
                 "multiplier and a user adder; use a table for the multiplier or --device cpu");
        return AXL_ERR_UNSUPPORTED;
    }
    CK(cudaMalloc((void **)&dacts, (size_t)nacts * sizeof *dacts));
    CK(cudaMemcpy(dacts, acts, (size_t)nacts * sizeof *dacts, cudaMemcpyHostToDevice));
    CK(cudaMalloc((void **)&dwts, (size_t)d.oc * d.K * sizeof *dwts));
    CK(cudaMemcpy(dwts, wts, (size_t)d.oc * d.K * sizeof *dwts, cudaMemcpyHostToDevice));
    if (bias) {
        CK(cudaMalloc((void **)&dbias, (size_t)d.oc * sizeof *dbias));
        CK(cudaMemcpy(dbias, bias, (size_t)d.oc * sizeof *dbias, cudaMemcpyHostToDevice));
    }
    CK(cudaMalloc((void **)&dy, (size_t)ny * sizeof *dy));
    /* AXL_CUDA_TABLE=shared: the table from a shared-memory copy instead of
     * texture fetches, where its 16-bit form fits (BENCHMARKS.md compares
     * the two on a GPU) */
    if (src == SRC_TABLE) {
        const char *mode = getenv("AXL_CUDA_TABLE");
        size_t n = (size_t)m->na * m->nb;
        size_t lut_n = m->tf ? (size_t)1 << m->fp.bits : 0;
        size_t bytes = ((n + 7) & ~(size_t)7) * 2 + lut_n * 4;
        int ok = mode && !strcmp(mode, "shared") && !user_add && bytes <= 160 * 1024 &&
                 (!m->tf || m->fp.bits <= 12) && (!m->tc || m->facc.bits <= 16);
        if (ok) {
            hstab = (uint16_t *)malloc(n * sizeof *hstab);
            hlut = lut_n ? (float *)malloc(lut_n * sizeof *hlut) : NULL;
            ok = hstab && (!lut_n || hlut);
            for (uint32_t b = 0; ok && b < m->nb; b++)
                for (uint32_t a = 0; ok && a < m->na; a++) {
                    size_t i = (size_t)b * m->na + a;
                    if (m->tf) {
                        hstab[i] = (uint16_t)axl_table_entry(m->table, a, b);
                    } else if (m->tc) {
                        hstab[i] = (uint16_t)m->tc[i];
                    } else {
                        ok = m->ti[i] >= -32768 && m->ti[i] <= 32767;
                        hstab[i] = (uint16_t)(int16_t)m->ti[i];
                    }
                }
            for (size_t c = 0; ok && c < lut_n; c++)
                hlut[c] = axl_format_decode(&m->fp, (uint32_t)c);
        }
        if (ok) {
            CK(cudaMalloc((void **)&dstab, n * sizeof *dstab));
            CK(cudaMemcpy(dstab, hstab, n * sizeof *dstab, cudaMemcpyHostToDevice));
            if (lut_n) {
                CK(cudaMalloc((void **)&dslut, lut_n * sizeof *dslut));
                CK(cudaMemcpy(dslut, hlut, lut_n * sizeof *dslut, cudaMemcpyHostToDevice));
            }
            d.stab = dstab;
            d.slut = dslut;
            d.stab_n = (uint32_t)n;
            d.slut_n = (uint32_t)lut_n;
            d.smem_bytes = (uint32_t)bytes;
            src = SRC_SHARED;
        }
    }
    if (src == SRC_TABLE || src == SRC_MANTISSA) {
        size_t n = src == SRC_TABLE ? (size_t)m->na * m->nb
                                    : ((size_t)1 << (m->fa.mbits + 1)) * m->mt_cols;
        size_t bytes = n * 4;
        const void *host = src == SRC_MANTISSA ? (const void *)m->mt
                           : m->tf             ? (const void *)m->tf
                           : m->tc             ? (const void *)m->tc
                                               : (const void *)m->ti;
        CK(cudaMalloc(&dtab, bytes));
        CK(cudaMemcpy(dtab, host, bytes, cudaMemcpyHostToDevice));
        cudaResourceDesc rd;
        memset(&rd, 0, sizeof rd);
        rd.resType = cudaResourceTypeLinear;
        rd.res.linear.devPtr = dtab;
        rd.res.linear.desc = src == SRC_MANTISSA ? cudaCreateChannelDesc<unsigned int>()
                             : m->tf             ? cudaCreateChannelDesc<float>()
                             : m->tc             ? cudaCreateChannelDesc<unsigned int>()
                                                 : cudaCreateChannelDesc<int>();
        rd.res.linear.sizeInBytes = bytes;
        cudaTextureDesc td;
        memset(&td, 0, sizeof td);
        td.readMode = cudaReadModeElementType;
        CK(cudaCreateTextureObject(&tex, &rd, &td, NULL));
    }
    if (m->int_mode) {
        hsw = (float *)malloc((size_t)d.oc * sizeof *hsw);
        hzw = (int32_t *)malloc((size_t)d.oc * sizeof *hzw);
        hsumw = (int64_t *)malloc((size_t)d.oc * sizeof *hsumw);
        if (!hsw || !hzw || !hsumw) {
            snprintf(msg, AXL_MSG_LEN, "out of memory");
            st = AXL_ERR_NOMEM;
            goto done;
        }
        for (int64_t o = 0; o < d.oc; o++) {
            hsw[o] = qw[o].s;
            hzw[o] = qw[o].z;
            int64_t s = 0;
            for (int64_t k = 0; k < d.K; k++)
                s += (int64_t)axl_format_decode(&m->fw, wts[o * d.K + k]);
            hsumw[o] = s;
        }
        CK(cudaMalloc((void **)&dsw, (size_t)d.oc * sizeof *dsw));
        CK(cudaMalloc((void **)&dzw, (size_t)d.oc * sizeof *dzw));
        CK(cudaMalloc((void **)&dsumw, (size_t)d.oc * sizeof *dsumw));
        CK(cudaMemcpy(dsw, hsw, (size_t)d.oc * sizeof *dsw, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(dzw, hzw, (size_t)d.oc * sizeof *dzw, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(dsumw, hsumw, (size_t)d.oc * sizeof *dsumw, cudaMemcpyHostToDevice));
        d.sa = qa->s;
        d.za = qa->z;
        d.wscale = dsw;
        d.zw = dzw;
        d.sumw = dsumw;
    }
    d.acts = dacts;
    d.wts = dwts;
    d.bias = dbias;
    d.y = dy;
    d.tex = tex;
    d.na = m->na;
    d.mt_cols = m->mt_cols;
    d.mul = m->mul_c;
    d.add = m->add_c;
    d.fa = m->fa;
    d.fw = m->fw;
    d.fp = m->fp;
    d.facc = m->facc;
    d.convert_p = m->convert_p;
    d.acc_zero = m->acc_zero;
    d.order = (int)m->order;
    d.chunk = m->chunk ? m->chunk : 1;
    if (user_mul || user_add) {
        st = axl_user_kernel_launch(m, user_mul, user_add, acc, user_mul ? (int)SRC_USER : src,
                                    d.order, &d, (unsigned)((total + 255) / 256), msg);
        if (st != AXL_OK)
            goto done;
    } else {
        launch(d, acc, src, total);
    }
    CK(cudaGetLastError());
    CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(y, dy, (size_t)ny * sizeof *dy, cudaMemcpyDeviceToHost));
done:
    if (tex)
        cudaDestroyTextureObject(tex);
    cudaFree(dtab);
    cudaFree(dacts);
    cudaFree(dwts);
    cudaFree(dbias);
    cudaFree(dy);
    cudaFree(dsw);
    cudaFree(dzw);
    cudaFree(dsumw);
    cudaFree(dstab);
    cudaFree(dslut);
    free(hstab);
    free(hlut);
    free(hsw);
    free(hzw);
    free(hsumw);
    return st;
}

extern "C" enum axl_status axl_cuda_conv2d(const struct axl_mac *m, const struct axl_conv_args *a,
                                           int64_t oh, int64_t ow, char *msg)
{
    int64_t K = (a->c / a->groups) * a->kh * a->kw;
    int64_t nacts = a->n * a->c * a->h * a->w, ny = a->n * a->oc * oh * ow;
    uint32_t *acts = (uint32_t *)malloc((size_t)nacts * sizeof *acts);
    uint32_t *wts = (uint32_t *)malloc((size_t)a->oc * K * sizeof *wts);
    struct axl_quant *qw = (struct axl_quant *)malloc((size_t)a->oc * sizeof *qw);
    float *y = (float *)malloc((size_t)ny * sizeof *y);
    enum axl_status st;
    if (!acts || !wts || !qw || !y) {
        snprintf(msg, AXL_MSG_LEN, "conv2d: out of memory");
        st = AXL_ERR_NOMEM;
    } else {
        struct axl_quant qa;
        axl_emu_encode_acts(m, a->x, nacts, acts, &qa);
        axl_emu_encode_weights(m, a->weight, a->oc, K, K, 1, wts, qw);
        dev_conv d;
        memset(&d, 0, sizeof d);
        d.n = a->n, d.c = a->c, d.h = a->h, d.w = a->w, d.oc = a->oc, d.kh = a->kh, d.kw = a->kw;
        d.sh = a->stride_h, d.sw = a->stride_w, d.pt = a->pad_t, d.pl = a->pad_l;
        d.dh = a->dil_h, d.dw = a->dil_w, d.groups = a->groups, d.oh = oh, d.ow = ow, d.K = K;
        d.osn = oh * ow, d.osm = 1, d.oimg = a->oc * oh * ow;
        d.pad = m->int_mode ? axl_emu_quantize(&m->fa, qa, 0.0f, AXL_ROUND_NEAREST_EVEN, 0)
                            : axl_format_encode(&m->fa, 0.0f, AXL_ROUND_NEAREST_EVEN, 0);
        st = run_conv(m, d, acts, nacts, wts, a->bias, &qa, qw, y, ny, msg);
        if (st == AXL_OK)
            memcpy(a->y, y, (size_t)ny * sizeof *y);
    }
    free(acts);
    free(wts);
    free(qw);
    free(y);
    return st;
}

/* GEMM as a 1x1 convolution of one image with K channels and M positions;
 * outputs land in C[m][n] through the output strides. */
extern "C" enum axl_status axl_cuda_gemm(const struct axl_mac *m, const struct axl_gemm_args *g,
                                         char *msg)
{
    int64_t M = g->m, N = g->n, K = g->k;
    int64_t arows = g->trans_a ? K : M, acols = g->trans_a ? M : K;
    float *adense = (float *)malloc((size_t)arows * acols * sizeof *adense);
    uint32_t *ac = (uint32_t *)malloc((size_t)M * K * sizeof *ac);
    uint32_t *xc = (uint32_t *)malloc((size_t)M * K * sizeof *xc);
    uint32_t *wc = (uint32_t *)malloc((size_t)N * K * sizeof *wc);
    struct axl_quant *qw = (struct axl_quant *)malloc((size_t)N * sizeof *qw);
    float *cbuf = (float *)malloc((size_t)M * N * sizeof *cbuf);
    enum axl_status st;
    if (!adense || !ac || !xc || !wc || !qw || !cbuf) {
        snprintf(msg, AXL_MSG_LEN, "gemm: out of memory");
        st = AXL_ERR_NOMEM;
    } else {
        for (int64_t r = 0; r < arows; r++)
            memcpy(adense + r * acols, g->a + r * g->lda, (size_t)acols * sizeof *adense);
        struct axl_quant qa;
        axl_emu_encode_acts(m, adense, arows * acols, ac, &qa);
        for (int64_t k = 0; k < K; k++)
            for (int64_t i = 0; i < M; i++)
                xc[k * M + i] = g->trans_a ? ac[k * M + i] : ac[i * K + k];
        if (g->trans_b)
            axl_emu_encode_weights(m, g->b, N, K, g->ldb, 1, wc, qw);
        else
            axl_emu_encode_weights(m, g->b, N, K, 1, g->ldb, wc, qw);
        dev_conv d;
        memset(&d, 0, sizeof d);
        d.n = 1, d.c = K, d.h = 1, d.w = M, d.oc = N, d.kh = 1, d.kw = 1, d.sh = 1, d.sw = 1;
        d.dh = 1, d.dw = 1, d.groups = 1, d.oh = 1, d.ow = M, d.K = K;
        d.osn = 1, d.osm = N, d.oimg = 0;
        st = run_conv(m, d, xc, M * K, wc, g->bias, &qa, qw, cbuf, M * N, msg);
        if (st == AXL_OK)
            for (int64_t i = 0; i < M; i++)
                memcpy(g->c + i * g->ldc, cbuf + i * N, (size_t)N * sizeof *cbuf);
    }
    free(adense);
    free(ac);
    free(xc);
    free(wc);
    free(qw);
    free(cbuf);
    return st;
}
