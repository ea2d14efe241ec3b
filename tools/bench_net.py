#!/usr/bin/env -S /usr/bin/python3
"""Whole-network throughput of issue 19, in one command:

    tools/bench_net.py [--build build] [--base /work/base/axlut] [--work DIR]
                       [--limit 16] [--batch 8] [--reps 3]

torchvision ResNet-18 at 224x224 (random weights: speed does not depend on
them) exported once into DIR (tools/bench_net_models.py, never committed),
then, in the same run and on the same threads (OMP_NUM_THREADS, default
all cores):
  - exact PyTorch (float32, torch.no_grad) at the batch: the peer baseline;
  - `axlut bench --network` with a Mitchell int8 table: the approximate
    pass (shadows included), the whole `axlut run` with the exact reference
    and without it (--no-reference), and the exact reference pass alone;
  - with --base, the same `axlut run` through an older binary (its
    approximate pass and its whole run), for before/after ratios.
Prints a Markdown table for BENCHMARKS.md; every figure is a median of
--reps rounds.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MAC = ["--mul", "mitchell", "--format", "int8"]


def export(work, batch):
    onnx, h5 = os.path.join(work, "resnet18_224.onnx"), os.path.join(work, "resnet18_224.h5")
    if not (os.path.exists(onnx) and os.path.exists(h5)):
        os.makedirs(work, exist_ok=True)
        subprocess.run([sys.executable, os.path.join(HERE, "export_model.py"),
                        os.path.join(HERE, "bench_net_models.py") + ":resnet18_224", "-o", onnx,
                        "--h5", h5, "--batch", str(batch)], check=True,
                       stdout=subprocess.DEVNULL)
    return onnx, h5


def pytorch_ips(limit, batch, reps, threads):
    import torch
    import torchvision
    torch.set_num_threads(threads)
    m = torchvision.models.resnet18(weights=None).eval()
    x = torch.randn(batch, 3, 224, 224)
    with torch.no_grad():
        m(x)  # warm-up
        rates = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(max(1, limit // batch)):
                m(x)
            rates.append(max(1, limit // batch) * batch / (time.perf_counter() - t0))
    return statistics.median(rates)


def number_after(text, label):
    m = re.search(re.escape(label) + r"\s+([0-9.eE+-]+)", text)
    if not m:
        sys.exit(f"bench_net.py: '{label}' missing from axlut bench's output:\n{text}")
    return float(m.group(1))


def base_run(binary, onnx, h5, limit, batch, reps):
    """(approximate pass, whole run) images/s of an older `axlut run`."""
    approx, whole = [], []
    with tempfile.TemporaryDirectory(prefix="axl-bench-net-") as tmp:
        rep = os.path.join(tmp, "r.json")
        for _ in range(reps):
            t0 = time.perf_counter()
            subprocess.run([binary, "run", onnx, "--data", h5, "--limit", str(limit), "--batch",
                            str(batch), "--report", rep, "--quiet"] + MAC, check=True)
            whole.append(limit / (time.perf_counter() - t0))
            with open(rep) as f:  # the report's figure, not the terminal's one decimal
                approx.append(json.load(f)["samples_per_s"])
    return statistics.median(approx), statistics.median(whole)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(os.path.dirname(HERE), "build"))
    ap.add_argument("--base", help="an older axlut binary to compare with")
    ap.add_argument("--work", default="/tmp/axl-bench-net")
    ap.add_argument("--limit", type=int, default=16)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
    onnx, h5 = export(a.work, max(a.limit, a.batch))
    py = pytorch_ips(a.limit, a.batch, a.reps, threads)
    out = subprocess.run([os.path.join(a.build, "axlut"), "bench", "--network", onnx, "--data", h5,
                          "--limit", str(a.limit), "--batch", str(a.batch), "--reps",
                          str(a.reps)] + MAC, check=True, capture_output=True, text=True).stdout
    approx = number_after(out, "prepared once per plan (default)")
    with_ref = number_after(out, "with the exact reference (default)")
    no_ref = number_after(out, "approximate pass alone (--no-reference)")
    exact = number_after(out, "exact reference pass by itself")
    rows = [("exact PyTorch (float32)", py, None),
            ("axlut exact reference pass alone", exact, None),
            ("axlut approximate pass (shadows included)", approx, "approx"),
            ("axlut run --no-reference (whole)", no_ref, None),
            ("axlut run with the exact reference (whole)", with_ref, "whole")]
    base = base_run(a.base, onnx, h5, a.limit, a.batch, a.reps) if a.base else None
    print(f"ResNet-18 224x224, batch {a.batch}, {a.limit} images a pass, {threads} thread(s), "
          f"{' '.join(MAC)}, medians of {a.reps}")
    print()
    print("| what | images/s | vs exact PyTorch |" + (" vs base |" if base else ""))
    print("|---|---|---|" + ("---|" if base else ""))
    if base:
        print(f"| base: approximate pass (shadows included) | {base[0]:.3g} | "
              f"{base[0] / py:.3g} | 1 |")
        print(f"| base: axlut run (whole) | {base[1]:.3g} | {base[1] / py:.3g} | 1 |")
    for name, v, kind in rows:
        line = f"| {name} | {v:.3g} | {v / py:.3g} |"
        if base:
            ref = {"approx": base[0], "whole": base[1]}.get(kind)
            line += f" {v / ref:.3g} |" if ref else " |"
        print(line)


if __name__ == "__main__":
    main()
