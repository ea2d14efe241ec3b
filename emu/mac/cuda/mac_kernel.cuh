/* The device side of the MAC engine's CUDA backend: the argument block,
 * the product sources and the one-output-per-thread convolution body.
 * Included by emu/mac/cuda/mac_cuda.cu (built-in designs, compiled by nvcc) and
 * by the programs NVRTC builds at run time around a user's design
 * (emu/mac/cuda/user_kernel.cu), so both run the same code.
 */
#ifndef AXLUT_EMU_CUDA_MAC_KERNEL_CUH
#define AXLUT_EMU_CUDA_MAC_KERNEL_CUH

#include "axlut/mac.h"
#include "mac_step.h"
#include "designs/builtin.h"

struct dev_conv {
    int64_t n, c, h, w, oc, kh, kw, sh, sw, pt, pl, dh, dw, groups, oh, ow;
    int64_t K;            /* (c / groups) * kh * kw */
    int64_t osn, osm;     /* output strides of channel and position; image stride oc*oh*ow */
    int64_t oimg;
    const uint32_t *acts; /* [n][c][h][w] codes */
    const uint32_t *wts;  /* [oc][K] codes */
    const float *bias;    /* [oc] or NULL */
    float *y;
    uint32_t pad;         /* code of 0.0 */
    cudaTextureObject_t tex; /* table [b * na + a] */
    uint32_t na, mt_cols;
    struct axl_design_ctx mul, add;
    struct axl_format fa, fw, fp, facc;
    int convert_p;
    uint32_t acc_zero;
    int order;
    uint32_t chunk;
    /* integers */
    float sa;
    int32_t za;
    const float *wscale;  /* [oc] */
    const int32_t *zw;    /* [oc] */
    const int64_t *sumw;  /* [oc] */
    /* AXL_CUDA_SRC_SHARED: the table as 16-bit entries (product codes of fp for
     * float32 adds, facc codes for adder designs, product values for
     * integers) plus, for float32 adds, the decode of every fp code; both
     * copied into shared memory by each block */
    const uint16_t *stab;
    const float *slut;
    uint32_t stab_n, slut_n;
    uint32_t smem_bytes;  /* dynamic shared memory of the launch */
};

/* The block's copy of the table (AXL_CUDA_SRC_SHARED): stab_n entries, then the
 * float decode table, 16-byte aligned. */
extern __shared__ uint4 axl_smem_[];

/* The kernels are templates over the plan's kinds (enum axl_src and
 * axl_acc, mac_step.h) that they implement: AXL_SRC_FUNCTION,
 * AXL_SRC_TABLE (texture fetches), AXL_SRC_MANTISSA, AXL_SRC_EXACT_F32;
 * AXL_ACC_F32, AXL_ACC_CODE, AXL_ACC_INT.  The other kinds run as the kind
 * whose bits they equal (mac_cuda.cu, cuda_kinds).  Two variants of the
 * CUDA backend's own: */
enum {
    AXL_CUDA_SRC_USER = AXL_SRC_COUNT_,       /* a user design's function (NVRTC) */
    AXL_CUDA_SRC_SHARED = AXL_SRC_COUNT_ + 1, /* the full table from a shared-memory copy */
};

static __device__ __forceinline__ uint32_t smem_entry(const dev_conv &d, uint32_t a, uint32_t b)
{
    return ((const uint16_t *)axl_smem_)[b * d.na + a];
}

static __device__ __forceinline__ float smem_decode(const dev_conv &d, uint32_t code)
{
    return ((const float *)((const uint16_t *)axl_smem_ + ((d.stab_n + 7u) & ~7u)))[code];
}

/* A program built by NVRTC around a user's design defines
 * AXL_USER_MUL_EVAL and/or AXL_USER_ADD_EVAL before including this file. */
#ifndef AXL_USER_MUL_EVAL
#define AXL_USER_MUL_EVAL(c, a, b) 0u
#endif
#ifdef AXL_USER_ADD_EVAL
#define DEV_ADD_CODE(x, y) AXL_USER_ADD_EVAL(&d.add, (x), (y))
#else
#define DEV_ADD_CODE(x, y) axl_builtin_eval(&d.add, (x), (y))
#endif

template <int SRC>
static __device__ __forceinline__ uint32_t product_raw(const dev_conv &d, uint32_t a, uint32_t b)
{
    if (SRC == AXL_CUDA_SRC_USER)
        return AXL_USER_MUL_EVAL(&d.mul, a, b);
    if (SRC == AXL_SRC_MANTISSA) {
        struct axl_fpmul_parts r = axl_fpmul_split(&d.mul, a, b);
        uint64_t p = r.special ? 0u : tex1Dfetch<unsigned int>(d.tex, (int)(r.sx * d.mt_cols + r.sy));
        return axl_fpmul_join(&d.mul, &r, p, a, b);
    }
    return axl_builtin_eval(&d.mul, a, b);
}

template <int SRC>
static __device__ __forceinline__ float product_f32(const dev_conv &d, uint32_t a, uint32_t b)
{
    if (SRC == AXL_SRC_TABLE)
        return tex1Dfetch<float>(d.tex, (int)(b * d.na + a));
    if (SRC == AXL_CUDA_SRC_SHARED)
        return smem_decode(d, smem_entry(d, a, b));
    if (SRC == AXL_SRC_EXACT_F32) /* the CPU's exact_f32 path: a rounded multiply, never fused */
        return __fmul_rn(__uint_as_float(a), __uint_as_float(b));
    return axl_format_decode(&d.fp, product_raw<SRC>(d, a, b));
}

template <int SRC>
static __device__ __forceinline__ uint32_t product_code(const dev_conv &d, uint32_t a, uint32_t b)
{
    if (SRC == AXL_SRC_TABLE)
        return tex1Dfetch<unsigned int>(d.tex, (int)(b * d.na + a));
    if (SRC == AXL_CUDA_SRC_SHARED)
        return smem_entry(d, a, b);
    uint32_t p = product_raw<SRC>(d, a, b);
    return d.convert_p ? axl_format_encode(&d.facc, axl_format_decode(&d.fp, p),
                                           AXL_ROUND_NEAREST_EVEN, 0)
                       : p;
}

/* AXL_CUDA_SRC_SHARED: every block copies the table into shared memory first. */
static __device__ __forceinline__ void load_shared_table(const dev_conv &d)
{
    uint16_t *t = (uint16_t *)axl_smem_;
    for (uint32_t i = threadIdx.x; i < d.stab_n; i += blockDim.x)
        t[i] = d.stab[i];
    float *l = (float *)(t + ((d.stab_n + 7u) & ~7u));
    for (uint32_t i = threadIdx.x; i < d.slut_n; i += blockDim.x)
        l[i] = d.slut[i];
    __syncthreads();
}

/* One output per thread: the body of every convolution kernel. */
template <int ACC, int SRC, int ORDER>
static __device__ __forceinline__ void conv_body(const dev_conv &d)
{
    int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    int64_t P = d.oh * d.ow;
    if (t >= d.n * d.oc * P)
        return;
    int64_t img = t / (d.oc * P), r = t % (d.oc * P);
    int64_t oc = r / P, pos = r % P;
    int64_t oy = pos / d.ow, ox = pos % d.ow;
    int64_t cg = d.c / d.groups, ocg = d.oc / d.groups, g = oc / ocg;
    const uint32_t *src = d.acts + (img * d.c + g * cg) * d.h * d.w;
    const uint32_t *wrow = d.wts + oc * d.K;

    float accf = 0.0f, partf = 0.0f, stackf[ORDER == AXL_ORDER_PAIRWISE ? AXL_PAIRWISE_LEVELS : 1];
    uint32_t accc = d.acc_zero, partc = d.acc_zero;
    uint32_t stackc[ORDER == AXL_ORDER_PAIRWISE ? AXL_PAIRWISE_LEVELS : 1];
    uint32_t count = 0;
    int32_t acci = 0;
    int64_t sumx = 0;
    int64_t k = 0;
    for (int64_t ci = 0; ci < cg; ci++)
        for (int64_t i = 0; i < d.kh; i++)
            for (int64_t j = 0; j < d.kw; j++, k++) {
                int64_t iy = oy * d.sh - d.pt + i * d.dh, ix = ox * d.sw - d.pl + j * d.dw;
                uint32_t a = (iy >= 0 && iy < d.h && ix >= 0 && ix < d.w)
                                 ? src[(ci * d.h + iy) * d.w + ix]
                                 : d.pad;
                uint32_t b = wrow[k];
                if (ACC == AXL_ACC_INT) {
                    int32_t p = SRC == AXL_SRC_TABLE ? tex1Dfetch<int>(d.tex, (int)(b * d.na + a))
                                : SRC == AXL_CUDA_SRC_SHARED ? (int32_t)(int16_t)smem_entry(d, a, b)
                                : (int32_t)axl_format_decode(&d.fp, product_raw<SRC>(d, a, b));
                    acci = axl_add_i32(acci, p);
                    sumx += (int64_t)axl_format_decode(&d.fa, a);
                } else if (ACC == AXL_ACC_F32) {
                    float v = product_f32<SRC>(d, a, b);
                    if (ORDER == AXL_ORDER_SEQUENTIAL) {
                        accf = axl_add_f32(accf, v);
                    } else if (ORDER == AXL_ORDER_PAIRWISE) {
                        AXL_PAIRWISE_PUSH(float, stackf, count, v, axl_add_f32);
                    } else {
                        int64_t q = k % d.chunk;
                        partf = q == 0 ? v : axl_add_f32(partf, v);
                        if (q == (int64_t)d.chunk - 1 || k == d.K - 1)
                            accf = axl_add_f32(accf, partf);
                    }
                } else {
                    uint32_t v = product_code<SRC>(d, a, b);
                    if (ORDER == AXL_ORDER_SEQUENTIAL) {
                        accc = DEV_ADD_CODE(accc, v);
                    } else if (ORDER == AXL_ORDER_PAIRWISE) {
                        AXL_PAIRWISE_PUSH(uint32_t, stackc, count, v, DEV_ADD_CODE);
                    } else {
                        int64_t q = k % d.chunk;
                        partc = q == 0 ? v : DEV_ADD_CODE(partc, v);
                        if (q == (int64_t)d.chunk - 1 || k == d.K - 1)
                            accc = DEV_ADD_CODE(accc, partc);
                    }
                }
            }
    float yv;
    if (ACC == AXL_ACC_INT) {
        int64_t zw = d.zw[oc], za = d.za;
        int64_t corr = (int64_t)acci - zw * sumx - za * d.sumw[oc] + d.K * za * zw;
        yv = (d.sa * d.wscale[oc]) * (float)corr;
    } else if (ACC == AXL_ACC_F32) {
        if (ORDER == AXL_ORDER_PAIRWISE)
            AXL_PAIRWISE_FINISH(stackf, count, accf, axl_add_f32);
        yv = accf;
    } else {
        if (ORDER == AXL_ORDER_PAIRWISE)
            AXL_PAIRWISE_FINISH(stackc, count, accc, DEV_ADD_CODE);
        yv = axl_format_decode(&d.facc, accc);
    }
    if (d.bias)
        yv = yv + d.bias[oc];
    d.y[img * d.oimg + oc * d.osn + pos * d.osm] = yv;
}


#endif
