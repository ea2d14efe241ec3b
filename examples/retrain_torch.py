#!/usr/bin/env -S /usr/bin/python3
"""Retrain the demo LeNet-5 in PyTorch with an approximate multiplier.

    examples/retrain_torch.py [--epochs 1] [--limit N] [--lr 0.005] [--batch 64]
        [--save STATE.pt] [axlut run MAC options, e.g. --mul fpmul_drum --param k=2
        --format e4m3 (the default) | --config LAYERS.json]

Loads models/lenet5_fmnist.onnx into the PyTorch LeNet-5 of
tools/train_demo.py, swaps its layers with axlut.torch.approximate (every
multiply and add of Conv and Linear through the axlut C engine, the
straight-through estimator backward), measures test accuracy under the
configuration, fine-tunes on the Fashion-MNIST training split in an
ordinary PyTorch loop, and measures again.  The weights stay ordinary
parameters: --save writes a state_dict that
`tools/export_model.py lenet --weights STATE.pt -o OUT.onnx` exports, and
`axlut run OUT.onnx --data DATA.h5 [the same options]` then reproduces the
accuracy (the same bits as the PyTorch forward).

Fashion-MNIST is read where tools/make_dataset.py finds it
($AXL_FMNIST_DIR or /usr/share/datasets/fashion-mnist).
"""
import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import torch  # noqa: E402

import axlut  # noqa: E402
import axlut.torch as at  # noqa: E402
import export_model  # noqa: E402
import make_dataset  # noqa: E402
import train_demo  # noqa: E402

MAC_OPTIONS = ["mul", "format", "format-w", "format-p", "round", "seed", "add", "acc-format",
               "order", "chunk", "path", "wquant"]


def accuracy(model, x, y, batch=1000):
    model.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            right += int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    return right / len(x)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--limit", type=int, help="training images (default: all 60000)")
    ap.add_argument("--test-limit", type=int, help="test images (default: all 10000)")
    ap.add_argument("--lr", type=float, default=0.005, help="SGD rate (momentum 0.9, cosine decay)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save", metavar="STATE.pt")
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "lenet5_fmnist.onnx"))
    ap.add_argument("--config", metavar="LAYERS.json")
    for o in MAC_OPTIONS:
        ap.add_argument("--" + o)
    ap.add_argument("--param", action="append", default=[], metavar="NAME=V")
    ap.add_argument("--add-param", action="append", default=[], metavar="NAME=V")
    a = ap.parse_args(argv)

    given = {o.replace("-", "_"): getattr(a, o.replace("-", "_")) for o in MAC_OPTIONS}
    if a.config:
        config = a.config
    elif any(v is not None for v in given.values()) or a.param:
        config = axlut.MacSpec(params=a.param or None, add_params=a.add_param or None, **given)
    else:
        config = axlut.MacSpec(mul="fpmul_drum", params={"k": 2}, format="e4m3")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    try:
        xtr, ytr, _ = make_dataset.load_fashion_mnist("train", limit=a.limit)
        xte, yte, _ = make_dataset.load_fashion_mnist("test", limit=a.test_limit)
    except make_dataset.InputError as e:
        sys.exit(f"retrain_torch.py: {e}")
    xtr, xte = (torch.from_numpy(make_dataset.normalize(v)) for v in (xtr, xte))
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)

    model = train_demo.lenet_model()[0]
    export_model.load_onnx_weights(model, a.model)
    exact = accuracy(model, xte, yte)
    try:
        at.approximate(model, config)
    except axlut.AxlutError as e:
        sys.exit(f"retrain_torch.py: {e}")
    print(f"configuration: {config if not isinstance(config, str) else 'file ' + config}")
    for name, m in model.named_modules():
        if isinstance(m, (at.ApproxConv2d, at.ApproxLinear)):
            print(f"  {name:8s} {m.mac.describe()}")
    before = accuracy(model, xte, yte)
    print(f"test top-1: exact {100 * exact:.2f}%, approximate {100 * before:.2f}%")

    steps = max(1, int(a.epochs * len(xtr) / a.batch))
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(len(xtr), generator=g)
    t0 = time.time()
    model.train()
    for s in range(steps):
        j = (s * a.batch) % len(xtr)
        if j + a.batch > len(xtr):
            order = torch.randperm(len(xtr), generator=g)
        idx = order[j:j + a.batch]
        loss = torch.nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (s + 1) % 100 == 0 or s + 1 == steps:
            print(f"  step {s + 1}/{steps}  loss {loss.item():.4f}  "
                  f"{(s + 1) * a.batch / (time.time() - t0):.0f} images/s", flush=True)
    after = accuracy(model, xte, yte)
    print(f"test top-1 under the configuration: {100 * before:.2f}% -> {100 * after:.2f}% "
          f"(exact network {100 * exact:.2f}%)")
    if a.save:
        torch.save(model.state_dict(), a.save)
        print(f"wrote {a.save}: tools/export_model.py lenet --weights {a.save} -o OUT.onnx")


if __name__ == "__main__":
    main(sys.argv[1:])
