#!/usr/bin/python3
"""Plots of an `axlut sweep` result (RESULTS.csv): accuracy over exponent x
mantissa bits per model, accuracy per design per model, and layer
sensitivity (from a --sensitivity sweep), as PNG files; --rank prints the
layers ordered by the accuracy they cost.

    /usr/bin/python3 tools/plot_sweep.py results.csv -o plots/

Accuracy is top-1 against the labels; a dataset without labels falls back
to agreement with the exact network (and says so on the axis).
"""
import argparse
import csv
import math
import os
import re
import sys


def fail(msg):
    print(f"plot_sweep.py: {msg}", file=sys.stderr)
    sys.exit(2)


def number(s):
    try:
        v = float(s)
    except ValueError:
        return math.nan
    return v


def load(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        fail(f"{path}: {e.strerror}")
    need = {"model", "design", "format", "acc_format", "layers", "top1", "agreement"}
    if not rows or not need <= set(rows[0]):
        fail(f"{path}: not an axlut sweep result (columns {sorted(need)} expected)")
    for r in rows:
        t = number(r["top1"])
        r["acc"] = t if not math.isnan(t) else number(r["agreement"])
        r["metric"] = "top-1" if not math.isnan(t) else "agreement"
        r["short"] = os.path.splitext(os.path.basename(r["model"]))[0]
    return rows


def save(fig, out, name):
    path = os.path.join(out, name)
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    os.replace(tmp, path)
    print(f"wrote {path}")


def heatmaps(rows, out, plt):
    fmt = re.compile(r"^e(\d+)m(\d+)")
    for model in sorted({r["short"] for r in rows}):
        pts = [r for r in rows if r["short"] == model and r["layers"] == "*"
               and r["design"] == "mul_exact" and r["acc_format"] == "fp32" and not r["adder"]]
        cells = {}
        for r in pts:
            m = fmt.match(r["format"])
            if m:
                cells[(int(m.group(1)), int(m.group(2)))] = r["acc"]
        if len(cells) < 2:
            continue
        es = sorted({e for e, _ in cells})
        ms = sorted({m for _, m in cells})
        grid = [[cells.get((e, m), math.nan) for m in ms] for e in es]
        fig, ax = plt.subplots(figsize=(1 + 0.6 * len(ms), 1 + 0.5 * len(es)))
        im = ax.imshow(grid, origin="lower", cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(ms)), [str(m) for m in ms])
        ax.set_yticks(range(len(es)), [str(e) for e in es])
        ax.set_xlabel("mantissa bits")
        ax.set_ylabel("exponent bits")
        for i, e in enumerate(es):
            for j, m in enumerate(ms):
                v = grid[i][j]
                if not math.isnan(v):
                    ax.text(j, i, f"{100 * v:.0f}", ha="center", va="center", fontsize=7,
                            color="white" if v < 0.6 else "black")
        ax.set_title(f"{model}: {pts[0]['metric']} (exact multiply, fp32 accumulation)")
        fig.colorbar(im, ax=ax)
        save(fig, out, f"{model}_formats.png")
        plt.close(fig)


def designs(rows, out, plt):
    pts = [r for r in rows if r["layers"] == "*"]
    models = sorted({r["short"] for r in pts})
    labels = sorted({f"{r['design']} {r['format']} {r['acc_format']} {r['adder']}".strip()
                     for r in pts})
    if len(labels) < 2:
        return
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(labels) * len(models)), 4))
    w = 0.8 / max(1, len(models))
    for k, model in enumerate(models):
        vals = []
        for lab in labels:
            v = [r["acc"] for r in pts if r["short"] == model and
                 f"{r['design']} {r['format']} {r['acc_format']} {r['adder']}".strip() == lab]
            vals.append(v[0] if v else math.nan)
        ax.bar([i + k * w for i in range(len(labels))], vals, w, label=model)
    ax.set_xticks([i + 0.4 - w / 2 for i in range(len(labels))], labels, rotation=60, ha="right",
                  fontsize=7)
    ax.set_ylabel(pts[0]["metric"])
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    save(fig, out, "designs.png")
    plt.close(fig)


def sensitivity(rows, out, plt, rank):
    pts = [r for r in rows if r["layers"] != "*"]
    for model in sorted({r["short"] for r in pts}):
        mine = sorted((r for r in pts if r["short"] == model), key=lambda r: r["acc"])
        exact = number(mine[0]["exact_top1"]) if mine else math.nan
        if rank:
            print(f"{model}: layers by accuracy when approximated alone "
                  f"({mine[0]['design']} on {mine[0]['format']}; exact {100 * exact:.2f}%)")
            for i, r in enumerate(mine):
                print(f"  {i + 1:3d}. {r['layers']:40s} {100 * r['acc']:.2f}%")
        fig, ax = plt.subplots(figsize=(6, 1 + 0.3 * len(mine)))
        ax.barh([r["layers"] for r in mine], [r["acc"] for r in mine])
        ax.set_xlabel(mine[0]["metric"])
        ax.set_title(f"{model}: one layer approximate at a time")
        save(fig, out, f"{model}_sensitivity.png")
        plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[1:]))
    p.add_argument("csv", help="RESULTS.csv written by axlut sweep")
    p.add_argument("-o", "--out", default=".", help="directory for the PNG files")
    p.add_argument("--rank", action="store_true", help="print the layer sensitivity ranking")
    a = p.parse_args()
    rows = load(a.csv)
    os.makedirs(a.out, exist_ok=True)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    heatmaps(rows, a.out, plt)
    designs(rows, a.out, plt)
    sensitivity(rows, a.out, plt, a.rank)


if __name__ == "__main__":
    main()
