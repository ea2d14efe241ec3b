#!/usr/bin/env -S /usr/bin/python3
"""The retraining study: does approximation-aware fine-tuning (`axlut train`)
recover the accuracy that approximate or narrow arithmetic costs?  Writes
docs/RETRAIN.md from the measurements (nothing in it is typed by hand).

    tools/retrain_study.py --axlut AXLUT --zoo models/zoo --train TRAIN.h5
        --test TEST.h5 [--models a,b] [--configs a,b] [--epochs E]
        [--limit-train N] [--work DIR] [-o docs/RETRAIN.md] [--min-loss PTS]

For every model and configuration, `axlut run` measures top-1 on the test
set exactly and approximately; a pair that loses more than --min-loss points
(2 by default) is fine-tuned twice, `--backward exact` (straight-through)
and `--backward approx` (gradient products through the same multiplier),
from the trained weights, and measured again under the same configuration.
Each result is appended to WORK/results.json as it finishes, so a stopped
study resumes where it was.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

CONFIGS = {
    "mitchell-e4m3": ["--mul", "fpmul_mitchell", "--format", "e4m3"],
    "drum3-e4m3": ["--mul", "fpmul_drum", "--param", "k=3", "--format", "e4m3"],
    "kulkarni-e4m3": ["--mul", "fpmul_kulkarni", "--format", "e4m3"],
    "e3m2": ["--format", "e3m2"],
    "e2m3": ["--format", "e2m3"],
    "int4": ["--format", "int4"],
}
MODELS = ["lenet5", "alexnet", "vgg11", "resnet18", "resnet34", "resnet50", "densenet",
          "googlenet", "inception_v3", "mobilenet_v2", "se_resnet18", "vit"]


def run_top1(axlut, model, test, opts, work, tag):
    rep = os.path.join(work, tag + ".run.json")
    subprocess.run([axlut, "run", model, "--data", test, "--report", rep, "--quiet",
                    "--batch", "100"] + opts, check=True)
    with open(rep) as f:
        r = json.load(f)
    return r["top1"], r["exact_top1"]


def train(axlut, model, data, opts, backward, a, out, tag):
    rep = os.path.join(a.work, tag + ".train.json")
    t0 = time.time()
    cmd = [axlut, "train", model, "--data", data, "-o", out, "--epochs", str(a.epochs),
           "--limit", str(a.limit_train), "--backward", backward, "--report", rep,
           "--quiet"] + opts
    subprocess.run(cmd, check=True)
    return time.time() - t0


def load(path):
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def save(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def pct(v):
    return "-" if v is None else f"{100 * v:.2f}%"


def parity(a, data):
    """LeNet-5 from random weights, exact arithmetic: axlut train against
    tools/train_demo.py (PyTorch) for the same epochs, batch and rate."""
    if "parity" in data:
        return
    here = os.path.dirname(os.path.abspath(__file__))
    rand = os.path.join(a.work, "lenet5_random.onnx")
    subprocess.run([sys.executable, os.path.join(here, "export_model.py"), "lenet", "-o", rand,
                    "--no-h5", "--seed", "0"], check=True, stdout=subprocess.DEVNULL)
    rep = os.path.join(a.work, "parity.train.json")
    t0 = time.time()
    subprocess.run([a.axlut, "train", rand, "--data", a.train, "--val", a.test, "--epochs",
                    str(a.parity_epochs), "--batch", "128", "--optimizer", "adam", "--lr",
                    "3e-3", "--schedule", "cosine", "-o", os.path.join(a.work, "parity.onnx"),
                    "--report", rep, "--quiet"], check=True)
    ta = time.time() - t0
    with open(rep) as f:
        axl = json.load(f)["epochs"][-1]["val_top1"]
    t0 = time.time()
    out = subprocess.run([sys.executable, os.path.join(here, "train_demo.py"), "--epochs",
                          str(a.parity_epochs), "-o", os.path.join(a.work, "demo.onnx"),
                          "--readme", os.path.join(a.work, "demo.md"), "--quiet-epochs"],
                         check=True, capture_output=True, text=True).stdout
    tt = time.time() - t0
    acc = [ln for ln in out.splitlines() if ln.startswith("test accuracy")][0]
    torch_acc = float(acc.split()[2].rstrip("%")) / 100
    data["parity"] = {"epochs": a.parity_epochs, "axlut": axl, "torch": torch_acc,
                      "axlut_s": ta, "torch_s": tt}


# A run whose mean loss over the epoch is ln 10 or more did no better than a
# constant guess over the ten classes; it is run again at this rate (a
# fifth of axlut train's default 0.005), once, and both results reported.
RETRY_LR = 0.001


def final_loss(work, tag):
    """The mean training loss of the last epoch in WORK/TAG.train.json, or None."""
    rep = os.path.join(work or "", tag + ".train.json")
    if not work or not os.path.exists(rep):
        return None
    with open(rep) as f:
        ep = json.load(f).get("epochs") or [{}]
    return ep[-1].get("train_loss")


def stuck(loss):
    return loss is not None and loss >= math.log(10) - 0.01


def zero_share(zoo, models, limit):
    """{model: share of its MAC weights (initializers of 2 or more dimensions)
    of magnitude at most limit}, read from zoo/MODEL.onnx; empty without
    onnx and numpy."""
    try:
        import numpy as np
        import onnx
        from onnx import numpy_helper
    except ImportError:
        return {}
    out = {}
    for m in models:
        path = os.path.join(zoo, m + ".onnx")
        if not os.path.exists(path):
            continue
        ws = [numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer]
        ws = [np.abs(w.ravel()) for w in ws if w.ndim >= 2 and w.dtype.kind == "f"]
        if ws:
            out[m] = float((np.concatenate(ws) <= limit).mean())
    return out


def findings(rows, min_loss):
    """Sentences computed from the retrained pairs (nothing typed by hand):
    how many come back within min_loss points, how much of the loss each
    family recovers, and the approximate backward against the straight-
    through estimator."""
    done = [r for r in rows if "after_exact" in r]
    if not done:
        return ["- No pair has been retrained yet."]
    pts = lambda x: 100 * x  # noqa: E731
    out = []
    back = [r for r in done if r["exact"] - r["after_exact"] <= min_loss / 100]
    rest = [r for r in done if r not in back]
    out.append(f"- {len(back)} of {len(done)} retrained pairs end within {min_loss:g} points of "
               f"the exact network with the straight-through estimator" +
               ("; not: " + ", ".join(
                   f"{r['model']}/{r['config']} ({pct(r['before'])} -> {pct(r['after_exact'])}, "
                   f"exact {pct(r['exact'])})" for r in rest) if rest else "") + ".")
    fams = {"approximate multipliers": lambda c: c.endswith("-e4m3"),
            "narrow formats": lambda c: not c.endswith("-e4m3")}
    for fam, inside in fams.items():
        rec = [(r["after_exact"] - r["before"]) / (r["exact"] - r["before"])
               for r in done if inside(r["config"]) and r["exact"] > r["before"]]
        if rec:
            out.append(f"- Share of the loss recovered (straight-through), {fam}: median "
                       f"{100 * statistics.median(rec):.0f}%, from {100 * min(rec):.0f}% to "
                       f"{100 * max(rec):.0f}% over {len(rec)} pair(s).")
    both = [r for r in done if r.get("after_approx") is not None]
    if both:
        d = [pts(r["after_approx"] - r["after_exact"]) for r in both]
        ahead = sum(1 for x in d if x > 0)
        worse = sorted((x, r) for x, r in zip(d, both) if x < -1.0)
        out.append(f"- Approximate gradient products (`--backward approx`) against the "
                   f"straight-through estimator: median difference {statistics.median(d):+.2f} points, "
                   f"ahead on {ahead} of {len(both)} pair(s)" +
                   ("; more than a point behind on " + ", ".join(
                       f"{r['model']}/{r['config']} ({x:+.2f})" for x, r in worse)
                    if worse else "") + ".")
    # an epoch whose mean loss is ln 10 or more did no better than a constant
    # guess over the ten classes: the output stayed constant, or it diverged
    stalled = [(r, bw, r[f"loss_{bw}"]) for r in done for bw in ("exact", "approx")
               if stuck(r.get(f"loss_{bw}"))]
    if stalled:
        out.append("- Fine-tuning runs whose mean training loss over the epoch stayed at or above "
                   "ln 10 = 2.30 (a constant guess over the ten classes): " + ", ".join(
                       f"{r['model']}/{r['config']} with the "
                       f"{'straight-through' if bw == 'exact' else 'approximate'} backward "
                       f"({loss:.3f})" for r, bw, loss in stalled) + ".")
    again = [(r, bw) for r, bw, _ in stalled if f"retry_{bw}" in r]
    if again:
        ok = [(r, bw) for r, bw in again if r["exact"] - r[f"retry_{bw}"] <= min_loss / 100]
        out.append(f"- Run again at rate {RETRY_LR:g}, {len(ok)} of {len(again)} of them end within "
                   f"{min_loss:g} points of the exact network" + (": " + ", ".join(
                       f"{r['model']}/{r['config']} ({bw} backward, {pct(r[f'retry_{bw}'])})"
                       for r, bw in ok) if ok else "") + ".")
    return out


def write_md(path, data, a):
    rows = sorted([r for k, r in data.items() if k != "parity"],
                  key=lambda r: (MODELS.index(r["model"])
                                                if r["model"] in MODELS else 99, r["config"]))
    lines = [
        "# Retraining: recovering the accuracy approximate arithmetic costs",
        "",
        f"Generated by `tools/retrain_study.py` on {time.strftime('%Y-%m-%d')} "
        f"(`cmake --build build --target retrain`). Test set: {a.test_count} Fashion-MNIST "
        f"test images; fine-tuning: {a.epochs} epoch(s) over the first {a.limit_train} "
        "training images, `axlut train` defaults otherwise (SGD, momentum 0.9, rate "
        "0.005 with a cosine decay, batch 64, BatchNormalization frozen).",
        "",
        "Pairs of model and configuration whose top-1 falls more than "
        f"{a.min_loss:g} points below the exact network's are fine-tuned from the trained "
        "weights with the configuration in the forward pass, twice: `--backward exact` "
        "(the straight-through estimator) and `--backward approx` (the two gradient "
        "products through the same multiplier and formats), then measured again.",
        "",
        "| model | configuration | exact | approximate before | after (STE) | "
        "after (approx. backward) | recovered (STE) | time STE s | time approx s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "after_exact" not in r:
            continue
        lost = r["exact"] - r["before"]
        rec = (r["after_exact"] - r["before"]) / lost if lost > 0 else None
        lines.append(f"| {r['model']} | {r['config']} | {pct(r['exact'])} | "
                     f"{pct(r['before'])} | {pct(r['after_exact'])} | "
                     f"{pct(r.get('after_approx'))} | "
                     f"{'-' if rec is None else f'{100 * rec:.0f}%'} | "
                     f"{r['time_exact']:.0f} | {r.get('time_approx', 0):.0f} |")
    p = data.get("parity")
    if p:
        lines += ["", "## Exact arithmetic: axlut train against PyTorch", "",
                  f"LeNet-5 from random weights, {p['epochs']} epochs over the 60000 training "
                  "images, Adam, peak rate 3e-3, batch 128: `axlut train` (cosine decay) "
                  "against `tools/train_demo.py` (PyTorch, one-cycle), top-1 on the test set.",
                  "", "| | top-1 | wall time s |", "|---|---:|---:|",
                  f"| axlut train | {pct(p['axlut'])} | {p['axlut_s']:.0f} |",
                  f"| PyTorch (train_demo.py) | {pct(p['torch'])} | {p['torch_s']:.0f} |",
                  "", f"Difference: {100 * (p['axlut'] - p['torch']):+.2f} points."]
    rows = [r for r in rows if isinstance(r, dict) and "model" in r]
    skipped = [r for r in rows if "after_exact" not in r]
    if skipped:
        lines += ["", "Pairs within the threshold (not retrained): " +
                  ", ".join(f"{r['model']}/{r['config']} ({pct(r['before'])} vs "
                            f"{pct(r['exact'])})" for r in skipped) + "."]
    work = getattr(a, "work", None)
    for r in rows:  # each fine-tuning run's mean training loss, from its report
        for bw in ("exact", "approx"):
            r[f"loss_{bw}"] = final_loss(work, f"{r['model']}-{r['config']}-{bw}")
    retried = [(r, bw) for r in rows for bw in ("exact", "approx") if f"retry_{bw}" in r]
    if retried:
        lines += ["", f"Runs whose mean training loss over the epoch stayed at or above ln 10, "
                  f"run again from the trained weights at rate {RETRY_LR:g} (everything else "
                  "as above):", "", "| model | configuration | backward | after, default rate | "
                  f"after, rate {RETRY_LR:g} | loss of the epoch, default / {RETRY_LR:g} |",
                  "|---|---|---|---:|---:|---|"]
        for r, bw in retried:
            l2 = final_loss(work, f"{r['model']}-{r['config']}-{bw}-lr{RETRY_LR:g}")
            l1 = r.get(f"loss_{bw}")
            lines.append(f"| {r['model']} | {r['config']} | {bw} | {pct(r.get(f'after_{bw}'))} | "
                         f"{pct(r[f'retry_{bw}'])} | "
                         f"{'-' if l1 is None else f'{l1:.3f}'} / "
                         f"{'-' if l2 is None else f'{l2:.3f}'} |")
    lines += ["", "## Findings computed from the table", ""] + findings(rows, a.min_loss)
    def finished(r):  # measured, and fine-tuned both ways where it lost too much
        return "before" in r and ("after_approx" in r or
                                  100 * (r["exact"] - r["before"]) <= a.min_loss)
    done_models = [m for m in MODELS if all(
        any(r["model"] == m and r["config"] == c and finished(r) for r in rows)
        for c in CONFIGS)]
    missing = [m for m in MODELS if m not in done_models]
    lines.append(f"- Models whose every configuration ran: {len(done_models)} of {len(MODELS)}"
                 + (f"; not yet (the study resumes where it stopped): {', '.join(missing)}"
                    if missing else "") + ".")
    zoo = getattr(a, "zoo", None)
    e2m3 = sorted({r["model"] for r in rows if r["config"] == "e2m3" and "after_exact" in r})
    zeros = zero_share(zoo, e2m3, 2.0 ** -4) if zoo else {}
    if zeros:
        lo, hi = min(zeros, key=zeros.get), max(zeros, key=zeros.get)
        lines.append(f"- Without a scale factor, e2m3 (smallest subnormal 2^-3) rounds every weight "
                     f"of magnitude 2^-4 or less to zero: a median "
                     f"{100 * statistics.median(zeros.values()):.0f}% of the Conv/Gemm/MatMul "
                     f"weights of the {len(zeros)} model(s) retrained in e2m3, from "
                     f"{100 * zeros[lo]:.0f}% ({lo}) to {100 * zeros[hi]:.0f}% ({hi}).")
    if a.notes and os.path.exists(a.notes):
        with open(a.notes) as f:
            lines += ["", f.read().rstrip()]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--axlut", required=True)
    ap.add_argument("--zoo", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit-train", type=int, default=10000)
    ap.add_argument("--min-loss", type=float, default=2.0)
    ap.add_argument("--work", default="retrain-work")
    ap.add_argument("-o", "--output", default="docs/RETRAIN.md")
    ap.add_argument("--notes", metavar="FILE",
                    help="Markdown appended as is: the findings, written from the tables")
    ap.add_argument("--parity-epochs", type=int, default=3,
                    help="epochs of the exact-mode comparison with PyTorch (0: skip it)")
    a = ap.parse_args(argv)
    import h5py
    with h5py.File(a.test) as f:
        a.test_count = len(f["labels"])
    os.makedirs(a.work, exist_ok=True)
    res_path = os.path.join(a.work, "results.json")
    data = load(res_path)
    if a.parity_epochs > 0:
        parity(a, data)
        save(res_path, data)
    for m in a.models.split(","):
        model = os.path.join(a.zoo, m + ".onnx")
        if not os.path.exists(model):
            print(f"{model}: missing (cmake --build build --target zoo)", file=sys.stderr)
            return 2
        for c in a.configs.split(","):
            key = f"{m}/{c}"
            r = data.get(key, {"model": m, "config": c})
            opts = CONFIGS[c]
            if "before" not in r:
                r["before"], r["exact"] = run_top1(a.axlut, model, a.test, opts, a.work,
                                                   key.replace("/", "-"))
                data[key] = r
                save(res_path, data)
            print(f"{key}: exact {pct(r['exact'])}, approximate {pct(r['before'])}",
                  flush=True)
            if 100 * (r["exact"] - r["before"]) <= a.min_loss:
                continue
            for bw in ("exact", "approx"):
                if f"after_{bw}" in r:
                    continue
                tag = f"{m}-{c}-{bw}"
                out = os.path.join(a.work, tag + ".onnx")
                r[f"time_{bw}"] = train(a.axlut, model, a.train, opts, bw, a, out, tag)
                r[f"after_{bw}"], _ = run_top1(a.axlut, out, a.test, opts, a.work, tag)
                data[key] = r
                save(res_path, data)
                print(f"{key}: after fine-tuning ({bw} backward) {pct(r[f'after_{bw}'])}",
                      flush=True)
            for bw in ("exact", "approx"):
                tag = f"{m}-{c}-{bw}"
                if f"retry_{bw}" in r or not stuck(final_loss(a.work, tag)):
                    continue
                tag += f"-lr{RETRY_LR:g}"
                out = os.path.join(a.work, tag + ".onnx")
                train(a.axlut, model, a.train, opts + ["--lr", str(RETRY_LR)], bw, a, out, tag)
                r[f"retry_{bw}"], _ = run_top1(a.axlut, out, a.test, opts, a.work, tag)
                data[key] = r
                save(res_path, data)
                print(f"{key}: again at rate {RETRY_LR:g} ({bw} backward) "
                      f"{pct(r[f'retry_{bw}'])}", flush=True)
    write_md(a.output, data, a)
    print(f"wrote {a.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
