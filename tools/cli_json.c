/* JSON output of the command line (tools/cli.h): jansson, with numbers as
 * the printf formats of the earlier hand-written output gave them. */
#define _POSIX_C_SOURCE 200809L
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

json_t *cli_json_number(double v, int digits)
{
    if (!isfinite(v))
        return json_null();
    char text[64], *end;
    snprintf(text, sizeof text, "%.*g", digits, v);
    long long i = strtoll(text, &end, 10);
    if (!*end)
        return json_integer((json_int_t)i);
    return json_real(strtod(text, NULL));
}

json_t *cli_json_text(const char *s)
{
    size_t cap = 3 * strlen(s) + 4;
    char *b = malloc(cap);
    json_t *j = b ? json_string(axl_utf8_copy(b, cap, s)) : NULL;
    free(b);
    return j;
}

int cli_json_write(json_t *root, const char *path, int digits, const char *cmd)
{
    size_t flags = JSON_INDENT(2) | JSON_REAL_PRECISION(digits);
    char *text = root ? json_dumps(root, flags) : NULL;
    json_decref(root);
    if (!text) {
        fprintf(stderr, "%s: cannot build the JSON output (out of memory, or text that is not "
                "UTF-8)\n", cmd);
        return CLI_FAIL;
    }
    int rc = CLI_OK;
    if (!path) {
        printf("%s\n", text);
    } else {
        char tmp[4096];
        FILE *f = NULL;
        if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
            fprintf(stderr, "%s: --json path too long\n", cmd);
            rc = CLI_USAGE;
        } else if (!(f = fopen(tmp, "w"))) {
            fprintf(stderr, "%s: cannot write '%s'\n", cmd, tmp);
            rc = CLI_FAIL;
        } else {
            int bad = fprintf(f, "%s\n", text) < 0;
            bad |= fclose(f) != 0;
            if (bad || rename(tmp, path) != 0) {
                remove(tmp);
                fprintf(stderr, "%s: writing '%s' failed\n", cmd, path);
                rc = CLI_FAIL;
            }
        }
    }
    free(text);
    return rc;
}
