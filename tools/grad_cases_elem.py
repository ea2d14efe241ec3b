"""Gradient fixtures of the element-wise operators (emu/net/ops_elem.c):
every unary function, Clip (bounds as inputs and as attributes), the
broadcasting binary operators (Add, Sub, Mul, Div, Pow, Max, Min, PRelu),
Where, Softmax and LogSoftmax (opset 13 and the 2-D coercion before it) and
the reductions (axes as attribute and as input, keepdims 0 and 1).  See
make_grad_fixtures.py.

Inputs of functions with kinks (Relu, Abs, HardSwish, ...) are kept away
from the kinks so that the finite differences of the test stay valid;
cases that sit on a kink or a tie on purpose (Clip at its bounds, ties of
Max/Min and of ReduceMax/ReduceMin) set FLAG_NOT_SMOOTH.  Ties follow
PyTorch: torch.maximum/minimum split the gradient evenly, ReduceMax/Min
compare with torch.amax/amin (even split among the extrema).

A unary operator or a reduction whose only input is an initializer is
folded at load, so only the binary operators and Where get trainable
parameter operands."""
import math

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper

from make_grad_fixtures import FLAG_NOT_SMOOTH, Case, rng_for

# The installed onnx (1.12) knows opsets up to 17: it has no Gelu (opset 20)
# and checks ReduceMean-18's axes input against ReduceMean-13.  Models newer
# than it knows skip its checker; every other model is checked as before.
_check_model = onnx.checker.check_model


def _check_known(model, *args, **kw):
    newest = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                 default=0)
    if newest > onnx.defs.onnx_opset_version() or any(
            not onnx.defs.has(n.op_type) for n in model.graph.node):
        return None
    return _check_model(model, *args, **kw)


onnx.checker.check_model = _check_known


def u(g, shape, lo=-1.0, hi=1.0):
    return g.uniform(lo, hi, size=shape).astype(np.float32)


def away(x, kinks, margin=0.05):
    """x with every element at least margin from each kink."""
    x = np.array(x, dtype=np.float32)
    for k in kinks:
        near = np.abs(x - k) < margin
        x[near] = np.float32(k) + np.where(x[near] >= k, margin, -margin).astype(np.float32)
    return x


def signed(g, shape, lo=0.5, hi=1.5):
    """magnitudes in [lo, hi], random signs: divisors away from 0"""
    return (u(g, shape, lo, hi) * np.where(g.uniform(size=shape) < 0.5, -1, 1)).astype(
        np.float32)


# ---- unary -------------------------------------------------------------------------------
def unary_case(name, op, fn, lo=-2.0, hi=2.0, kinks=(), shape=(2, 3, 4), opset=17, flags=0,
               **attrs):
    g = rng_for(name)
    x = away(u(g, shape, lo, hi), kinks)
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    return Case(name, [node], [("x", x)], ["y"], lambda t: [fn(t["x"])], opset=opset,
                flags=flags)


def gelu_tanh(x):
    k = math.sqrt(2.0 / math.pi)
    return 0.5 * x * (1.0 + torch.tanh(k * (x + 0.044715 * x ** 3)))


def softplus_wide():
    """Softplus on both sides of the forward's threshold of 20"""
    name = "el_softplus_wide"
    g = rng_for(name)
    x = np.concatenate([u(g, (8,), -4, 4), u(g, (4,), 21, 25)]).reshape(3, 4)
    return Case(name, [helper.make_node("Softplus", ["x"], ["y"])], [("x", x)], ["y"],
                lambda t: [F.softplus(t["x"])])


UNARY = [
    lambda: unary_case("el_relu", "Relu", F.relu, kinks=(0,)),
    lambda: unary_case("el_leakyrelu", "LeakyRelu", lambda x: F.leaky_relu(x, 0.1), kinks=(0,),
                       alpha=0.1),
    lambda: unary_case("el_leakyrelu_default", "LeakyRelu", lambda x: F.leaky_relu(x, 0.01),
                       kinks=(0,)),
    lambda: unary_case("el_sigmoid", "Sigmoid", torch.sigmoid, lo=-4, hi=4),
    lambda: unary_case("el_tanh", "Tanh", torch.tanh),
    lambda: unary_case("el_hardsigmoid", "HardSigmoid",
                       lambda x: torch.clamp(0.2 * x + 0.5, 0.0, 1.0), lo=-4, hi=4,
                       kinks=(-2.5, 2.5)),
    lambda: unary_case("el_hardsigmoid_torch", "HardSigmoid", F.hardsigmoid, lo=-5, hi=5,
                       kinks=(-3, 3), alpha=1.0 / 6.0, beta=0.5),
    lambda: unary_case("el_hardswish", "HardSwish", F.hardswish, lo=-5, hi=5,
                       kinks=(-3, 3), opset=14),
    lambda: unary_case("el_erf", "Erf", torch.erf),
    lambda: unary_case("el_gelu", "Gelu", F.gelu, lo=-3, hi=3, opset=20),
    lambda: unary_case("el_gelu_tanh", "Gelu", gelu_tanh, lo=-3, hi=3, opset=20,
                       approximate="tanh"),
    lambda: unary_case("el_sqrt", "Sqrt", torch.sqrt, lo=0.2, hi=3),
    lambda: unary_case("el_exp", "Exp", torch.exp),
    lambda: unary_case("el_log", "Log", torch.log, lo=0.2, hi=3),
    lambda: unary_case("el_abs", "Abs", torch.abs, kinks=(0,)),
    lambda: unary_case("el_neg", "Neg", torch.neg),
    lambda: unary_case("el_reciprocal", "Reciprocal", torch.reciprocal, lo=0.5, hi=2,
                       shape=(3, 4)),
    lambda: unary_case("el_reciprocal_neg", "Reciprocal", torch.reciprocal, lo=-2, hi=-0.5,
                       shape=(3, 4)),
    # piecewise constant: finite differences may straddle an integer
    lambda: unary_case("el_floor", "Floor", torch.floor, lo=-3, hi=3, flags=FLAG_NOT_SMOOTH),
    lambda: unary_case("el_ceil", "Ceil", torch.ceil, lo=-3, hi=3, flags=FLAG_NOT_SMOOTH),
    lambda: unary_case("el_elu", "Elu", lambda x: F.elu(x, 0.5), kinks=(0,), alpha=0.5),
    lambda: unary_case("el_elu_default", "Elu", F.elu, kinks=(0,)),
    lambda: unary_case("el_softplus", "Softplus", F.softplus, lo=-4, hi=4),
    softplus_wide,
    lambda: unary_case("el_sin", "Sin", torch.sin, lo=-3, hi=3),
    lambda: unary_case("el_cos", "Cos", torch.cos, lo=-3, hi=3),
]


# ---- Clip ----------------------------------------------------------------------------------
def clip_inputs(name, lo, hi, at_bounds=False):
    """Clip-11+: min and max are (nodiff) scalar inputs; None omits one"""
    g = rng_for(name)
    x = away(u(g, (2, 3, 4), -2, 2), [b for b in (lo, hi) if b is not None])
    if at_bounds:  # torch.clamp passes the gradient on the bounds
        x.flat[::5] = lo
        x.flat[2::7] = hi
    consts, ins = {}, ["x"]
    for nm, b in (("lo", lo), ("hi", hi)):
        if b is not None:
            consts[nm] = np.array(b, np.float32)
        ins.append(nm if b is not None else "")
    while ins[-1] == "":
        ins.pop()
    node = helper.make_node("Clip", ins, ["y"])
    return Case(name, [node], [("x", x)], ["y"], lambda t: [torch.clamp(t["x"], lo, hi)],
                consts=consts, opset=13, flags=FLAG_NOT_SMOOTH if at_bounds else 0)


def clip_attrs():
    """Clip-6: min and max are attributes"""
    name = "el_clip_attr_opset10"
    g = rng_for(name)
    x = away(u(g, (3, 5), -2, 2), (-0.75, 1.25))
    node = helper.make_node("Clip", ["x"], ["y"], min=-0.75, max=1.25)
    return Case(name, [node], [("x", x)], ["y"], lambda t: [torch.clamp(t["x"], -0.75, 1.25)],
                opset=10)


CLIP = [
    lambda: clip_inputs("el_clip", -0.5, 0.8),
    lambda: clip_inputs("el_clip_min_only", 0.0, None),
    lambda: clip_inputs("el_clip_max_only", None, 0.3),
    lambda: clip_inputs("el_clip_at_bounds", -0.5, 0.5, at_bounds=True),
    clip_attrs,
]


# ---- binary, broadcasting ------------------------------------------------------------------
def bin_case(name, op, fn, a, b, b_param=False, a_param=False, flags=0, atol=1e-5, rtol=1e-4,
             opset=17):
    """op(A, B); either operand may be a trainable initializer"""
    node = helper.make_node(op, ["A", "B"], ["y"])
    ins, params = [], {}
    for nm, v, is_param in (("A", a, a_param), ("B", b, b_param)):
        if is_param:
            params[nm] = v
        else:
            ins.append((nm, v))
    return Case(name, [node], ins, ["y"], lambda t: [fn(t["A"], t["B"])], params=params,
                flags=flags, atol=atol, rtol=rtol, opset=opset)


def max_min_ties(name, op, fn):
    """values on a coarse grid, about a third of A equal to B"""
    g = rng_for(name)
    b = (np.round(u(g, (3, 4), -2, 2) * 2) / 2).astype(np.float32)
    a = (np.round(u(g, (3, 4), -2, 2) * 2) / 2).astype(np.float32)
    take = g.uniform(size=a.shape) < 0.35
    a[take] = b[take]
    return bin_case(name, op, fn, a, b, flags=FLAG_NOT_SMOOTH)


def prelu_case(name, xshape, sshape, torch_slope):
    """a slope of one value is a constant (scalars are not parameters)"""
    g = rng_for(name)
    x = away(u(g, xshape), (0,))
    s = u(g, sshape, 0.05, 0.5)
    node = helper.make_node("PRelu", ["x", "slope"], ["y"])
    where = {"consts" if s.size == 1 else "params": {"slope": s}}
    return Case(name, [node], [("x", x)], ["y"],
                lambda t: [F.prelu(t["x"], torch_slope(t["slope"]))], **where)


def pow_scalar(name, e):
    g = rng_for(name)
    x = u(g, (2, 3, 4), 0.2, 2)
    node = helper.make_node("Pow", ["x", "e"], ["y"])
    return Case(name, [node], [("x", x)], ["y"], lambda t: [torch.pow(t["x"], e)],
                consts={"e": np.array(e, np.float32)})


def r(name, *shape, lo=-1.0, hi=1.0):
    """a random array for one operand of a case"""
    return u(rng_for(name + "/" + "x".join(map(str, shape)) + "/%g" % lo), shape, lo, hi)


BINARY = [
    lambda: bin_case("el_add_vec_param", "Add", torch.add, r("a1", 2, 3, 4), r("a1", 4),
                     b_param=True),
    lambda: bin_case("el_add_bcast_both", "Add", torch.add, r("a2", 2, 1, 4), r("a2", 3, 1)),
    lambda: bin_case("el_add_same", "Add", torch.add, r("a3", 2, 3), r("a3b", 2, 3)),
    lambda: bin_case("el_add_param_first", "Add", torch.add, r("a4", 3, 1), r("a4", 2, 3, 4),
                     a_param=True),
    lambda: bin_case("el_sub_bcast", "Sub", torch.sub, r("s1", 2, 1, 4), r("s1", 3, 1)),
    lambda: bin_case("el_sub_param", "Sub", torch.sub, r("s2", 1, 4), r("s2", 2, 3, 4),
                     a_param=True),
    lambda: bin_case("el_mul_param", "Mul", torch.mul, r("m1", 2, 3, 4), r("m1", 3, 1),
                     b_param=True),
    lambda: bin_case("el_mul_bcast_both", "Mul", torch.mul, r("m2", 2, 1, 4), r("m2", 3, 1)),
    lambda: Case("el_mul_self", [helper.make_node("Mul", ["x", "x"], ["y"])],
                 [("x", r("m3", 2, 3, 4))], ["y"], lambda t: [t["x"] * t["x"]]),
    lambda: bin_case("el_div_param", "Div", torch.div, r("d1", 2, 3, 4),
                     signed(rng_for("el_div_param"), (4,)), b_param=True),
    lambda: bin_case("el_div_bcast_input", "Div", torch.div, r("d2", 3, 4),
                     signed(rng_for("el_div_bcast_input"), (2, 1, 4)), a_param=True),
    lambda: bin_case("el_div_same", "Div", torch.div, r("d3", 2, 5),
                     signed(rng_for("el_div_same"), (2, 5))),
    lambda: pow_scalar("el_pow_square", 2.0),
    lambda: pow_scalar("el_pow_sqrt", 0.5),
    lambda: pow_scalar("el_pow_cube", 3.0),
    lambda: bin_case("el_pow_both", "Pow", torch.pow, r("p1", 2, 3, lo=0.3, hi=2.0),
                     r("p1", 2, 3, lo=-2.0, hi=2.0)),
    lambda: bin_case("el_pow_exp_param", "Pow", torch.pow, r("p2", 2, 3, 4, lo=0.3, hi=2.0),
                     r("p2", 4, lo=-1.5, hi=2.5), b_param=True),
    lambda: bin_case("el_pow_base_param", "Pow", torch.pow, r("p3", 3, 1, lo=0.3, hi=2.0),
                     r("p3", 2, 3, 4, lo=-1.0, hi=2.0), a_param=True),
    lambda: bin_case("el_max_param", "Max", torch.maximum, r("x1", 2, 3, 4), r("x1", 4),
                     b_param=True),
    lambda: bin_case("el_max_bcast", "Max", torch.maximum, r("x2", 2, 1, 4), r("x2", 3, 1)),
    lambda: max_min_ties("el_max_ties", "Max", torch.maximum),
    lambda: bin_case("el_min_param", "Min", torch.minimum, r("n1", 3, 1), r("n1", 2, 3, 4),
                     a_param=True),
    lambda: bin_case("el_min_bcast", "Min", torch.minimum, r("n2", 2, 3, 1), r("n2", 4)),
    lambda: max_min_ties("el_min_ties", "Min", torch.minimum),
    lambda: prelu_case("el_prelu_channel", (2, 3, 4, 4), (3, 1, 1), lambda s: s.reshape(-1)),
    lambda: prelu_case("el_prelu_single", (2, 3, 4), (1,), lambda s: s),
    lambda: Case("el_prelu_last_axis", [helper.make_node("PRelu", ["x", "slope"], ["y"])],
                 [("x", away(r("pr3", 2, 3, 4), (0,)))], ["y"],
                 lambda t: [torch.where(t["x"] > 0, t["x"], t["x"] * t["slope"])],
                 params={"slope": r("pr3", 4, lo=0.05, hi=0.5)}),
]


# ---- Where -----------------------------------------------------------------------------------
def where_case(name, cshape, xshape, yshape, y_param=False):
    g = rng_for(name)
    cond = g.uniform(size=cshape) < 0.5
    x, y = u(g, xshape), u(g, yshape)
    node = helper.make_node("Where", ["c", "X", "Y"], ["out"])
    ins = [("X", x)] + ([] if y_param else [("Y", y)])
    return Case(name, [node], ins, ["out"], lambda t: [torch.where(t["c"], t["X"], t["Y"])],
                params={"Y": y} if y_param else None, consts={"c": cond})


WHERE = [
    lambda: where_case("el_where_param", (2, 1, 4), (2, 3, 4), (3, 1), y_param=True),
    lambda: where_case("el_where_bcast", (3, 4), (2, 1, 4), (2, 3, 1)),
    lambda: where_case("el_where_same", (2, 3), (2, 3), (2, 3)),
]


# ---- Softmax, LogSoftmax -------------------------------------------------------------------
def softmax_case(name, op, opset, axis, shape=(2, 3, 4)):
    g = rng_for(name)
    x = u(g, shape, -2, 2)
    attrs = {} if axis is None else {"axis": axis}
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    fn = F.softmax if op == "Softmax" else F.log_softmax
    ax = axis if axis is not None else (1 if opset < 13 else -1)

    def run(t):
        xx = t["x"]
        if opset < 13:  # coerced to 2-D at axis
            a = ax % xx.dim()
            return [fn(xx.reshape(int(np.prod(xx.shape[:a])), -1), dim=1).reshape(xx.shape)]
        return [fn(xx, dim=ax)]

    return Case(name, [node], [("x", x)], ["y"], run, opset=opset)


SOFTMAX = [
    lambda: softmax_case("el_softmax_axis1", "Softmax", 13, 1),
    lambda: softmax_case("el_softmax_axis_neg1", "Softmax", 13, -1),
    lambda: softmax_case("el_softmax_default", "Softmax", 13, None),
    lambda: softmax_case("el_softmax_axis0", "Softmax", 13, 0),
    lambda: softmax_case("el_softmax_opset11", "Softmax", 11, None),
    lambda: softmax_case("el_softmax_opset11_axis2", "Softmax", 11, 2, shape=(2, 3, 2, 3)),
    lambda: softmax_case("el_logsoftmax_axis1", "LogSoftmax", 13, 1),
    lambda: softmax_case("el_logsoftmax_axis_neg1", "LogSoftmax", 13, -1),
    lambda: softmax_case("el_logsoftmax_opset11", "LogSoftmax", 11, 1),
]


# ---- reductions --------------------------------------------------------------------------
TORCH_RED = {"ReduceMean": torch.mean, "ReduceSum": torch.sum, "ReduceMax": torch.amax,
             "ReduceMin": torch.amin}


def reduce_case(name, op, axes, keepdims, opset, axes_input=False, shape=(2, 3, 4),
                ties=False, noop=False):
    g = rng_for(name)
    x = u(g, shape, -2, 2)
    if ties:  # a coarse grid: several elements share the extremum
        x = (np.round(x) / 2).astype(np.float32)
    attrs = {"keepdims": keepdims}
    if noop:
        attrs["noop_with_empty_axes"] = 1
    ins, consts = ["x"], {}
    if axes is not None and axes_input:
        ins.append("axes")
        consts["axes"] = np.array(axes, np.int64)
    elif axes is not None:
        attrs["axes"] = axes
    node = helper.make_node(op, ins, ["y"], **attrs)

    def run(t):
        if noop and not axes:
            return [t["x"] * 1.0]
        dims = tuple(axes) if axes else tuple(range(len(shape)))
        return [TORCH_RED[op](t["x"], dim=dims, keepdim=bool(keepdims))]

    return Case(name, [node], [("x", x)], ["y"], run, consts=consts, opset=opset,
                flags=FLAG_NOT_SMOOTH if ties else 0)


REDUCE = [
    lambda: reduce_case("el_reducemean_axes12_keep", "ReduceMean", [1, 2], 1, 13),
    lambda: reduce_case("el_reducemean_axis0_nokeep", "ReduceMean", [0], 0, 13),
    lambda: reduce_case("el_reducemean_all_nokeep", "ReduceMean", None, 0, 13),
    lambda: reduce_case("el_reducemean_input18", "ReduceMean", [-1], 1, 18, axes_input=True),
    lambda: reduce_case("el_reducemean_input18_nokeep", "ReduceMean", [0, 2], 0, 18,
                        axes_input=True),
    lambda: reduce_case("el_reducesum_input13_nokeep", "ReduceSum", [1], 0, 13,
                        axes_input=True),
    lambda: reduce_case("el_reducesum_attr11_keep", "ReduceSum", [0, 2], 1, 11),
    lambda: reduce_case("el_reducesum_all_keep", "ReduceSum", None, 1, 13),
    lambda: reduce_case("el_reducesum_noop", "ReduceSum", None, 1, 13, noop=True),
    lambda: reduce_case("el_reducemax_axis2_keep", "ReduceMax", [2], 1, 13),
    lambda: reduce_case("el_reducemax_axes01_nokeep", "ReduceMax", [0, 1], 0, 13),
    lambda: reduce_case("el_reducemax_ties", "ReduceMax", [1], 1, 13, shape=(2, 6, 3),
                        ties=True),
    lambda: reduce_case("el_reducemin_axis_neg1_nokeep", "ReduceMin", [-1], 0, 13),
    lambda: reduce_case("el_reducemin_all_keep", "ReduceMin", None, 1, 13),
    lambda: reduce_case("el_reducemin_ties_input18", "ReduceMin", [0, 2], 0, 18,
                        axes_input=True, shape=(3, 2, 4), ties=True),
]

CASES = UNARY + CLIP + BINARY + WHERE + SOFTMAX + REDUCE
