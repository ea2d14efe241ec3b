#!/usr/bin/env python3
"""Roofline of the byte-permute table kernels (emu/mac/cpu/vbmi.c), achieved
against ceiling, as the markdown of BENCHMARKS.md.

    tools/roofline.py [--bench BENCH.json ...] [--cores N]

Compiles and runs bench/roofline.c (clock and instruction throughputs of this
machine), counts the instructions each plane layout executes per 64 MACs (the
table below, read off step() in vbmi.c), and computes the ceiling with the
port model of Intel Golden Cove cores for 512-bit operations (ports 0 and 5;
port 1 is fused into port 0 for 512-bit uops): VPERMI2B is 3 uops, two of
them on port 5 (uops.info, "VPERMI2B (ZMM, ZMM, ZMM)", Ice Lake / Alder Lake-P
rows), byte/word interleaves on port 5, shifts and VPMOVB2M on port 0, logic,
blends, adds on either.  The measured throughputs printed beside it check
the model on this machine (a shift and a permute in one loop cost no more
than the permute alone: different ports).

A layout's ceiling in cycles per 64 MACs is the largest of: the port-5 uops,
the port-0 uops, half of all vector uops.  GMAC/s = 64 / cycles * GHz * cores.
Achieved figures come from `axlut bench --json` files (--bench), matched to a
layout by the config (int8 tables: S16 with VNNI; e4m3: HI16S when the table
is sign-symmetric, which fpmul_drum's is).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "bench", "roofline.c")

# Instructions per 64 MACs (one weight code, 64 activation codes) for each
# layout: (name, {instruction: count}).  "old" rows are the kernel before
# issue 19 (two levels of interleave), for the record.
LAYOUTS = [
    ("HI16 (float, fp8 products), before", {"perm": 4, "blend": 2, "mask": 1, "unpack": 6, "add": 4}),
    ("HI16", {"perm": 4, "blend": 2, "mask": 1, "unpack": 2, "shift": 2, "logic": 2, "add": 4}),
    ("HI16S (sign-symmetric half planes)", {"perm": 2, "logic": 1, "unpack": 2, "shift": 2,
                                            "logic2": 2, "add": 4}),
    ("S16 (int8 products), before", {"perm": 4, "blend": 2, "mask": 1, "unpack": 6, "shift": 2,
                                     "add": 4}),
    ("S16 + VNNI", {"perm": 4, "blend": 2, "mask": 1, "unpack": 2, "dpwssd": 4}),
    ("U16", {"perm": 4, "blend": 2, "mask": 1, "unpack": 2, "shift": 2, "logic": 2, "add": 4}),
    ("32 (four planes)", {"perm": 8, "blend": 4, "mask": 1, "unpack": 8, "add": 4}),
]

# uops per instruction on (port 5 only, port 0 only, either)
PORTS = {"perm": (2, 0, 1), "unpack": (1, 0, 0), "shift": (0, 1, 0), "mask": (0, 1, 0),
         "blend": (0, 0, 1), "logic": (0, 0, 1), "logic2": (0, 0, 1), "add": (0, 0, 1),
         "dpwssd": (0, 0, 1)}


def cycles(counts):
    p5 = sum(n * PORTS[i][0] for i, n in counts.items())
    p0 = sum(n * PORTS[i][1] for i, n in counts.items())
    tot = sum(n * sum(PORTS[i]) for i, n in counts.items())
    return max(p5, p0, tot / 2.0), p5, p0, tot


def measure():
    with tempfile.TemporaryDirectory() as d:
        exe = os.path.join(d, "roofline")
        subprocess.run(["cc", "-O2", "-mavx512f", "-mavx512bw", "-mavx512vbmi", "-mavx512vnni",
                        SRC, "-o", exe], check=True)
        return json.loads(subprocess.run([exe], check=True, capture_output=True,
                                         text=True).stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", nargs="*", default=[], help="axlut bench --json files")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--rate", choices=["wall", "cpu"], default="wall",
                    help="achieved per wall second or per process CPU second")
    args = ap.parse_args()
    m = measure()
    ghz = m["ghz"]
    pc = m["per_cycle"]
    print(f"Clock {ghz:.2f} GHz (dependent multiplies); instructions per cycle measured "
          "(12 independent chains): " +
          ", ".join(f"{k} {v:.2f}" for k, v in pc.items()) + ".\n")
    print("| layout | port-5 uops | port-0 uops | all uops | cycles / 64 MAC | MAC / cycle "
          f"| ceiling GMAC/s ({args.cores} core{'s' if args.cores > 1 else ''}) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    ceil = {}
    for name, counts in LAYOUTS:
        c, p5, p0, tot = cycles(counts)
        g = 64.0 / c * ghz * args.cores
        ceil[name] = g
        print(f"| {name} | {p5} | {p0} | {tot} | {c:.1f} | {64.0 / c:.2f} | {g:.1f} |")
    if not args.bench:
        return
    which = {"int8_mitchell": "S16 + VNNI", "e4m3_drum4": "HI16S (sign-symmetric half planes)"}
    rows = {}
    for f in args.bench:
        with open(f) as fh:
            for r in json.load(fh):
                cfg = r.get("config")
                key = "approx_macs_per_cpu_s" if args.rate == "cpu" else "approx_macs_per_s"
                if cfg in which and r.get(key):
                    rows.setdefault((r["shape_name"], cfg), []).append(r[key] / 1e9)
    print("\n| case | layout | achieved GMAC/s | ceiling | achieved / ceiling |")
    print("|---|---|---:|---:|---:|")
    for (case, cfg), v in sorted(rows.items()):
        v.sort()
        a = v[len(v) // 2]
        lay = which[cfg]
        print(f"| {case} | {lay} | {a:.2f} | {ceil[lay]:.1f} | {a / ceil[lay]:.0%} |")


if __name__ == "__main__":
    sys.exit(main())
