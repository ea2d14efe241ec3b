"""tools/export_model.py --load-onnx: the weights of a model saved by axlut
back into PyTorch (ctest onnx_save_export_model).

    onnx_save_export_model.py ONNX_SAVE_TOOL SOURCE_DIR

The LeNet fixture with its parameters doubled by ONNX_SAVE_TOOL
(axl_graph_save) goes into a fresh PyTorch LeNet: every initializer matches
a state_dict key and the values are the file's bit for bit; exporting that
model gives the same initializers again.  The transformer fixture reports
its made-up onnx::MatMul_* names as unmatched; a file matching nothing
exits 2 and writes nothing; a wrong shape is refused.

Exit status 0 pass, 1 fail, 77 skipped (no torch, onnx or h5py).
"""
import os
import subprocess
import sys
import tempfile

try:
    import h5py  # noqa: F401 (export_model writes its companion file with it)
    import numpy as np
    import onnx
    import torch
    from onnx import numpy_helper
except ImportError as e:
    print(f"onnx_save_export_model: skipped ({e})")
    sys.exit(77)


def initializers(path):
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}


def same_bits(a, b):
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def fresh(em, name):
    torch.manual_seed(0)
    return em.load_model(name)[0]


def check_function(em, models, saved, d):
    model = fresh(em, "lenet")
    matched, unmatched = em.load_onnx_weights(model, saved)
    want = initializers(saved)
    assert sorted(matched) == sorted(want) and not unmatched, (matched, unmatched)
    state = model.state_dict()
    for k, v in want.items():
        assert same_bits(state[k].numpy(), v), f"{k}: values differ from the file"

    model = fresh(em, "transformer_block")
    matched, unmatched = em.load_onnx_weights(
        model, os.path.join(models, "transformer_block.onnx"))
    assert matched and "norm1.weight" in matched, matched
    assert unmatched and all(n.startswith("onnx::MatMul_") for n in unmatched), unmatched

    bad = onnx.load(saved)
    (w,) = [i for i in bad.graph.initializer if i.name == "conv1.weight"]
    w.CopyFrom(numpy_helper.from_array(np.zeros((2, 2), np.float32), "conv1.weight"))
    bad_path = os.path.join(d, "bad_shape.onnx")
    onnx.save(bad, bad_path)
    model = fresh(em, "lenet")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        em.load_onnx_weights(model, bad_path)
        raise AssertionError("a wrong shape was accepted")
    except em.InputError as e:
        assert "conv1.weight" in str(e), e
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), f"{k} changed after a refused load"


def cli(tool_dir, *args):
    return subprocess.run(["/usr/bin/python3", os.path.join(tool_dir, "export_model.py"),
                           *args], capture_output=True, text=True)


def check_cli(tools, models, saved, d):
    st = os.path.join(d, "state.pt")
    r = cli(tools, "lenet", "--load-onnx", saved, "--save-state", st)
    assert r.returncode == 0, r.stderr
    assert "10 of 10" in r.stdout and "warning" not in r.stderr, (r.stdout, r.stderr)
    state = torch.load(st)
    for k, v in initializers(saved).items():
        assert same_bits(state[k].numpy(), v), f"{st}: {k} differs from {saved}"

    out = os.path.join(d, "again.onnx")
    r = cli(tools, "lenet", "--load-onnx", saved, "-o", out, "--no-h5")
    assert r.returncode == 0, r.stderr
    again, want = initializers(out), initializers(saved)
    for k, v in want.items():
        assert k in again and same_bits(again[k], v), f"{out}: {k} differs from {saved}"

    none = os.path.join(d, "none.pt")
    r = cli(tools, "lenet", "--load-onnx", os.path.join(models, "resnet_bn.onnx"),
            "--save-state", none)
    assert r.returncode == 2 and "none of" in r.stderr, (r.returncode, r.stderr)
    assert not os.path.exists(none), f"{none} written although nothing matched"

    r = cli(tools, "transformer_block", "--load-onnx",
            os.path.join(models, "transformer_block.onnx"), "--save-state", st)
    assert r.returncode == 0, r.stderr
    assert "onnx::MatMul_" in r.stderr and "made" in r.stderr, r.stderr


def main(argv):
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    tool, root = argv
    tools = os.path.join(root, "tools")
    models = os.path.join(root, "tests/data/models")
    sys.path.insert(0, tools)
    import export_model as em
    with tempfile.TemporaryDirectory(prefix="axl_onnx_save_em_") as d:
        saved = os.path.join(d, "lenet_x2.onnx")
        r = subprocess.run([tool, os.path.join(models, "lenet.onnx"), saved],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"onnx_save_export_model: FAIL: {tool}: {r.stderr.strip()}", file=sys.stderr)
            return 1
        try:
            check_function(em, models, saved, d)
            check_cli(tools, models, saved, d)
        except AssertionError as e:
            print(f"onnx_save_export_model: FAIL: {e}", file=sys.stderr)
            return 1
    print("onnx_save_export_model: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
