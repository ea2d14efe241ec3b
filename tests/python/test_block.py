"""An MXFP8 convolution through `axlut run`, exact and Mitchell element
products, against a model written here from the OCP Microscaling Formats
v1.0 text (shared scale 2^(floor(log2 amax) - emax_elem), E4M3 elements
rounded to nearest-even and saturated) and J. N. Mitchell's multiplier
(IRE Trans. EC-11, 1962: log2 approximated by k + f), with the summation
order docs/FORMATS.md states (blocks of 32 channels per kernel tap, taps in
(r, s) order; float32 sums in element order, block terms in block order).
Nothing here calls the library: the two must agree bit for bit."""
import h5py
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

C, O, H, N, B = 64, 4, 5, 3, 32


def e4m3(v):
    """OCP e4m3fn, nearest-even (np.round), saturating at 448."""
    a = np.abs(v)
    e = np.maximum(np.floor(np.log2(np.where(a > 0, a, 1.0))), -6)
    q = 2.0 ** (e - 3)
    return np.sign(v) * np.where(a > 0, np.minimum(np.round(a / q) * q, 448.0), 0.0)


def mx_block(v):
    """(elements, scale) of blocks along the last axis (MX: emax_elem 8 for E4M3)."""
    amax = np.max(np.abs(v), axis=-1, keepdims=True)
    e = np.where(amax > 0, np.floor(np.log2(np.where(amax > 0, amax, 1.0))) - 8, -127)
    s = 2.0 ** np.clip(e, -127, 127)
    return e4m3(v / s), s[..., 0]


def mitchell(a, b):
    sign = np.sign(a) * np.sign(b)
    a, b = np.abs(a), np.abs(b)
    zero = (a == 0) | (b == 0)
    a, b = np.where(zero, 1, a), np.where(zero, 1, b)
    k1, k2 = np.floor(np.log2(a)), np.floor(np.log2(b))
    f1, f2 = a / 2 ** k1 - 1, b / 2 ** k2 - 1
    p = np.where(f1 + f2 < 1, 2 ** (k1 + k2) * (1 + f1 + f2), 2 ** (k1 + k2 + 1) * (f1 + f2))
    return np.where(zero, 0, sign * p)


def reference(x, w, mul):
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    xe, xs = mx_block(xp.transpose(0, 2, 3, 1).reshape(N, H + 2, H + 2, C // B, B))
    we, ws = mx_block(w.astype(np.float64).transpose(0, 2, 3, 1).reshape(O, 3, 3, C // B, B))
    y = np.zeros((N, O, H, H), np.float32)
    for n in range(N):
        for o in range(O):
            for oy in range(H):
                for ox in range(H):
                    acc = np.float32(0)
                    for r in range(3):
                        for s in range(3):
                            for j in range(C // B):
                                p = mul(xe[n, oy + r, ox + s, j], we[o, r, s, j]).astype(np.float32)
                                sb = np.float32(0)
                                for t in p:
                                    sb = np.float32(sb + t)
                                acc = np.float32(acc + np.float32(
                                    np.float64(sb) * xs[n, oy + r, ox + s, j] * ws[o, r, s, j]))
                    y[n, o, oy, ox] = acc
    return y


def test_mxfp8_conv_equals_the_specification(cli, tmp_path):
    rng = np.random.default_rng(7)
    w = (rng.standard_normal((O, C, 3, 3)) * 0.08).astype(np.float32)
    # ReLU-like activations whose channels differ in range, so blocks get different scales
    x = (np.maximum(rng.standard_normal((N, C, H, H)), 0) *
         rng.uniform(0.1, 3, (N, C, 1, 1))).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1], kernel_shape=[3, 3])
    g = helper.make_graph([node], "conv",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, C, H, H])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, O, H, H])],
                          [numpy_helper.from_array(w, "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, tmp_path / "conv.onnx")
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["inputs"] = x
    for name, opts, mul in (("exact", [], lambda a, b: a * b),
                            ("mitchell", ["--mul", "fpmul_mitchell"], mitchell)):
        out = tmp_path / f"{name}.h5"
        cli("run", tmp_path / "conv.onnx", "--data", tmp_path / "d.h5", "--format", "mxfp8",
            *opts, "--save-outputs", out, "--quiet")
        with h5py.File(out) as f:
            got = f["outputs/y"][:]
        want = reference(x, w, mul)
        assert np.abs(want).max() > 1, "the outputs are not trivially small"
        diff = np.flatnonzero(got.view(np.uint32) != want.view(np.uint32))
        assert diff.size == 0, f"{name}: {diff.size} of {got.size} outputs differ"
