"""axlut.conv2d / axlut.gemm give the bits `axlut run --save-layers`
writes for each layer of the demo LeNet-5 under the same configuration
(CLI options, a per-layer JSON, integer formats); axlut.run equals
`axlut run`; exact mode matches PyTorch; errors are exceptions."""
import json
import os

import h5py
import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from onnx import numpy_helper

import axlut

N = 32  # one batch: integer formats take their activation range per batch

CONFIGS = {
    "exact": None,
    "drum2-e4m3": axlut.MacSpec(mul="fpmul_drum", params={"k": 2}, format="e4m3"),
    "int4": axlut.MacSpec(format="int4"),
    "mitchell-int8-pertensor": axlut.MacSpec(mul="mitchell", format="int8", wquant="per-tensor"),
    "e5m2-adder-chunked": axlut.MacSpec(format="e5m2", add="fpadd_loa", acc_format="fp16",
                                        order="chunked", chunk=4),
    "per-layer-json": {"default": {"mul": "fpmul_drum", "params": {"k": 3}, "format": "e4m3"},
                       "layers": [{"match": "/conv2/*", "mul": "drum", "params": {"k": 4},
                                   "format": "int8"},
                                  {"op": "Gemm", "order": "pairwise", "format": "bf16"},
                                  {"match": "/fc3/Gemm", "exact": True}]},
}


@pytest.fixture(scope="module")
def lenet(root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lenet")
    model = os.path.join(root, "models", "lenet5_fmnist.onnx")
    m = onnx.load(model)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    nodes = {n.name: n for n in m.graph.node}
    rng = np.random.default_rng(3)
    data = tmp / "data.h5"
    with h5py.File(data, "w") as f:
        f["inputs"] = rng.standard_normal((N, 1, 28, 28)).astype(np.float32)
        f["labels"] = rng.integers(0, 10, N)
    return model, str(data), inits, nodes, tmp


def saved_layers(path):
    with h5py.File(path, "r") as f:
        return ({d.attrs["node"]: d[()] for d in f["layers"].values()},
                {k: d[()] for k, d in f["outputs"].items()})


def cli_run(cli, lenet, name, spec, extra=()):
    model, data, _, _, tmp = lenet
    out = tmp / f"{name}.h5"
    rep = tmp / f"{name}.json"
    opts = []
    if isinstance(spec, axlut.MacSpec):
        opts = spec.options()
    elif isinstance(spec, dict):
        cfg = tmp / f"{name}.cfg.json"
        cfg.write_text(json.dumps(spec))
        opts = ["--config", cfg]
    cli("run", model, "--data", data, *opts, "--batch", N, "--save-outputs", out,
        "--save-layers", "--report", rep, "--quiet", *extra)
    return saved_layers(out), json.loads(rep.read_text())


def node_input(layers, data_inputs, nodes, node):
    """What the run fed NODE: the dataset's inputs, or the saved output of
    the node producing its first input (outputs are saved by node name)."""
    src = node.input[0]
    if src == "input":
        return data_inputs
    producer = next(n.name for n in nodes.values() if src in n.output)
    return layers[producer]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_layers_bit_identical_to_axlut_run(cli, lenet, name):
    model, data, inits, nodes, _ = lenet
    spec = CONFIGS[name]
    (layers, _), _ = cli_run(cli, lenet, name, spec)
    with h5py.File(data, "r") as f:
        x0 = f["inputs"][()]
    checked = 0
    for nname, node in nodes.items():
        if node.op_type not in ("Conv", "Gemm"):
            continue
        x = node_input(layers, x0, nodes, node)
        w, b = inits[node.input[1]], inits[node.input[2]]
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Conv":
            p = attrs.get("pads", [0, 0, 0, 0])
            y = axlut.conv2d(x, w, b, spec=spec, stride=tuple(attrs.get("strides", [1, 1])),
                             padding=(p[0], p[1], p[2], p[3]), dilation=tuple(
                                 attrs.get("dilations", [1, 1])), groups=attrs.get("group", 1),
                             layer=nname, op="Conv")
        else:
            assert attrs.get("transB") == 1
            y = axlut.gemm(x, w, spec=spec, bias=b, trans_b=True, layer=nname, op="Gemm")
        want = layers[nname]
        assert y.shape == want.shape, nname
        diff = np.flatnonzero(y.view(np.uint32) != want.view(np.uint32))
        assert diff.size == 0, (nname, diff.size, y.reshape(-1)[diff[:5]],
                                want.reshape(-1)[diff[:5]])
        checked += 1
    assert checked == 5


@pytest.mark.parametrize("name", ["drum2-e4m3", "per-layer-json"])
def test_run_equals_axlut_run(cli, lenet, name):
    model, data, *_ = lenet
    spec = CONFIGS[name]
    (layers, outputs), want = cli_run(cli, lenet, name, spec)
    got = axlut.run(model, data, spec, batch=N, outputs=True, layers=True)
    for k in ("samples", "top1", "exact_top1", "agreement"):
        assert got[k] == want[k], k
    assert [L["config"] for L in got["layers"]] == [L["config"] for L in want["layers"]]
    for k in ("layer_error", "accumulated_error", "path", "output_shape"):
        assert [L[k] for L in got["layers"]] == [L[k] for L in want["layers"]], k
    assert got["output_error"] == want["output_error"]
    assert set(got["outputs"]) == {"logits"}
    assert np.array_equal(got["outputs"]["logits"], outputs["logits"])
    assert np.array_equal(got["layer_outputs"]["/conv2/Conv"], layers["/conv2/Conv"])
    # arrays in memory, with labels
    with h5py.File(data, "r") as f:
        x, y = f["inputs"][()], f["labels"][()]
    again = axlut.run(model, x, spec, labels=y, batch=N)
    assert again["top1"] == want["top1"]
    # accuracy only: the same outputs and top-1, no comparison at all
    alone = axlut.run(model, data, spec, batch=N, outputs=True, reference=False)
    assert got["reference"] == "run" and alone["reference"] == "skipped"
    assert alone["top1"] == want["top1"] and alone["agreement"] is None
    assert "output_error" not in alone
    assert all("layer_error" not in L and "accumulated_error" not in L for L in alone["layers"])
    assert np.array_equal(alone["outputs"]["logits"], outputs["logits"])


def test_exact_mode_matches_pytorch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 9, 11)).astype(np.float32)
    w = rng.standard_normal((6, 2, 3, 2)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    y = axlut.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    ref = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=(2, 1),
                   padding=(1, 2), dilation=(1, 2), groups=2).numpy()
    assert y.shape == ref.shape
    assert np.abs(y - ref).max() <= 1e-5 * np.abs(ref).max()
    a = rng.standard_normal((7, 5)).astype(np.float32)
    big = rng.standard_normal((5, 20)).astype(np.float32)
    bm = big[:, 3:11]  # rows 20 floats apart: passed without a copy (ldb 20)
    g = axlut.gemm(a, bm)
    assert np.abs(g - a @ bm).max() <= 1e-5 * np.abs(a @ bm).max()
    g2 = axlut.gemm(a.T.copy(), bm.T.copy(), trans_a=True, trans_b=True)
    assert np.array_equal(g, g2)


def test_engine_errors():
    x = np.zeros((1, 3, 8, 8), np.float32)
    w = np.zeros((4, 3, 3, 3), np.float32)
    with pytest.raises(axlut.AxlutError, match="layer conv \\(Conv\\): .*e9m9|e9m9"):
        axlut.conv2d(x, w, spec=axlut.MacSpec(format="e9m9"))
    with pytest.raises(axlut.AxlutError, match="groups"):
        axlut.conv2d(x, np.zeros((4, 2, 3, 3), np.float32))
    with pytest.raises(axlut.AxlutError, match="op\\(A\\) is 2x3"):
        axlut.gemm(np.zeros((2, 3), np.float32), np.zeros((4, 5), np.float32))
    with pytest.raises(axlut.AxlutError, match="config: default: .*colour"):
        axlut.conv2d(x, w, spec={"default": {"colour": "red"}})
    with pytest.raises(axlut.AxlutError, match="chunk"):
        axlut.conv2d(x, w, spec=axlut.MacSpec(order="chunked", chunk=0))
    with pytest.raises(axlut.AxlutError, match="device"):
        axlut.conv2d(x, w, device="tpu")
    with pytest.raises(axlut.AxlutError, match="no such model"):
        axlut.run("missing.onnx", "missing.h5")


def test_cuda_backend_gives_the_cpu_bits():
    """Skipped without a GPU (tools/gpu-check runs it where there is one)."""
    if axlut.cuda_devices() == 0:
        pytest.skip("no CUDA device")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 8, 12, 12)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    for spec in (CONFIGS["drum2-e4m3"], CONFIGS["int4"], None):
        cpu = axlut.conv2d(x, w, spec=spec, padding=1)
        gpu = axlut.conv2d(x, w, spec=spec, padding=1, device="cuda")
        assert np.array_equal(cpu.view(np.uint32), gpu.view(np.uint32))
        a = x.reshape(16, -1)
        assert np.array_equal(axlut.gemm(a, a.T.copy(), spec=spec),
                              axlut.gemm(a, a.T.copy(), spec=spec, device="cuda"))
