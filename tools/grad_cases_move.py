"""Gradient fixtures of the operators that move or reshape data: Transpose,
Concat, Split, Slice, Gather, Expand, Tile, Pad, Identity, Cast, Reshape,
Flatten, Squeeze, Unsqueeze and Dropout outside training (its training
forward draws from axlut's own stream, so tests/test_grad_train_ops.c checks
it instead, on the models main() below writes, as it does the opset-18
forms this onnx cannot check: Split's num_outputs, Pad's axes).  See
make_grad_fixtures.py.

A node whose inputs are all initializers is folded into a constant when
axlut loads the model, so an operator applied to a parameter reads its
shape (or indices) from the graph input here, as an exported model with a
dynamic batch does (ViT's cls token: Expand(cls, Shape(x))).

    /usr/bin/python3 tools/grad_cases_move.py   # tests/data/grad_train
"""
import os

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import TensorProto, helper

from make_grad_fixtures import Case, rng_for


def u(g, *shape):
    return g.uniform(-1, 1, size=shape).astype(np.float32)


def i64(*v):
    return np.array(v, dtype=np.int64)


def node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, **attrs)


def one_input(name, op, shape, fn, extra_ins=(), consts=None, opset=17, outs=("y",),
              node_outs=None, flags=0, **attrs):
    """op applied to graph input x (plus constant inputs extra_ins)."""
    x = u(rng_for(name), *shape)
    n = node(op, ["x"] + list(extra_ins), list(node_outs or outs), **attrs)
    return Case(name, [n], [("x", x)], list(outs), lambda t: fn(t["x"], t), consts=consts,
                opset=opset, flags=flags)


# ---- Transpose, Concat, Split -----------------------------------------------------------
def transpose_case(name, shape, perm):
    kw = {"perm": perm} if perm is not None else {}
    p = perm if perm is not None else list(range(len(shape)))[::-1]
    return one_input(name, "Transpose", shape, lambda x, t: [x.permute(*p)], **kw)


def concat_inputs(name, shapes, axis):
    g = rng_for(name)
    ins = [("x%d" % i, u(g, *s)) for i, s in enumerate(shapes)]
    n = node("Concat", [k for k, _ in ins], ["y"], axis=axis)
    return Case(name, [n], ins, ["y"],
                lambda t: [torch.cat([t[k] for k, _ in ins], dim=axis)])


def concat_cls_token(name):
    """ViT: a learnt class token before the patch sequence (axis 1)."""
    g = rng_for(name)
    x, cls = u(g, 1, 3, 4), u(g, 1, 1, 4)
    n = node("Concat", ["cls", "x"], ["y"], axis=1)
    return Case(name, [n], [("x", x)], ["y"], lambda t: [torch.cat([t["cls"], t["x"]], 1)],
                params={"cls": cls})


def concat_twice(name):
    """the same input at two places: both parts of the gradient add up"""
    x = u(rng_for(name), 2, 3)
    n = node("Concat", ["x", "x"], ["y"], axis=-1)
    return Case(name, [n], [("x", x)], ["y"], lambda t: [torch.cat([t["x"], t["x"]], -1)])


def split_case(name, shape, axis, sizes, opset, form, used=None):
    """form: 'attr' (split attribute), 'input' (split input), 'even' (none),
    'num' (num_outputs, opset 18); used: the outputs that are graph outputs
    (the others have no gradient)"""
    k = len(sizes)
    outs = ["y%d" % i for i in range(k)]
    used = list(range(k)) if used is None else used
    attrs, ins, consts = {"axis": axis}, [], {}
    if form == "attr":
        attrs["split"] = list(sizes)
    elif form == "input":
        ins, consts = ["split"], {"split": i64(*sizes)}
    elif form == "num":
        attrs["num_outputs"] = k

    def fn(x, t):
        parts = torch.split(x, list(sizes), dim=axis)
        return [parts[i] for i in used]

    return one_input(name, "Split", shape, fn, extra_ins=ins, consts=consts, opset=opset,
                     outs=[outs[i] for i in used], node_outs=outs, **attrs)


# ---- Slice ----------------------------------------------------------------------------------
def np_slice(shape, starts, ends, axes, steps):
    """the numpy index of an ONNX Slice: Python's slices clamp starts and ends
    as ONNX does, for either sign of the step"""
    idx = [slice(None)] * len(shape)
    for s, e, a, p in zip(starts, ends, axes, steps):
        idx[a] = slice(s, e, p)
    return tuple(idx)


def slice_case(name, shape, starts, ends, axes=None, steps=None, opset=13):
    ax = list(range(len(starts))) if axes is None else axes
    st = [1] * len(starts) if steps is None else steps
    ix = np_slice(shape, starts, ends, [a % len(shape) for a in ax], st)

    def fn(x, t):
        # torch slices take no negative step: gather the elements numpy's slice picks
        idx = np.arange(x.numel()).reshape(shape)[ix].copy()
        return [x.reshape(-1)[torch.tensor(idx.reshape(-1))].reshape(idx.shape)]

    if opset < 10:
        kw = {"starts": starts, "ends": ends}
        if axes is not None:
            kw["axes"] = axes
        return one_input(name, "Slice", shape, fn, opset=opset, **kw)
    ins, consts = ["starts", "ends"], {"starts": i64(*starts), "ends": i64(*ends)}
    if axes is not None or steps is not None:
        ins.append("axes")
        consts["axes"] = i64(*ax)
    if steps is not None:
        ins.append("steps")
        consts["steps"] = i64(*steps)
    return one_input(name, "Slice", shape, fn, extra_ins=ins, consts=consts, opset=opset)


# ---- Gather, Expand, Tile -------------------------------------------------------------------
def gather_case(name, shape, axis, indices):
    ind = np.array(indices, dtype=np.int64)

    def fn(x, t):
        i = torch.tensor(np.where(ind < 0, ind + shape[axis], ind))
        return [torch.index_select(x, axis, i.reshape(-1)).reshape(
            shape[:axis] + ind.shape + shape[axis + 1:])]

    return one_input(name, "Gather", shape, fn, extra_ins=["ind"], consts={"ind": ind},
                     axis=axis)


def gather_table(name):
    """rows of a parameter table at indices the graph input's shape gives:
    row 3 twice, so its gradient adds two rows of dout"""
    g = rng_for(name)
    x, table = u(g, 3, 1, 3), u(g, 5, 4)
    nodes = [node("Shape", ["x"], ["ids"]), node("Gather", ["table", "ids"], ["y"], axis=0)]
    return Case(name, nodes, [("x", x)], ["y"], lambda t: [t["table"][[3, 1, 3]]],
                params={"table": table})


def expand_case(name, shape, to):
    return one_input(name, "Expand", shape, lambda x, t: [x.expand(*to)], extra_ins=["shape"],
                     consts={"shape": i64(*to)})


def expand_param(name):
    """a parameter broadcast to the input's shape (ViT's cls token per image)"""
    g = rng_for(name)
    x, p = u(g, 3, 2, 4), u(g, 1, 1, 4)
    nodes = [node("Shape", ["x"], ["s"]), node("Expand", ["cls", "s"], ["y"])]
    return Case(name, nodes, [("x", x)], ["y"], lambda t: [t["cls"].expand(3, 2, 4)],
                params={"cls": p})


def expand_rank_up(name):
    """Expand to a higher rank with a 1 in the target shape (numpy rules)"""
    return one_input(name, "Expand", (3, 1), lambda x, t: [x.expand(2, 3, 4)],
                     extra_ins=["shape"], consts={"shape": i64(2, 1, 4)})


def tile_case(name, shape, reps):
    return one_input(name, "Tile", shape, lambda x, t: [x.repeat(*reps)], extra_ins=["reps"],
                     consts={"reps": i64(*reps)})


# ---- Pad ------------------------------------------------------------------------------------
def torch_pad_arg(pads):
    """ONNX pads [b0, b1, ..., e0, e1, ...] as F.pad's (last axis first) pairs"""
    r = len(pads) // 2
    out = []
    for a in range(r - 1, -1, -1):
        out += [pads[a], pads[a + r]]
    return out


def pad_case(name, shape, pads, mode="constant", value=0.0, opset=13, axes=None):
    """F.pad reflect/replicate wants (N, C, spatial...) inputs with the pads
    on the spatial axes, so every case here pads only the last two axes"""
    full = list(pads)
    if axes is not None:
        r, k = len(shape), len(axes)
        full = [0] * (2 * r)
        for i, a in enumerate(axes):
            full[a % r], full[a % r + r] = pads[i], pads[i + k]
    tmode = {"constant": "constant", "edge": "replicate", "reflect": "reflect"}[mode]

    def fn(x, t):
        arg = torch_pad_arg(full)
        while len(arg) > 2 and arg[-1] == 0 and arg[-2] == 0:
            arg = arg[:-2]
        if tmode == "constant":
            return [F.pad(x, arg, mode="constant", value=value)]
        return [F.pad(x, arg, mode=tmode)]

    if opset < 11:
        return one_input(name, "Pad", shape, fn, opset=opset, mode=mode, pads=list(pads),
                         value=value)
    ins, consts = ["pads"], {"pads": i64(*pads)}
    if value != 0.0 or axes is not None:
        ins.append("value")
        consts["value"] = np.array(value, dtype=np.float32)
    if axes is not None:
        ins.append("axes")
        consts["axes"] = i64(*axes)
    return one_input(name, "Pad", shape, fn, extra_ins=ins, consts=consts, opset=opset,
                     mode=mode)


# ---- copies: Identity, Cast, Reshape, Flatten, Squeeze, Unsqueeze, Dropout -------------------
def copy_case(name, op, shape, out_shape, opset=17, ins=(), consts=None, **attrs):
    return one_input(name, op, shape, lambda x, t: [x.reshape(*out_shape)], extra_ins=ins,
                     consts=consts, opset=opset, **attrs)


def dropout_infer(name, opset):
    """outside training Dropout is the identity (the ratio is not used)"""
    if opset < 12:
        return one_input(name, "Dropout", (2, 5), lambda x, t: [x * 1.0], opset=opset,
                         ratio=0.4)
    return one_input(name, "Dropout", (2, 5), lambda x, t: [x * 1.0], extra_ins=["ratio"],
                     consts={"ratio": np.array(0.4, dtype=np.float32)}, opset=opset)


CASES = [
    lambda: transpose_case("mv_transpose_2d", (3, 4), None),
    lambda: transpose_case("mv_transpose_4d", (2, 3, 4, 2), [0, 2, 3, 1]),
    lambda: transpose_case("mv_transpose_3d_rev", (2, 3, 4), None),
    lambda: concat_inputs("mv_concat_axis0", [(2, 3), (1, 3), (3, 3)], 0),
    lambda: concat_inputs("mv_concat_axis_neg", [(2, 3, 2), (2, 3, 1)], -1),
    lambda: concat_cls_token("mv_concat_cls_token"),
    lambda: concat_twice("mv_concat_twice"),
    lambda: split_case("mv_split_attr", (2, 5, 3), 1, [2, 3], 11, "attr"),
    lambda: split_case("mv_split_input", (4, 3), 0, [1, 1, 2], 13, "input"),
    lambda: split_case("mv_split_even", (2, 6), -1, [2, 2, 2], 13, "even"),
    lambda: split_case("mv_split_unused", (2, 6), 1, [1, 2, 3], 13, "input", used=[0, 2]),
    lambda: slice_case("mv_slice_basic", (4, 5), [1, 0], [3, 4]),
    lambda: slice_case("mv_slice_axes_steps", (3, 4, 6), [0, 1], [6, 4], axes=[2, 1],
                       steps=[2, 2]),
    lambda: slice_case("mv_slice_neg_step", (4, 6), [-1, 4], [-100, 0], axes=[0, -1],
                       steps=[-1, -2]),
    lambda: slice_case("mv_slice_clamp", (3, 4), [-10, 2], [100, 1000], axes=[0, 1]),
    lambda: slice_case("mv_slice_opset9", (3, 5), [1], [-1], axes=[1], opset=9),
    lambda: gather_case("mv_gather_axis0", (5, 3), 0, [[0, 4], [2, 0]]),
    lambda: gather_case("mv_gather_axis1_neg", (2, 4, 3), 1, [-1, 1, -1]),
    lambda: gather_case("mv_gather_scalar", (2, 5, 3), 1, 0),
    lambda: gather_table("mv_gather_table"),
    lambda: expand_case("mv_expand_basic", (1, 3), (4, 3)),
    lambda: expand_rank_up("mv_expand_rank_up"),
    lambda: expand_param("mv_expand_param"),
    lambda: tile_case("mv_tile", (2, 3), (2, 3)),
    lambda: tile_case("mv_tile_3d", (2, 1, 2), (1, 3, 2)),
    lambda: pad_case("mv_pad_constant", (1, 2, 3, 3), [0, 0, 1, 2, 0, 0, 2, 1], value=0.5),
    lambda: pad_case("mv_pad_crop", (1, 2, 4, 5), [0, 0, 1, -1, 0, 0, -2, 2]),
    lambda: pad_case("mv_pad_edge", (1, 2, 3, 4), [0, 0, 2, 1, 0, 0, 1, 3], mode="edge"),
    lambda: pad_case("mv_pad_reflect", (1, 2, 4, 4), [0, 0, 1, 3, 0, 0, 2, 2],
                     mode="reflect"),
    lambda: pad_case("mv_pad_opset10_edge", (1, 1, 3, 3), [0, 0, 1, 2, 0, 0, 2, 0],
                     mode="edge", opset=10),
    lambda: copy_case("mv_identity", "Identity", (2, 3), (2, 3)),
    lambda: copy_case("mv_cast_float", "Cast", (2, 3), (2, 3), to=TensorProto.FLOAT),
    lambda: copy_case("mv_cast_double", "Cast", (3, 2), (3, 2), to=TensorProto.DOUBLE),
    lambda: copy_case("mv_reshape", "Reshape", (2, 3, 4), (2, 12), ins=["s"],
                      consts={"s": i64(0, -1)}),
    lambda: copy_case("mv_reshape_3d", "Reshape", (4, 6), (3, 2, 4), ins=["s"],
                      consts={"s": i64(3, -1, 4)}),
    lambda: copy_case("mv_flatten", "Flatten", (2, 3, 2, 2), (6, 4), axis=2),
    lambda: copy_case("mv_flatten_axis0", "Flatten", (2, 3, 2), (1, 12), axis=0),
    lambda: copy_case("mv_squeeze_attr", "Squeeze", (2, 1, 3, 1), (2, 3, 1), opset=11,
                      axes=[1]),
    lambda: copy_case("mv_squeeze_input", "Squeeze", (1, 3, 1, 2), (3, 2), opset=13,
                      ins=["axes"], consts={"axes": i64(0, -2)}),
    lambda: copy_case("mv_squeeze_all", "Squeeze", (1, 4, 1), (4,), opset=13),
    lambda: copy_case("mv_unsqueeze_attr", "Unsqueeze", (2, 3), (1, 2, 3, 1), opset=11,
                      axes=[0, 3]),
    lambda: copy_case("mv_unsqueeze_input", "Unsqueeze", (2, 3), (2, 1, 3), opset=13,
                      ins=["axes"], consts={"axes": i64(-2)}),
    lambda: dropout_infer("mv_dropout_infer_opset10", 10),
    lambda: dropout_infer("mv_dropout_infer_opset13", 13),
]


# ---- the models of tests/test_grad_train_ops.c -------------------------------------------------
def save(path, nodes, ins, outs, inits, opset, check=True):
    graph = helper.make_graph(nodes, os.path.basename(path)[:-5], ins, outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="axlut-grad_cases_move")
    model.ir_version = 8
    if check:  # this onnx (1.12) knows opsets up to 17
        onnx.checker.check_model(model)
    onnx.save(model, path)


def fvi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def dropout_model(path, opset, ratio, training_mode=None):
    """Dropout(x) with its mask as a second output; x of shape (N, 100), N
    symbolic, so that the test chooses the size"""
    inits, ins, attrs = [], ["x"], {}
    if opset < 12:
        attrs["ratio"] = ratio
    else:
        ins.append("ratio")
        inits.append(helper.make_tensor("ratio", TensorProto.FLOAT, [], [ratio]))
    if training_mode is not None:
        ins.append("tm")
        inits.append(helper.make_tensor("tm", TensorProto.BOOL, [], [training_mode]))
    save(path, [node("Dropout", ins, ["y", "mask"], **attrs)], [fvi("x", ["N", 100])],
         [fvi("y", ["N", 100]), fvi("mask", ["N", 100], TensorProto.BOOL)], inits, opset)


def split18_model(path):
    """Split of x (5, 2) into num_outputs=3 parts (2, 2, 1) on axis 0; the
    middle one is no graph output, so its gradient is zero"""
    n = node("Split", ["x"], ["y0", "y1", "y2"], axis=0, num_outputs=3)
    save(path, [n], [fvi("x", [5, 2])], [fvi("y0", [2, 2]), fvi("y2", [1, 2])], [], 18,
         check=False)


def pad_models(path18, path13):
    """reflect Pad of two axes of x (2, 2, 4, 3): by the axes input (opset
    18) and by pads for every axis (opset 13), to be equal"""
    pads18 = helper.make_tensor("pads", TensorProto.INT64, [4], [1, 2, 2, 1])
    axes = helper.make_tensor("axes", TensorProto.INT64, [2], [-2, 3])
    n = node("Pad", ["x", "pads", "", "axes"], ["y"], mode="reflect")
    save(path18, [n], [fvi("x", [2, 2, 4, 3])], [fvi("y", [2, 2, 7, 6])], [pads18, axes], 18,
         check=False)
    pads13 = helper.make_tensor("pads", TensorProto.INT64, [8], [0, 0, 1, 2, 0, 0, 2, 1])
    n = node("Pad", ["x", "pads"], ["y"], mode="reflect")
    save(path13, [n], [fvi("x", [2, 2, 4, 3])], [fvi("y", [2, 2, 7, 6])], [pads13], 13)


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                       "grad_train")
    os.makedirs(out, exist_ok=True)
    dropout_model(os.path.join(out, "dropout_opset10.onnx"), 10, 0.25)
    dropout_model(os.path.join(out, "dropout_opset13.onnx"), 13, 0.3)
    dropout_model(os.path.join(out, "dropout_training_mode.onnx"), 13, 0.5, training_mode=True)
    split18_model(os.path.join(out, "split_num_outputs.onnx"))
    pad_models(os.path.join(out, "pad_axes_opset18.onnx"),
               os.path.join(out, "pad_axes_opset13.onnx"))
    print("6 models written to %s" % out)


if __name__ == "__main__":
    main()
