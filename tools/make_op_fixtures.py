#!/usr/bin/env python3
"""Regenerates tests/data/onnx_ops/: tiny one-operator (or few-operator) ONNX
models with reference outputs, for tests/test_graph.c.

Each case NAME gives NAME.onnx and NAME.ref, the reference a small binary file
(little-endian):

    "AXLREF1\\0"  uint32 n_inputs  uint32 n_outputs
    per tensor (inputs then outputs, in graph order):
        uint32 ndim  int64 dims[ndim]  float32 data[prod(dims)]

References come from numpy, or from torch.nn.functional where the operator
has a PyTorch twin (convolutions, pooling), never from axlut.  Files named
bad_*.onnx are models axlut must refuse (no .ref).

    /usr/bin/python3 tools/make_op_fixtures.py [OUTDIR]
"""
import math
import os
import struct
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "onnx_ops")
rng = np.random.default_rng(20240611)


def r(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def write(name, nodes, inputs, outputs, inits=None, opset=13, ref=True, dynamic_batch=False):
    """inputs: list of (name, array); outputs: list of (name, array)."""
    inits = inits or {}
    ins = []
    for n, a in inputs:
        shape = list(a.shape)
        if dynamic_batch and shape:
            shape[0] = "N"
        ins.append(vi(n, shape))
    outs = [vi(n, a.shape) for n, a in outputs]
    init = [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()]
    graph = helper.make_graph(nodes, name, ins, outs, init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="axlut-make_op_fixtures")
    model.ir_version = 8
    onnx.save(model, os.path.join(OUT, name + ".onnx"))
    if not ref:
        return
    with open(os.path.join(OUT, name + ".ref"), "wb") as f:
        f.write(b"AXLREF1\0")
        f.write(struct.pack("<II", len(inputs), len(outputs)))
        for _, a in list(inputs) + list(outputs):
            a = np.ascontiguousarray(np.asarray(a, dtype=np.float32))
            f.write(struct.pack("<I", a.ndim))
            f.write(struct.pack("<%dq" % a.ndim, *a.shape))
            f.write(a.astype("<f4").tobytes())


def node(op, ins, outs, name=None, **attrs):
    return helper.make_node(op, ins, outs, name=name or op.lower(), **attrs)


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def one(name, op, xs, y, opset=13, inits=None, **attrs):
    """A single node over inputs xs (list of arrays) with output y."""
    names = ["x%d" % i for i in range(len(xs))]
    inits = inits or {}
    write(name, [node(op, names + list(inits), ["y"], **attrs)], list(zip(names, xs)),
          [("y", y)], inits=inits, opset=opset)


def same_pads(n, k, s, d, upper):
    out = -(-n // s)
    tot = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    b = tot // 2 if upper else tot - tot // 2
    return b, tot - b


def conv_cases():
    x = r(2, 4, 7, 6)
    w = r(6, 4, 3, 3)
    b = r(6)
    y = F.conv2d(t(x), t(w), t(b), padding=1).numpy()
    one("conv_basic", "Conv", [x], y, inits={"w": w, "b": b}, pads=[1, 1, 1, 1])
    # strides, dilations, groups, asymmetric pads, no bias
    w = r(6, 2, 3, 2)
    xp = np.pad(x, ((0, 0), (0, 0), (2, 1), (0, 3)))
    y = F.conv2d(t(xp), t(w), None, stride=(2, 1), dilation=(2, 1), groups=2).numpy()
    one("conv_stride_dil_group", "Conv", [x], y, inits={"w": w}, pads=[2, 0, 1, 3],
        strides=[2, 1], dilations=[2, 1], group=2, kernel_shape=[3, 2])
    # depthwise
    w = r(4, 1, 3, 3)
    b = r(4)
    y = F.conv2d(t(x), t(w), t(b), padding=1, groups=4).numpy()
    one("conv_depthwise", "Conv", [x], y, inits={"w": w, "b": b}, pads=[1, 1, 1, 1], group=4)
    # auto_pad SAME_UPPER / SAME_LOWER with an even kernel and stride 2
    w = r(3, 4, 2, 4)
    for mode, upper in (("SAME_UPPER", True), ("SAME_LOWER", False)):
        ph = same_pads(7, 2, 2, 1, upper)
        pw = same_pads(6, 4, 2, 1, upper)
        xp = np.pad(x, ((0, 0), (0, 0), ph, pw))
        y = F.conv2d(t(xp), t(w), None, stride=2).numpy()
        one("conv_" + mode.lower(), "Conv", [x], y, inits={"w": w}, auto_pad=mode, strides=[2, 2])
    # VALID
    y = F.conv2d(t(x), t(w), None).numpy()
    one("conv_valid", "Conv", [x], y, inits={"w": w}, auto_pad="VALID")
    # 1-D
    x1 = r(2, 3, 11)
    w1 = r(5, 3, 3)
    b1 = r(5)
    y = F.conv1d(t(np.pad(x1, ((0, 0), (0, 0), (2, 1)))), t(w1), t(b1), stride=2).numpy()
    one("conv_1d", "Conv", [x1], y, inits={"w": w1, "b": b1}, pads=[2, 1], strides=[2])
    # transposed: stride, pads, output_padding, groups, bias
    xt = r(1, 4, 4, 5)
    wt = r(4, 3, 3, 3)
    bt = r(6)
    y = F.conv_transpose2d(t(xt), t(wt), t(bt), stride=2, padding=1, output_padding=1,
                           groups=2).numpy()
    one("convtranspose", "ConvTranspose", [xt], y, inits={"w": wt, "b": bt}, strides=[2, 2],
        pads=[1, 1, 1, 1], output_padding=[1, 1], group=2)
    # transposed: dilation and asymmetric pads (torch: symmetric pads, then crop)
    wt2 = r(4, 2, 2, 3)
    full = F.conv_transpose2d(t(xt), t(wt2), None, stride=(1, 2), dilation=(2, 1)).numpy()
    y = full[:, :, 1:full.shape[2] - 0, 0:full.shape[3] - 2]
    one("convtranspose_dil_pads", "ConvTranspose", [xt], y, inits={"w": wt2},
        strides=[1, 2], dilations=[2, 1], pads=[1, 0, 0, 2])
    # transposed: output_shape with SAME_UPPER split of the total padding
    full = F.conv_transpose2d(t(xt), t(wt2), None, stride=2).numpy()  # 9 x 11
    want = (8, 10)
    ph = full.shape[2] - want[0]
    pw = full.shape[3] - want[1]
    y = full[:, :, ph // 2:ph // 2 + want[0], pw // 2:pw // 2 + want[1]]
    one("convtranspose_output_shape", "ConvTranspose", [xt], y, inits={"w": wt2}, strides=[2, 2],
        output_shape=list(want), auto_pad="SAME_UPPER")
    # transposed 1-D
    xt1 = r(2, 3, 6)
    wt1 = r(3, 2, 4)
    y = F.conv_transpose1d(t(xt1), t(wt1), None, stride=3, padding=1).numpy()
    one("convtranspose_1d", "ConvTranspose", [xt1], y, inits={"w": wt1}, strides=[3], pads=[1, 1])


def gemm_cases():
    a = r(5, 7)
    b = r(7, 4)
    c = r(4)
    one("gemm_bias", "Gemm", [a], a @ b + c, inits={"b": b, "c": c})
    bt = r(4, 7)
    one("gemm_transb_beta", "Gemm", [a], a @ bt.T + np.float32(0.5) * c,
        inits={"b": bt, "c": c}, transB=1, beta=0.5)
    at = r(7, 5)
    cm = r(5, 4)
    y = np.float32(1.5) * (at.T @ bt.T) + np.float32(-2.0) * cm
    one("gemm_transab_alpha_cmat", "Gemm", [at], y, inits={"b": bt, "c": cm}, transA=1,
        transB=1, alpha=1.5, beta=-2.0)
    ccol = r(5, 1)
    one("gemm_ccol", "Gemm", [a], a @ b + ccol, inits={"b": b, "c": ccol})
    cs = np.array(0.25, dtype=np.float32)
    one("gemm_cscalar_nobias", "Gemm", [a], a @ b + cs, inits={"b": b, "c": cs})
    one("gemm_noc", "Gemm", [a], a @ b, inits={"b": b})
    # MatMul: 3-D x 2-D (weights), batched broadcast, 1-D operands, two run-time operands
    x = r(2, 3, 5)
    w = r(5, 4)
    one("matmul_3d_2d", "MatMul", [x], x @ w, inits={"w": w})
    a4 = r(2, 1, 3, 5)
    b3 = r(3, 5, 2)
    one("matmul_broadcast", "MatMul", [a4, b3], np.matmul(a4, b3))
    v = r(5)
    one("matmul_vec_left", "MatMul", [v, b3], np.matmul(v, b3))
    one("matmul_vec_right", "MatMul", [a4], np.matmul(a4, v), inits={"v": v})


def elementwise_cases():
    a = r(2, 3, 4)
    b = r(3, 1)
    ops = {"Add": a + b, "Sub": a - b, "Mul": a * b, "Div": a / (b + np.float32(2.0)),
           "Max": np.maximum(a, b), "Min": np.minimum(a, b)}
    for op, y in ops.items():
        bb = b + np.float32(2.0) if op == "Div" else b
        one("bin_" + op.lower(), op, [a, bb], y)
    pa = r(2, 3, 4, lo=0.1, hi=2.0)
    one("bin_pow", "Pow", [pa], pa ** np.float32(1.7), inits={"e": np.array(1.7, np.float32)})
    one("bin_pow_sq", "Pow", [a], a * a, inits={"e": np.array([2.0], np.float32)})
    slope = r(3, 1, lo=0.0, hi=0.5)
    one("prelu", "PRelu", [a], np.where(a >= 0, a, a * slope), inits={"s": slope})
    x = r(3, 5, lo=-4, hi=4)
    erf = np.vectorize(math.erf)
    un = [
        ("Relu", np.maximum(x, 0), {}),
        ("LeakyRelu", np.where(x >= 0, x, 0.1 * x), {"alpha": 0.1}),
        ("Sigmoid", 1 / (1 + np.exp(-x)), {}),
        ("Tanh", np.tanh(x), {}),
        ("HardSigmoid", np.clip(0.3 * x + 0.4, 0, 1), {"alpha": 0.3, "beta": 0.4}),
        ("HardSwish", x * np.clip(x / 6 + 0.5, 0, 1), {}),
        ("Erf", erf(x), {}),
        ("Exp", np.exp(x), {}),
        ("Abs", np.abs(x), {}),
        ("Neg", -x, {}),
        ("Elu", np.where(x >= 0, x, 0.5 * (np.exp(x) - 1)), {"alpha": 0.5}),
        ("Softplus", np.log1p(np.exp(x)), {}),
    ]
    for op, y, attrs in un:
        one("un_" + op.lower(), op, [x], y.astype(np.float32), **attrs)
    px = np.abs(x) + np.float32(0.1)
    one("un_sqrt", "Sqrt", [px], np.sqrt(px))
    one("un_log", "Log", [px], np.log(px))
    one("gelu_20", "Gelu", [x], (0.5 * x * (1 + erf(x / math.sqrt(2)))).astype(np.float32),
        opset=20)
    tanh_gelu = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    one("gelu_tanh_20", "Gelu", [x], tanh_gelu.astype(np.float32), opset=20, approximate="tanh")
    # the erf pattern PyTorch exports for GELU before opset 20
    nodes = [node("Div", ["x", "sqrt2"], ["d"], "div"), node("Erf", ["d"], ["e"], "erf"),
             node("Add", ["e", "one"], ["a"], "add"), node("Mul", ["x", "a"], ["m"], "mul"),
             node("Mul", ["m", "half"], ["y"], "mul2")]
    write("gelu_erf_pattern", nodes, [("x", x)],
          [("y", (0.5 * x * (1 + erf(x / math.sqrt(2)))).astype(np.float32))],
          inits={"sqrt2": np.array(math.sqrt(2), np.float32), "one": np.array(1, np.float32),
                 "half": np.array(0.5, np.float32)})
    one("clip_inputs", "Clip", [x], np.clip(x, -1, 2),
        inits={"lo": np.array(-1, np.float32), "hi": np.array(2, np.float32)})
    write("clip_max_only", [node("Clip", ["x", "", "hi"], ["y"])], [("x", x)],
          [("y", np.minimum(x, 0.5))], inits={"hi": np.array(0.5, np.float32)})
    one("clip_attrs_6", "Clip", [x], np.clip(x, 0, 6), opset=9, min=0.0, max=6.0)


def softmax_ref(x, axis, log=False):
    m = x.max(axis=axis, keepdims=True)
    e = np.exp(x - m)
    s = e.sum(axis=axis, keepdims=True)
    return (x - m - np.log(s)) if log else e / s


def norm_pool_cases():
    x = r(2, 3, 4, lo=-3, hi=3)
    one("softmax_13", "Softmax", [x], softmax_ref(x, 1), axis=1)
    one("softmax_default_13", "Softmax", [x], softmax_ref(x, -1))
    flat = x.reshape(2, 12)
    one("softmax_11_coerced", "Softmax", [x], softmax_ref(flat, 1).reshape(x.shape), opset=11)
    one("logsoftmax_13", "LogSoftmax", [x], softmax_ref(x, 0, True), axis=0)
    # BatchNormalization, LayerNormalization
    xb = r(2, 3, 4, 5)
    sc, bi, mu, var = r(3), r(3), r(3), r(3, lo=0.5, hi=2)
    y = F.batch_norm(t(xb), t(mu), t(var), t(sc), t(bi), False, 0.0, 1e-3).numpy()
    one("batchnorm", "BatchNormalization", [xb], y,
        inits={"s": sc, "b": bi, "m": mu, "v": var}, epsilon=1e-3)
    g, bb = r(4, 5), r(4, 5)
    y = F.layer_norm(t(xb), (4, 5), t(g), t(bb), 1e-5).numpy()
    one("layernorm_17", "LayerNormalization", [xb], y, opset=17, inits={"g": g, "b": bb},
        axis=-2)
    # pooling
    xp = r(2, 3, 7, 8)
    y = F.max_pool2d(t(xp), 3, 2, 1).numpy()
    one("maxpool_pads", "MaxPool", [xp], y, kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    y = F.max_pool2d(t(xp), 2, 2, 0, ceil_mode=True).numpy()
    one("maxpool_ceil", "MaxPool", [xp], y, kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
    y = F.max_pool2d(t(xp), 2, 1, 0, dilation=2).numpy()
    one("maxpool_dilation", "MaxPool", [xp], y, kernel_shape=[2, 2], dilations=[2, 2])
    for incl in (0, 1):
        y = F.avg_pool2d(t(xp), 3, 2, 1, count_include_pad=bool(incl)).numpy()
        one("avgpool_incl%d" % incl, "AveragePool", [xp], y, kernel_shape=[3, 3], strides=[2, 2],
            pads=[1, 1, 1, 1], count_include_pad=incl)
    y = F.avg_pool2d(t(xp), 3, 2, 1, ceil_mode=True, count_include_pad=True).numpy()
    one("avgpool_ceil_incl", "AveragePool", [xp], y, kernel_shape=[3, 3], strides=[2, 2],
        pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1)
    one("globalavgpool", "GlobalAveragePool", [xp], xp.mean(axis=(2, 3), keepdims=True))
    x1 = r(2, 3, 9)
    one("maxpool_1d", "MaxPool", [x1], F.max_pool1d(t(x1), 2, 2).numpy(), kernel_shape=[2],
        strides=[2])
    # reductions
    one("reducemean_keep", "ReduceMean", [xb], xb.mean(axis=(2, 3), keepdims=True), axes=[2, 3])
    one("reducemean_nokeep", "ReduceMean", [xb], xb.mean(axis=(-1,), keepdims=False), axes=[-1],
        keepdims=0)
    one("reducemean_18_input", "ReduceMean", [xb], xb.mean(axis=1, keepdims=True), opset=18,
        inits={"axes": np.array([1], np.int64)})
    one("reducemean_all", "ReduceMean", [xb], xb.mean(keepdims=True))


def shape_cases():
    x = r(2, 3, 4)
    i64 = lambda *v: np.array(v, np.int64)  # noqa: E731
    xf = r(2, 3, 4, 5)
    one("flatten_axis2", "Flatten", [xf], xf.reshape(6, 20), axis=2)
    one("reshape_0_m1", "Reshape", [x], x.reshape(2, 4, 3), inits={"s": i64(0, -1, 3)})
    one("transpose", "Transpose", [xf], xf.transpose(2, 0, 3, 1), perm=[2, 0, 3, 1])
    one("transpose_default", "Transpose", [x], x.transpose())
    y2 = r(2, 1, 4)
    one("concat", "Concat", [x, y2], np.concatenate([x, y2], 1), axis=1)
    one("concat_neg", "Concat", [x, x], np.concatenate([x, x], -1), axis=-1)
    a, b = x[:, :1], x[:, 1:]
    write("split_attr_11", [node("Split", ["x"], ["a", "b"], split=[1, 2], axis=1)], [("x", x)],
          [("a", a), ("b", b)], opset=11)
    write("split_input_13", [node("Split", ["x", "s"], ["a", "b"], axis=1)], [("x", x)],
          [("a", a), ("b", b)], inits={"s": i64(1, 2)})
    write("split_equal", [node("Split", ["x"], ["a", "b"], axis=-1)], [("x", x)],
          [("a", x[..., :2]), ("b", x[..., 2:])])
    xs = r(3, 6, 5)
    one("slice_basic", "Slice", [xs], xs[:, 1:5, -3:],
        inits={"st": i64(1, -3), "en": i64(5, 1000), "ax": i64(1, 2)})
    one("slice_steps", "Slice", [xs], xs[::-1, 5:0:-2, ::2],
        inits={"st": i64(-1, 5, 0), "en": i64(-1000, 0, 99), "ax": i64(0, 1, 2),
               "sp": i64(-1, -2, 2)})
    one("slice_clamp", "Slice", [xs], xs[:, -100:100], inits={"st": i64(-100), "en": i64(100),
                                                               "ax": i64(1)})
    one("slice_9_attrs", "Slice", [xs], xs[:, 2:4], opset=9, starts=[2], ends=[4], axes=[1])
    xq = r(2, 1, 4, 1)
    one("squeeze_13", "Squeeze", [xq], xq.reshape(2, 4, 1), inits={"ax": i64(1)})
    one("squeeze_all_11", "Squeeze", [xq], xq.reshape(2, 4), opset=11)
    one("unsqueeze_13", "Unsqueeze", [x], x.reshape(1, 2, 3, 4, 1), inits={"ax": i64(0, -1)})
    one("unsqueeze_11", "Unsqueeze", [x], x.reshape(2, 3, 1, 4), opset=11, axes=[2])
    xp = r(2, 3, 4, 5)
    pads = [0, 0, 1, 2, 0, 0, 2, 1]
    npp = ((0, 0), (0, 0), (1, 2), (2, 1))
    one("pad_constant", "Pad", [xp], np.pad(xp, npp, constant_values=0.5),
        inits={"p": i64(*pads), "v": np.array(0.5, np.float32)})
    one("pad_reflect", "Pad", [xp], np.pad(xp, npp, mode="reflect"), inits={"p": i64(*pads)},
        mode="reflect")
    one("pad_edge", "Pad", [xp], np.pad(xp, npp, mode="edge"), inits={"p": i64(*pads)},
        mode="edge")
    one("pad_crop", "Pad", [xp], np.pad(xp[:, :, :, 1:], ((0, 0), (0, 0), (1, 2), (0, 0))),
        inits={"p": i64(0, 0, 1, -1, 0, 0, 2, 0)})
    one("pad_10_attrs", "Pad", [xp], np.pad(xp, npp, constant_values=-1.0), opset=10,
        pads=pads, value=-1.0)
    one("identity", "Identity", [x], x)
    one("dropout", "Dropout", [x], x)
    # Gather on run-time float data with constant indices (negative included)
    one("gather_float", "Gather", [xp], xp[:, [2, -1, 0]], inits={"i": i64(2, -1, 0)}, axis=1)
    one("gather_scalar", "Gather", [xp], xp[:, :, 1], inits={"i": np.array(1, np.int64)}, axis=2)
    one("tile", "Tile", [x], np.tile(x, (1, 2, 3)), inits={"r": i64(1, 2, 3)})
    e = r(3, 1)
    one("expand", "Expand", [e], np.broadcast_to(e, (2, 3, 4)), inits={"s": i64(2, 1, 4)})


def pattern_cases():
    """What PyTorch's exporter emits for flatten/view with a dynamic batch,
    and other shape arithmetic on integers."""
    x = r(3, 2, 3, 4)
    nodes = [
        node("Shape", ["x"], ["sh"], "shape"),
        node("Gather", ["sh", "zero"], ["n"], "gather", axis=0),
        node("Unsqueeze", ["n", "ax0"], ["nu"], "unsqueeze"),
        node("Concat", ["nu", "m1"], ["shape2"], "concat", axis=0),
        node("Reshape", ["x", "shape2"], ["r"], "reshape"),
        node("Relu", ["r"], ["y"], "relu"),
    ]
    write("pattern_view", nodes, [("x", x)], [("y", np.maximum(x.reshape(3, -1), 0))],
          inits={"zero": np.array(0, np.int64), "ax0": np.array([0], np.int64),
                 "m1": np.array([-1], np.int64)}, dynamic_batch=True)
    # Shape arithmetic: channels // 2 through Div and Cast; ConstantOfShape; Range; Where
    nodes = [
        node("Shape", ["x"], ["sh"], "shape"),
        node("Gather", ["sh", "one"], ["c"], "gather_c", axis=0),
        node("Div", ["c", "two"], ["half"], "div"),
        node("Cast", ["half"], ["halfc"], "cast", to=TensorProto.INT64),
        node("Unsqueeze", ["halfc", "ax0"], ["hu"], "unsq"),
        node("Slice", ["x", "zero1", "hu", "ax1"], ["lo"], "slice"),
        node("ConstantOfShape", ["hu"], ["ones"], "cos",
             value=numpy_helper.from_array(np.array([1.5], np.float32))),
        node("Range", ["zero", "c", "one"], ["rg"], "range"),
        node("Cast", ["rg"], ["rgf"], "cast_f", to=TensorProto.FLOAT),
        node("Equal", ["rg", "one"], ["eq"], "equal"),
        node("Where", ["eq", "rgf", "mhalf"], ["wh"], "where"),
        node("Reshape", ["wh", "shp"], ["whr"], "reshape_w"),
        node("Add", ["x", "whr"], ["y"], "add"),
        node("Reshape", ["ones", "shp1"], ["y1"], "reshape_o"),
    ]
    xc = r(2, 4, 3, 3)
    rg = np.arange(4)
    wh = np.where(rg == 1, rg.astype(np.float32), np.float32(-0.5)).astype(np.float32)
    write("pattern_shape_math", nodes, [("x", xc)],
          [("y", xc + wh.reshape(1, 4, 1, 1)), ("lo", xc[:, :2]),
           ("y1", np.full((2,), 1.5, np.float32))],
          inits={"one": np.array(1, np.int64), "two": np.array(2, np.int64),
                 "zero": np.array(0, np.int64), "zero1": np.array([0], np.int64),
                 "ax0": np.array([0], np.int64), "ax1": np.array([1], np.int64),
                 "mhalf": np.array(-0.5, np.float32), "shp": np.array([1, 4, 1, 1], np.int64),
                 "shp1": np.array([-1], np.int64)}, dynamic_batch=True)
    # A Constant node folded at load
    c = r(4)
    nodes = [node("Constant", [], ["c"], "const", value=numpy_helper.from_array(c)),
             node("Add", ["x", "c"], ["y"], "add")]
    write("constant_node", nodes, [("x", x)], [("y", x + c)])


def chain_cases():
    """conv -> relu -> conv -> relu -> conv, for per-node configurations and
    shadow runs, and its last conv alone (same weights)."""
    x = r(2, 3, 8, 8)
    w1, w2, w3 = r(4, 3, 3, 3), r(5, 4, 3, 3), r(2, 5, 3, 3)
    b1, b2, b3 = r(4), r(5), r(2)
    y = F.relu(F.conv2d(t(x), t(w1), t(b1), padding=1))
    y = F.relu(F.conv2d(y, t(w2), t(b2), padding=1))
    mid = y.numpy()
    y = F.conv2d(y, t(w3), t(b3), padding=1).numpy()
    nodes = [node("Conv", ["x", "w1", "b1"], ["c1"], "conv1", pads=[1, 1, 1, 1]),
             node("Relu", ["c1"], ["r1"], "relu1"),
             node("Conv", ["r1", "w2", "b2"], ["c2"], "conv2", pads=[1, 1, 1, 1]),
             node("Relu", ["c2"], ["r2"], "relu2"),
             node("Conv", ["r2", "w3", "b3"], ["y"], "conv3", pads=[1, 1, 1, 1])]
    write("chain", nodes, [("x", x)], [("y", y)],
          inits={"w1": w1, "b1": b1, "w2": w2, "b2": b2, "w3": w3, "b3": b3}, dynamic_batch=True)
    write("chain_tail", [node("Conv", ["r2", "w3", "b3"], ["y"], "conv3", pads=[1, 1, 1, 1])],
          [("r2", mid)], [("y", y)], inits={"w3": w3, "b3": b3}, dynamic_batch=True)


def bad_cases():
    x = r(1, 2, 4, 4)
    write("bad_op", [node("Relu", ["x"], ["a"], "relu"),
                     node("NonMaxSuppression", ["a"], ["y"], "nms_1")],
          [("x", x)], [("y", x)], ref=False)
    write("bad_attr", [node("Pad", ["x", "p"], ["y"], "pad_wrap", mode="wrap")],
          [("x", x)], [("y", x)], inits={"p": np.zeros(8, np.int64)}, opset=19, ref=False)
    write("bad_missing_init", [node("Conv", ["x", "w_missing"], ["y"], "conv_a")],
          [("x", x)], [("y", x)], ref=False)
    write("bad_conv3d", [node("Conv", ["x", "w"], ["y"], "conv3d")], [("x", r(1, 1, 2, 2, 2))],
          [("y", x)], inits={"w": r(1, 1, 1, 1, 1)}, ref=False)


def limit_cases():
    """Sizes that would wrap int64 and inputs or data that are missing: each
    bad_* model must be refused with one line naming its node; the others
    have references.  Fixed data, not rng: the cases before keep their
    random draws."""
    big, i64 = 1 << 62, np.int64
    x = np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4)

    def bad(name, nodes, inits, xin=x, opset=13):
        write(name, nodes, [("x", xin)], [("y", xin)], inits=inits, opset=opset, ref=False)

    # constant-folded shapes of 2^62 and more elements
    # opsets 1 to 6: an operator whose meaning then differs is refused
    # naming operator and opset; one whose meaning is the same runs
    bad("bad_concat_opset3", [node("Concat", ["x", "x"], ["y"], "concat_old", axis=1)], {},
        opset=3)
    write("elu_opset6", [node("Elu", ["x"], ["y"], "elu_old", alpha=0.5)], [("x", x - 16)],
          [("y", np.where(x - 16 > 0, x - 16, 0.5 * (np.exp(x - 16) - 1)).astype(np.float32))],
          opset=6, ref=False)
    bad("bad_range_huge", [node("Range", ["s", "l", "d"], ["r"], "range_big"),
                           node("Cast", ["r"], ["rf"], "cast_r", to=1),
                           node("Add", ["x", "rf"], ["y"], "add_r")],
        {"s": np.array(0, i64), "l": np.array(big, i64), "d": np.array(1, i64)})
    bad("bad_cos_huge", [node("ConstantOfShape", ["shp"], ["z"], "cos_big"),
                         node("Add", ["x", "z"], ["y"], "add_z")],
        {"shp": np.array([1 << 31, 1 << 31, 4], i64)})
    bad("bad_expand_huge", [node("Expand", ["x", "shp"], ["y"], "expand_big")],
        {"shp": np.array([1 << 40, 1 << 40, 1, 1, 1], i64)})
    bad("bad_tile_huge", [node("Tile", ["x", "rep"], ["y"], "tile_big")],
        {"rep": np.array([big, 1, 1, 1], i64)})
    # 32 * (2^59 + 1) wraps to the 32 values of x
    bad("bad_reshape_wrap", [node("Reshape", ["x", "shp"], ["y"], "reshape_wrap")],
        {"shp": np.array([32, (1 << 59) + 1], i64)})
    bad("bad_maxpool_pads", [node("MaxPool", ["x"], ["y"], "pool_big", kernel_shape=[2, 2],
                                  pads=[big, 0, 0, 0])], {})
    bad("bad_conv_dilations", [node("Conv", ["x", "w"], ["y"], "conv_dil", dilations=[big, 1])],
        {"w": np.ones((1, 2, 2, 2), np.float32)})
    bad("bad_pad_huge", [node("Pad", ["x", "p"], ["y"], "pad_big")],
        {"p": np.array([0, 0, 0, -big, 0, 0, 0, big + 4], i64)})
    # missing inputs and run-time data
    bad("bad_slice_data_only", [node("Slice", ["x"], ["y"], "slice_1")], {})
    bad("bad_pad_data_only", [node("Pad", ["x"], ["y"], "pad_1")], {})
    xs = np.array([2, 3], np.float32)
    bad("bad_cos_runtime", [node("ConstantOfShape", ["x"], ["y"], "cos_rt")], {}, xin=xs)
    bad("bad_gather_scalar_data", [node("Gather", ["s", "i"], ["gs"], "gather_s"),
                                   node("Add", ["x", "gs"], ["y"], "add_g")],
        {"s": np.array(1.5, np.float32), "i": np.array(0, i64)})
    # correct results at the edges: steps of INT64_MAX and INT64_MIN take one
    # element; a scalar index drops the axis
    lo, hi = np.iinfo(i64).min, np.iinfo(i64).max
    one("slice_step_max", "Slice", [x], x[:, :, :, 0:1],
        inits={"st": np.array([0], i64), "en": np.array([hi], i64),
               "ax": np.array([3], i64), "sp": np.array([hi], i64)})
    one("slice_step_min", "Slice", [x], x[:, :, :, 3:4],
        inits={"st": np.array([hi], i64), "en": np.array([lo], i64),
               "ax": np.array([3], i64), "sp": np.array([lo], i64)})
    xg = np.arange(6, dtype=np.float32).reshape(2, 3)
    one("gather_scalar_index", "Gather", [xg], xg[:, 1], inits={"i": np.array(1, i64)}, axis=1)


def sample_axis_cases():
    """Models whose first axis is not a free batch (tests/test_sample_axis.c
    computes their references): fixed first dimensions, and outputs that do
    not follow a symbolic one."""
    rng = np.random.default_rng(14)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal((5, 3)).astype(np.float32)
    x1, x5, xn = (np.zeros((k, 4), np.float32) for k in (1, 5, 2))

    def sym(name, nodes, y):
        write(name, nodes, [("x", xn)], [("y", y)], ref=False, dynamic_batch=True)

    write("axis_fixed1", [node("MatMul", ["x", "w"], ["y"], "mm")], [("x", x1)],
          [("y", np.zeros((1, 3), np.float32))], inits={"w": w}, ref=False)
    write("axis_fixed5", [node("MatMul", ["x", "w"], ["y"], "mm")], [("x", x5)],
          [("y", np.zeros((5, 3), np.float32))], inits={"w": w}, ref=False)
    write("axis_gemm_ta", [node("Gemm", ["x", "b"], ["y"], "gemm_ta", transA=1)], [("x", x5)],
          [("y", np.zeros((4, 3), np.float32))], inits={"b": b}, ref=False)
    sym("axis_transpose", [node("Transpose", ["x"], ["y"], "tr", perm=[1, 0])], xn.T)
    sym("axis_mean0", [node("ReduceMean", ["x"], ["y"], "mean0", axes=[0], keepdims=1)], xn[:1])
    sym("axis_mean_all", [node("ReduceMean", ["x"], ["y"], "mean_all", keepdims=0)],
        np.zeros((), np.float32))
    sym("axis_concat0", [node("Concat", ["x", "x"], ["y"], "cat0", axis=0)],
        np.concatenate([xn, xn]))
    sym("axis_flatten0", [node("Flatten", ["x"], ["y"], "flat0", axis=0)], xn.reshape(1, -1))


def node_test_cases():
    """Forms the ONNX node tests brought in (tests/test_net_limits.c):
    Mod with fmod=1 (the dividend's sign) and Cast to float16."""
    x = np.array([[-4.5, 7.25, -3.0, 5.5]], np.float32)
    d = np.array([2.0, -3.0, 3.0, -2.5], np.float32)
    write("mod_fmod", [node("Mod", ["x", "d"], ["y"], "fmod1", fmod=1)], [("x", x)],
          [("y", np.fmod(x, d))], inits={"d": d}, ref=False)
    a = np.array([0.5, -2.0, 3.0], np.float32)
    b = np.array([[[1.0, 1.0, -1.0]], [[-4.0, 0.25, 2.0]]], np.float32)
    write("nary_ops", [node("Sum", ["x", "a", "b"], ["s"], "sum3"),
                       node("Mean", ["x", "a"], ["m"], "mean2"),
                       node("Max", ["x", "a", "b"], ["mx"], "max3"),
                       node("Min", ["x"], ["mn"], "min1")],
          [("x", x[:, :3])], [("s", x[:, :3] + a + b), ("m", (x[:, :3] + a) / 2),
                              ("mx", np.maximum(np.maximum(x[:, :3], a), b)), ("mn", x[:, :3])],
          inits={"a": a, "b": b}, ref=False)
    write("cast_fp16", [node("Cast", ["x"], ["y"], "to_half", to=10)], [("x", x)],
          [("y", x.astype(np.float16))], ref=False)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    conv_cases()
    gemm_cases()
    elementwise_cases()
    norm_pool_cases()
    shape_cases()
    pattern_cases()
    chain_cases()
    bad_cases()
    limit_cases()
    sample_axis_cases()
    node_test_cases()


if __name__ == "__main__":
    main()
