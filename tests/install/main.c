/* A program outside the axlut tree, built against an installed axlut (CMake
 * package or pkg-config) by tests/install/run.sh.  It parses a format,
 * encodes and decodes one value, and asks the CUDA backend how many GPUs it
 * sees, so that the library's compiled code and its link dependencies are
 * all exercised. */
#include <stdio.h>

#include <axlut/emu.h>
#include <axlut/format.h>

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
    return 0;
}
