/* axlut list designs (placeholder until the design registry lands). */
#include "tools/cli.h"
int cli_list_designs(void)
{
    fprintf(stderr, "axlut list designs: no designs built in yet\n");
    return CLI_FAIL;
}
