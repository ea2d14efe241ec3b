"""Designs and tables: the built-in arithmetic designs, table generation
(a design evaluated over every operand pair, with its error metrics) and
the HDF5 table files of tables/SCHEMA.md."""
import ctypes
import os

import numpy as np

from . import _lib
from .formats import parse_format, parse_round
from ._lib import AxlutError, lib

_OPERANDS = ["fixed", "uint", "int", "float", "anyint", "any"]


def _design_dict(d):
    return {"name": _lib.dec(d.name), "op": _lib.dec(lib.axl_op_name(d.op)),
            "operands": _OPERANDS[d.operands] if d.operands < len(_OPERANDS) else "?",
            "formats": ([_lib.dec(d.fmt_a), _lib.dec(d.fmt_b), _lib.dec(d.fmt_r)]
                        if d.operands == 0 else None),
            "mantissa_only": bool(d.mantissa_only),
            "params": [{"name": _lib.dec(p.name), "default": p.default, "min": p.min,
                        "max": p.max, "help": _lib.dec(p.help)}
                       for p in d.params[:d.nparams]],
            "description": _lib.dec(d.description), "citation": _lib.dec(d.citation),
            "version": d.version}


def designs():
    """The built-in designs (axlut list designs), as dicts: name, op (mul or
    add), operands (the formats it accepts), params with their ranges,
    description, citation."""
    return [_design_dict(lib.axl_design_at(i).contents) for i in range(lib.axl_design_count())]


def _fmt_dict(f):
    return _lib.dec(f.name)


class Table:
    """A design evaluated over every operand pair: ``entries`` (a NumPy view
    of the result codes, rows = operand a, columns = operand b), ``info``
    (design, formats, parameters, provenance), ``metrics`` (a dict, the
    keys of the file's /metrics) and ``histogram``."""

    def __init__(self, handle):
        self._h = ctypes.c_void_p(handle)

    def __del__(self):
        if getattr(self, "_h", None) and self._h.value:
            lib.axl_table_free(self._h)
            self._h = None

    @classmethod
    def load(cls, path):
        """Load and validate a table file; AxlutError naming the file and
        the field at fault."""
        h = ctypes.c_void_p()
        msg = _lib.msgbuf()
        _lib.check(lib.axl_table_load(_lib.enc(os.fspath(path)), ctypes.byref(h), msg), msg)
        return cls(h.value)

    def save(self, path, force=False):
        """Write the table (through a temporary name, renamed when
        complete); an existing file is refused unless force."""
        msg = _lib.msgbuf()
        _lib.check(lib.axl_table_write(self._h, _lib.enc(os.fspath(path)), int(bool(force)),
                                       msg), msg)

    @property
    def _info(self):
        return lib.axl_table_info(self._h).contents

    @property
    def entries(self):
        """rows x cols result codes (uint8/16/32), read-only, without a copy."""
        i = self._info
        dtype = {1: np.uint8, 2: np.uint16, 4: np.uint32}[i.entry_bytes]
        n = int(i.rows * i.cols)
        buf = (ctypes.c_char * (n * i.entry_bytes)).from_address(lib.axl_table_data(self._h))
        a = np.frombuffer(buf, dtype=dtype).reshape(int(i.rows), int(i.cols))
        a.flags.writeable = False
        # the view keeps the table alive
        return _Owned(a, self)

    @property
    def info(self):
        i = self._info
        return {"design": _lib.dec(i.design), "op": _lib.dec(lib.axl_op_name(i.op)),
                "path": _lib.dec(lib.axl_table_path_name(i.path)),
                "core_design": _lib.dec(i.core_design),
                "round": _lib.dec(lib.axl_round_name(i.round)),
                "parameters": _lib.dec(i.parameters),
                "params": {_lib.dec(i.param_names[k].value): i.param[k]
                           for k in range(i.nparams)},
                "a_format": _fmt_dict(i.fa), "b_format": _fmt_dict(i.fb),
                "result_format": _fmt_dict(i.fr), "table_a_format": _fmt_dict(i.ta),
                "table_b_format": _fmt_dict(i.tb), "table_result_format": _fmt_dict(i.tr),
                "rows": int(i.rows), "cols": int(i.cols), "entry_bytes": i.entry_bytes,
                "design_version": i.design_version, "description": _lib.dec(i.description),
                "citation": _lib.dec(i.citation),
                "design_source_sha256": _lib.dec(i.source_sha256),
                "generator_version": _lib.dec(i.generator_version),
                "generator_commit": _lib.dec(i.generator_commit), "created": _lib.dec(i.created)}

    @property
    def metrics(self):
        """The error metrics against the exact unit, named as the file's
        /metrics attributes (tables/SCHEMA.md), EvoApprox's percent forms
        included."""
        m = self._info.metrics
        d = {name: getattr(m, name) for name, _ in _lib.Metrics._fields_ if name != "hist"}
        d.update({"MAE": m.mae, "WCE": m.wce, "MSE": m.mse, "EP%": m.ep_pct, "MRE%": m.mre_pct,
                  "WCRE%": m.wcre_pct, "MAE%": m.mae_pct, "WCE%": m.wce_pct})
        for k in ("ep_pct", "mre_pct", "wcre_pct", "mae_pct", "wce_pct"):
            del d[k]
        return d

    @property
    def histogram(self):
        """Counts of (approx - exact) in 64 bins over [-R, R], R = metrics['hist_range']."""
        return np.array(self._info.metrics.hist[:], dtype=np.uint64)

    def __repr__(self):
        i = self.info
        return (f"<axlut.Table {i['design']}({i['parameters']}) {i['a_format']} x "
                f"{i['b_format']} -> {i['result_format']}, {i['path']}>")


class _Owned(np.ndarray):
    """An ndarray view that holds the object owning its memory."""

    def __new__(cls, a, owner):
        v = a.view(cls)
        v._owner = owner
        return v

    def __array_finalize__(self, obj):
        self._owner = getattr(obj, "_owner", None)


def _param_list(params):
    if params is None:
        return []
    if isinstance(params, dict):
        return [f"{k}={v}" for k, v in params.items()]
    if isinstance(params, str):
        return [p for p in params.split(",") if p]
    return [str(p) for p in params]


def gen(design, format=None, params=None, format_b=None, format_r=None, round=None,
        threads=0, timeout=0.0):
    """Evaluate DESIGN (a built-in name, or a user design's .c file) over
    every operand pair of FORMAT (x FORMAT_B) into a Table, as `axlut gen`
    does: PARAMS a dict {"k": 4} or "k=4" strings, ROUND the rounding of
    floating results; a user design runs in a child process (killed after
    TIMEOUT seconds, 0: no limit)."""
    user = ctypes.c_void_p()
    msg = _lib.msgbuf()
    design = os.fspath(design)
    try:
        if design.endswith(".c") or os.sep in design:
            if not design.endswith(".c"):
                raise AxlutError(f"{design}: a user design is a C file ending in .c")
            if not os.path.isfile(design):
                raise AxlutError(f"{design}: no such file", "io")
            log = ctypes.c_void_p()
            st = lib.axl_user_design_load(_lib.enc(design), ctypes.byref(user), ctypes.byref(log),
                                          msg)
            text = ctypes.cast(log, ctypes.c_char_p).value if log.value else None
            if log.value:
                _libc.free(log)
            if st != 0 and text:
                msg.value = (msg.value + b"\n" + text)[:_lib.MSG_LEN - 1]
            _lib.check(st, msg)
            d = lib.axl_user_design_get(user)
        else:
            d = lib.axl_design_find(_lib.enc(design))
            if not d:
                raise AxlutError(f"unknown design '{design}' (axlut.designs() lists them; a user "
                                 "design is a .c file)")
        dd = d.contents
        fa_name, fb_name = format, format_b
        if fa_name is None and dd.operands == 0:
            fa_name, fb_name = _lib.dec(dd.fmt_a), fb_name or _lib.dec(dd.fmt_b)
        if fa_name is None:
            raise AxlutError(f"design {_lib.dec(dd.name)} needs a format")
        fa = parse_format(fa_name)
        fb = parse_format(fb_name or fa_name)
        fr = parse_format(format_r) if format_r else None
        plist = _param_list(params)
        if round is not None:
            parse_round(round)
            plist.append(f"round={round}")
        arr = (ctypes.c_char_p * max(1, len(plist)))(*[_lib.enc(p) for p in plist])
        ctx = _lib.DesignCtx()
        _lib.check(lib.axl_design_bind(d, ctypes.byref(fa), ctypes.byref(fb),
                                       ctypes.byref(fr) if fr else None, arr, len(plist),
                                       ctypes.byref(ctx), msg), msg)
        opts = _lib.TableOpts()
        opts.threads = int(threads)
        if user.value:
            opts.source_sha256 = lib.axl_user_design_sha256(user)
        t = ctypes.c_void_p()
        if user.value:
            st = lib.axl_table_generate_isolated(d, ctypes.byref(ctx), ctypes.byref(opts),
                                                 float(timeout), ctypes.byref(t), None, msg)
        else:
            st = lib.axl_table_generate(d, ctypes.byref(ctx), ctypes.byref(opts), ctypes.byref(t),
                                        msg)
        _lib.check(st, msg)
        return Table(t.value)
    finally:
        # the table copies what it needs of the design: the object may go
        if user.value:
            lib.axl_user_design_free(user)


_libc = ctypes.CDLL(None)
_libc.free.argtypes = [ctypes.c_void_p]
_libc.free.restype = None
