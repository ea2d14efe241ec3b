"""axl_graph_save checked with onnx itself (ctest onnx_save_check).

    onnx_save_check.py ONNX_SAVE_TOOL SOURCE_DIR

ONNX_SAVE_TOOL (tests/onnx_save_tool.c) loads a model, doubles every
trainable parameter and saves it.  For each model fixture the saved file
must pass onnx.checker, hold the doubled values as FLOAT raw data, and equal
the source field for field once the parameters' data are cleared in both.
A hand-made model covers what the fixtures lack: a duplicated initializer
(every copy replaced), an fp16 parameter (written as FLOAT), a parameter in
float_data, a scalar constant (kept), doc strings, metadata and a field
unknown to onnx.proto (kept byte for byte).

Exit status 0 pass, 1 fail, 77 skipped (no onnx or numpy).
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper
except ImportError as e:
    print(f"onnx_save_check: skipped ({e})")
    sys.exit(77)

FIXTURES = ["lenet", "resnet_bn", "mobilenetv2_block", "transformer_block"]
DATA_FIELDS = ["raw_data", "float_data", "int32_data", "string_data", "int64_data",
               "double_data", "uint64_data"]
# field 1000, length-delimited: unknown to every onnx.proto
UNKNOWN = bytes([0xC2, 0x3E, 25]) + b"axlut-unknown-field-check"


def save(tool, src, out):
    """Run the tool; the names of the parameters it doubled."""
    r = subprocess.run([tool, src, out], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"{tool} {src} {out} failed: {r.stderr.strip()}")
    return r.stdout.split()


def values(init):
    return numpy_helper.to_array(init).astype(np.float32)


def check_param(name, got, want):
    """got: an initializer of the saved file; want: the values expected."""
    assert got.data_type == onnx.TensorProto.FLOAT, f"{name}: data_type {got.data_type}"
    assert got.raw_data and not got.float_data, f"{name}: not stored as raw_data"
    v = values(got)
    assert v.shape == want.shape, f"{name}: shape {v.shape}, expected {want.shape}"
    if not np.array_equal(v.view(np.uint32), want.view(np.uint32)):
        bad = np.flatnonzero(v.view(np.uint32) != want.view(np.uint32))
        raise AssertionError(f"{name}: {bad.size} values differ, first at {bad[0]}: "
                             f"{v.flat[bad[0]]!r} vs {want.flat[bad[0]]!r}")


def clear_params(m, params):
    for init in m.graph.initializer:
        if init.name in params:
            for f in DATA_FIELDS:
                init.ClearField(f)
            init.data_type = onnx.TensorProto.FLOAT


def expect_same_model(a, b, what):
    if a == b:
        return
    ta, tb = str(a).splitlines(), str(b).splitlines()
    for i, (x, y) in enumerate(zip(ta, tb)):
        if x != y:
            raise AssertionError(f"{what}: differs from the source at line {i}: {x!r} vs {y!r}")
    raise AssertionError(f"{what}: differs from the source ({len(ta)} vs {len(tb)} lines)")


def check_fixture(tool, src, out):
    params = save(tool, src, out)
    assert params, f"{src}: no parameters"
    onnx.checker.check_model(onnx.load(out), full_check=True)
    a, b = onnx.load(src), onnx.load(out)
    first = {}
    for init in a.graph.initializer:
        first.setdefault(init.name, init)
    for init in b.graph.initializer:
        if init.name in params:
            check_param(init.name, init, values(first[init.name]) * np.float32(2))
    clear_params(a, params)
    clear_params(b, params)
    expect_same_model(a, b, out)
    print(f"{os.path.basename(src)}: {len(params)} parameters doubled, the rest unchanged")


def handmade(path):
    """Y = (X @ W + B) * s with W twice (the first is used), B fp16."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((4, 3)).astype(np.float32)
    w2 = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float16)
    inits = [helper.make_tensor("W", onnx.TensorProto.FLOAT, (4, 3), w.ravel().tolist()),
             numpy_helper.from_array(b, "B"),
             helper.make_tensor("s", onnx.TensorProto.FLOAT, (), [0.5]),
             numpy_helper.from_array(w2, "W")]
    inits[0].doc_string = "first W, in float_data"
    nodes = [helper.make_node("MatMul", ["X", "W"], ["xw"], name="mm", doc_string="matmul"),
             helper.make_node("Add", ["xw", "B"], ["xwb"], name="add"),
             helper.make_node("Mul", ["xwb", "s"], ["Y"], name="scale")]
    g = helper.make_graph(
        nodes, "handmade",
        [helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, ["batch", 3])],
        inits, doc_string="graph doc")
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="onnx_save_check", doc_string="model doc")
    m.ir_version = 7
    helper.set_model_props(m, {"author": "axlut tests", "purpose": "save check"})
    with open(path, "wb") as f:
        f.write(m.SerializeToString() + UNKNOWN)
    return w, b


def check_handmade(tool, src, out):
    w, b = handmade(src)
    params = save(tool, src, out)
    assert sorted(params) == ["B", "W"], f"parameters {params}"
    with open(out, "rb") as f:
        data = f.read()
    assert UNKNOWN in data, "the unknown field was dropped"
    m = onnx.load_from_string(data)
    ws = [i for i in m.graph.initializer if i.name == "W"]
    assert len(ws) == 2, f"{len(ws)} initializers W"
    for i in ws:
        check_param("W", i, w * np.float32(2))
    assert ws[0].doc_string == "first W, in float_data"
    (bi,) = [i for i in m.graph.initializer if i.name == "B"]
    check_param("B (fp16 in the source)", bi, b.astype(np.float32) * np.float32(2))
    (si,) = [i for i in m.graph.initializer if i.name == "s"]
    assert si.data_type == onnx.TensorProto.FLOAT and list(si.float_data) == [0.5], \
        f"the constant s changed: {si}"
    src_m = onnx.load(src)
    clear_params(src_m, params)
    clear_params(m, params)
    expect_same_model(src_m, m, out)
    print("handmade: duplicate W, fp16 B, constant s, metadata and unknown field ok")


def main(argv):
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    tool, root = argv
    with tempfile.TemporaryDirectory(prefix="axl_onnx_save_check_") as d:
        try:
            for name in FIXTURES:
                check_fixture(tool, os.path.join(root, "tests/data/models", name + ".onnx"),
                              os.path.join(d, name + ".onnx"))
            check_handmade(tool, os.path.join(d, "handmade_src.onnx"),
                           os.path.join(d, "handmade.onnx"))
        except (AssertionError, onnx.checker.ValidationError) as e:
            print(f"onnx_save_check: FAIL: {e}", file=sys.stderr)
            return 1
    print("onnx_save_check: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
