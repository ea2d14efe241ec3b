"""The findings of docs/STUDY.md's main part, computed from the sweeps'
rows (tools/study.py reads the CSV files and calls this).  Nothing here is
a number typed by hand: every count, median and name comes from the rows
of the models that ran, so that rerunning the study with more images or
another zoo restates them.  The prose that compares them with the
literature stays in docs/study_notes.md.

Each model is a dict: name, exact (top-1 of the exact network), and the
rows of its sweeps (study.rows): fr (format search), mr (multipliers), ar
(adders on an fp16 accumulator), sr (one layer at a time, graph order;
empty when the sensitivity sweep was skipped).
"""
import math
import re
import statistics


def _median(xs):
    """The median of the values that are not NaN (NaN when none is)."""
    xs = [x for x in xs if not math.isnan(x)]
    return statistics.median(xs) if xs else math.nan


def _loss(r):
    """Top-1 points lost against the exact network."""
    return 100 * (r["exact_top1"] - r["top1"])


def bits(fmt):
    """(bits, exponent bits, mantissa bits) of a multiply format; tools/study.py's too."""
    m = re.match(r"^e(\d+)m(\d+)", fmt)
    if m:
        return 1 + int(m.group(1)) + int(m.group(2)), int(m.group(1)), int(m.group(2))
    return {"bf16": (16, 8, 7), "fp16": (16, 5, 10)}.get(fmt, (99, 0, 0))


def _bits(fmt):
    return bits(fmt)[0]


def _smallest(rows, acc):
    """The narrowest format within 1 point on this accumulator, or None."""
    ok = [r for r in rows if r["acc_format"] == acc and _loss(r) <= 1.0]
    if not ok:
        return None
    return min(ok, key=lambda r: bits(r["format"])[:2])  # as the table's (study.py)


def noise(limit):
    """What one image and sampling noise weigh at this many images."""
    se = 100 * math.sqrt(0.9 * 0.1 / limit)
    return (f"With {limit} images one image is {100 / limit:.2f} points of top-1, and the "
            f"standard error of a top-1 near 90% is about {se:.2f} points, so the \"within "
            f"1 point\" criterion is {1 / se:.1f} standard errors wide. The agreement column "
            f"(the share of images whose top-1 is the exact network's) is a paired measure and "
            f"steadier.")


def _formats(models, accs):
    out = []
    for acc in accs:
        got = [(m["name"], _smallest(m["fr"], acc)) for m in models
               if any(r["acc_format"] == acc for r in m["fr"])]
        if not got:
            continue
        passed = [(n, r) for n, r in got if r is not None]
        none = [n for n, r in got if r is None]
        line = f"- **Smallest format, {acc} accumulator**:"
        if passed:
            bits = sorted({_bits(r["format"]) for _, r in passed})
            common = {}
            for _, r in passed:
                common[r["format"]] = common.get(r["format"], 0) + 1
            top = sorted(common.items(), key=lambda kv: (-kv[1], kv[0]))
            span = f"{bits[0]}" if bits[0] == bits[-1] else f"{bits[0]} to {bits[-1]}"
            line += (f" {span} bits on the {len(passed)} model(s) where a searched "
                     f"format passes; most often " +
                     ", ".join(f"{f} ({k})" for f, k in top[:3]) + ".")
        if none:
            line += f" None of the searched formats is within 1 point on {', '.join(none)}."
        out.append(line)
    # OCP e2m3 (finite, max 7.5) against IEEE-like e2m4 (max 3.75 with one
    # more mantissa bit): both run only where e2m3 failed the criterion
    both = []
    for m in models:
        f = {r["format"]: r for r in m["fr"] if r["acc_format"] == "fp32"}
        if "e2m3" in f and "e2m4" in f:
            both.append((m["name"], f["e2m3"]["top1"] > f["e2m4"]["top1"]))
    if both:
        k = sum(1 for _, b in both if b)
        out.append(f"- **Two-bit exponents**: OCP e2m3 (max 7.5) beats IEEE-like e2m4 (max 3.75, "
                   f"one more mantissa bit) on {k} of the {len(both)} model(s) where both ran: "
                   f"range, not precision, limits them without a scale factor.")
    return out


def _accumulators(models):
    out = []
    for acc in ("bf16", "fp16"):
        pairs = []
        for m in models:
            a, b = _smallest(m["fr"], "fp32"), _smallest(m["fr"], acc)
            if a is not None and any(r["acc_format"] == acc for r in m["fr"]):
                pairs.append((m["name"], _bits(a["format"]), None if b is None else
                              _bits(b["format"])))
        if not pairs:
            continue
        same = sum(1 for _, a, b in pairs if b == a)
        wider = [(n, a, b) for n, a, b in pairs if b is None or b > a]
        line = (f"- **{acc} accumulation** (every add rounded to {acc}) needs the same smallest "
                f"format as float32 accumulation on {same} of {len(pairs)} model(s)")
        if wider:
            line += "; more on " + ", ".join(
                f"{n} ({a} -> {'none' if b is None else b} bits)" for n, a, b in wider)
        out.append(line + ".")
    return out


def _units(models, key, label, col, fmt=None):
    """One line per design: how many models stay within 1 and 2 points,
    the median loss and the worst model."""
    names = []
    for m in models:
        for r in m[key]:
            if (fmt is None or r["format"] == fmt) and r[col] not in names:
                names.append(r[col])
    out = []
    for d in names:
        ls = [(m["name"], _loss(r)) for m in models for r in m[key]
              if r[col] == d and (fmt is None or r["format"] == fmt)]
        ls = [(n, x) for n, x in ls if not math.isnan(x)]
        if not ls:
            continue
        w = max(ls, key=lambda t: t[1])
        what = "exact products (the format alone)" if d == "mul_exact" else f"{label} `{d}`"
        out.append(f"- {what}: within 1 point on {sum(1 for _, x in ls if x <= 1)}, "
                   f"within 2 on {sum(1 for _, x in ls if x <= 2)} of {len(ls)} model(s); "
                   f"median loss {_median([x for _, x in ls]):.2f} points, worst {w[0]} "
                   f"({w[1]:.2f}).")
    return out


def _sensitivity(models):
    have = [m for m in models if m["sr"]]
    if not have:
        return []
    first = [m["name"] for m in have
             if min(m["sr"], key=lambda r: r["top1"]) is m["sr"][0]]
    spread = _median([_loss(min(m["sr"], key=lambda r: r["top1"])) for m in have])
    return [f"- **Sensitive layers** (fpmul_drum(k=3) on e4m3, one layer at a time): the first "
            f"MAC layer is the most sensitive on {len(first)} of {len(have)} model(s)"
            + (f" ({', '.join(first)})" if first else "") +
            f"; the most sensitive layer alone costs a median {spread:.2f} points."]


def findings(models, accs):
    """Markdown lines: the computed findings of the models that ran."""
    unlabelled = [m["name"] for m in models if math.isnan(m["exact"])]
    models = [m for m in models if not math.isnan(m["exact"])]
    skip = ([f"- Not counted, the dataset has no labels (no top-1): {', '.join(unlabelled)}."]
            if unlabelled else [])
    if not models:
        return skip or ["No model has finished yet."]
    out = _formats(models, accs) + _accumulators(models)
    out += ["- **Approximate multipliers on e4m3 operands** (losses against the exact "
            "float32 network):"]
    out += ["  " + x for x in _units(models, "mr", "multiplier", "design", "e4m3fn")]
    bf = _units(models, "mr", "multiplier", "design", "bf16")
    if bf:
        out += ["- **The same on bf16 operands**:"] + ["  " + x for x in bf]
    out += ["- **Approximate adders in an fp16 accumulator** (e4m3 exact products):"]
    out += ["  " + x for x in _units(models, "ar", "adder", "adder")]
    out += _sensitivity(models)
    out.append(f"- {len(models)} model(s) counted.")
    return out + skip
