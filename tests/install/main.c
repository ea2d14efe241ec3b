/* A program outside the axlut tree, built against an installed axlut (CMake
 * package or pkg-config) by tests/install/run.sh.  It parses a format,
 * encodes and decodes one value, and asks the CUDA backend how many GPUs it
 * sees, so that the library's compiled code and its link dependencies are
 * all exercised. */
#include <stdio.h>

#include <axlut/emu.h>
#include <axlut/format.h>
#include <axlut/mac.h>

int main(void)
{
    struct axl_format f;
    char msg[AXL_MSG_LEN];
    if (axl_format_parse("e4m3", &f, msg) != AXL_OK) {
        fprintf(stderr, "consumer: %s\n", msg);
        return 1;
    }
    uint32_t code = axl_format_encode(&f, 3.14159f, AXL_ROUND_NEAREST_EVEN, 0);
    float back = axl_format_decode(&f, code);
    printf("%s 3.14159 -> 0x%02x -> %g\n", f.name, (unsigned)code, (double)back);
    if (axl_format_parse("e9m30", &f, msg) == AXL_OK) {
        fprintf(stderr, "consumer: e9m30 was accepted\n");
        return 1;
    }
    printf("cuda compiled %d, devices %d\n", axl_cuda_compiled(), axl_cuda_device_count(NULL, 0));
    /* the MAC engine (and with it every backend's object code): a 2x2x2
     * GEMM through the DRUM design's e4m3 table */
    struct axl_mac_spec s = {0};
    s.mul = "fpmul_drum";
    s.fmt_a = "e4m3";
    struct axl_mac *mac;
    if (axl_mac_create(&s, &mac, msg) != AXL_OK) {
        fprintf(stderr, "consumer: %s\n", msg);
        return 1;
    }
    float a[4] = {1, 2, 3, 4}, b[4] = {1, 0, 0, 1}, c[4];
    struct axl_gemm_args g = {0, 0, 2, 2, 2, a, 2, b, 2, NULL, c, 2};
    if (axl_mac_gemm(mac, AXL_BACKEND_CPU, &g, msg) != AXL_OK) {
        fprintf(stderr, "consumer: %s\n", msg);
        return 1;
    }
    printf("gemm %g %g %g %g\n", (double)c[0], (double)c[1], (double)c[2], (double)c[3]);
    axl_mac_free(mac);
    return 0;
}
