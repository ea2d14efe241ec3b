#!/usr/bin/env python3
"""The table of tools/bench_small.sh: GMAC/s of each small-table config
(AVX-512 kernel, AVX2 kernel, gather path, old binary) against the int8
table path and exact float32 BLAS measured in the same runs (medians over
rounds of the per-run medians that axlut bench reports)."""
import glob
import json
import os
import statistics
import sys

out = sys.argv[1]
runs = {}
cpu = None
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    kind = os.path.basename(path).split("_")[0]
    for c in json.load(open(path)):
        runs.setdefault((kind, c["name"]), []).append(c)
        cpu = cpu or c.get("cpu")


# RATE=cpu (tools/bench_small.sh): GMAC per process CPU second
suf = "_macs_per_cpu_s" if os.environ.get("AXL_RATE") == "cpu" else "_macs_per_s"


def med(kind, name, key="approx"):
    key += suf
    v = [c[key] for c in runs.get((kind, name), []) if c.get(key) is not None]
    return statistics.median(v) if v else None


g = lambda x: f"{x / 1e9:.2f}" if x else "-"
r = lambda x, y: f"{x / y:.2f}x" if x and y else "-"
names = sorted({n for (_, n) in runs}, key=lambda n: (n.split("/")[0], n))
rounds = len({os.path.basename(p).split("_")[1] for p in glob.glob(os.path.join(out, "new_*"))})
threads = os.environ.get("THREADS", "2")
per = "per CPU second" if suf == "_macs_per_cpu_s" else "wall-clock"
print(f"CPU: {cpu}; {threads} thread(s), GMAC/s {per}; medians over {rounds} round(s)\n")
print("| case | AVX-512 GMAC/s | AVX2 GMAC/s | gather GMAC/s | old binary GMAC/s "
      "| int8 table GMAC/s | / int8 table | AVX2 / int8 gather (AVX2) | BLAS fp32 GMAC/s "
      "| / BLAS |")
print("|---|---|---|---|---|---|---|---|---|---|")
for n in names:
    shape = n.split("/")[0]
    a, a2, ga, o = med("new", n), med("avx2", n), med("gather", n), med("old", n)
    i8, i8_2 = med("new", f"{shape}/int8_mitchell"), med("gather", f"{shape}/int8_mitchell")
    b = med("new", n, "exact_blas")
    print(f"| {n} | {g(a)} | {g(a2)} | {g(ga)} | {g(o)} | {g(i8)} | {r(a, i8)} "
          f"| {r(a2, i8_2)} | {g(b)} | {r(a, b)} |")
