/* For tests/onnx_save_check.py: loads IN.onnx, multiplies every trainable
 * parameter by SCALE (default 2), saves the graph as OUT.onnx
 * (axl_graph_save) and prints the parameters' names, one a line.
 *     onnx_save_tool IN.onnx OUT.onnx [SCALE]
 * Exit status 0, or 1 with the library's message on stderr. */
#include <stdio.h>
#include <stdlib.h>

#include "axlut/graph.h"

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: onnx_save_tool IN.onnx OUT.onnx [SCALE]\n");
        return 2;
    }
    float scale = argc == 4 ? strtof(argv[3], NULL) : 2.0f;
    char msg[AXL_MSG_LEN];
    struct axl_graph *g;
    if (axl_graph_load(argv[1], &g, msg) != AXL_OK) {
        fprintf(stderr, "onnx_save_tool: %s\n", msg);
        return 1;
    }
    for (size_t i = 0; i < axl_graph_param_count(g); i++) {
        struct axl_tensor t = axl_graph_param(g, i);
        for (int64_t k = 0; k < axl_tensor_numel(&t); k++)
            t.data[k] *= scale;
    }
    int rc = 0;
    if (axl_graph_save(g, argv[2], msg) != AXL_OK) {
        fprintf(stderr, "onnx_save_tool: %s\n", msg);
        rc = 1;
    }
    for (size_t i = 0; !rc && i < axl_graph_param_count(g); i++)
        printf("%s\n", axl_graph_param_name(g, i));
    axl_graph_free(g);
    return rc;
}
