#!/usr/bin/env -S /usr/bin/python3
"""Regenerates tests/data/grad_ops/: one-operator ONNX models with PyTorch
autograd references, for tests/test_grad_ops.c (axlut's backward).

Each case NAME gives NAME.onnx and NAME.grad, a little-endian binary file:

    "AXLGRD1\\0"  uint32 n_inputs  uint32 n_outputs  uint32 n_params
    uint32 flags (bit 0: not smooth, skip finite differences;
                  bit 1: training forward with batch statistics)
    float32 atol  float32 rtol
    tensors: the inputs, the outputs, the outputs' gradients (dout), the
             inputs' gradients, in graph order; then per parameter
             uint32 name length, the name, its gradient tensor
    a tensor: uint32 ndim  int64 dims[ndim]  float32 data[prod(dims)]

The loss is sum(dout * output) over the outputs, so each gradient is the
vector-Jacobian product with dout.  Outputs and gradients come from torch
(torch.nn.functional and autograd on float64 copies, rounded to float32),
never from axlut.  Cases live in grad_cases_*.py beside this file; each
module has CASES, a list of functions returning a Case.

    /usr/bin/python3 tools/make_grad_fixtures.py [OUTDIR] [--only PREFIX]
"""
import importlib
import os
import struct
import sys
import zlib

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

FLAG_NOT_SMOOTH = 1
FLAG_BN_TRAIN = 2


class Case:
    """One fixture.

    nodes: ONNX nodes; inputs: [(name, array)] graph inputs (all get
    gradients); params: {name: array} trainable initializers; consts:
    {name: array} other initializers (shapes, indices, statistics);
    outputs: [names]; torch_fn(tensors) -> [output tensors], tensors a dict
    of every input, param and const by name (float64 torch tensors, int64
    for integer consts).
    """

    def __init__(self, name, nodes, inputs, outputs, torch_fn, params=None, consts=None,
                 opset=17, flags=0, atol=1e-5, rtol=1e-4):
        self.name, self.nodes, self.inputs, self.outputs = name, nodes, inputs, outputs
        self.torch_fn, self.params, self.consts = torch_fn, params or {}, consts or {}
        self.opset, self.flags, self.atol, self.rtol = opset, flags, atol, rtol


def rng_for(name):
    """A generator seeded by the case name, so cases do not shift each other."""
    return np.random.default_rng(zlib.crc32(name.encode()))


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def put_tensor(f, a):
    a = np.array(a, dtype=np.float32, order="C")  # ascontiguousarray would make a scalar 1-D
    f.write(struct.pack("<I", a.ndim))
    for d in a.shape:
        f.write(struct.pack("<q", d))
    f.write(a.astype("<f4").tobytes())


def reference(case):
    """Outputs, douts and gradients from torch autograd (float64)."""
    t = {}
    for n, a in case.inputs:
        t[n] = torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
    for n, a in case.params.items():
        t[n] = torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
    for n, a in case.consts.items():
        a = np.asarray(a)
        t[n] = torch.tensor(a if a.dtype.kind in "iub" else a.astype(np.float64))
    outs = case.torch_fn(t)
    g = rng_for(case.name + "/dout")
    douts = [g.uniform(-1, 1, size=tuple(o.shape)).astype(np.float32) for o in outs]
    loss = sum((o * torch.tensor(d, dtype=torch.float64)).sum() for o, d in zip(outs, douts))
    loss.backward()

    def grad(n):
        gr = t[n].grad
        return np.zeros(t[n].shape, np.float32) if gr is None else gr.numpy().astype(np.float32)

    return ([o.detach().numpy().astype(np.float32) for o in outs], douts,
            [grad(n) for n, _ in case.inputs], [(n, grad(n)) for n in case.params])


def write(case, out_dir):
    outs, douts, gin, gpar = reference(case)
    init = [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k)
            for k, v in case.params.items()]
    for k, v in case.consts.items():
        v = np.asarray(v)
        init.append(numpy_helper.from_array(v if v.dtype.kind in "iub" else
                                            v.astype(np.float32), k))
    graph = helper.make_graph(case.nodes, case.name,
                              [vi(n, np.shape(a)) for n, a in case.inputs],
                              [vi(n, o.shape) for n, o in zip(case.outputs, outs)], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", case.opset)],
                              producer_name="axlut-make_grad_fixtures")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out_dir, case.name + ".onnx"))
    with open(os.path.join(out_dir, case.name + ".grad"), "wb") as f:
        f.write(b"AXLGRD1\0")
        f.write(struct.pack("<IIII", len(case.inputs), len(outs), len(gpar), case.flags))
        f.write(struct.pack("<ff", case.atol, case.rtol))
        for _, a in case.inputs:
            put_tensor(f, a)
        for o in outs:
            put_tensor(f, o)
        for d in douts:
            put_tensor(f, d)
        for g in gin:
            put_tensor(f, g)
        for n, g in gpar:
            b = n.encode()
            f.write(struct.pack("<I", len(b)) + b)
            put_tensor(f, g)


def main(argv):
    out_dir = os.path.join(HERE, "..", "tests", "data", "grad_ops")
    only = ""
    args = list(argv)
    if "--only" in args:
        i = args.index("--only")
        only = args[i + 1]
        del args[i:i + 2]
    if args:
        out_dir = args[0]
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    count = 0
    for mod in sorted(m[:-3] for m in os.listdir(HERE)
                      if m.startswith("grad_cases_") and m.endswith(".py")):
        for make in importlib.import_module(mod).CASES:
            case = make()
            if not case.name.startswith(only):
                continue
            write(case, out_dir)
            count += 1
    print("%d cases written to %s" % (count, out_dir))


if __name__ == "__main__":
    main(sys.argv[1:])
