#!/usr/bin/env bash
# tools/retrain_study.py's Markdown from a results file whose answers are
# known (no training run): the table, and the findings computed from it.
# Usage: retrain_findings.sh SOURCE_DIR
set -euo pipefail
src=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$src/tools" "$tmp/R.md" <<'PY'
import sys, types
sys.path.insert(0, sys.argv[1])
import retrain_study as rs
def pair(m, c, exact, before, ste, approx):
    return {"model": m, "config": c, "exact": exact, "before": before, "after_exact": ste,
            "after_approx": approx, "time_exact": 1.0, "time_approx": 2.0}
data = {"a/mitchell-e4m3": pair("lenet5", "mitchell-e4m3", 0.90, 0.80, 0.89, 0.885),
        "b/drum3-e4m3": pair("resnet18", "drum3-e4m3", 0.90, 0.70, 0.85, 0.87),
        "c/e2m3": dict(pair("vgg11", "e2m3", 0.90, 0.10, 0.10, 0.08), retry_approx=0.895),
        "d/int4": {"model": "vit", "config": "int4", "exact": 0.9, "before": 0.895}}
import json, os
work = os.path.dirname(sys.argv[2])
for tag, loss in (("vgg11-e2m3-exact", 2.302585), ("vgg11-e2m3-approx", 2.9),
                  ("resnet18-drum3-e4m3-exact", 0.4), ("vgg11-e2m3-approx-lr0.001", 0.35)):
    with open(os.path.join(work, tag + ".train.json"), "w") as f:
        json.dump({"epochs": [{"epoch": 1, "train_loss": loss}]}, f)
a = types.SimpleNamespace(test_count=100, epochs=1, limit_train=10, min_loss=2.0, notes=None,
                          work=work)
rs.write_md(sys.argv[2], data, a)
text = open(sys.argv[2]).read()
want = ["| resnet18 | drum3-e4m3 | 90.00% | 70.00% | 85.00% | 87.00% | 75% | 1 | 2 |",
        "## Findings computed from the table",
        "1 of 3 retrained pairs end within 2 points of the exact network with the "
        "straight-through estimator; not: vgg11/e2m3 (10.00% -> 10.00%, exact 90.00%), "
        "resnet18/drum3-e4m3 (70.00% -> 85.00%, exact 90.00%).",
        "approximate multipliers: median 82%, from 75% to 90% over 2 pair(s).",
        "narrow formats: median 0%, from 0% to 0% over 1 pair(s).",
        "median difference -0.50 points, ahead on 1 of 3 pair(s); more than a point behind "
        "on vgg11/e2m3 (-2.00).",
        "Pairs within the threshold (not retrained): vit/int4 (89.50% vs 90.00%).",
        "stayed at or above ln 10 = 2.30 (a constant guess over the ten classes): vgg11/e2m3 "
        "with the straight-through backward (2.303), vgg11/e2m3 with the approximate backward "
        "(2.900).",
        "| vgg11 | e2m3 | approx | 8.00% | 89.50% | 2.900 / 0.350 |",
        "Run again at rate 0.001, 1 of 1 of them end within 2 points of the exact network: "
        "vgg11/e2m3 (approx backward, 89.50%).",
        "Models whose every configuration ran: 0 of 12; not yet (the study resumes where it "
        "stopped): lenet5, alexnet,"]
bad = [w for w in want if w not in text]
if bad:
    sys.exit("retrain_findings: missing %r in:\n%s" % (bad, text))
# the share of weights e2m3 rounds to zero, on a model whose answer is known
try:
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper
except ImportError:
    print("retrain_findings: no onnx, zero_share not checked")
else:
    w = np.array([[0.0625, -0.0625, 0.07, -0.5], [0.01, 0.0, 1.0, -0.0626]], np.float32)
    g = helper.make_graph([], "g", [], [], [numpy_helper.from_array(w, "w"),
                                             numpy_helper.from_array(np.zeros(3, np.float32), "b")])
    onnx.save(helper.make_model(g), os.path.join(work, "m.onnx"))
    got = rs.zero_share(work, ["m", "absent"], 2.0 ** -4)
    if got != {"m": 0.5}:  # 0.0625 twice, 0.01 and 0.0 of eight; the 1-D bias not counted
        sys.exit(f"retrain_findings: zero_share gave {got}, expected {{'m': 0.5}}")
PY
echo "retrain_findings: OK"
