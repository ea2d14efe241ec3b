#!/usr/bin/env python3
"""The before/after table of tools/bench_batch.sh: for each case, GMAC/s of
the old binary and of the new one at each batch ISA (median over rounds of
the per-round medians that axlut bench reports), the speed-up, and in the
same runs exact float32 BLAS and the table path on the same shape: the int8
table (int8_mitchell) for the integer configurations, the e4m3 one
(e4m3_drum4) for the others."""
import json
import statistics
import sys

out, rounds = sys.argv[1], int(sys.argv[2])
runs = {}
for kind in ("old", "new", "avx2", "scalar"):
    for r in range(1, rounds + 1):
        for c in json.load(open(f"{out}/{kind}_{r}.json")):
            runs.setdefault((kind, c["name"]), []).append(c)


def med(kind, name, key):
    v = [c[key] for c in runs.get((kind, name), []) if c.get(key) is not None]
    return statistics.median(v) if v else None


names = sorted({n for (_, n) in runs})
cpu = next(iter(runs.values()))[0]["cpu"]
isa = next(c["batch_isa"] for (k, _), cs in runs.items() if k == "new" for c in cs)
print(f"CPU: {cpu}; batch ISA of the new binary: {isa}; {rounds} round(s)\n")
print("| case | before GMAC/s | after GMAC/s | after, AVX2 | after, scalar | speed-up "
      "| BLAS fp32 GMAC/s | BLAS / after | table | table GMAC/s | table / after |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for n in names:
    shape = n.split("/")[0]
    o, a = med("old", n, "approx_macs_per_s"), med("new", n, "approx_macs_per_s")
    a2, sc = med("avx2", n, "approx_macs_per_s"), med("scalar", n, "approx_macs_per_s")
    b = med("new", n, "exact_blas_macs_per_s")
    tab = "int8_mitchell" if n.split("/")[1].startswith("int") else "e4m3_drum4"
    t = med("new", f"{shape}/{tab}", "approx_macs_per_s")
    g = lambda x: f"{x / 1e9:.3f}" if x else "-"
    r = lambda x, y: f"{x / y:.1f}x" if x and y else "-"
    print(f"| {n} | {g(o)} | {g(a)} | {g(a2)} | {g(sc)} | {r(a, o)} | {g(b)} | {r(b, a)} "
          f"| {tab} | {g(t)} | {r(t, a)} |")
