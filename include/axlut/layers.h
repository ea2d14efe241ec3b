/* Per-layer MAC configurations: which multiply, add, formats and order
 * each approximable layer of a network uses.
 *
 * A configuration is a default plus rules, from the command line or a JSON
 * file (docs/CONFIG.md):
 *
 *   {
 *     "default": {"mul": "fpmul_drum", "params": {"k": 4}, "format": "e4m3"},
 *     "layers": [
 *       {"match": "conv1", "exact": true},                keep the first layer exact
 *       {"match": "features.*", "format": "e5m2"},        glob over layer names
 *       {"op": "Gemm", "mul": "mul_exact", "format": "bf16"}
 *     ]
 *   }
 *
 * Every layer starts from the default (exact float32 when there is none);
 * then each rule that matches it, in file order, replaces the fields it
 * gives (a later rule wins).  "match" is an exact layer name or a glob (*, ?,
 * [..]); "op" an operator type; a rule may give both.  A rule that matches
 * no approximable layer is an error, so a misspelt name is never ignored.
 *
 * axl_layers_bind applies a configuration to a graph: it checks the rules
 * against the graph's layers and prepares the MAC engine of every layer
 * that is not exact.  `axlut run`, `axlut sweep` and `axlut bench` all go
 * through it (or through axl_layers_resolve where there is no graph).
 */
#ifndef AXLUT_LAYERS_H
#define AXLUT_LAYERS_H

#include <stddef.h>

#include "graph.h"
#include "mac.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct axl_layers; /* opaque: default + rules, owning their strings */

/* An empty configuration: every layer exact. */
enum axl_status axl_layers_new(struct axl_layers **out, char *msg);

/* Read a JSON file; unknown keys, wrong types and bad values are errors
 * naming the file, the rule and the key. */
enum axl_status axl_layers_load_json(const char *path, struct axl_layers **out, char *msg);

/* Set one field of the default from a command-line style option:
 * key one of mul, param (value "k=4", repeatable), format, format-w,
 * format-p, round, seed, add, add-param, acc-format, order, chunk, path,
 * wquant, wscale, ascale, scale-pow2, scale-margin, act-amax, exact ("1"). */
enum axl_status axl_layers_set_default(struct axl_layers *l, const char *key, const char *value,
                                       char *msg);

/* Restrict the configuration to the layers whose name matches PATTERN, a
 * glob as in "match" (or, when literal, the name itself): every other layer
 * stays exact whatever the default and the rules say.  Unlike a rule's, a
 * pattern that matches no layer is not an error (axlut sweep --layers). */
enum axl_status axl_layers_set_only(struct axl_layers *l, const char *pattern, int literal,
                                    char *msg);

/* Whether the configuration approximates anything at all. */
int axl_layers_any(const struct axl_layers *l);

/* The specification of one layer (also for users without a graph, such as
 * axlut bench).  *exact is set when the layer stays exact float32, by the
 * rules or outside axl_layers_set_only's pattern (then *spec is
 * untouched).  Strings in *spec stay valid as long as l does. */
void axl_layers_resolve(const struct axl_layers *l, const char *name, const char *op,
                        struct axl_mac_spec *spec, int *exact);

/* Checks that every rule matches at least one of the n layers (names and
 * ops of the approximable layers); otherwise AXL_ERR_INVALID naming the rule
 * and, for a near miss, the closest layer name. */
enum axl_status axl_layers_check(const struct axl_layers *l, const char *const *names,
                                 const char *const *ops, size_t n, char *msg);

/* axl_layers_load_json over JSON text instead of a file; source names it
 * in messages (NULL: "configuration"). */
enum axl_status axl_layers_parse_json(const char *text, const char *source,
                                      struct axl_layers **out, char *msg);

void axl_layers_free(struct axl_layers *l);

/* The MAC engines of one graph's nodes under a configuration. */
struct axl_layer_macs {
    size_t n;                    /* the graph's nodes */
    const struct axl_mac **macs; /* [n]: a node's engine; NULL where it stays exact (every
                                    node that is not a MAC layer) */
    struct axl_mac **owned;      /* the distinct engines: layers whose fields all come from
                                    the same rules share one */
    size_t nowned;
};

/* Bind l to graph g: axl_layers_check over g's approximable layers (its
 * message prefixed with the configuration file's name when l came from
 * one), then an engine per distinct layer configuration.  On error *out is
 * empty and msg names the rule, or the layer whose engine failed
 * ("layer NAME (OP): why").  Free with axl_layer_macs_free. */
enum axl_status axl_layers_bind(const struct axl_layers *l, const struct axl_graph *g,
                                struct axl_layer_macs *out, char *msg);
/* Frees the engines and the table; NULL and an empty binding are fine. */
void axl_layer_macs_free(struct axl_layer_macs *b);

/* The engine of one layer outside a graph (a binding's single convolution
 * or GEMM): the one axl_layers_bind prepares for a graph layer named NAME
 * of operator OP, the exact float32 engine where the layer stays exact.
 * The rules are not checked against any graph.  On error *out is NULL and
 * msg says "layer NAME (OP): why".  Free with axl_mac_free. */
enum axl_status axl_layers_mac(const struct axl_layers *l, const char *name, const char *op,
                               struct axl_mac **out, char *msg);

#ifdef __cplusplus
}
#endif

#endif
