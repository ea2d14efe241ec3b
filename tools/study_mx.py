"""The study section of issue 15: scaled and block-scaled formats per model
(imported by tools/study.py; `study.py --mx-only` runs this section alone).

For every model, one `axlut run` per point (resumable: a point whose report
exists is read, not run again), --limit test images each:

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
    for fmt in BLOCK_FORMATS:
        for mname, mopt in multipliers(fmt):
            tag = f"{fmt}_{mname.split()[0].lower()}"
            out.append((tag, f"{fmt}, {mname} elements", ["--format", fmt, *mopt]))
    return out


def run_point(axlut, onnx, data, limit, report, opts, log, run=True):
    """One `axlut run`, unless its report exists; returns the report and the
    command.  A failed run is recorded as such (its message kept), so that a
    format a model cannot take (or a bad option) shows in the table instead
    of stopping the study."""
    cmd = [axlut, "run", onnx, "--data", data, "--limit", str(limit), "--quiet", "--report",
           report, *opts]
    if not os.path.exists(report) and not run:
        return None, cmd
    if not os.path.exists(report):
        print("$ " + " ".join(cmd), flush=True)
        t0 = time.time()
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            msg = (r.stderr.strip().splitlines() or ["?"])[-1]
            log.append(f"{os.path.basename(onnx)} {' '.join(opts)}: exit {r.returncode}: {msg}")
            return {"failed": msg}, cmd
        print(f"  {time.time() - t0:.0f} s", flush=True)
    with open(report) as f:
        return json.load(f), cmd


def pct(r):
    if r is None:
        return "·"
    if "failed" in r or r.get("top1") is None:
        return "fail"
    return f"{100 * r['top1']:.1f}"


def run_section(axlut, zoo_dir, models, data, limit, work, run=True):
    """Runs (or reads) every point; returns {model: {tag: report}}, commands, failures.
    run False: only reads the reports there are (a point without one shows as ·)."""
    results, commands, log = {}, [], []
    for m in models:
        name = m["name"]
        onnx = os.path.join(zoo_dir, f"{name}.onnx")
        if not os.path.exists(onnx):
            print(f"study_mx: {onnx}: not trained yet, skipped", file=sys.stderr)
            continue
        if not run and not any(os.path.exists(os.path.join(work, f"{name}_mx_{t}.json"))
                               for t, _, _ in points()):
            continue  # nothing run for it yet
        results[name] = {}
        # the block formats with exact products first, then the scalings,
        # then the approximate multipliers: a study cut short has the most
        # telling points
        order = sorted(points(), key=lambda p: (0 if p[0].endswith("_exact") else
                                                1 if p[0].startswith("e") else 2))
        for tag, _, opts in order:
            rep, cmd = run_point(axlut, onnx, data, limit,
                                 os.path.join(work, f"{name}_mx_{tag}.json"), opts, log, run)
            results[name][tag] = rep
            commands.append(" ".join(cmd))
    return results, commands, log


def _drop(res, tag):
    """Top-1 points lost against the exact network (NaN where the point failed)."""
    r = res.get(tag)
    if not r or "failed" in r or r.get("top1") is None:
        return math.nan
    return 100 * (r["exact_top1"] - r["top1"])


def findings(results):
    """Sentences computed from the numbers, each beside the literature's claim."""
    models = list(results)
    if not models:
        return ["No model was run."]
    n = len(models)

    def within(tag, pts):
        d = [_drop(results[m], tag) for m in models]
        return sum(1 for x in d if x <= pts), sum(1 for x in d if not math.isnan(x))

    def median(tag):
        d = sorted(x for x in (_drop(results[m], tag) for m in models) if not math.isnan(x))
        return d[len(d) // 2] if d else math.nan

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
    known = {t: v for t, v in worst.items() if not math.isnan(v)}
    if known:
        t = max(known, key=known.get)
        out.append(f"- **Approximate element multipliers**: the largest median cost of an "
                   f"approximate multiplier over the exact one is {known[t]:.2f} points "
                   f"({t.replace('_', ' ')}). We know of no published result on approximate "
                   f"multipliers inside block-scaled arithmetic; the closest is the "
                   f"unscaled e4m3 table of the multipliers section above.")
    out.append(f"- {n} model(s) in this section.")
    return out


def section(results, limit, commands, log):
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
    ex = [next((r for r in results[m].values() if r and "exact_top1" in r), None)
          for m in models]
    s.append("| exact network | " + " | ".join(
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
