#!/usr/bin/env -S /usr/bin/python3
"""Synaptic operations per second of `axlut snn` on the CPU: event-driven vs
dense kernels, exact vs approximate membrane adders, against the ANN's
`axlut run` time on the same samples (the baseline of the ratio).

    tools/bench_snn.py AXLUT --data TEST.h5 --calib CALIB.h5 [--zoo models/zoo]
        [--models lenet5,resnet18] [--limit N] [--steps T] [--machine TEXT]
        [--before OLD_AXLUT] [--tune-auto F,F,...] [--write BENCHMARKS.md]

Every configuration is one `axlut snn` run to T steps over the first N
samples; its report gives the simulation's seconds (the ANN's forward,
run alongside for the agreement, is timed apart and not included) and the
synaptic adds per sample of every layer.  synops/s = adds per sample x N /
seconds.  The baseline is `axlut run MODEL --limit N` (exact float32), its
report's seconds.  --before runs every configuration with an older binary
too (the scalar adder calls before the batched kernels) and gives the
speed-up in the same run.  --tune-auto times `--kernel auto --auto-dense F`
for each fraction F listed (the switch to the dense kernel) on every model,
with exact adds and with int16 LOA.  Prints a markdown table; --write replaces (or appends)
the section "## Spiking networks (issue 12)" of BENCHMARKS.md with it.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile

CONFIGS = [
    ("fp32, exact adds", []),
    ("int16, LOA k=4", ["--acc-format", "int16", "--add", "loa", "--add-param", "k=4"]),
    ("fp16, LOA k=2", ["--acc-format", "fp16", "--add", "fpadd_loa", "--add-param", "k=2"]),
    ("int16, ACA k=6", ["--acc-format", "int16", "--add", "aca", "--add-param", "k=6"]),
    ("bf16, ETA-I k=2", ["--acc-format", "bf16", "--add", "fpadd_eta1", "--add-param", "k=2"]),
]
KERNELS = ["event", "dense", "auto"]
SECTION = "## Spiking networks (issue 12)"


def report(cmd, path):
    """The run's JSON report, with "cpu_seconds" added: the process's user +
    system time (calibration and the ANN included), which a loaded machine
    disturbs less than the wall clock"""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd + ["--report", path, "--quiet"], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(path) as f:
        r = json.load(f)
    r["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return r


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("axlut")
    ap.add_argument("--data", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--zoo", default="models/zoo")
    ap.add_argument("--models", default="lenet5,resnet18")
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--machine", default="the shared 2-core VM, measured under load "
                    "(provisional)")
    ap.add_argument("--before", metavar="OLD_AXLUT",
                    help="also run an older axlut on every configuration (speed-up column)")
    ap.add_argument("--tune-auto", metavar="F,F,...",
                    help="time kernel auto at each of these --auto-dense fractions")
    ap.add_argument("--write", metavar="BENCHMARKS.md")
    a = ap.parse_args(argv)
    rows, tune = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for model in a.models.split(","):
            onnx = os.path.join(a.zoo, model + ".onnx")
            ann = report([a.axlut, "run", onnx, "--data", a.data, "--limit", str(a.limit)],
                         os.path.join(tmp, "run.json"))
            for label, opts in CONFIGS:
                for kern in KERNELS:
                    def snn(binary):
                        r = report([binary, "snn", onnx, "--data", a.data, "--calib", a.calib,
                                    "--calib-limit", "200", "--limit", str(a.limit), "--steps",
                                    str(a.steps), "--kernel", kern] + opts,
                                   os.path.join(tmp, "snn.json"))
                        adds = sum(L["per_steps"][-1]["synops_per_sample"] for L in r["layers"])
                        return r, adds * r["samples"] / r["seconds"] / 1e6
                    r, sps = snn(a.axlut)
                    old = snn(a.before)[1] if a.before else None
                    rows.append((model, label, kern, sps, r["seconds"], ann["seconds"],
                                 r["seconds"] / ann["seconds"], r["steps"][-1]["agreement"],
                                 old))
                    print(f"bench_snn: {model} {label} {kern}: {sps:.1f} M synops/s"
                          + (f" (before: {old:.1f})" if old else ""), file=sys.stderr,
                          flush=True)
        if a.tune_auto:
            for model in a.models.split(","):
                onnx = os.path.join(a.zoo, model + ".onnx")
                for label, opts in CONFIGS[:2]:  # exact and one approximate adder
                    secs = []
                    for f in a.tune_auto.split(","):
                        r = report([a.axlut, "snn", onnx, "--data", a.data, "--calib", a.calib,
                                    "--calib-limit", "200", "--limit", str(a.limit), "--steps",
                                    str(a.steps), "--kernel", "auto", "--auto-dense", f] + opts,
                                   os.path.join(tmp, "snn.json"))
                        secs.append(r["cpu_seconds"])
                        print(f"bench_snn: {model} {label} auto {f}: {r['cpu_seconds']:.2f} "
                              f"CPU s", file=sys.stderr, flush=True)
                    tune.append((model, label, secs))
    cmd = (f"tools/bench_snn.py build/axlut --data TEST.h5 --calib CALIB.h5 --models "
           f"{a.models} --limit {a.limit} --steps {a.steps}"
           + (" --before OLD_AXLUT" if a.before else "")
           + (f" --tune-auto {a.tune_auto}" if a.tune_auto else ""))
    out = [SECTION, "",
           f"`axlut snn` to T = {a.steps} over the first {a.limit} Fashion-MNIST test images "
           "(TEST.h5, `tools/make_dataset.py`; calibration: 200 training images), one "
           "configuration per run; SNN seconds are the simulation's (the report's `seconds`), "
           "synops/s counts every synaptic add (spikes x fan-out, and the first layer's "
           "input-current adds).  The baseline is the ANN on the same images: "
           "`axlut run MODEL --limit N` (exact float32), its report's seconds; the ratio is "
           "SNN seconds / ANN seconds.  Generated by:", "", "```", cmd, "```", "",
           f"Machine: {a.machine}.", ""]
    if a.before:
        out += ["OLD_AXLUT is the binary before the batched synaptic kernels (one adder call "
                "per synaptic add); \"before\" is its rate on the same configuration in the "
                "same run, the speed-up the ratio of the two.", ""]
    extra = " before M synops/s | speed-up |" if a.before else ""
    out += ["| model | membrane, adder | kernel | M synops/s | SNN s | ANN `axlut run` s | "
            "SNN / ANN | agreement with the ANN |" + extra,
            "|---|---|---|---:|---:|---:|---:|---:|" + ("---:|---:|" if a.before else "")]
    for m, label, kern, sps, s, ann_s, ratio, agree, old in rows:
        line = (f"| {m} | {label} | {kern} | {sps:.1f} | {s:.2f} | {ann_s:.2f} | "
                f"{ratio:.1f} | {100 * agree:.1f}% |")
        if a.before:
            line += f" {old:.1f} | {sps / old:.1f}x |"
        out.append(line)
    if tune:
        fr = a.tune_auto.split(",")
        out += ["", "The switch of `--kernel auto` (`--auto-dense F`: the dense kernel for a "
                "layer step where more than the fraction F of the layer's inputs spiked): "
                "CPU seconds of the whole `axlut snn` process (user + system: calibration and "
                "the ANN included, the same for every F; less disturbed by a loaded machine "
                "than the wall clock) at each F, same runs as above otherwise; the fastest in "
                "bold.", "",
                "| model | membrane, adder | " + " | ".join(f"F={f}" for f in fr) + " |",
                "|---|---|" + "---:|" * len(fr)]
        for m, label, secs in tune:
            best = min(secs)
            out.append(f"| {m} | {label} | " + " | ".join(
                (f"**{x:.2f}**" if x == best else f"{x:.2f}") for x in secs) + " |")
    text = "\n".join(out) + "\n"
    print(text)
    if a.write:
        with open(a.write) as f:
            doc = f.read()
        i = doc.find(SECTION)
        if i >= 0:
            j = doc.find("\n## ", i + len(SECTION))
            doc = doc[:i] + text + (doc[j:] if j >= 0 else "")
        else:
            doc = doc.rstrip("\n") + "\n\n" + text
        with open(a.write + ".tmp", "w") as f:
            f.write(doc)
        os.replace(a.write + ".tmp", a.write)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
