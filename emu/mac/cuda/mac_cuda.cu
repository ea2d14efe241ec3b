/* CUDA kernels of the MAC engine: implicit-GEMM convolution (GEMM is a 1x1
 * convolution of the transposed activations) with the MAC plan applied to
 * every product and addition.
 *
 * Shape of the code (as ggml's CUDA ops): a static __global__ kernel, a
 * static launcher, public entries that check arguments and every runtime
 * call.  The arithmetic is not written here: products come from the table
 * through a texture object (tex1Dfetch on a linear buffer) or from the
 * design's AXL_HD function (tables/designs/builtin.h), accumulation follows
 * emu/mac/mac_step.h, and operands are encoded on the host by
 * emu/mac/encode.c, the code the CPU backend uses, so both see the same
 * codes and produce the same bits.
 *
 * What the plan prepared stays on the device for the plan's life (struct
 * axl_cuda_plan): the table and its texture object (or the 16-bit copy for
 * the shared-memory variant), and each weight tensor's codes and
 * quantization, hung on the plan's prepared weights (weights.c).  The
 * buffers for activations, bias and outputs are kept and grown as needed.
 *
 * One thread computes one output, in the defined order over the reduction
 * index; adjacent threads take adjacent output positions, so activation
 * code loads coalesce and a warp shares one weight row.
 */
#include <cuda_runtime.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/mac_kernel.cuh"
#include "cuda/user_kernel.h"
#include "plan.h"

template <int ACC, int SRC, int ORDER>
static __global__ void conv_kernel(const dev_conv d)
{
    if (SRC == AXL_CUDA_SRC_SHARED)
        load_shared_table(d);
    conv_body<ACC, SRC, ORDER>(d);
}

#define CK(call)                                                                                  \
    do {                                                                                          \
        cudaError_t e_ = (call);                                                                  \
        if (e_ != cudaSuccess) {                                                                  \
            st = axl_msgf(msg, AXL_ERR_CUDA, "CUDA: %s failed: %s", #call, cudaGetErrorString(e_)); \
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
    size_t smem = SRC == AXL_CUDA_SRC_SHARED ? d.smem_bytes : 0;
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
    if (src == AXL_SRC_TABLE)
        launch_order<ACC, AXL_SRC_TABLE>(d, total);
    else if (src == AXL_CUDA_SRC_SHARED)
        launch_order<ACC, AXL_CUDA_SRC_SHARED>(d, total);
    else if (src == AXL_SRC_MANTISSA)
        launch_order<ACC, AXL_SRC_MANTISSA>(d, total);
    else if (src == AXL_SRC_EXACT_F32)
        launch_order<ACC, AXL_SRC_EXACT_F32>(d, total);
    else
        launch_order<ACC, AXL_SRC_FUNCTION>(d, total);
}

static void launch(const dev_conv &d, int acc, int src, int64_t total)
{
    if (acc == AXL_ACC_INT)
        launch_src<AXL_ACC_INT>(d, src, total);
    else if (acc == AXL_ACC_F32)
        launch_src<AXL_ACC_F32>(d, src, total);
    else
        launch_src<AXL_ACC_CODE>(d, src, total);
}

/* ---- the plan's device state --------------------------------------------- */

struct axl_cuda_plan {
    pthread_mutex_t lock; /* one call at a time per plan: the buffers are shared */
    int ready;            /* the table is on the device */
    int acc, src;         /* the kinds the kernels run (cuda_kinds) */
    void *dtab;           /* table for the texture object */
    cudaTextureObject_t tex;
    uint16_t *dstab;      /* AXL_CUDA_SRC_SHARED: 16-bit table and decode table */
    float *dslut;
    uint32_t stab_n, slut_n, smem_bytes;
    uint32_t *dacts;      /* reused buffers */
    size_t acts_cap;
    float *dbias, *dy;
    size_t bias_cap, y_cap;
};

/* Frees device memory; never touches the runtime for NULL (a CPU-only run
 * of a CUDA build frees plans on machines without a driver). */
static void free_dev(void *p)
{
    if (p)
        cudaFree(p);
}

/* Device copies of one prepared weight tensor (struct axl_weights.dev). */
struct dev_weights {
    uint32_t *codes;
    float *scale; /* integers: per channel */
    int32_t *zw;
    int64_t *sumw;
};

static void dev_weights_free(void *p)
{
    struct dev_weights *w = (struct dev_weights *)p;
    if (!w)
        return;
    void *const bufs[] = {w->codes, w->scale, w->zw, w->sumw};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free_dev(bufs[i]);
    free(w);
}

extern "C" enum axl_status axl_cuda_plan_create(struct axl_cuda_plan **out)
{
    struct axl_cuda_plan *p = (struct axl_cuda_plan *)calloc(1, sizeof *p);
    if (!p || pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        *out = NULL;
        return AXL_ERR_NOMEM;
    }
    *out = p;
    return AXL_OK;
}

extern "C" void axl_cuda_plan_free(struct axl_cuda_plan *p)
{
    if (!p)
        return;
    if (p->tex)
        cudaDestroyTextureObject(p->tex);
    void *const bufs[] = {p->dtab, p->dstab, p->dslut, p->dacts, p->dbias, p->dy};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        free_dev(bufs[i]);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* The kinds the CUDA kernels implement for a plan.  The plan's other kinds
 * give the same bits as these (plan.h, and the CPU's tests of each fast
 * form against its reference): the precomputed mantissa products as the
 * mantissa path, the narrow exact forms as mul_exact's path and add_exact
 * on codes. */
static void cuda_kinds(const struct axl_mac *m, int *acc, int *src)
{
    *acc = m->acc == AXL_ACC_NARROW ? AXL_ACC_CODE : (int)m->acc;
    switch (m->src) {
    case AXL_SRC_TABLE:
    case AXL_SRC_MANTISSA:
    case AXL_SRC_EXACT_F32:
        *src = (int)m->src;
        break;
    case AXL_SRC_MANTISSA_FAST:
        *src = AXL_SRC_MANTISSA;
        break;
    default: /* AXL_SRC_EXACT_NARROW and AXL_SRC_FUNCTION */
        *src = m->path == AXL_PATH_MANTISSA ? AXL_SRC_MANTISSA : AXL_SRC_FUNCTION;
        break;
    }
}

/* AXL_CUDA_TABLE=shared: the table from a shared-memory copy instead of
 * texture fetches, where its 16-bit form fits (BENCHMARKS.md compares the
 * two on a GPU).  Returns 1 and fills host copies when it applies. */
static int shared_table(const struct axl_mac *m, int user_add, uint16_t **hstab, float **hlut,
                        size_t *n_out, size_t *lut_out, size_t *bytes_out)
{
    const char *mode = getenv("AXL_CUDA_TABLE");
    size_t n = (size_t)m->na * m->nb;
    size_t lut_n = m->tf ? (size_t)1 << m->fp.bits : 0;
    size_t bytes = ((n + 7) & ~(size_t)7) * 2 + lut_n * 4;
    int ok = mode && !strcmp(mode, "shared") && !user_add && bytes <= 160 * 1024 &&
             (!m->tf || m->fp.bits <= 12) && (!m->tc || m->facc.bits <= 16);
    if (!ok)
        return 0;
    *hstab = (uint16_t *)malloc(n * sizeof **hstab);
    *hlut = lut_n ? (float *)malloc(lut_n * sizeof **hlut) : NULL;
    ok = *hstab && (!lut_n || *hlut);
    for (uint32_t b = 0; ok && b < m->nb; b++)
        for (uint32_t a = 0; ok && a < m->na; a++) {
            size_t i = (size_t)b * m->na + a;
            if (m->tf) {
                (*hstab)[i] = (uint16_t)axl_table_entry(m->table, a, b);
            } else if (m->tc) {
                (*hstab)[i] = (uint16_t)m->tc[i];
            } else {
                ok = m->ti[i] >= -32768 && m->ti[i] <= 32767;
                (*hstab)[i] = (uint16_t)(int16_t)m->ti[i];
            }
        }
    for (size_t c = 0; ok && c < lut_n; c++)
        (*hlut)[c] = axl_format_decode(&m->fp, (uint32_t)c);
    *n_out = n;
    *lut_out = lut_n;
    *bytes_out = bytes;
    return ok;
}

/* Puts the plan's table on the device, once (p->lock held). */
static enum axl_status plan_upload(const struct axl_mac *m, struct axl_cuda_plan *p, int user_add,
                                   char *msg)
{
    enum axl_status st = AXL_OK;
    uint16_t *hstab = NULL;
    float *hlut = NULL;
    size_t n = 0, lut_n = 0, bytes = 0;
    cuda_kinds(m, &p->acc, &p->src);
    if (p->src == AXL_SRC_TABLE && shared_table(m, user_add, &hstab, &hlut, &n, &lut_n, &bytes)) {
        CK(cudaMalloc((void **)&p->dstab, n * sizeof *p->dstab));
        CK(cudaMemcpy(p->dstab, hstab, n * sizeof *p->dstab, cudaMemcpyHostToDevice));
        if (lut_n) {
            CK(cudaMalloc((void **)&p->dslut, lut_n * sizeof *p->dslut));
            CK(cudaMemcpy(p->dslut, hlut, lut_n * sizeof *p->dslut, cudaMemcpyHostToDevice));
        }
        p->stab_n = (uint32_t)n;
        p->slut_n = (uint32_t)lut_n;
        p->smem_bytes = (uint32_t)bytes;
        p->src = AXL_CUDA_SRC_SHARED;
    }
    if (p->src == AXL_SRC_TABLE || p->src == AXL_SRC_MANTISSA) {
        size_t cnt = p->src == AXL_SRC_TABLE ? (size_t)m->na * m->nb
                                             : ((size_t)1 << (m->fa.mbits + 1)) * m->mt_cols;
        size_t tb = cnt * 4;
        const void *host = p->src == AXL_SRC_MANTISSA ? (const void *)m->mt
                           : m->tf                    ? (const void *)m->tf
                           : m->tc                    ? (const void *)m->tc
                                                      : (const void *)m->ti;
        CK(cudaMalloc(&p->dtab, tb));
        CK(cudaMemcpy(p->dtab, host, tb, cudaMemcpyHostToDevice));
        cudaResourceDesc rd;
        memset(&rd, 0, sizeof rd);
        rd.resType = cudaResourceTypeLinear;
        rd.res.linear.devPtr = p->dtab;
        rd.res.linear.desc = p->src == AXL_SRC_MANTISSA ? cudaCreateChannelDesc<unsigned int>()
                             : m->tf                    ? cudaCreateChannelDesc<float>()
                             : m->tc                    ? cudaCreateChannelDesc<unsigned int>()
                                                        : cudaCreateChannelDesc<int>();
        rd.res.linear.sizeInBytes = tb;
        cudaTextureDesc td;
        memset(&td, 0, sizeof td);
        td.readMode = cudaReadModeElementType;
        CK(cudaCreateTextureObject(&p->tex, &rd, &td, NULL));
    }
    p->ready = 1;
done:
    free(hstab);
    free(hlut);
    return st;
}

/* A device buffer of at least `bytes`, kept for the next call. */
static cudaError_t ensure(void **buf, size_t *cap, size_t bytes)
{
    if (*cap >= bytes)
        return cudaSuccess;
    free_dev(*buf);
    *buf = NULL;
    *cap = 0;
    cudaError_t e = cudaMalloc(buf, bytes);
    if (e == cudaSuccess)
        *cap = bytes;
    return e;
}

/* The device copy of prepared weights, made on their first CUDA call. */
static enum axl_status weights_on_device(const struct axl_mac *m, const struct axl_weights *w,
                                         struct dev_weights **out, char *msg)
{
    enum axl_status st = AXL_OK;
    *out = (struct dev_weights *)w->dev;
    if (*out)
        return AXL_OK;
    struct dev_weights *dw = (struct dev_weights *)calloc(1, sizeof *dw);
    float *hs = NULL;
    int32_t *hz = NULL;
    if (!dw)
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    size_t nk = (size_t)(w->nout * w->k), no = (size_t)w->nout;
    CK(cudaMalloc((void **)&dw->codes, nk * sizeof *dw->codes));
    CK(cudaMemcpy(dw->codes, w->codes, nk * sizeof *dw->codes, cudaMemcpyHostToDevice));
    if (m->int_mode) {
        hs = (float *)malloc(no * sizeof *hs);
        hz = (int32_t *)malloc(no * sizeof *hz);
        if (!hs || !hz) {
            st = axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (size_t o = 0; o < no; o++) {
            hs[o] = w->qw[o].s;
            hz[o] = w->qw[o].z;
        }
        CK(cudaMalloc((void **)&dw->scale, no * sizeof *dw->scale));
        CK(cudaMalloc((void **)&dw->zw, no * sizeof *dw->zw));
        CK(cudaMalloc((void **)&dw->sumw, no * sizeof *dw->sumw));
        CK(cudaMemcpy(dw->scale, hs, no * sizeof *hs, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(dw->zw, hz, no * sizeof *hz, cudaMemcpyHostToDevice));
        CK(cudaMemcpy(dw->sumw, w->sumw, no * sizeof *dw->sumw, cudaMemcpyHostToDevice));
    }
done:
    free(hs);
    free(hz);
    if (st != AXL_OK) {
        dev_weights_free(dw);
        return st;
    }
    if (!axl_weights_set_dev(m, w, dw, dev_weights_free)) { /* another thread was first */
        dev_weights_free(dw);
        dw = (struct dev_weights *)w->dev;
    }
    *out = dw;
    return AXL_OK;
}

/* Runs one convolution whose activations are codes on the host and whose
 * weights the plan prepared; y receives ny outputs. */
static enum axl_status run_conv(const struct axl_mac *m, dev_conv d, const uint32_t *acts,
                                int64_t nacts, const struct axl_weights *w, const float *bias,
                                const struct axl_quant *qa, float *y, int64_t ny, char *msg)
{
    enum axl_status st = AXL_OK;
    struct axl_cuda_plan *p = m->cuda;
    int64_t total = d.n * d.oc * d.oh * d.ow;
    /* a user design's function runs in a kernel NVRTC builds around it */
    int acc, src;
    cuda_kinds(m, &acc, &src);
    int user_mul = src == AXL_SRC_FUNCTION && m->mul_c.id == 0;
    int user_add = acc == AXL_ACC_CODE && m->add_c.id == 0;
    if (user_mul && user_add)
        return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "a GPU kernel takes one user design, this "
                        "layer has a user multiplier and a user adder; use a table for the "
                        "multiplier or --device cpu");
    if (!p)
        return axl_msgf(msg, AXL_ERR_CUDA, "CUDA: the plan has no device state");
    pthread_mutex_lock(&p->lock);
    struct dev_weights *dw = NULL;
    if (!p->ready && (st = plan_upload(m, p, user_add, msg)) != AXL_OK)
        goto done;
    if ((st = weights_on_device(m, w, &dw, msg)) != AXL_OK)
        goto done;
    CK(ensure((void **)&p->dacts, &p->acts_cap, (size_t)nacts * sizeof *p->dacts));
    CK(cudaMemcpy(p->dacts, acts, (size_t)nacts * sizeof *p->dacts, cudaMemcpyHostToDevice));
    if (bias) {
        CK(ensure((void **)&p->dbias, &p->bias_cap, (size_t)d.oc * sizeof *p->dbias));
        CK(cudaMemcpy(p->dbias, bias, (size_t)d.oc * sizeof *p->dbias, cudaMemcpyHostToDevice));
    }
    CK(ensure((void **)&p->dy, &p->y_cap, (size_t)ny * sizeof *p->dy));
    if (p->src == AXL_CUDA_SRC_SHARED) {
        d.stab = p->dstab;
        d.slut = p->dslut;
        d.stab_n = p->stab_n;
        d.slut_n = p->slut_n;
        d.smem_bytes = p->smem_bytes;
    }
    if (m->int_mode) {
        d.sa = qa->s;
        d.za = qa->z;
        d.wscale = dw->scale;
        d.zw = dw->zw;
        d.sumw = dw->sumw;
    }
    d.acts = p->dacts;
    d.wts = dw->codes;
    d.bias = bias ? p->dbias : NULL;
    d.y = p->dy;
    d.tex = p->tex;
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
        st = axl_user_kernel_launch(m, user_mul, user_add, p->acc,
                                    user_mul ? (int)AXL_CUDA_SRC_USER : p->src, d.order, &d,
                                    (unsigned)((total + 255) / 256), msg);
        if (st != AXL_OK)
            goto done;
    } else {
        launch(d, p->acc, p->src, total);
    }
    CK(cudaGetLastError());
    CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(y, p->dy, (size_t)ny * sizeof *p->dy, cudaMemcpyDeviceToHost));
done:
    pthread_mutex_unlock(&p->lock);
    return st;
}

extern "C" enum axl_status axl_cuda_conv2d(const struct axl_mac *m, const struct axl_conv_args *a,
                                           int64_t oh, int64_t ow, char *msg)
{
    int64_t K = (a->c / a->groups) * a->kh * a->kw;
    int64_t nacts = a->n * a->c * a->h * a->w, ny = a->n * a->oc * oh * ow;
    const struct axl_weights *w;
    enum axl_status st = axl_weights_acquire(m, a->weight, a->oc, K, K, 1, &w, msg);
    if (st != AXL_OK)
        return st;
    uint32_t *acts = (uint32_t *)malloc((size_t)nacts * sizeof *acts);
    if (!acts) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "conv2d: out of memory");
    } else {
        struct axl_quant qa;
        axl_emu_encode_acts(m, a->x, nacts, acts, &qa);
        dev_conv d;
        memset(&d, 0, sizeof d);
        d.n = a->n, d.c = a->c, d.h = a->h, d.w = a->w, d.oc = a->oc, d.kh = a->kh, d.kw = a->kw;
        d.sh = a->stride_h, d.sw = a->stride_w, d.pt = a->pad_t, d.pl = a->pad_l;
        d.dh = a->dil_h, d.dw = a->dil_w, d.groups = a->groups, d.oh = oh, d.ow = ow, d.K = K;
        d.osn = oh * ow, d.osm = 1, d.oimg = a->oc * oh * ow;
        d.pad = m->int_mode ? axl_emu_quantize(&m->fa, qa, 0.0f, AXL_ROUND_NEAREST_EVEN, 0)
                            : axl_format_encode(&m->fa, 0.0f, AXL_ROUND_NEAREST_EVEN, 0);
        st = run_conv(m, d, acts, nacts, w, a->bias, &qa, a->y, ny, msg);
    }
    free(acts);
    axl_weights_release(m, w);
    return st;
}

/* GEMM as a 1x1 convolution of one image with K channels and M positions;
 * outputs land in C[m][n] through the output strides. */
extern "C" enum axl_status axl_cuda_gemm(const struct axl_mac *m, const struct axl_gemm_args *g,
                                         char *msg)
{
    int64_t M = g->m, N = g->n, K = g->k;
    int64_t arows = g->trans_a ? K : M, acols = g->trans_a ? M : K;
    const struct axl_weights *w;
    enum axl_status st = g->trans_b ? axl_weights_acquire(m, g->b, N, K, g->ldb, 1, &w, msg)
                                    : axl_weights_acquire(m, g->b, N, K, 1, g->ldb, &w, msg);
    if (st != AXL_OK)
        return st;
    float *adense = (float *)malloc((size_t)arows * acols * sizeof *adense);
    uint32_t *ac = (uint32_t *)malloc((size_t)M * K * sizeof *ac);
    uint32_t *xc = (uint32_t *)malloc((size_t)M * K * sizeof *xc);
    float *cbuf = (float *)malloc((size_t)M * N * sizeof *cbuf);
    if (!adense || !ac || !xc || !cbuf) {
        st = axl_msgf(msg, AXL_ERR_NOMEM, "gemm: out of memory");
    } else {
        for (int64_t r = 0; r < arows; r++)
            memcpy(adense + r * acols, g->a + r * g->lda, (size_t)acols * sizeof *adense);
        struct axl_quant qa;
        axl_emu_encode_acts(m, adense, arows * acols, ac, &qa);
        for (int64_t k = 0; k < K; k++)
            for (int64_t i = 0; i < M; i++)
                xc[k * M + i] = g->trans_a ? ac[k * M + i] : ac[i * K + k];
        dev_conv d;
        memset(&d, 0, sizeof d);
        d.n = 1, d.c = K, d.h = 1, d.w = M, d.oc = N, d.kh = 1, d.kw = 1, d.sh = 1, d.sw = 1;
        d.dh = 1, d.dw = 1, d.groups = 1, d.oh = 1, d.ow = M, d.K = K;
        d.osn = 1, d.osm = N, d.oimg = 0;
        st = run_conv(m, d, xc, M * K, w, g->bias, &qa, cbuf, M * N, msg);
        if (st == AXL_OK)
            for (int64_t i = 0; i < M; i++)
                memcpy(g->c + i * g->ldc, cbuf + i * N, (size_t)N * sizeof *cbuf);
    }
    free(adense);
    free(ac);
    free(xc);
    free(cbuf);
    axl_weights_release(m, w);
    return st;
}
