#!/usr/bin/python3
"""The study of issue 6: for every model of the zoo, which reduced-precision
multiply format suffices, which approximate multipliers and adders it
tolerates, and which layers are the most sensitive; written as Markdown.

    /usr/bin/python3 tools/study.py --zoo models/zoo --data fmnist_test.h5 \\
        -o docs/STUDY.md --work study-work [--limit 2000] [--models lenet5,vit]

It runs `axlut sweep` (resumable: an interrupted study continues where it
stopped), then reads the CSV files:

  formats      exact products in eXmY, X = 2..5: for each X and each
               accumulator (fp32 adds, then add_exact into bf16 and fp16) the
               mantissa widths 1, 2, ... up to the first within 1 point of top-1
               of the exact network (accuracy grows with mantissa bits, so the
               wider ones are not run); bf16 and fp16 products as well
  multipliers  every built-in fpmul_* design on e4m3 operands (full tables)
               and on bf16 (mantissa tables)
  adders       every built-in fpadd_* design on an fp16 accumulator, e4m3
               exact products
  sensitivity  one layer at a time with fpmul_drum(k=3) on e4m3
  --mx         also the section on scaled and block-scaled formats
               (tools/study_mx.py); --mx-only runs that section alone and
               writes it into the existing output between its markers
"""
import argparse
import csv
import json
import math
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import study_findings  # noqa: E402  (beside this file)
import study_mx  # noqa: E402

EXPONENTS = (2, 3, 4, 5)
MANTISSAS = range(1, 8)
ACCS = ("fp32", "bf16", "fp16")
MULS = ("mul_exact,fpmul_mitchell,fpmul_mbm,fpmul_drum:k=3,fpmul_bam:vbl=3,fpmul_kulkarni,"
        "fpmul_roba")
ADDERS = "fpadd_loa:k=4,fpadd_ama5:k=4,fpadd_eta1:k=4,fpadd_trunc_add:k=4,fpadd_aca:k=4"


def fail(msg):
    print(f"study.py: {msg}", file=sys.stderr)
    sys.exit(2)


def sweep(axlut, model, data, out, limit, *args):
    cmd = [axlut, "sweep", model, "--data", data, "--limit", str(limit), "--quiet", "-o", out,
           *args]
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.time()
    r = subprocess.run(cmd)
    if r.returncode != 0:
        fail(f"axlut sweep failed (exit {r.returncode}) for {model}")
    return cmd, time.time() - t0


def rows(path):
    with open(path, newline="") as f:
        out = list(csv.DictReader(f))
    for r in out:
        for k in ("top1", "exact_top1", "agreement", "worst_layer_snr_db", "seconds"):
            try:
                r[k] = float(r[k])
            except ValueError:
                r[k] = math.nan
    return out


bits = study_findings.bits


def smallest_bits(rs, acc):
    ok = [bits(r["format"])[0] for r in rs
          if r["acc_format"] == acc and r["top1"] >= r["exact_top1"] - 0.01]
    return min(ok) if ok else math.nan


def plot(a, summary):
    """Three summary figures next to the Markdown (matplotlib, PNG)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("study.py: matplotlib missing, no plots (tools/setup installs it)", file=sys.stderr)
        return []
    out = os.path.join(os.path.dirname(os.path.abspath(a.output)), "study")
    os.makedirs(out, exist_ok=True)
    names = [m["name"] for m in summary]
    files = []
    for key, title, fname in (("muls", "top-1 loss (points) per multiplier, e4m3 operands",
                               "multipliers.png"),
                              ("adders", "top-1 loss (points) per adder, fp16 accumulator",
                               "adders.png")):
        cols = sorted({d for m in summary for d in m[key]}, key=lambda d: (d != "mul_exact", d))
        if not cols:
            continue
        z = [[100 * (m["exact"] - m[key].get(d, math.nan)) for d in cols] for m in summary]
        fig, ax = plt.subplots(figsize=(1.5 + 0.9 * len(cols), 2.0 + 0.35 * len(names)))
        im = ax.imshow(z, cmap="Reds", vmin=0, vmax=max(5.0, max(
            (v for r in z for v in r if v == v), default=5.0)), aspect="auto")
        for i, r in enumerate(z):
            for j, v in enumerate(r):
                ax.text(j, i, "" if v != v else f"{v:.1f}", ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(cols)), cols, rotation=35, ha="right", fontsize=8)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.set_title(title, fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.8)
        fig.tight_layout()
        fig.savefig(os.path.join(out, fname), dpi=72)
        plt.close(fig)
        files.append(("study/" + fname, title))
    fig, ax = plt.subplots(figsize=(max(5.0, 1.5 + 0.6 * len(names)), 3.4))
    for k, acc in enumerate(ACCS):
        ax.bar([i + (k - 1) * 0.27 for i in range(len(names))],
               [m["smallest"][acc] for m in summary], width=0.27, label=f"{acc} accumulator")
    ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("bits of the smallest format", fontsize=8)
    title = "smallest multiply format within 1 point of exact top-1"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "formats.png"), dpi=72)
    plt.close(fig)
    files.append(("study/formats.png", title))
    return files


def smallest(rs, acc, searched=ACCS):
    """Fewest bits (then fewest exponent bits) within 1 point of top-1 of exact."""
    if acc not in searched or not any(r["acc_format"] == acc for r in rs):
        return "not searched (--search-accs)"
    ok = [r for r in rs if r["acc_format"] == acc and r["top1"] >= r["exact_top1"] - 0.01]
    if not ok:
        return "none within 1%"
    best = min(ok, key=lambda r: (bits(r["format"])[0], bits(r["format"])[1]))
    return f"{best['format']} ({100 * best['top1']:.2f}%)"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[1:]))
    p.add_argument("--zoo", required=True, help="directory with NAME.onnx and zoo.json")
    p.add_argument("--data", required=True, help="dataset (tools/make_dataset.py)")
    p.add_argument("-o", "--output", required=True, help="Markdown file to write")
    p.add_argument("--work", default="study-work", help="directory for the sweep results")
    p.add_argument("--limit", type=int, default=2000, help="test images per point")
    p.add_argument("--models", help="comma-separated subset of the zoo")
    p.add_argument("--axlut", default="build/axlut")
    p.add_argument("--no-sensitivity", action="store_true")
    p.add_argument("--notes", help="Markdown file inserted as the study's findings")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG summary plots")
    p.add_argument("--search-accs", default=",".join(ACCS),
                   help="accumulators of the format search (default: fp32,bf16,fp16)")
    p.add_argument("--exponents", default=",".join(map(str, EXPONENTS)),
                   help="exponent widths of the format search (default: 2,3,4,5)")
    p.add_argument("--mul-formats", default="e4m3,bf16",
                   help="operand formats of the multiplier sweep (default: e4m3,bf16)")
    p.add_argument("--mx", action="store_true",
                   help="also the section on scaled and block-scaled formats (study_mx.py)")
    p.add_argument("--mx-only", action="store_true",
                   help="only that section, written into the existing output")
    p.add_argument("--mx-no-run", action="store_true",
                   help="write that section from the reports in --work, running nothing")
    a = p.parse_args()
    try:
        exps = [int(e) for e in a.exponents.split(",")]
    except ValueError:
        fail(f"--exponents: {a.exponents}: expected a comma-separated list of integers")
    if a.notes and not os.path.exists(a.notes):
        fail(f"{a.notes}: no such notes file")
    try:
        zoo = json.load(open(os.path.join(a.zoo, "zoo.json")))
    except (OSError, ValueError) as e:
        fail(f"{a.zoo}/zoo.json: {e}")
    models = zoo.get("models", zoo) if isinstance(zoo, dict) else zoo
    if isinstance(models, dict):
        models = [dict(v, name=k) for k, v in models.items()]
    names = [m["name"] for m in models]
    if a.models:
        want = a.models.split(",")
        missing = [w for w in want if w not in names]
        if missing:
            fail(f"not in the zoo: {', '.join(missing)} (have {', '.join(names)})")
        models = [m for m in models if m["name"] in want]
    if not os.path.exists(a.data):
        fail(f"{a.data}: no such dataset")
    os.makedirs(a.work, exist_ok=True)

    def mx():
        results, cmds, log = study_mx.run_section(a.axlut, a.zoo, models, a.data, a.limit,
                                                  a.work, run=not a.mx_no_run)
        study_mx.splice(a.output, study_mx.section(results, a.limit, cmds, log, a.zoo))

    if a.mx_only:
        mx()
        print(f"wrote the scaled and block-scaled section of {a.output}")
        return
    commands, seconds, sections, summary, found = [], 0.0, [], [], []
    for m in models:
        name = m["name"]
        onnx = os.path.join(a.zoo, f"{name}.onnx")
        if not os.path.exists(onnx):
            fail(f"{onnx}: not trained/exported yet (tools/train_zoo.py)")
        w = lambda s: os.path.join(a.work, f"{name}_{s}")
        # the format search: one point per sweep call, resumed from the CSV
        for acc in a.search_accs.split(","):
            if acc not in ACCS:
                fail(f"--search-accs: {acc} is not one of {', '.join(ACCS)}")
            for fmts in [[f"e{e}m{m}" for m in MANTISSAS] for e in exps] + [["bf16", "fp16"]]:
                done = []
                for f in fmts:
                    done.append(f)
                    cmd, t = sweep(a.axlut, onnx, a.data, w("formats"), a.limit, "--formats",
                                   ",".join(done), "--designs", "mul_exact", "--acc-formats", acc)
                    seconds += t
                    r = [x for x in rows(w("formats") + ".csv")
                         if x["format"].startswith(f) and x["acc_format"] == acc]
                    if len(fmts) > 2 and r and r[-1]["top1"] >= r[-1]["exact_top1"] - 0.01:
                        break
                commands.append(" ".join(cmd))
        for args, tag in (
            (["--formats", a.mul_formats, "--designs", MULS], "muls"),
            (["--formats", "e4m3", "--designs", "mul_exact", "--acc-formats", "fp16",
              "--adders", ADDERS], "adders"),
        ) + (() if a.no_sensitivity else
             ((["--formats", "e4m3", "--designs", "fpmul_drum:k=3", "--sensitivity"], "sens"),)):
            cmd, t = sweep(a.axlut, onnx, a.data, w(tag), a.limit, *args)
            commands.append(" ".join(cmd))
            seconds += t
        fr, mr, ar = rows(w("formats") + ".csv"), rows(w("muls") + ".csv"), rows(w("adders") + ".csv")
        exact = fr[0]["exact_top1"] if fr else math.nan
        s = [f"### {name}\n",
             f"{m.get('description', '')} — {m.get('params', '?')} parameters, "
             f"{m.get('macs_per_sample', m.get('macs', '?'))} MACs per image; exact top-1 on "
             f"these {a.limit} images: {100 * exact:.2f}%.\n",
             "| accumulator | smallest multiply format within 1% of exact |", "|---|---|"]
        for acc in ACCS:
            s.append(f"| {acc} | {smallest(fr, acc, a.search_accs.split(','))} |")
        s += ["", "Top-1 (%) of the points searched, exact products in eXmY; accumulator "
              "fp32 / bf16 / fp16 (`·`: not run, a narrower mantissa already passed):", "",
              "| | " + " | ".join(f"m{m}" for m in MANTISSAS) + " |",
              "|---|" + "---:|" * len(MANTISSAS)]
        for e in EXPONENTS:
            cells = []
            for m in MANTISSAS:
                v = []
                for acc in ACCS:
                    r = [x for x in fr if x["acc_format"] == acc and
                         re.match(rf"^e{e}m{m}(?![0-9])", x["format"])]
                    v.append(f"{100 * r[0]['top1']:.1f}" if r else "·")
                cells.append(" / ".join(v))
            s.append(f"| e{e} | " + " | ".join(cells) + " |")
        for f in ("bf16", "fp16"):
            v = []
            for acc in ACCS:
                r = [x for x in fr if x["acc_format"] == acc and x["format"] == f]
                v.append(f"{100 * r[0]['top1']:.1f}" if r else "·")
            s.append(f"| {f} | " + " / ".join(v) + " |" + " |" * (len(MANTISSAS) - 1))
        s += ["", "| multiplier | e4m3 top-1 | bf16 top-1 | worst layer SNR (e4m3) |",
              "|---|---:|---:|---:|"]
        for d in sorted({r["design"] for r in mr}, key=lambda x: (x != "mul_exact", x)):
            e = [r for r in mr if r["design"] == d and r["format"] == "e4m3fn"]
            b = [r for r in mr if r["design"] == d and r["format"] == "bf16"]
            bt = f"{100 * b[0]['top1']:.2f}%" if b else "·"
            s.append(f"| {d} | {100 * e[0]['top1']:.2f}% | {bt} | "
                     f"{e[0]['worst_layer_snr_db']:.1f} dB |" if e else f"| {d} | | | |")
        s += ["", "| adder on an fp16 accumulator (e4m3 products) | top-1 | agreement |",
              "|---|---:|---:|"]
        for r in ar:
            s.append(f"| {r['adder']} | {100 * r['top1']:.2f}% | {100 * r['agreement']:.2f}% |")
        sens = [] if a.no_sensitivity else rows(w("sens") + ".csv")
        if not a.no_sensitivity:
            sr = sorted(sens, key=lambda r: r["top1"])
            top = ", ".join(f"`{r['layers']}` ({100 * r['top1']:.2f}%)" for r in sr[:3])
            s += ["", f"Most sensitive layers (fpmul_drum(k=3) on e4m3, one at a time): {top}."]
        sections.append("\n".join(s) + "\n")
        found.append({"name": name, "exact": exact, "fr": fr, "mr": mr, "ar": ar, "sr": sens})
        summary.append({
            "name": name, "exact": exact,
            "muls": {r["design"]: r["top1"] for r in mr if r["format"] == "e4m3fn"},
            "adders": {r["adder"]: r["top1"] for r in ar},
            "smallest": {acc: smallest_bits(fr, acc) if acc in a.search_accs.split(",") else math.nan
                         for acc in ACCS}})
        seconds = sum(r["seconds"] for n in summary
                      for t in ("formats", "muls", "adders", "sens")
                      if os.path.exists(os.path.join(a.work, f"{n['name']}_{t}.csv"))
                      for r in rows(os.path.join(a.work, f"{n['name']}_{t}.csv")))
        plots = [] if a.no_plots else plot(a, summary)
        write(a, sections, commands, seconds, len(sections) < len(models), plots,
              study_findings.findings(found, a.search_accs.split(",")))
    if a.mx:
        mx()
    print(f"wrote {a.output}")


FINDINGS_MARK = "<!-- study: computed findings -->"


def write(a, sections, commands, seconds, partial, plots, found):
    """The Markdown so far (rewritten after each model, so that a long
    study leaves its finished models readable)."""
    tmp = a.output + ".tmp"
    with open(tmp, "w") as f:
        f.write("# Study: formats and approximate units per model\n\n")
        f.write(f"Generated by `tools/study.py` on {time.strftime('%Y-%m-%d')} from the zoo in "
                f"`{a.zoo}` (see its README for accuracies and checksums), {a.limit} test images "
                f"per point; the sweeps took {seconds / 60:.1f} minutes"
                f"{' so far (models still running)' if partial else ''} (the sum of the "
                f"points' times).\n\n")
        # the computed part goes where the notes hold FINDINGS_MARK (else first)
        computed = (study_findings.noise(a.limit) + "\n\n## Findings computed from the data\n\n"
                    + ("(models still running: these count the finished ones)\n\n"
                       if partial else "") + "\n".join(found) + "\n")
        notes = open(a.notes).read().rstrip() if a.notes else FINDINGS_MARK
        if FINDINGS_MARK not in notes:
            notes = FINDINGS_MARK + "\n\n" + notes
        f.write(notes.replace(FINDINGS_MARK, computed.rstrip()) + "\n\n")
        for path, title in plots:
            f.write(f"![{title}]({path})\n\n")
        f.write("## Per model\n\n")
        f.write("\n".join(sections))
        f.write("\n## Commands\n\n```\n" + "\n".join(commands) + "\n```\n")
    os.replace(tmp, a.output)


if __name__ == "__main__":
    main()
