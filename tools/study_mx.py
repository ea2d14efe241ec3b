"""The study section of issue 15: scaled and block-scaled formats per model
(imported by tools/study.py; `study.py --mx-only` runs this section alone).

For every model, one `axlut run` per point, --limit test images each.  Each
point's report is its own file in the work directory, NAME_mx_nLIMIT_TAG.json
(written by `axlut run` through a temporary name, so a file there is a whole
report): an interrupted study continues with the points that have none, and
a run with another --limit does not read them.  Every point prints its place
([k/N]) and an estimate of the time left: seconds per multiply-accumulate
(the model's macs_per_sample in zoo.json times --limit), by point, from the
points timed in this run (or, on a resumed run before any, from the reports'
seconds), times the multiply-accumulates of the points left.

  scaling   e4m3 and e5m2 operands, exact products: no scaling, per-tensor
            weight scales, per-channel weight scales (activations: a
            per-tensor scale from each batch's amax in both; docs/FORMATS.md)
  blocks    MXFP8, MXFP6 (E3M2 and E2M3), MXFP4, MXINT8 (OCP MX v1.0) and
            NVFP4, each with the exact element multiplier and two approximate
            ones: Mitchell's logarithmic multiplier and DRUM (k=3 on the
            significands of floating elements, k=4 on MXINT8's integers)

The findings are stated from the numbers, next to what the literature
reports: OCP Microscaling Formats (MX) Specification v1.0 (2023); Rouhani et
al., "Microscaling Data Formats for Deep Learning", arXiv:2310.10537 (2023);
Micikevicius et al., "FP8 Formats for Deep Learning", arXiv:2209.05433 (2022).
"""
import json
import math
import os
import statistics
import subprocess
import sys
import time

SCALINGS = (("none", []),
            ("per-tensor", ["--wscale", "per-tensor", "--ascale", "dynamic"]),
            ("per-channel", ["--wscale", "per-channel", "--ascale", "dynamic"]))
BLOCK_FORMATS = ("mxfp8", "mxfp6e3m2", "mxfp6e2m3", "mxfp4", "mxint8", "nvfp4")


def multipliers(fmt):
    """(label, run options) of the element multipliers of a block format."""
    if fmt == "mxint8":
        return (("exact", []), ("Mitchell", ["--mul", "mitchell"]),
                ("DRUM k=4", ["--mul", "drum", "--param", "k=4"]))
    return (("exact", []), ("Mitchell", ["--mul", "fpmul_mitchell"]),
            ("DRUM k=3", ["--mul", "fpmul_drum", "--param", "k=3"]))


def points():
    """Every point of the section: (tag, row label, run options)."""
    out = []
    for fmt in ("e4m3", "e5m2"):
        for sname, sopt in SCALINGS:
            out.append((f"{fmt}_{sname}", f"{fmt}, scaling {sname}", ["--format", fmt, *sopt]))
    # Mitchell's products at each scaling too: does the loss of Mitchell
    # elements inside MXFP8 come from the blocks or from scaling itself?
    for sname, sopt in SCALINGS:
        out.append((f"e4m3_{sname}_mitchell", f"e4m3, scaling {sname}, Mitchell products",
                    ["--format", "e4m3", *sopt, "--mul", "fpmul_mitchell"]))
    for fmt in BLOCK_FORMATS:
        for mname, mopt in multipliers(fmt):
            tag = f"{fmt}_{mname.split()[0].lower()}"
            out.append((tag, f"{fmt}, {mname} elements", ["--format", fmt, *mopt]))
    return out


def report_path(work, model, limit, tag):
    """Where one point's report lives: keyed by the number of images too."""
    return os.path.join(work, f"{model}_mx_n{limit}_{tag}.json")


def run_point(axlut, onnx, data, limit, report, opts, log, run=True):
    """One `axlut run`, unless its report exists; returns the report, the
    command and the seconds it ran (None when read).  A failed run is
    recorded as such (its message kept), so that a format a model cannot
    take (or a bad option) shows in the table instead of stopping the study."""
    cmd = [axlut, "run", onnx, "--data", data, "--limit", str(limit), "--quiet", "--report",
           report, *opts]
    if not os.path.exists(report) and not run:
        return None, cmd, None
    took = None
    if not os.path.exists(report):
        print("$ " + " ".join(cmd), flush=True)
        t0 = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True)
        took = time.time() - t0
        if r.returncode != 0:
            msg = (r.stderr.strip().splitlines() or ["?"])[-1]
            log.append(f"{os.path.basename(onnx)} {' '.join(opts)}: exit {r.returncode}: {msg}")
            return {"failed": msg}, cmd, took
    with open(report) as f:
        return json.load(f), cmd, took


def hms(s):
    """Seconds as a short duration."""
    s = int(round(s))
    return f"{s // 3600} h {s % 3600 // 60:02d} min" if s >= 3600 else f"{s // 60} min {s % 60:02d} s"


class Progress:
    """The estimate of the time left: a point of a model with timed points
    takes their mean time (a small model's time is mostly start-up, which
    a rate per MAC would carry over to the large ones); of another model,
    seconds per multiply-accumulate by point tag (all tags together where
    a tag has none yet), from timed points, else from the reports read
    (their seconds and exact_seconds)."""

    def __init__(self, total):
        self.total, self.done, self.t0 = total, 0, time.time()
        self.timed, self.read = {}, {}  # tag -> [seconds, macs]
        self.by_model = {}  # model -> [seconds, points]

    def add(self, tag, macs, took, rep, model=None):
        self.done += 1
        if took is not None and model is not None:
            acc = self.by_model.setdefault(model, [0.0, 0])
            acc[0] += took
            acc[1] += 1
        if not macs:
            return
        if took is not None:
            acc = self.timed.setdefault(tag, [0.0, 0.0])
            acc[0] += took
            acc[1] += macs
        elif rep and "failed" not in rep and rep.get("seconds") is not None:
            acc = self.read.setdefault(tag, [0.0, 0.0])
            acc[0] += float(rep["seconds"]) + float(rep.get("exact_seconds") or 0.0)
            acc[1] += macs

    def rate(self, tag):
        src = self.timed or self.read
        if tag in src and src[tag][1] > 0:
            return src[tag][0] / src[tag][1]
        s, m = sum(v[0] for v in src.values()), sum(v[1] for v in src.values())
        return s / m if m > 0 else None

    def left(self, todo):
        """Estimated seconds for the points TODO [(model, tag, macs)]; None when unknown."""
        total = 0.0
        for model, tag, macs in todo:
            if model in self.by_model:
                total += self.by_model[model][0] / self.by_model[model][1]
                continue
            r = self.rate(tag)
            if r is None or not macs:
                return None
            total += r * macs
        return total

    def line(self, todo):
        est = self.left(todo)
        return (f"[{self.done}/{self.total}] {hms(time.time() - self.t0)} elapsed, "
                + (f"about {hms(est)} left" if est is not None else "time left not known yet")
                + f" ({len(todo)} point(s) to run)")


def pct(r):
    if r is None:
        return "·"
    if "failed" in r:
        return "fail"
    if r.get("top1") is None:
        return "?"  # a dataset without labels
    return f"{100 * r['top1']:.1f}"


def run_section(axlut, zoo_dir, models, data, limit, work, run=True):
    """Runs (or reads) every point; returns {model: {tag: report}}, commands, failures.
    run False: only reads the reports there are (a point without one shows as ·)."""
    results, commands, log = {}, [], []
    # the block formats with exact products first, then the scalings, then
    # the approximate multipliers: a study cut short has the most telling points
    order = sorted(points(), key=lambda p: (0 if p[0].endswith("_exact") else
                                            1 if p[0].startswith("e") else 2))
    plan = []  # (model, onnx, macs of one point)
    for m in models:
        name = m["name"]
        onnx = os.path.join(zoo_dir, f"{name}.onnx")
        if not os.path.exists(onnx):
            print(f"study_mx: {onnx}: not trained yet, skipped", file=sys.stderr)
            continue
        if not run and not any(os.path.exists(report_path(work, name, limit, t))
                               for t, _, _ in points()):
            continue  # nothing run for it yet
        plan.append((name, onnx, float(m.get("macs_per_sample") or 0) * limit))
    prog = Progress(len(plan) * len(order))
    todo = [(name, tag, macs) for name, _, macs in plan for tag, _, _ in order
            if not os.path.exists(report_path(work, name, limit, tag))]
    if run:
        print(f"study_mx: {len(plan)} model(s) x {len(order)} points, {limit} images each: "
              f"{prog.total - len(todo)} done (reports in {work}), {len(todo)} to run",
              flush=True)
    for name, onnx, macs in plan:
        results[name] = {}
        for tag, _, opts in order:
            path = report_path(work, name, limit, tag)
            rep, cmd, took = run_point(axlut, onnx, data, limit, path, opts, log, run)
            results[name][tag] = rep
            commands.append(" ".join(cmd))
            todo = [t for t in todo if (t[0], t[1]) != (name, tag)]
            prog.add(tag, macs, took, rep, name)
            if run and (took is not None or not todo or prog.done == prog.total):
                print(f"study_mx: {name} {tag}: "
                      + (f"{took:.0f} s; " if took is not None else "")
                      + prog.line(todo), flush=True)
    return results, commands, log


def _drop(res, tag):
    """Top-1 points lost against the exact network (NaN where the point failed)."""
    r = res.get(tag)
    if not r or "failed" in r or r.get("top1") is None:
        return math.nan
    return 100 * (r["exact_top1"] - r["top1"])


def subnormal_share(zoo_dir, models):
    """{model: share of the Conv/Gemm/MatMul weights (initializers of 2 or
    more dimensions) that OCP e4m3 encodes as a subnormal without a scale
    factor, nearest-even: 2^-10 < |w| < 15 * 2^-10 (the codes k * 2^-9, k = 1..7;
    at or below 2^-10 they round to zero, from 15 * 2^-10 up to 2^-6)}; empty
    when onnx or numpy is missing."""
    try:
        import numpy as np
        import onnx
        from onnx import numpy_helper
    except ImportError:
        return {}
    out = {}
    for m in models:
        path = os.path.join(zoo_dir, f"{m}.onnx")
        if not os.path.exists(path):
            continue
        ws = [numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer]
        a = np.abs(np.concatenate([w.ravel() for w in ws if w.ndim >= 2 and w.dtype.kind == "f"]
                                  or [np.zeros(0)]))
        if a.size:
            out[m] = float(((a > 2.0 ** -10) & (a < 15 * 2.0 ** -10)).mean())
    return out


def _layer_snr(rep):
    """Median over the MAC layers of a report of each layer's own SNR (dB)."""
    v = [x["layer_error"]["snr_db"] for x in (rep or {}).get("layers", [])
         if x.get("approximate") and x.get("layer_error")
         and math.isfinite(x["layer_error"].get("snr_db", math.nan))]
    return statistics.median(v) if v else math.nan


def snr_gap(results):
    """A sentence: how each layer's own error moves from unscaled e4m3 to
    MXFP8, with Mitchell's products and with exact ones (median over the
    models of the difference of the median layer SNR)."""
    d = {}
    for a, b in (("e4m3_none_mitchell", "mxfp8_mitchell"), ("e4m3_none", "mxfp8_exact")):
        g = [_layer_snr(r[b]) - _layer_snr(r[a]) for r in results.values()
             if r.get(a) and r.get(b)]
        g = [x for x in g if not math.isnan(x)]
        if not g:
            return ""
        d[a] = statistics.median(g)
    return (f" Each layer's own SNR (median over layers, then over models) moves by "
            f"{d['e4m3_none_mitchell']:+.1f} dB from unscaled e4m3 to MXFP8 with Mitchell's "
            f"products and by {d['e4m3_none']:+.1f} dB with exact ones"
            + (": the difference is Mitchell's, not the format's, and a deep network "
               "compounds it layer after layer." if abs(d["e4m3_none"]) * 2 <
               abs(d["e4m3_none_mitchell"]) else "."))


def findings(results, zoo_dir=None):
    """Sentences computed from the numbers, each beside the literature's claim."""
    models = list(results)
    if not models:
        return ["No model was run."]
    n = len(models)

    def within(tag, pts):
        d = [_drop(results[m], tag) for m in models]
        return sum(1 for x in d if x <= pts), sum(1 for x in d if not math.isnan(x))

    def median(tag):
        d = [x for x in (_drop(results[m], tag) for m in models) if not math.isnan(x)]
        return statistics.median(d) if d else math.nan

    out = []

    def ran(*tags):
        return all(within(t, 1.0)[1] for t in tags)

    k, of = within("mxfp8_exact", 1.0)
    if of:
        out.append(f"- **MXFP8** (E4M3 elements) with exact products stays within 1 point of "
                   f"the exact network on {k} of {of} models (median loss "
                   f"{median('mxfp8_exact'):.2f} points). Rouhani et al. (2023) "
                   f"report MXFP8 direct-cast inference at FP32 accuracy across vision and "
                   f"language models; the OCP MX v1.0 specification defines the format.")
    for fmt in ("mxfp6e3m2", "mxfp6e2m3"):
        k, of = within(f"{fmt}_exact", 1.0)
        if of:
            out.append(f"- **{fmt.upper()}**: within 1 point on {k} of {of} models (median loss "
                       f"{median(fmt + '_exact'):.2f}). Rouhani et al. find MXFP6 close to FP32 "
                       f"for direct-cast inference, E2M3 ahead of E3M2 where they differ.")
    k, of = within("mxfp4_exact", 1.0)
    k2, of2 = within("nvfp4_exact", 1.0)
    if of and of2:
        out.append(f"- **4-bit**: MXFP4 within 1 point on {k} of {of} models (median loss "
                   f"{median('mxfp4_exact'):.2f}), NVFP4 on {k2} (median "
                   f"{median('nvfp4_exact'):.2f}). Rouhani et al. report that MXFP4 direct-cast "
                   f"inference loses accuracy and needs quantization-aware fine-tuning; NVFP4's "
                   f"smaller blocks and E4M3 scales are meant to lose less (NVIDIA, "
                   f"arXiv:2509.25149, 2025).")
    k, of = within("mxint8_exact", 1.0)
    if of:
        out.append(f"- **MXINT8**: within 1 point on {k} of {of} models (median loss "
                   f"{median('mxint8_exact'):.2f}); Rouhani et al. report MXINT8 as a drop-in "
                   f"for FP32 inference.")
    for fmt in ("e4m3", "e5m2"):
        d = {s: median(f"{fmt}_{s}") for s, _ in SCALINGS}
        if ran(*(f"{fmt}_{s}" for s, _ in SCALINGS)):
            out.append(f"- **{fmt.upper()} scaling**: median loss without scaling "
                       f"{d['none']:.2f}, per-tensor {d['per-tensor']:.2f}, per-channel "
                       f"{d['per-channel']:.2f} points. Micikevicius et al. (2022) "
                       f"use per-tensor scale factors so that FP8 inference matches 16-bit "
                       f"accuracy, E4M3 for weights and activations.")
    worst = {}
    for fmt in BLOCK_FORMATS:
        for mname, _ in multipliers(fmt)[1:]:
            tag = f"{fmt}_{mname.split()[0].lower()}"
            worst[tag] = median(tag) - median(f"{fmt}_exact")
    # DRUM keeps the top k bits of each significand: on elements of at most
    # k significand bits (e3m2, e2m1: 3 and 2 with the hidden bit) it is the
    # exact multiplier, and its rows repeat the exact ones
    same = [f for f in BLOCK_FORMATS if f != "mxint8" and all(
        results[m].get(f"{f}_drum") and results[m].get(f"{f}_exact") and
        results[m][f"{f}_drum"].get("top1") == results[m][f"{f}_exact"].get("top1")
        for m in models)]
    if same:
        out.append(f"- **DRUM k=3 is exact on {', '.join(same)}** (the same top-1 as the exact "
                   f"element multiplier on every model): elements with at most 3 significand "
                   f"bits, hidden bit included, are kept whole by DRUM (Hashemi et al., ICCAD "
                   f"2015), so those rows measure the block format alone.")
        for f in same:
            worst.pop(f"{f}_drum", None)
    known = {t: v for t, v in worst.items() if not math.isnan(v)}
    if known:
        t = max(known, key=known.get)
        out.append(f"- **Approximate element multipliers**: the largest median cost of an "
                   f"approximate multiplier over the exact one is {known[t]:.2f} points "
                   f"({t.replace('_', ' ')}). We know of no published result on approximate "
                   f"multipliers inside block-scaled arithmetic; the closest is the "
                   f"unscaled e4m3 table of the multipliers section above.")
    mit = [("e4m3_none_mitchell", "none"), ("e4m3_per-tensor_mitchell", "per-tensor"),
           ("e4m3_per-channel_mitchell", "per-channel"), ("mxfp8_mitchell", "MXFP8 blocks")]
    if ran(*(t for t, _ in mit)):
        grow = sum(1 for m in models
                   if all(_drop(results[m], a) <= _drop(results[m], b)
                          for (a, _), (b, _) in zip(mit, mit[1:])))
        sub = subnormal_share(zoo_dir, models) if zoo_dir else {}
        out.append(f"- **Mitchell's products and the scale**: median loss of Mitchell on e4m3 "
                   + ", ".join(f"{label} {median(t):.2f}" for t, label in mit)
                   + f" points (exact products: none {median('e4m3_none'):.2f}, per-tensor "
                   f"{median('e4m3_per-tensor'):.2f}, per-channel "
                   f"{median('e4m3_per-channel'):.2f}, MXFP8 {median('mxfp8_exact'):.2f}); the "
                   f"loss grows at each finer step on {grow} of {n} models."
                   + (f" Unscaled e4m3 encodes a median {100 * statistics.median(list(sub.values())):.0f}% "
                      f"of the MAC weights as subnormals (from {100 * min(sub.values()):.0f}% to "
                      f"{100 * max(sub.values()):.0f}%)." if sub else "")
                   + " Mitchell's relative error, xy/((1+x)(1+y)) for significand fractions "
                   "x and y (Mitchell, IRE Trans. EC-11, 1962), vanishes when either fraction is "
                   "0: a subnormal with one or two significant bits is multiplied (nearly) "
                   "exactly, and scaling moves every element into the normal range."
                   + snr_gap(results))
    out.append(f"- {n} model(s) in this section.")
    return out


def section(results, limit, commands, log, zoo_dir=None):
    """The Markdown of the section."""
    models = list(results)
    s = ["## Scaled and block-scaled formats\n",
         f"Top-1 (%) on {limit} test images; the first row is the exact network. Scaling: "
         "exact products of e4m3 / e5m2 operands, activations scaled per tensor from each "
         "batch's amax when weights are scaled (docs/FORMATS.md). Block formats: blocks of "
         "32 (MX, E8M0 scales) or 16 (NVFP4, E4M3 scales and a per-tensor scale) along "
         "each layer's reduction axis, element products exact or through an approximate "
         "multiplier, exact float32 sums.\n"]
    head = "| point | " + " | ".join(models) + " |"
    s += [head, "|---|" + "---:|" * len(models)]
    ex = [next((r for r in results[m].values() if r and r.get("exact_top1") is not None),
               None) for m in models]
    s.append("| exact network | " + " | ".join(  # ?: a dataset without labels
        f"{100 * r['exact_top1']:.1f}" if r else "?" for r in ex) + " |")
    for tag, label, _ in points():
        s.append(f"| {label} | " + " | ".join(pct(results[m].get(tag)) for m in models) + " |")
    missing = sum(1 for m in models for t, _, _ in points() if results[m].get(t) is None)
    if missing:
        s += ["", f"`·`: {missing} point(s) not run yet; the findings below count only the "
              "points that ran."]
    s += ["", "Findings (computed from the table above):", ""] + findings(results)
    if log:
        s += ["", "Points that failed:", ""] + [f"- `{x}`" for x in log]
    s += ["", "Commands of this section:", "", "```"] + commands + ["```", ""]
    return "\n".join(s)


BEGIN, END = "<!-- study_mx: begin -->", "<!-- study_mx: end -->"


def splice(path, text):
    """Writes the section into path between the markers (appended when the
    file has none), through a temporary name."""
    old = open(path).read() if os.path.exists(path) else ""
    block = f"{BEGIN}\n{text}\n{END}\n"
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + block + old[old.index(END) + len(END) + 1:]
    else:
        new = old.rstrip() + ("\n\n" if old else "") + block
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, path)
