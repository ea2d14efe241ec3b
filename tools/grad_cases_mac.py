"""Gradient fixtures of the MAC operators: Conv (stride, padding, dilation,
groups, depthwise, 1-D), Gemm (transA, transB, alpha, beta, C shapes) and
MatMul (vectors, batched, broadcast).  See make_grad_fixtures.py."""
import numpy as np
import torch.nn.functional as F
from onnx import helper

from make_grad_fixtures import Case, rng_for


def u(g, *shape):
    return g.uniform(-1, 1, size=shape).astype(np.float32)


def conv_case(name, n, c, hw, oc, k, groups=1, stride=1, pad=0, dil=1, bias=True):
    g = rng_for(name)
    sp = len(hw)
    x = u(g, n, c, *hw)
    w = u(g, oc, c // groups, *([k] * sp))
    params = {"W": w}
    ins = ["x", "W"]
    if bias:
        params["B"] = u(g, oc)
        ins.append("B")
    node = helper.make_node("Conv", ins, ["y"], strides=[stride] * sp, pads=[pad] * (2 * sp),
                            dilations=[dil] * sp, group=groups, kernel_shape=[k] * sp)
    fn = F.conv2d if sp == 2 else F.conv1d
    return Case(name, [node], [("x", x)], ["y"],
                lambda t: [fn(t["x"], t["W"], t.get("B"), stride=stride, padding=pad,
                              dilation=dil, groups=groups)], params=params)


def gemm_case(name, m, n, k, ta=0, tb=0, alpha=1.0, beta=1.0, cshape="row"):
    g = rng_for(name)
    a = u(g, *((k, m) if ta else (m, k)))
    b = u(g, *((n, k) if tb else (k, n)))
    params = {"B": b}
    ins = ["A", "B"]
    if cshape:
        shp = {"row": (n,), "full": (m, n), "col": (m, 1)}[cshape]
        params["C"] = u(g, *shp)
        ins.append("C")
    node = helper.make_node("Gemm", ins, ["y"], transA=ta, transB=tb, alpha=alpha, beta=beta)

    def fn(t):
        aa = t["A"].T if ta else t["A"]
        bb = t["B"].T if tb else t["B"]
        y = alpha * (aa @ bb)
        return [y + beta * t["C"] if cshape else y]

    return Case(name, [node], [("A", a)], ["y"], fn, params=params)


def matmul_case(name, ashape, bshape, b_param=True):
    g = rng_for(name)
    a, b = u(g, *ashape), u(g, *bshape)
    node = helper.make_node("MatMul", ["A", "B"], ["y"])
    if b_param:
        return Case(name, [node], [("A", a)], ["y"], lambda t: [t["A"] @ t["B"]],
                    params={"B": b})
    return Case(name, [node], [("A", a), ("B", b)], ["y"], lambda t: [t["A"] @ t["B"]])


CASES = [
    lambda: conv_case("conv_basic", 2, 3, (6, 6), 4, 3),
    lambda: conv_case("conv_stride_pad", 2, 3, (7, 7), 4, 3, stride=2, pad=1),
    lambda: conv_case("conv_dilation", 1, 2, (9, 8), 3, 3, dil=2, pad=2),
    lambda: conv_case("conv_groups", 2, 4, (5, 5), 6, 3, groups=2, pad=1, bias=False),
    lambda: conv_case("conv_depthwise", 2, 4, (6, 6), 4, 3, groups=4, stride=2, pad=1),
    lambda: conv_case("conv_1x1", 2, 5, (4, 4), 3, 1),
    lambda: conv_case("conv1d", 2, 3, (10,), 4, 3, stride=2, pad=1),
    lambda: gemm_case("gemm_basic", 4, 5, 6),
    lambda: gemm_case("gemm_transb", 3, 5, 7, tb=1),
    lambda: gemm_case("gemm_transa_alpha_beta", 4, 3, 5, ta=1, alpha=0.5, beta=2.0,
                      cshape="full"),
    lambda: gemm_case("gemm_col_bias", 4, 3, 5, tb=1, cshape="col", beta=0.25),
    lambda: gemm_case("gemm_no_bias", 3, 4, 5, cshape=None, alpha=1.5),
    lambda: matmul_case("matmul_2d", (4, 6), (6, 5)),
    lambda: matmul_case("matmul_3d_shared_b", (2, 3, 6), (6, 4)),
    lambda: matmul_case("matmul_batched", (2, 3, 4, 5), (2, 3, 5, 2), b_param=False),
    lambda: matmul_case("matmul_broadcast", (2, 1, 4, 5), (3, 5, 2), b_param=False),
    lambda: matmul_case("matmul_vec", (5,), (5, 3)),
    lambda: matmul_case("matmul_vec_right", (2, 4, 5), (5,), b_param=False),
]


def matmul_transposed_weight():
    """A weight read through a Transpose of the initializer: folded into a
    constant by an inference load, kept as a parameter by a training one."""
    name = "matmul_transposed_weight"
    g = rng_for(name)
    a, w = u(g, 3, 6), u(g, 4, 6)
    nodes = [helper.make_node("Transpose", ["W"], ["Wt"], perm=[1, 0]),
             helper.make_node("MatMul", ["A", "Wt"], ["y"])]
    return Case(name, nodes, [("A", a)], ["y"], lambda t: [t["A"] @ t["W"].T],
                params={"W": w})


CASES.append(matmul_transposed_weight)
