/* NVRTC programs around a user's design (see user_kernel.h). */
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <nvrtc.h>
#include <cuda.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axlut/user_design.h"
#include "axlut/table.h"
#include "cuda/mac_kernel.cuh"
#include "cuda/user_kernel.h"
#include "plan.h"

extern "C" {
extern const int axl_nvrtc_header_count;
extern const char *const axl_nvrtc_header_names[];
extern const char *const axl_nvrtc_header_texts[];
}

/* NVRTC has no C library; the few names the headers need. */
static const char k_stdint[] =
    "#pragma once\n"
    "typedef signed char int8_t; typedef short int16_t; typedef int int32_t;\n"
    "typedef long long int64_t; typedef unsigned char uint8_t; typedef unsigned short uint16_t;\n"
    "typedef unsigned int uint32_t; typedef unsigned long long uint64_t;\n";
static const char k_stddef[] = "#pragma once\ntypedef unsigned long size_t;\n#define NULL 0\n";
static const char k_string[] = "#pragma once\n";

/* ---- the libraries, loaded on first use ---------------------------------- */

struct nvrtc_api {
    nvrtcResult (*create)(nvrtcProgram *, const char *, const char *, int, const char *const *,
                          const char *const *);
    nvrtcResult (*compile)(nvrtcProgram, int, const char *const *);
    nvrtcResult (*log_size)(nvrtcProgram, size_t *);
    nvrtcResult (*log)(nvrtcProgram, char *);
    nvrtcResult (*ptx_size)(nvrtcProgram, size_t *);
    nvrtcResult (*ptx)(nvrtcProgram, char *);
    nvrtcResult (*destroy)(nvrtcProgram *);
    const char *(*error)(nvrtcResult);
};

struct driver_api {
    CUresult (*init)(unsigned);
    CUresult (*load)(CUmodule *, const void *);
    CUresult (*function)(CUfunction *, CUmodule, const char *);
    CUresult (*launch)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                       unsigned, CUstream, void **, void **);
    CUresult (*error)(CUresult, const char **);
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nvrtc_api g_nvrtc;
static struct driver_api g_drv;
static int g_nvrtc_ok, g_drv_ok;

static void *open_first(const char *const *names)
{
    for (int i = 0; names[i]; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (h)
            return h;
    }
    return NULL;
}

#define SYM(h, dst, name) ((*(void **)&(dst) = dlsym((h), (name))) != NULL)

static int load_nvrtc(char *msg)
{
    if (g_nvrtc_ok)
        return 1;
    static const char *const names[] = {"libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12",
                                        AXL_CUDA_LIBDIR "/libnvrtc.so", NULL};
    void *h = open_first(names);
    if (!h || !SYM(h, g_nvrtc.create, "nvrtcCreateProgram") ||
        !SYM(h, g_nvrtc.compile, "nvrtcCompileProgram") ||
        !SYM(h, g_nvrtc.log_size, "nvrtcGetProgramLogSize") ||
        !SYM(h, g_nvrtc.log, "nvrtcGetProgramLog") || !SYM(h, g_nvrtc.ptx_size, "nvrtcGetPTXSize") ||
        !SYM(h, g_nvrtc.ptx, "nvrtcGetPTX") || !SYM(h, g_nvrtc.destroy, "nvrtcDestroyProgram") ||
        !SYM(h, g_nvrtc.error, "nvrtcGetErrorString")) {
        axl_msgf(msg, AXL_ERR_UNSUPPORTED, "NVRTC (libnvrtc.so, from the CUDA toolkit) could "
                 "not be loaded: a user design's function needs it on the GPU");
        return 0;
    }
    g_nvrtc_ok = 1;
    return 1;
}

static int load_driver(char *msg)
{
    if (g_drv_ok)
        return 1;
    static const char *const names[] = {"libcuda.so.1", "libcuda.so", NULL};
    void *h = open_first(names);
    if (!h || !SYM(h, g_drv.init, "cuInit") || !SYM(h, g_drv.load, "cuModuleLoadData") ||
        !SYM(h, g_drv.function, "cuModuleGetFunction") || !SYM(h, g_drv.launch, "cuLaunchKernel") ||
        !SYM(h, g_drv.error, "cuGetErrorString")) {
        axl_msgf(msg, AXL_ERR_CUDA, "the CUDA driver (libcuda.so.1) could not be loaded");
        return 0;
    }
    if (g_drv.init(0) != CUDA_SUCCESS) {
        axl_msgf(msg, AXL_ERR_CUDA, "the CUDA driver did not initialise");
        return 0;
    }
    g_drv_ok = 1;
    return 1;
}

/* ---- program source and compilation ------------------------------------ */

char *axl_user_kernel_source(const struct axl_mac *m, int user_mul, int user_add, int acc, int src,
                             int order)
{
    if (user_mul == user_add)
        return NULL;
    (void)m;
    const char *fmt =
        "/* axlut: kernel around a user design, built by NVRTC */\n"
        "#define %s(c, a, b) axl_user_design.eval((c), (a), (b))\n"
        "#include \"axl_user_design.c\"\n"
        "#include \"cuda/mac_kernel.cuh\"\n"
        "extern \"C\" __global__ void axl_user_conv(const dev_conv d)\n"
        "{\n    conv_body<%d, %d, %d>(d);\n}\n";
    size_t n = strlen(fmt) + 64;
    char *s = (char *)malloc(n);
    if (s)
        snprintf(s, n, fmt, user_mul ? "AXL_USER_MUL_EVAL" : "AXL_USER_ADD_EVAL", acc, src, order);
    return s;
}

static enum axl_status compile_with(const char *source, const char *user_source, int arch,
                                    char **ptx, char **log, char *msg)
{
    *ptx = NULL;
    if (log)
        *log = NULL;
    if (!load_nvrtc(msg))
        return AXL_ERR_UNSUPPORTED;
    int nh = axl_nvrtc_header_count + 4;
    const char **names = (const char **)malloc((size_t)nh * sizeof *names);
    const char **texts = (const char **)malloc((size_t)nh * sizeof *texts);
    if (!names || !texts) {
        free(names);
        free(texts);
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < axl_nvrtc_header_count; i++) {
        names[i] = axl_nvrtc_header_names[i];
        texts[i] = axl_nvrtc_header_texts[i];
    }
    int k = axl_nvrtc_header_count;
    names[k] = "stdint.h", texts[k++] = k_stdint;
    names[k] = "stddef.h", texts[k++] = k_stddef;
    names[k] = "string.h", texts[k++] = k_string;
    names[k] = "axl_user_design.c", texts[k++] = user_source ? user_source : "";
    char archopt[48];
    snprintf(archopt, sizeof archopt, "--gpu-architecture=compute_%d", arch);
    /* --fmad=false: no fused multiply-adds, as in the nvcc-built kernels */
    const char *opts[] = {"-default-device", "-std=c++20", archopt, "-DAXL_NVRTC=1",
                          "--fmad=false"};
    nvrtcProgram prog;
    enum axl_status st = AXL_OK;
    nvrtcResult r = g_nvrtc.create(&prog, source, "axl_user_kernel.cu", k, texts, names);
    free(names);
    free(texts);
    if (r != NVRTC_SUCCESS)
        return axl_msgf(msg, AXL_ERR_COMPILE, "NVRTC: %s", g_nvrtc.error(r));
    r = g_nvrtc.compile(prog, 5, opts);
    size_t ln = 0;
    if (log && g_nvrtc.log_size(prog, &ln) == NVRTC_SUCCESS && ln > 1) {
        *log = (char *)malloc(ln);
        if (*log && g_nvrtc.log(prog, *log) != NVRTC_SUCCESS) {
            free(*log);
            *log = NULL;
        }
    }
    if (r != NVRTC_SUCCESS) {
        st = axl_msgf(msg, AXL_ERR_COMPILE, "NVRTC could not compile the user design for the "
                      "GPU (%s); note: on the GPU the design is compiled as C++20, so designated "
                      "initialisers must follow the order of struct axl_design", g_nvrtc.error(r));
    } else {
        size_t pn = 0;
        g_nvrtc.ptx_size(prog, &pn);
        *ptx = (char *)malloc(pn);
        if (!*ptx || g_nvrtc.ptx(prog, *ptx) != NVRTC_SUCCESS) {
            free(*ptx);
            *ptx = NULL;
            st = axl_msgf(msg, AXL_ERR_COMPILE, "NVRTC: no PTX");
        }
    }
    g_nvrtc.destroy(&prog);
    return st;
}

/* The program of one kernel configuration (*source, malloc'd) and the text
 * of the user design that serves it (*text). */
static enum axl_status kernel_texts(const struct axl_mac *m, int user_mul, int user_add, int acc,
                                    int src, int order, char **source, const char **text,
                                    char *msg)
{
    const struct axl_user_design *u = user_mul ? m->mul_user : m->add_user;
    *text = u ? axl_user_design_source(u) : NULL;
    *source = axl_user_kernel_source(m, user_mul, user_add, acc, src, order);
    if (*source && *text)
        return AXL_OK;
    free(*source);
    *source = NULL;
    return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "a GPU kernel takes one user design (multiplier "
                    "or adder), not both");
}

enum axl_status axl_user_kernel_ptx(const struct axl_mac *m, int user_mul, int user_add, int acc,
                                    int src, int order, int arch, char **ptx, char **log, char *msg)
{
    const char *text;
    char *source;
    enum axl_status tst = kernel_texts(m, user_mul, user_add, acc, src, order, &source, &text, msg);
    if (tst != AXL_OK)
        return tst;
    pthread_mutex_lock(&g_lock);
    enum axl_status st = compile_with(source, text, arch, ptx, log, msg);
    pthread_mutex_unlock(&g_lock);
    free(source);
    return st;
}

/* ---- loaded kernels, once per process ---------------------------------- */

struct loaded {
    char key[65];
    CUfunction fn;
};
#define MAX_LOADED 64
static struct loaded g_loaded[MAX_LOADED];
static int g_nloaded;

enum axl_status axl_user_kernel_launch(const struct axl_mac *m, int user_mul, int user_add,
                                       int acc, int src, int order, const struct dev_conv *d,
                                       unsigned blocks, char *msg)
{
    const char *text;
    char *source;
    enum axl_status tst = kernel_texts(m, user_mul, user_add, acc, src, order, &source, &text, msg);
    if (tst != AXL_OK)
        return tst;
    int dev = 0;
    cudaDeviceProp prop;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&prop, dev) != cudaSuccess) {
        free(source);
        return axl_msgf(msg, AXL_ERR_CUDA, "CUDA: no device properties");
    }
    int arch = prop.major * 10 + prop.minor;
    /* key: program, user source and architecture */
    size_t ls = strlen(source), lt = strlen(text);
    char *keybuf = (char *)malloc(ls + lt + 16);
    if (!keybuf) {
        free(source);
        return axl_msgf(msg, AXL_ERR_NOMEM, "out of memory");
    }
    memcpy(keybuf, source, ls);
    memcpy(keybuf + ls, text, lt);
    int kl = snprintf(keybuf + ls + lt, 16, "|%d", arch);
    char key[65];
    axl_sha256_hex(keybuf, ls + lt + (size_t)kl, key);
    free(keybuf);

    enum axl_status st = AXL_OK;
    CUfunction fn = NULL;
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < g_nloaded; i++)
        if (!strcmp(g_loaded[i].key, key))
            fn = g_loaded[i].fn;
    if (!fn) {
        char *ptx = NULL, *log = NULL;
        CUmodule mod;
        if (!load_driver(msg)) {
            st = AXL_ERR_CUDA;
        } else if ((st = compile_with(source, text, arch, &ptx, &log, msg)) != AXL_OK) {
            if (log) { /* the first line of NVRTC's complaint, for the one-line message */
                char *nl = strchr(log, '\n');
                if (nl)
                    *nl = '\0';
                size_t ml = strlen(msg);
                snprintf(msg + ml, AXL_MSG_LEN - ml, ": %.200s", log);
            }
        } else if (g_drv.load(&mod, ptx) != CUDA_SUCCESS ||
                   g_drv.function(&fn, mod, "axl_user_conv") != CUDA_SUCCESS) {
            st = axl_msgf(msg, AXL_ERR_CUDA, "CUDA driver: the user kernel's PTX did not load");
            fn = NULL;
        } else if (g_nloaded < MAX_LOADED) {
            snprintf(g_loaded[g_nloaded].key, sizeof g_loaded[g_nloaded].key, "%s", key);
            g_loaded[g_nloaded++].fn = fn;
        }
        free(ptx);
        free(log);
    }
    pthread_mutex_unlock(&g_lock);
    free(source);
    if (st != AXL_OK)
        return st;
    void *args[] = {(void *)d};
    CUresult r = g_drv.launch(fn, blocks, 1, 1, 256, 1, 1, 0, NULL, args, NULL);
    if (r != CUDA_SUCCESS) {
        const char *e = "unknown";
        g_drv.error(r, &e);
        return axl_msgf(msg, AXL_ERR_CUDA, "CUDA driver: launching the user kernel failed: %s", e);
    }
    return AXL_OK;
}
