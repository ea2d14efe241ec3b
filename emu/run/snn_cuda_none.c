/* The CUDA SNN simulation's stand-in when the CUDA backend was not built. */
#include "snn_dev.h"

enum axl_status snn_cuda_simulate(const struct snn_dev_net *net, const struct snn_dev_sim *o,
                                  char *msg)
{
    (void)net;
    (void)o;
    return axl_msgf(msg, AXL_ERR_UNSUPPORTED, "this axlut was built without CUDA; use the cpu "
                    "backend");
}
