#!/usr/bin/env -S /usr/bin/python3
"""The SNN study: converted zoo networks (`axlut snn`) under exact and
approximate membrane adders.  Writes docs/SNN.md from the measurements
(nothing in it is typed by hand).

    tools/snn_study.py --axlut AXLUT --zoo models/zoo --data TEST.h5
        --calib CALIB.h5 [--models a,b] [--limit N] [--calib-limit N]
        [--limit-per MODEL=N,...] [--exact-only MODELS] [--steps 8,16,32,64]
        [--work DIR] [-o docs/SNN.md]

For every model, one `axlut snn` run per arithmetic: exact float32
membranes, then int16, fp16 and bf16 membranes with exact adds and with
each built-in approximate adder (LOA, AMA5, ETA-I, truncation, ACA) at two
parameters; top-1 at every T comes from one simulation.  Each run's report
is kept as WORK/MODEL.CONFIG.json, so a stopped study resumes where it was
(delete the file to measure again).  --limit bounds the test samples (the
same first N for every run of a model; --limit-per sets it per model); the
document says which limits it used.
"""
import argparse
import json
import os
import subprocess
import sys

# every zoo network that converts (the others are refused at load, naming the node:
# densenet's pre-activation BatchNormalization, inception_v3's Pad, mobilenet_v2's Clip,
# se_resnet18's linear squeeze-and-excitation input, vit's Transpose)
MODELS = ["lenet5", "alexnet", "vgg11", "resnet18", "resnet34", "resnet50", "googlenet"]
# (label, integer design, floating design, (k for intN), (k for floating)).
# k is the approximate low part: bits of the 16-bit integer, or of the
# aligned significand (mantissa + 3 guard bits) for floats; ACA's k is its
# carry-speculation window (a larger k is more exact).
ADDERS = [
    ("LOA", "loa", "fpadd_loa", (4, 8), (2, 4)),
    ("AMA5", "ama5", "fpadd_ama5", (4, 8), (2, 4)),
    ("ETA-I", "eta1", "fpadd_eta1", (4, 8), (2, 4)),
    ("truncation", "trunc_add", "fpadd_trunc_add", (4, 8), (2, 4)),
    ("ACA", "aca", "fpadd_aca", (10, 6), (8, 4)),
]
FORMATS = ["int16", "fp16", "bf16"]


def configs():
    """(name, label, format, axlut options) in table order."""
    out = [("fp32-exact", "exact", "fp32", [])]
    for fmt in FORMATS:
        out.append((f"{fmt}-exact", "exact", fmt, ["--acc-format", fmt]))
        for label, idesign, fdesign, ik, fk in ADDERS:
            design = idesign if fmt.startswith("int") else fdesign
            for k in ik if fmt.startswith("int") else fk:
                out.append((f"{fmt}-{idesign}-k{k}", f"{label} k={k}", fmt,
                            ["--acc-format", fmt, "--add", design, "--add-param", f"k={k}"]))
    return out


def run(a, model, name, opts):
    rep = os.path.join(a.work, f"{model}.{name}.json")
    if not os.path.exists(rep):
        tmp = rep + ".part"
        cmd = [a.axlut, "snn", os.path.join(a.zoo, model + ".onnx"), "--data", a.data,
               "--calib", a.calib, "--calib-limit", str(a.calib_limit), "--limit",
               str(a.per.get(model, a.limit)),
               "--steps", a.steps, "--report", tmp, "--quiet"] + opts
        print(f"snn_study: {model} {name}", flush=True)
        subprocess.run(cmd, check=True)
        os.replace(tmp, rep)
    with open(rep) as f:
        return json.load(f)


def pct(x):
    return "-" if x is None else f"{100 * x:.1f}"


def synops(r, i):
    return sum(L["per_steps"][i]["synops_per_sample"] for L in r["layers"])


def model_section(model, rows, steps):
    """The table of one model and the numbers the findings use."""
    first = next(r for _, _, _, r in rows if r)
    lines = [f"### {model}", "",
             f"ANN (exact float32) top-1: {pct(first['ann_top1'])}% on "
             f"{first['samples']} samples.", "",
             "| membrane | adder | " + " | ".join(f"T={t}" for t in steps) +
             f" | synops/sample at T={steps[-1]} (M) |",
             "|---|---|" + "---:|" * (len(steps) + 1)]
    for _, label, fmt, r in rows:
        if not r:
            lines.append(f"| {fmt} | {label} | " + " | ".join("not run" for _ in steps) +
                         " | |")
            continue
        top = [pct(s["top1"]) for s in r["steps"]]
        lines.append(f"| {fmt} | {label} | " + " | ".join(top) +
                     f" | {synops(r, len(steps) - 1) / 1e6:.2f} |")
    lines.append("")
    return lines


def findings(results, steps):
    """A paragraph computed from the numbers: which adders keep the SNN
    within a point of its exact-add self at the largest T, per format."""
    last = len(steps) - 1
    out = []
    for fmt in ["fp32"] + FORMATS:
        gaps = []
        for model, rows in results.items():
            ref = next((r for n, _, f, r in rows if f == "fp32" and r), None)
            if ref:
                gaps.append((model, ref["ann_top1"] - ref["steps"][last]["top1"]))
        if fmt == "fp32" and gaps:
            reach = []
            for model, rows in results.items():
                ref = next((r for n, _, f, r in rows if f == "fp32" and r), None)
                if not ref:
                    continue
                t = next((s["steps"] for s in ref["steps"] if ref["ann_top1"] - s["top1"] <= 0.01),
                         None)
                reach.append(f"{model} at T={t}" if t else f"{model} not by T={steps[-1]}")
            out.append("With exact float32 adds each converted network first comes within one "
                       "point of its ANN's top-1 as follows: " + ", ".join(reach) + ".")
            worst = max(gaps, key=lambda g: g[1])
            out.append(
                f"At T={steps[-1]} they are within {100 * worst[1]:.1f} points of their ANNs "
                f"(largest gap: {worst[0]}), the accuracy-latency trade-off of rate coding that Rueckauer "
                f"et al. (2017) report: too few steps leave the rates coarse, and deep "
                f"networks need more of them before the last layers' rates settle.")
            continue
        ok, bad, seen = set(), {}, []
        for model, rows in results.items():
            exact = next((r for n, _, f, r in rows if f == fmt and n.endswith("-exact") and r),
                         None)
            if not exact:
                continue
            seen.append(model)
            base = exact["steps"][last]["top1"]
            for n, label, f, r in rows:
                if f != fmt or n.endswith("-exact") or not r:
                    continue
                loss = base - r["steps"][last]["top1"]
                if loss <= 0.01:
                    ok.add(label)
                else:
                    bad[label] = max(bad.get(label, 0), loss)
        ok -= set(bad)
        if not ok and not bad:
            continue
        s = f"In {fmt} membranes, "
        s += (f"{', '.join(sorted(ok))} stay within one point of exact adds on every model "
              f"measured ({', '.join(seen)})" if ok
              else "no approximate adder stays within one point of exact adds")
        if bad:
            worst = sorted(bad.items(), key=lambda kv: -kv[1])[:3]
            s += "; the largest losses: " + ", ".join(f"{k} ({100 * v:.1f} points)"
                                                     for k, v in worst)
        out.append(s + ".")
    n_ok = n_all = 0
    for rows in results.values():
        base = {f: r["steps"][last]["top1"] for n, _, f, r in rows if n.endswith("-exact") and r}
        for n, _, f, r in rows:
            if r and not n.endswith("-exact") and f in base:
                n_all += 1
                n_ok += base[f] - r["steps"][last]["top1"] <= 0.01
    if n_all:
        out.append(
            "Sen, Venkataramani and Raghunathan (\"Approximate computing for spiking neural "
            "networks\", DATE 2017) found SNNs resilient to approximation where it is applied "
            "to the neurons that matter least; here every synaptic, bias and reset add of "
            f"every layer goes through the approximate adder, and {n_ok} of the {n_all} "
            f"(model, membrane, adder) combinations measured stay within one point of the "
            f"same membrane with exact adds at T={steps[-1]}.")
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--axlut", required=True)
    ap.add_argument("--zoo", default="models/zoo")
    ap.add_argument("--data", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--limit-per", default="", metavar="MODEL=N,...",
                    help="a model's own sample limit (the deep models' approximate adders "
                    "take hours per thousand samples)")
    ap.add_argument("--calib-limit", type=int, default=500)
    ap.add_argument("--steps", default="8,16,32,64")
    ap.add_argument("--work", default="snn-work")
    ap.add_argument("--exact-only", default="", metavar="MODELS",
                    help="models measured with exact float32 adds only (the T curve), to "
                    "bound the time on a slow machine")
    ap.add_argument("--only-existing", action="store_true",
                    help="write the document from the reports already in WORK, running nothing")
    ap.add_argument("--skip-missing", action="store_true",
                    help="a model not in the zoo yet is named in the document instead of "
                    "stopping the study")
    ap.add_argument("-o", "--output", default="docs/SNN.md")
    a = ap.parse_args(argv)
    a.per = {}
    for item in filter(None, a.limit_per.split(",")):
        m, _, n = item.partition("=")
        a.per[m] = int(n)
    os.makedirs(a.work, exist_ok=True)
    steps = [int(t) for t in a.steps.split(",")]
    results, missing = {}, []
    for model in a.models.split(","):
        if not os.path.exists(os.path.join(a.zoo, model + ".onnx")):
            print(f"snn_study: {model}: no {a.zoo}/{model}.onnx (cmake --build build "
                  f"--target zoo)", file=sys.stderr)
            if a.skip_missing:
                missing.append(model)
                continue
            return 2
        rows = []
        for name, label, fmt, opts in configs():
            if model in a.exact_only.split(",") and name != "fp32-exact":
                continue
            rep = os.path.join(a.work, f"{model}.{name}.json")
            if a.only_existing:
                r = None
                if os.path.exists(rep):
                    with open(rep) as f:
                        r = json.load(f)
            else:
                r = run(a, model, name, opts)
            rows.append((name, label, fmt, r))
        if any(r for *_, r in rows):
            results[model] = rows
        else:
            missing.append(model)
    if not results:
        print("snn_study: no results", file=sys.stderr)
        return 2
    doc = ["# Spiking networks on approximate adders", "",
           "Generated by `tools/snn_study.py` (`cmake --build build --target snn_study`) from "
           f"the `axlut snn` reports in `{a.work}/`; do not edit by hand.", "",
           "Each zoo network (Fashion-MNIST, `models/zoo/README.md`) is converted into a "
           "rate-coded SNN of integrate-and-fire neurons (reset by subtraction, direct input "
           "coding, membrane readout; weights normalised by the 99.9th percentile of each "
           f"layer's activations over {a.calib_limit} calibration samples: Diehl et al. 2015, "
           "Rueckauer et al. 2017; residual Adds with balanced scales as in Hu et al. 2021) "
           "and simulated with every membrane update going through the adder in the "
           "membrane's format (`include/axlut/snn.h`).  Top-1 (%) on the first N test "
           f"samples, N given with each model (`--limit {a.limit}`"
           + (f", `--limit-per {a.limit_per}`" if a.limit_per else "") +
           ": a sample limit so that the study finishes in reasonable time on a CPU; one "
           "sample is 100/N points), at every T from one simulation; "
           "synaptic operations (spikes x fan-out, the energy proxy SNN papers report) per "
           "sample over all layers.", ""]
    exact_only = [m for m in results if m in a.exact_only.split(",")]
    if exact_only:
        doc += [f"{', '.join(exact_only)}: exact float32 adds only in this edition (the time "
                "the approximate adders' bit-accurate functions take on the machine that "
                "generated it); the CMake target measures every configuration.", ""]
    if missing:
        doc += [f"{', '.join(missing)}: no measurement yet when this edition was generated "
                "(still training, or not reached by the study); the CMake target measures "
                "them.", ""]
    if any(not r for rows in results.values() for *_, r in rows):
        doc += ["Rows marked \"not run\" were not measured yet when this edition was "
                "generated (`--only-existing`); the study resumes where it stopped "
                "(`cmake --build build --target snn_study`).", ""]
    for model, rows in results.items():
        doc += model_section(model, rows, steps)
    doc += ["## Findings", ""] + [p + "\n" for p in findings(results, steps)]
    doc += ["## References", "",
            "- P. U. Diehl et al., \"Fast-classifying, high-accuracy spiking deep networks "
            "through weight and threshold balancing\", IJCNN 2015.",
            "- B. Rueckauer et al., \"Conversion of continuous-valued deep networks to "
            "efficient event-driven networks for image classification\", Front. Neurosci. "
            "11:682, 2017.",
            "- Y. Hu, H. Tang, G. Pan, \"Spiking deep residual networks\", IEEE TNNLS 2021 "
            "(arXiv:1805.01352).",
            "- S. Sen, S. Venkataramani, A. Raghunathan, \"Approximate computing for spiking "
            "neural networks\", DATE 2017.", ""]
    tmp = a.output + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(doc))
    os.replace(tmp, a.output)
    print(f"snn_study: wrote {a.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
