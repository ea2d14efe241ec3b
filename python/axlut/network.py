"""Whole networks: `axlut run` as a function."""
import ctypes
import json
import os
import tempfile

import numpy as np

from . import _lib
from .engine import Layers, _backend
from ._lib import AxlutError, lib


def _write_dataset(path, inputs, labels):
    import h5py  # only for arrays given in memory

    with h5py.File(path, "w") as f:
        f.create_dataset("inputs", data=np.ascontiguousarray(inputs, dtype=np.float32))
        if labels is not None:
            f.create_dataset("labels", data=np.asarray(labels, dtype=np.int64))


def _read_outputs(path):
    import h5py

    out = {"outputs": {}, "layers": {}}
    with h5py.File(path, "r") as f:
        for group in ("outputs", "layers"):
            if group in f:
                for k, d in f[group].items():
                    name = d.attrs.get("node", k)
                    out[group][name if isinstance(name, str) else k] = d[()]
    return out


def run(model, data, config=None, device="cpu", batch=32, limit=0, labels=None,
        outputs=False, layers=False, reference=True):
    """Run MODEL (an ONNX file) over DATA (a dataset file, or an array of
    inputs with LABELS) exactly and under CONFIG (None, a MacSpec, a dict
    like the per-layer JSON or its path), as `axlut run` does; returns its
    JSON report as a dict.  outputs=True adds report["outputs"] (the final
    outputs by name, arrays) and layers=True report["layer_outputs"] (every
    node's output by node name); both read back with h5py.  reference=False
    runs the configured network alone (`axlut run --no-reference`): the
    report says "reference": "skipped" and has no errors or agreement."""
    cfg = Layers(config)
    msg = _lib.msgbuf()
    be = _backend(device)
    g, ds = ctypes.c_void_p(), ctypes.c_void_p()
    macs = _lib.LayerMacs()
    rep = _lib.RunReport()
    bound = False
    with tempfile.TemporaryDirectory(prefix="axlut-run-") as tmp:
        try:
            if not isinstance(data, (str, os.PathLike)):
                path = os.path.join(tmp, "data.h5")
                _write_dataset(path, data, labels)
                data = path
            elif labels is not None:
                raise AxlutError("run: labels go with an array of inputs, not a dataset file")
            for what, p in (("model", model), ("dataset", data)):
                if not os.path.isfile(p):
                    raise AxlutError(f"{p}: no such {what} file", "io")
            _lib.check(lib.axl_graph_load(_lib.enc(os.fspath(model)), ctypes.byref(g), msg), msg)
            _lib.check(lib.axl_layers_bind(cfg._h, g, ctypes.byref(macs), msg), msg)
            bound = True
            _lib.check(lib.axl_dataset_open(_lib.enc(os.fspath(data)), g, ctypes.byref(ds), msg),
                       msg)
            save = os.path.join(tmp, "outputs.h5") if outputs or layers else None
            s = _lib.RunSettings(be, int(batch), int(limit), None, None, _lib.enc(save),
                                 int(bool(layers)), int(not reference))
            _lib.check(lib.axl_run_dataset(g, macs.macs, ds, ctypes.byref(s), ctypes.byref(rep),
                                           msg), msg)
            rpath = os.path.join(tmp, "report.json")
            _lib.check(lib.axl_run_report_write_json(ctypes.byref(rep), _lib.enc(rpath),
                                                     _lib.enc(os.fspath(model)),
                                                     _lib.enc(os.fspath(data)), msg), msg)
            with open(rpath) as f:
                report = json.load(f)
            if save:
                saved = _read_outputs(save)
                if outputs:
                    report["outputs"] = saved["outputs"]
                if layers:
                    report["layer_outputs"] = saved["layers"]
            return report
        finally:
            lib.axl_run_report_free(ctypes.byref(rep))
            if bound:
                lib.axl_layer_macs_free(ctypes.byref(macs))
            lib.axl_dataset_close(ds)
            if g.value:
                lib.axl_graph_free(g)
