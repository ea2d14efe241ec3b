"""Number formats: quantize float32 values to codes and decode codes back,
through the library's one definition of every format (format.h)."""
import ctypes

import numpy as np

from . import _lib
from ._lib import AxlutError, lib


def parse_format(name):
    """The library's descriptor of format NAME (a ctypes struct axl_format);
    AxlutError naming the part of the name that is wrong."""
    f = _lib.Format()
    msg = _lib.msgbuf()
    _lib.check(lib.axl_format_parse(_lib.enc(name), ctypes.byref(f), msg), msg)
    return f


def parse_round(mode):
    r = ctypes.c_int()
    if lib.axl_round_parse(_lib.enc(mode), ctypes.byref(r)) != 0:
        raise AxlutError(f"round '{mode}' is not one of nearest, zero, up, down, stochastic")
    return r.value


def format_info(name):
    """What the library knows of format NAME, as a dict: canonical name,
    kind (float/int/uint), bits, and for floating formats ebits, mbits,
    bias, subnormals; max (largest finite value)."""
    f = parse_format(name)
    d = {"name": _lib.dec(f.name), "kind": _lib.dec(lib.axl_format_kind_name(f.kind)),
         "bits": f.bits, "max": float(lib.axl_format_max_finite(ctypes.byref(f)))}
    if d["kind"] == "float":
        d.update(ebits=f.ebits, mbits=f.mbits, bias=f.bias, subnormals=bool(f.subnormals))
    return d


def formats():
    """The named formats (axlut list formats): a list of dicts with the
    format_info fields and a one-line note on each format's origin."""
    out = []
    for i in range(lib.axl_format_named_count()):
        name = _lib.dec(lib.axl_format_named(i))
        d = format_info(name)
        d["alias"] = name
        d["note"] = _lib.dec(lib.axl_format_named_note(i))
        out.append(d)
    return out


def _f32(a):
    """a as a C-contiguous float32 array, the same memory when it already is one."""
    return np.ascontiguousarray(a, dtype=np.float32)


def quantize(array, fmt, round="nearest", seed=None):
    """Codes (uint32, same shape) of float32 values in format FMT, rounded
    by ROUND (nearest, zero, up, down, stochastic); stochastic rounding of
    element i (in C order) uses the counter-based generator at (SEED, i),
    as `axlut quantize --seed SEED` numbers its values."""
    f = parse_format(fmt)
    r = parse_round(round)
    x = _f32(array)
    codes = np.empty(x.shape, dtype=np.uint32)
    lib.axl_format_encode_array(ctypes.byref(f), x.ctypes.data, x.size, r,
                                int(seed or 0) & (2**64 - 1), codes.ctypes.data)
    return codes


def decode(codes, fmt):
    """float32 values (same shape) of CODES in format FMT; a code wider
    than the format is an error."""
    f = parse_format(fmt)
    c = np.asarray(codes)
    if c.dtype.kind not in "ui":
        raise AxlutError(f"decode: codes must be integers, not {c.dtype}")
    if c.size and (c.min() < 0 or int(c.max()) >> f.bits):
        raise AxlutError(f"decode: codes of {_lib.dec(f.name)} are {f.bits}-bit, got "
                         f"{int(c.min())}..{int(c.max())}")
    c = np.ascontiguousarray(c, dtype=np.uint32)
    out = np.empty(c.shape, dtype=np.float32)
    lib.axl_format_decode_array(ctypes.byref(f), c.ctypes.data, c.size, out.ctypes.data)
    return out
