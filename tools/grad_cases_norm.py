"""Gradient fixtures of the normalisations and pooling: BatchNormalization
(frozen statistics, and PyTorch's training mode with batch statistics),
LayerNormalization (axes, no bias, the Mean and InvStdDev outputs), MaxPool
(strides, pads, dilations, ceil_mode, auto_pad, asymmetric pads, 1-D, ties),
AveragePool (count_include_pad both ways, ceil_mode, 1-D) and the global
pools.  See make_grad_fixtures.py."""
import numpy as np
import torch
import torch.nn.functional as F
from onnx import helper

from make_grad_fixtures import FLAG_BN_TRAIN, FLAG_NOT_SMOOTH, Case, rng_for


def u(g, *shape):
    return g.uniform(-1, 1, size=shape).astype(np.float32)


def distinct(g, *shape):
    """Values 0.03 apart in a random order: no two in a window come within
    the finite differences' step of each other, so the maximum a window
    picks does not change under it."""
    n = int(np.prod(shape))
    return ((g.permutation(n) - n / 2) * 0.03).astype(np.float32).reshape(shape)


# ---- BatchNormalization ------------------------------------------------------------------
def bn_case(name, shape, train=False, momentum=None, eps=None):
    g = rng_for(name)
    c = shape[1]
    x = u(g, *shape) * 2 + 0.5
    params = {"scale": u(g, c) + 1.5, "B": u(g, c)}
    consts = {"mean": u(g, c) * 0.3, "var": g.uniform(0.5, 1.5, size=c).astype(np.float32)}
    attrs = {}
    if momentum is not None:
        attrs["momentum"] = momentum
    if eps is not None:
        attrs["epsilon"] = eps
    node = helper.make_node("BatchNormalization", ["x", "scale", "B", "mean", "var"], ["y"],
                            **attrs)
    # torch's momentum weighs the batch, ONNX's the running value
    tm = 1.0 - (0.9 if momentum is None else momentum)
    te = 1e-5 if eps is None else eps

    def fn(t):
        return [F.batch_norm(t["x"], t["mean"].clone(), t["var"].clone(), t["scale"], t["B"],
                             training=train, momentum=tm, eps=te)]

    return Case(name, [node], [("x", x)], ["y"], fn, params=params, consts=consts,
                flags=FLAG_BN_TRAIN if train else 0)


# ---- LayerNormalization ------------------------------------------------------------------
def ln_case(name, shape, axis=-1, bias=True, eps=None, stats=False):
    g = rng_for(name)
    x = u(g, *shape) * 2
    ax = axis % len(shape)
    norm = tuple(shape[ax:])
    params = {"scale": u(g, *norm) + 1.0}
    ins = ["x", "scale"]
    if bias:
        params["bias"] = u(g, *norm)
        ins.append("bias")
    outs = ["y", "mean", "invstd"] if stats else ["y"]
    attrs = {"axis": axis}
    if eps is not None:
        attrs["epsilon"] = eps
    node = helper.make_node("LayerNormalization", ins, outs, **attrs)
    te = 1e-5 if eps is None else eps

    def fn(t):
        if not stats:
            return [F.layer_norm(t["x"], norm, t["scale"], t.get("bias"), eps=te)]
        dims = tuple(range(ax, len(shape)))
        m = t["x"].mean(dim=dims, keepdim=True)
        inv = 1.0 / torch.sqrt(((t["x"] - m) ** 2).mean(dim=dims, keepdim=True) + te)
        y = (t["x"] - m) * inv * t["scale"]
        return [y + t["bias"] if bias else y, m, inv]

    return Case(name, [node], [("x", x)], outs, fn, params=params)


# ---- pooling -------------------------------------------------------------------------------
def same_pads(size, k, s, d, upper):
    """ONNX auto_pad SAME_*: (begin, end) padding of one dimension."""
    out = (size + s - 1) // s
    tot = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return (tot // 2, tot - tot // 2) if upper else (tot - tot // 2, tot // 2)


def maxpool_case(name, shape, k, s=None, pads=None, dil=None, ceil=0, auto_pad=None, ties=False):
    """pads as ONNX lists them (begins, then ends); torch pads symmetric
    ones itself and asymmetric or automatic ones with -inf beforehand."""
    g = rng_for(name)
    sp = len(shape) - 2
    x = (np.round(u(g, *shape) * 1.5) / 2).astype(np.float32) if ties else distinct(g, *shape)
    s, dil = s or [1] * sp, dil or [1] * sp
    attrs = {"kernel_shape": k, "strides": s, "dilations": dil, "ceil_mode": ceil}
    if auto_pad:
        attrs["auto_pad"] = auto_pad
        pads = []
        for i in range(sp):
            pads.append(same_pads(shape[2 + i], k[i], s[i], dil[i], auto_pad == "SAME_UPPER"))
        pads = [p[0] for p in pads] + [p[1] for p in pads]
    elif pads:
        attrs["pads"] = pads
    pads = pads or [0] * (2 * sp)
    node = helper.make_node("MaxPool", ["x"], ["y"], **attrs)
    sym = auto_pad is None and pads[:sp] == pads[sp:]
    pool = F.max_pool2d if sp == 2 else F.max_pool1d

    def fn(t):
        xx, p = t["x"], pads[:sp] if sym else [0] * sp
        if not sym:  # F.pad lists the last dimension first
            fp = []
            for i in reversed(range(sp)):
                fp += [pads[i], pads[sp + i]]
            xx = F.pad(xx, fp, value=-float("inf"))
        return [pool(xx, k, s, p, dil, ceil_mode=bool(ceil))]

    return Case(name, [node], [("x", x)], ["y"], fn, flags=FLAG_NOT_SMOOTH if ties else 0)


def avgpool_case(name, shape, k, s, pad, incl, ceil=0):
    g = rng_for(name)
    sp = len(shape) - 2
    node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[k] * sp, strides=[s] * sp,
                            pads=[pad] * (2 * sp), count_include_pad=incl, ceil_mode=ceil)
    pool = F.avg_pool2d if sp == 2 else F.avg_pool1d
    return Case(name, [node], [("x", u(g, *shape))], ["y"],
                lambda t: [pool(t["x"], k, s, pad, ceil_mode=bool(ceil),
                                count_include_pad=bool(incl))])


def global_case(name, op, shape):
    g = rng_for(name)
    sp = len(shape) - 2
    x = distinct(g, *shape) if op == "GlobalMaxPool" else u(g, *shape)
    fn = {("GlobalAveragePool", 2): lambda t: F.adaptive_avg_pool2d(t["x"], 1),
          ("GlobalAveragePool", 1): lambda t: F.adaptive_avg_pool1d(t["x"], 1),
          ("GlobalMaxPool", 2): lambda t: F.adaptive_max_pool2d(t["x"], 1)}[(op, sp)]
    node = helper.make_node(op, ["x"], ["y"])
    return Case(name, [node], [("x", x)], ["y"], lambda t: [fn(t)])


CASES = [
    lambda: bn_case("nm_bn_frozen", (2, 3, 4, 4)),
    lambda: bn_case("nm_bn_frozen_3d_eps", (3, 4, 5), eps=1e-3),
    lambda: bn_case("nm_bn_train", (4, 3, 3, 3), train=True),
    lambda: bn_case("nm_bn_train_momentum", (3, 2, 5), train=True, momentum=0.7, eps=1e-3),
    lambda: bn_case("nm_bn_train_2d", (6, 4), train=True, momentum=0.5),
    lambda: ln_case("nm_ln_last", (2, 3, 8)),
    lambda: ln_case("nm_ln_axis1", (2, 3, 4), axis=1, eps=1e-3),
    lambda: ln_case("nm_ln_nobias", (4, 6), bias=False),
    lambda: ln_case("nm_ln_stats", (3, 2, 5), axis=-2, stats=True),
    lambda: maxpool_case("nm_maxpool2d_basic", (2, 2, 6, 6), [2, 2], [2, 2]),
    lambda: maxpool_case("nm_maxpool2d_pad_stride", (1, 3, 7, 7), [3, 3], [2, 2],
                         pads=[1, 1, 1, 1]),
    lambda: maxpool_case("nm_maxpool2d_dil_ceil", (1, 2, 8, 7), [3, 3], [2, 2],
                         pads=[1, 1, 1, 1], dil=[2, 2], ceil=1),
    lambda: maxpool_case("nm_maxpool2d_rect", (2, 1, 5, 8), [2, 3], [1, 2], pads=[0, 1, 0, 1]),
    lambda: maxpool_case("nm_maxpool2d_asym", (1, 2, 6, 7), [3, 2], [2, 2], pads=[0, 1, 2, 0]),
    lambda: maxpool_case("nm_maxpool2d_same_upper", (1, 2, 7, 6), [3, 3], [2, 2],
                         auto_pad="SAME_UPPER"),
    lambda: maxpool_case("nm_maxpool2d_same_lower", (1, 2, 5, 6), [2, 3], [2, 1],
                         auto_pad="SAME_LOWER"),
    lambda: maxpool_case("nm_maxpool2d_ties", (2, 2, 6, 6), [3, 3], [1, 1], pads=[1, 1, 1, 1],
                         ties=True),
    lambda: maxpool_case("nm_maxpool1d", (2, 3, 10), [3], [2], pads=[1, 1], ceil=1),
    lambda: maxpool_case("nm_maxpool1d_dil", (2, 2, 11), [2], [3], dil=[3]),
    lambda: avgpool_case("nm_avgpool2d_basic", (2, 2, 6, 6), 2, 2, 0, 0),
    lambda: avgpool_case("nm_avgpool2d_pad_excl", (1, 2, 7, 7), 3, 2, 1, 0),
    lambda: avgpool_case("nm_avgpool2d_pad_incl", (1, 2, 7, 7), 3, 2, 1, 1),
    lambda: avgpool_case("nm_avgpool2d_ceil_incl", (1, 2, 8, 8), 3, 2, 1, 1, ceil=1),
    lambda: avgpool_case("nm_avgpool2d_ceil_excl", (2, 1, 6, 7), 3, 2, 1, 0, ceil=1),
    lambda: avgpool_case("nm_avgpool1d_incl", (2, 3, 9), 3, 2, 1, 1),
    lambda: avgpool_case("nm_avgpool1d_ceil_excl", (2, 2, 8), 2, 3, 1, 0, ceil=1),
    lambda: global_case("nm_gap", "GlobalAveragePool", (2, 3, 4, 5)),
    lambda: global_case("nm_gap_1d", "GlobalAveragePool", (2, 3, 6)),
    lambda: global_case("nm_gmp", "GlobalMaxPool", (2, 3, 4, 4)),
]
