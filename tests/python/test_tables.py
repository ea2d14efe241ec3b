"""Designs and tables: axlut.gen and Table.load/save against h5py's view
of the file and against `axlut gen` / `axlut info --json`."""
import json
import os

import h5py
import numpy as np
import pytest

import axlut

CASES = [("fpmul_drum", "e4m3", {"k": 3}), ("mitchell", "uint8", None),
         ("drum", "int8", {"k": 4}), ("fpadd_loa", "e5m2", None)]


def _attr(v):
    return v.decode() if isinstance(v, bytes) else v


@pytest.mark.parametrize("design,fmt,params", CASES)
def test_loaded_table_equals_h5py_view(tmp_path, cli, design, fmt, params):
    path = tmp_path / "t.h5"
    args = [design, "--format", fmt, "-o", path]
    for k, v in (params or {}).items():
        args += ["--param", f"{k}={v}"]
    cli("gen", *args)
    t = axlut.Table.load(path)
    with h5py.File(path, "r") as f:
        lut = f["lut"][()]
        assert t.entries.dtype == lut.dtype and t.entries.shape == lut.shape
        assert np.array_equal(t.entries, lut)
        m = t.metrics
        h5m = dict(f["metrics"].attrs)
        assert set(h5m) <= set(m), set(h5m) - set(m)
        for k, v in h5m.items():
            assert m[k] == v, (k, m[k], v)
        assert np.array_equal(t.histogram, f["error_histogram"][()])
        info = t.info
        for k in ("design", "op", "path", "round", "parameters", "a_format", "b_format",
                  "result_format", "table_a_format", "table_b_format", "table_result_format",
                  "design_version", "generator_commit", "created"):
            assert info[k] == _attr(f.attrs[k]), k
        for name, v in info["params"].items():
            assert v == f.attrs[f"param_{name}"]
    # and axlut info --json says the same of the metrics
    rep = json.loads(cli("info", path, "--json"))
    for k, v in rep["metrics"].items():
        if k == "histogram":
            assert list(t.histogram) == v
        elif k == "histogram_range":
            assert t.metrics["hist_range"] == v
        else:
            assert t.metrics[k] == v, k


@pytest.mark.parametrize("design,fmt,params", CASES)
def test_gen_equals_axlut_gen_and_saves(tmp_path, cli, design, fmt, params):
    t = axlut.gen(design, fmt, params)
    ref = tmp_path / "ref.h5"
    args = [design, "--format", fmt, "-o", ref]
    for k, v in (params or {}).items():
        args += ["--param", f"{k}={v}"]
    cli("gen", *args)
    r = axlut.Table.load(ref)
    assert np.array_equal(t.entries, r.entries)
    mt, mr = t.metrics, r.metrics
    assert mt == mr
    out = tmp_path / "mine.h5"
    t.save(out)
    with h5py.File(out, "r") as f:
        assert np.array_equal(f["lut"][()], r.entries)
    with pytest.raises(axlut.AxlutError, match="exists|force"):
        t.save(out)
    t.save(out, force=True)


def test_user_design_file(tmp_path, root):
    src = os.path.join(root, "tables", "examples", "my_lomul.c")
    t = axlut.gen(src, "uint8", {"k": 6})
    e = np.asarray(t.entries, dtype=np.int64)
    a = np.arange(256)[:, None]
    b = np.arange(256)[None, :]
    assert np.all(e <= a * b) and np.any(e < a * b)  # truncation only loses
    assert len(t.info["design_source_sha256"]) == 64
    exact = axlut.gen(src, "uint8", {"k": 0})
    assert np.array_equal(np.asarray(exact.entries, dtype=np.int64), a * b)


def test_designs_and_errors(tmp_path):
    d = {x["name"]: x for x in axlut.designs()}
    assert d["fpmul_drum"]["op"] == "mul" and d["fpmul_drum"]["mantissa_only"]
    assert [p["name"] for p in d["fpmul_drum"]["params"]] == ["k"]
    with pytest.raises(axlut.AxlutError, match="unknown design 'nope'"):
        axlut.gen("nope", "e4m3")
    with pytest.raises(axlut.AxlutError) as e:
        axlut.gen("fpmul_drum", "int8")
    assert "int8" in str(e.value)
    with pytest.raises(axlut.AxlutError) as e:
        axlut.Table.load(tmp_path / "missing.h5")
    assert "missing.h5" in str(e.value) and e.value.status == "io"
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as f:
        f["lut"] = np.zeros((4, 4), np.uint8)
    with pytest.raises(axlut.AxlutError, match="bad.h5"):
        axlut.Table.load(bad)
