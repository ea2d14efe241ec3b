#!/usr/bin/env -S /usr/bin/python3
"""Training throughput of `axlut train` against PyTorch's own training step,
measured in the same run on the same machine (BENCHMARKS.md).

    tools/bench_train.py AXLUT [--models lenet5,resnet18] [--samples N]
        [--batch B] [--threads T] [--work DIR]

For each model of the zoo (fresh weights from tools/train_zoo.py: speed
does not depend on them) and each configuration (exact float32; an int8
table: `--mul mul_exact --format int8 --path table`; an e4m3 table:
`--mul fpmul_drum --param k=3 --format e4m3 --path table`), runs one epoch
of N Fashion-MNIST training images with `axlut train --report` and reads
its forward / backward / update split; then times N images of PyTorch's
training step (SGD, the same batch) with torch.set_num_threads(T), and
prints a Markdown table: images/s for each, and the ratio.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

CONFIGS = [
    ("exact fp32", []),
    ("int8 table", ["--mul", "mul_exact", "--format", "int8", "--path", "table"]),
    ("e4m3 table (DRUM k=3)", ["--mul", "fpmul_drum", "--param", "k=3", "--format", "e4m3",
                               "--path", "table"]),
]


def torch_rate(model, x, y, batch, threads):
    """images/s of model.train() SGD steps over x (and the split)."""
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    tf = tb = tu = 0.0
    start = time.perf_counter()
    for i in range(0, len(x), batch):
        xb, yb = x[i:i + batch], y[i:i + batch]
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(xb), yb)
        t1 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        tf, tb, tu = tf + t1 - t0, tb + t2 - t1, tu + t3 - t2
    total = time.perf_counter() - start
    return len(x) / total, tf, tb, tu


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("axlut")
    ap.add_argument("--models", default="lenet5,resnet18")
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="bench-train-work")
    a = ap.parse_args(argv)
    import numpy as np
    import torch
    import h5py
    import export_model
    import train_zoo
    os.makedirs(a.work, exist_ok=True)
    data = os.path.join(a.work, "train.h5")
    if not os.path.exists(data):
        subprocess.run([sys.executable, os.path.join(HERE, "make_dataset.py"), "--split",
                        "train", "--limit", str(a.samples), "-o", data], check=True,
                       stdout=subprocess.DEVNULL)
    with h5py.File(data) as f:
        x = torch.from_numpy(np.asarray(f["inputs"][:a.samples], dtype=np.float32))
        y = torch.from_numpy(np.asarray(f["labels"][:a.samples], dtype=np.int64))
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    print(f"| model | configuration | axlut images/s | forward / backward / update s "
          f"| PyTorch images/s | PyTorch fwd / bwd / upd s | axlut / PyTorch |")
    print("|---|---|---:|---|---:|---|---:|")
    for name in a.models.split(","):
        model = train_zoo.build(name, 0)
        onnx_path = os.path.join(a.work, name + ".onnx")
        model.eval()
        export_model.export(model, {"input": x[:2].numpy()}, onnx_path, None, ["logits"], 13,
                            True, False, quiet=True)
        rate, tf, tb, tu = torch_rate(model, x, y, a.batch, a.threads)
        for label, opts in CONFIGS:
            rep = os.path.join(a.work, f"{name}-{len(opts)}.json")
            cmd = [a.axlut, "train", onnx_path, "--data", data, "--limit", str(a.samples),
                   "--epochs", "1", "--batch", str(a.batch), "-o",
                   os.path.join(a.work, name + "-out.onnx"), "--report", rep,
                   "--quiet"] + opts
            subprocess.run(cmd, check=True, env=env)
            with open(rep) as f:
                e = json.load(f)["epochs"][0]
            ar = e["samples"] / e["seconds"]
            print(f"| {name} | {label} | {ar:.0f} | {e['forward_seconds']:.2f} / "
                  f"{e['backward_seconds']:.2f} / {e['update_seconds']:.2f} | {rate:.0f} | "
                  f"{tf:.2f} / {tb:.2f} / {tu:.2f} | {ar / rate:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
