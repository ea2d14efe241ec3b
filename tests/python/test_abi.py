"""The ctypes mirrors of python/axlut/_lib.py against the library's own
layout (abi.h).  A RunReport mirror without the fields one branch added to
struct axl_run_report let axl_run_dataset write 168 bytes past Python's
object; the heap corruption crashed later inside h5py.  Here the library
writes into mirrors followed by guard bytes, which must stay untouched, and
the load-time check must refuse the mirrors as they were."""
import ctypes
import os

import numpy as np
import pytest

import axlut
from axlut import _lib
from axlut.engine import Layers
from axlut.network import _write_dataset

GUARD = 0xA5


def guarded(mirror, extra=256):
    """An instance of MIRROR at the start of a buffer whose remaining EXTRA
    bytes hold GUARD; returns (instance, function telling the guard is intact)."""
    n = ctypes.sizeof(mirror)
    buf = (ctypes.c_uint8 * (n + extra))()
    ctypes.memset(buf, GUARD, n + extra)
    ctypes.memset(buf, 0, n)
    obj = mirror.from_buffer(buf)
    return obj, lambda: bytes(buf[n:]) == bytes([GUARD]) * extra


def test_every_mirror_matches_the_library():
    mirrors = {v for v in vars(_lib).values()
               if isinstance(v, type) and issubclass(v, ctypes.Structure)}
    assert mirrors == set(_lib.MIRRORS.values())  # none unchecked
    assert len(mirrors) == 13
    for ctype, mirror in _lib.MIRRORS.items():
        assert _lib.layout_mismatch(_lib.lib, ctype, mirror) is None, ctype
        assert ctypes.sizeof(mirror) == _lib.lib.axl_abi_sizeof(ctype.encode())


def test_mirrors_as_they_were_are_refused():
    class OldRunReport(ctypes.Structure):  # before the sample axis (batch, batching)
        _fields_ = ([("samples", ctypes.c_int64), ("has_labels", ctypes.c_int),
                     ("top_k", ctypes.c_int)] +
                    [(n, ctypes.c_double) for n in
                     ("top1", "top5", "exact_top1", "exact_top5", "agreement", "seconds",
                      "exact_seconds", "samples_per_s")] +
                    [("nlayers", ctypes.c_size_t), ("layers", ctypes.c_void_p),
                     ("out_sums", ctypes.c_double * 6), ("output_error", ctypes.c_double * 4)])

    why = _lib.layout_mismatch(_lib.lib, "axl_run_report", OldRunReport)
    assert why == ("struct axl_run_report: field 1 is batch at 8 (8 bytes) in the library, "
                   "has_labels at 8 (4 bytes) in python/axlut/_lib.py OldRunReport")

    class OldMacSpec(ctypes.Structure):  # before operand scaling: the tail missing
        _fields_ = _lib.MacSpecC._fields_[:-9]  # and before the block accumulator (4)

    why = _lib.layout_mismatch(_lib.lib, "axl_mac_spec", OldMacSpec)
    assert why.startswith("struct axl_mac_spec: field 20 is wscale at ") and \
        why.endswith("nothing in python/axlut/_lib.py OldMacSpec"), why

    assert _lib.layout_mismatch(_lib.lib, "axl_nothing", _lib.LayerMacs) == \
        "struct axl_nothing: not described by the library"


def test_resolve_writes_within_the_spec():
    cfg = Layers(axlut.MacSpec(mul="fpmul_drum", params={"k": 3}, format="e4m3"))
    spec, intact = guarded(_lib.MacSpecC)
    ex = ctypes.c_int(-1)
    _lib.lib.axl_layers_resolve(cfg._h, b"/conv1/Conv", b"Conv", ctypes.byref(spec),
                                ctypes.byref(ex))
    assert intact()
    assert ex.value == 0 and spec.mul == b"fpmul_drum" and spec.fmt_a == b"e4m3fn"  # canonical
    assert spec.mul_params[0] == b"k=3" and spec.n_mul_params == 1
    assert spec.wscale == 0 and spec.ascale == 0 and spec.act_amax == 0.0


def test_run_dataset_writes_within_the_report(root, tmp_path):
    n = 12
    rng = np.random.default_rng(5)
    data = str(tmp_path / "data.h5")
    _write_dataset(data, rng.standard_normal((n, 1, 28, 28)).astype(np.float32),
                   rng.integers(0, 10, n))
    model = os.path.join(root, "models", "lenet5_fmnist.onnx")
    lib, msg = _lib.lib, _lib.msgbuf()
    cfg = Layers(axlut.MacSpec(format="e4m3"))
    g, ds = ctypes.c_void_p(), ctypes.c_void_p()
    macs = _lib.LayerMacs()
    rep, intact = guarded(_lib.RunReport)
    _lib.check(lib.axl_graph_load(model.encode(), ctypes.byref(g), msg), msg)
    try:
        _lib.check(lib.axl_layers_bind(cfg._h, g, ctypes.byref(macs), msg), msg)
        try:
            _lib.check(lib.axl_dataset_open(data.encode(), g, ctypes.byref(ds), msg), msg)
            s = _lib.RunSettings(0, 5, 0, None, None, None, 0)
            _lib.check(lib.axl_run_dataset(g, macs.macs, ds, ctypes.byref(s), ctypes.byref(rep),
                                           msg), msg)
            assert intact()
            assert (rep.samples, rep.batch, rep.batching, rep.has_labels, rep.nlayers) == \
                (n, 5, b"", 1, 5)
            assert 0.0 <= rep.top1 <= 1.0 and 0.0 <= rep.agreement <= 1.0
            assert all(np.isfinite(rep.output_error))
        finally:
            lib.axl_run_report_free(ctypes.byref(rep))
            lib.axl_dataset_close(ds)
            lib.axl_layer_macs_free(ctypes.byref(macs))
    finally:
        lib.axl_graph_free(g)
    assert intact()
