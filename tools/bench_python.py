#!/usr/bin/env -S /usr/bin/python3
"""Benchmarks of the Python binding (BENCHMARKS.md, "Python binding").

    tools/bench_python.py [--reps 5] [--threads 2] [--json OUT.json]

1. Binding overhead: one convolution layer through axlut.conv2d (the
   Python call: argument checks, the prepared engine looked up, output
   allocated) against the C engine alone (axl_mac_conv2d called with
   arguments prepared once: one foreign call), interleaved in the same run;
   the fastest of at least 3 x --reps rounds (more for small layers, up to 0.5 s).
2. A training step of one layer: ApproxConv2d forward + backward (the C
   engine forward, straight-through backward) against TorchApprox-style
   per-MAC lookups written in PyTorch (quantize to 8-bit indices, unfold,
   one gather lut[w, x] per multiply, sum; the same straight-through
   backward), both under the same 8-bit table (mitchell on int8).

Times are medians of --reps interleaved rounds after a warm-up; on a shared
machine the load weighs on both sides of each ratio alike.
"""
import argparse
import ctypes
import json
import os
import platform
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
# OpenMP reads its thread count when the library loads: set it first
for _i, _a in enumerate(sys.argv):
    if _a == "--threads" and _i + 1 < len(sys.argv):
        os.environ["OMP_NUM_THREADS"] = sys.argv[_i + 1]
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import axlut  # noqa: E402
import axlut.torch as at  # noqa: E402
from axlut import _lib  # noqa: E402

# (name, N, C, H, W, OC, K, padding)
CONVS = [("lenet_conv2_b64", 64, 6, 14, 14, 16, 5, 0),
         ("conv32_16x16_b8", 8, 32, 16, 16, 32, 3, 1),
         ("resnet_conv128_28x28_b1", 1, 128, 28, 28, 128, 3, 1),
         ("tiny_conv_b1", 1, 3, 9, 9, 4, 3, 1)]


def timeit(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def interleaved(fns, reps, stat=statistics.median):
    for f in fns:  # warm-up: weights encoded, tables built, pages touched
        f()
    times = [[] for _ in fns]
    for _ in range(reps):
        for i, f in enumerate(fns):
            times[i].append(timeit(f))
    return [stat(t) for t in times]


def overhead(reps):
    spec = axlut.MacSpec(mul="fpmul_drum", params={"k": 4}, format="e4m3")
    mac = spec.mac("conv", "Conv")
    rows = []
    rng = np.random.default_rng(0)
    for name, n, c, h, w, oc, k, p in CONVS:
        x = rng.standard_normal((n, c, h, w)).astype(np.float32)
        wt = rng.standard_normal((oc, c, k, k)).astype(np.float32)
        b = rng.standard_normal(oc).astype(np.float32)
        y = np.empty((n, oc, h + 2 * p - k + 1, w + 2 * p - k + 1), np.float32)
        fp = lambda a: a.ctypes.data_as(_lib.c_float_p)  # noqa: E731
        args = _lib.ConvArgs(n, c, h, w, oc, k, k, 1, 1, p, p, p, p, 1, 1, 1, fp(x), fp(wt), fp(b),
                             fp(y))
        msg = _lib.msgbuf()

        def c_alone():
            _lib.lib.axl_mac_conv2d(mac._h, 0, ctypes.byref(args), msg)

        def python_call():
            axlut.conv2d(x, wt, b, spec=spec, padding=p, layer="conv")

        # the overhead is microseconds: small layers get more rounds, and the
        # fastest round of each side is kept (what load adds is never less)
        rounds = max(3 * reps, min(200, int(0.5 / max(timeit(c_alone), 1e-6))))
        t_py, t_c = interleaved([python_call, c_alone], rounds, min)
        macs = n * oc * y.shape[2] * y.shape[3] * c * k * k
        rows.append({"layer": name, "macs": macs, "python_s": t_py, "c_s": t_c,
                     "overhead_us": (t_py - t_c) * 1e6, "ratio": t_py / t_c})
    return rows


class PerMacLookup(torch.autograd.Function):
    """TorchApprox-style emulation in PyTorch: 8-bit indices, im2col, one
    gather per multiply-accumulate, straight-through backward."""

    @staticmethod
    def forward(ctx, x, w, b, lut, padding):
        sx = x.abs().max().clamp_min(1e-12) / 127
        sw = w.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-12) / 127
        qx = torch.clamp(torch.round(x / sx), -127, 127)
        qw = torch.clamp(torch.round(w / sw), -127, 127)
        n, c, h, wd = x.shape
        oc, _, kh, kw = w.shape
        # int8 codes (two's complement bits); the table's row is the
        # activation, its column the weight: lut[a * 256 + b]
        cols = (F.unfold(qx, (kh, kw), padding=padding).long() & 255) * 256  # [N, K, P]
        wi = qw.reshape(oc, -1).long() & 255  # [OC, K]
        outs = []
        for i in range(n):  # one image at a time bounds the gathered tensor
            idx = wi[:, :, None] + cols[i][None, :, :]  # [OC, K, P]
            outs.append(lut[idx].sum(dim=1))  # one lookup per MAC
        acc = torch.stack(outs).float()
        oh = h + 2 * padding - kh + 1
        y = acc.reshape(n, oc, oh, -1) * (sx * sw.reshape(1, oc, 1, 1))
        if b is not None:
            y = y + b.reshape(1, -1, 1, 1)
        ctx.save_for_backward(qx * sx, qw * sw)
        ctx.padding = padding
        return y

    @staticmethod
    def backward(ctx, gy):
        xq, wq = ctx.saved_tensors
        with torch.enable_grad():
            xr, wr = xq.requires_grad_(True), wq.requires_grad_(True)
            y = F.conv2d(xr, wr, None, 1, ctx.padding)
            gx, gw = torch.autograd.grad(y, (xr, wr), gy)
        return gx, gw, gy.sum(dim=(0, 2, 3)), None, None


def training_step(reps):
    table = axlut.gen("mitchell", "int8")
    e = np.asarray(table.entries).astype(np.int64)
    lut = torch.from_numpy(np.where(e >= 1 << 15, e - (1 << 16), e).reshape(-1))  # int16 codes
    spec = axlut.MacSpec(mul="mitchell", format="int8")
    rows = []
    torch.manual_seed(0)
    for name, n, c, h, w, oc, k, p in CONVS[:2]:
        conv = torch.nn.Conv2d(c, oc, k, padding=p)
        ax = at.ApproxConv2d.from_module(conv, spec=spec)
        x = torch.randn(n, c, h, w)

        def step_axlut():
            xi = x.clone().requires_grad_(True)
            ax(xi).sum().backward()

        def step_lookup():
            xi = x.clone().requires_grad_(True)
            PerMacLookup.apply(xi, conv.weight, conv.bias, lut, p).sum().backward()

        with torch.no_grad():
            ya = ax(x)
            yb = PerMacLookup.apply(x, conv.weight, conv.bias, lut, p)
        cos = float(F.cosine_similarity(ya.reshape(-1), yb.reshape(-1), dim=0))
        t_ax, t_lk = interleaved([step_axlut, step_lookup], reps)
        rows.append({"layer": name, "axlut_s": t_ax, "lookup_s": t_lk, "speedup": t_lk / t_ax,
                     "cosine_between_outputs": cos})
    return rows


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    ov = overhead(a.reps)
    ts = training_step(a.reps)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__} ({a.threads} threads), library {axlut.library_path}")
    print("\nBinding overhead, e4m3 table (fpmul_drum k=4), fastest of interleaved rounds:\n")
    print("| layer | MACs | axlut.conv2d ms | C engine alone ms | overhead us | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in ov:
        print(f"| {r['layer']} | {r['macs']} | {1e3 * r['python_s']:.3f} | {1e3 * r['c_s']:.3f} | "
              f"{r['overhead_us']:.0f} | {r['ratio']:.3f} |")
    print("\nOne layer's training step (forward + backward), int8 mitchell table:\n")
    print("| layer | ApproxConv2d ms | per-MAC lookups in PyTorch ms | speed-up | cosine |")
    print("|---|---:|---:|---:|---:|")
    for r in ts:
        print(f"| {r['layer']} | {1e3 * r['axlut_s']:.1f} | {1e3 * r['lookup_s']:.1f} | "
              f"{r['speedup']:.1f} | {r['cosine_between_outputs']:.4f} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"overhead": ov, "training_step": ts}, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
