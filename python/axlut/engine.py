"""The MAC engine: GEMM and 2-D convolution with every multiply and add of
the reduction going through a configured design (mac.h), and the layer
configurations of `axlut run` (layers.h, docs/CONFIG.md)."""
import ctypes
import json
import os

import numpy as np

from . import _lib
from ._lib import AxlutError, lib

_BACKENDS = {"cpu": 0, "cuda": 1}

# MacSpec field -> the key of axl_layers_set_default (the CLI option's name)
_KEYS = {"mul": "mul", "params": "param", "format": "format", "format_w": "format-w",
         "format_p": "format-p", "round": "round", "seed": "seed", "add": "add",
         "add_params": "add-param", "acc_format": "acc-format", "order": "order",
         "chunk": "chunk", "path": "path", "wquant": "wquant"}


def _param_strings(p):
    if p is None:
        return []
    if isinstance(p, dict):
        return [f"{k}={v}" for k, v in p.items()]
    if isinstance(p, str):
        return [s for s in p.split(",") if s]
    return [str(s) for s in p]


class MacSpec:
    """One layer's MAC configuration, the options of `axlut run` as
    keywords: mul (design, user design .c or table .h5), params ({"k": 4}),
    format (activations, and weights unless format_w), format_w, format_p,
    round, seed, add (adder design), add_params, acc_format, order
    (sequential, pairwise, chunked), chunk, path (auto, table, mantissa,
    function), wquant (per-channel, per-tensor).  No field: exact float32.
    Values are checked by the library when the spec is used."""

    def __init__(self, mul=None, params=None, format=None, format_w=None, format_p=None,
                 round=None, seed=None, add=None, add_params=None, acc_format=None, order=None,
                 chunk=None, path=None, wquant=None):
        given = dict(mul=mul, params=params, format=format, format_w=format_w,
                     format_p=format_p, round=round, seed=seed, add=add, add_params=add_params,
                     acc_format=acc_format, order=order, chunk=chunk, path=path, wquant=wquant)
        self._fields = {k: v for k, v in given.items() if v is not None}
        self._macs = {}

    @property
    def fields(self):
        return dict(self._fields)

    def options(self):
        """The same configuration as `axlut run` options: ["--mul", "x", ...]."""
        out = []
        for k, v in self._fields.items():
            for s in (_param_strings(v) if k in ("params", "add_params") else [str(v)]):
                out += ["--" + _KEYS[k], s]
        return out

    def to_json(self):
        """The configuration as a rule of the per-layer JSON (docs/CONFIG.md)."""
        d = {}
        for k, v in self._fields.items():
            if k in ("params", "add_params"):
                d[k] = {s.split("=", 1)[0]: int(s.split("=", 1)[1]) for s in _param_strings(v)}
            else:
                d[k] = v
        return d

    def __repr__(self):
        inner = ", ".join(f"{k}={v!r}" for k, v in self._fields.items())
        return f"MacSpec({inner})"

    def mac(self, layer="layer", op="Conv"):
        """The prepared engine (cached: tables are built once per spec)."""
        key = (layer, op)
        if key not in self._macs:
            self._macs[key] = Layers(self).mac(layer, op)
        return self._macs[key]


class Layers:
    """A configuration of `axlut run`: a default plus per-layer rules.
    Made from None (every layer exact), a MacSpec (the default), a dict in
    the per-layer JSON form ({"default": {...}, "layers": [...]}), or the
    path of such a JSON file."""

    def __init__(self, config=None):
        self._h = ctypes.c_void_p()
        msg = _lib.msgbuf()
        if isinstance(config, Layers):
            config = config.config
        self.config = config
        if config is None or isinstance(config, MacSpec):
            _lib.check(lib.axl_layers_new(ctypes.byref(self._h), msg), msg)
            spec = config.fields if config is not None else {}
            for k, v in spec.items():
                for s in (_param_strings(v) if k in ("params", "add_params") else [str(v)]):
                    st = lib.axl_layers_set_default(self._h, _lib.enc(_KEYS[k]), _lib.enc(s), msg)
                    if st != 0:
                        msg.value = f"{k}: ".encode() + msg.value
                    _lib.check(st, msg)
        elif isinstance(config, dict):
            text = json.dumps(config)
            _lib.check(lib.axl_layers_parse_json(_lib.enc(text), b"config", ctypes.byref(self._h),
                                                 msg), msg)
        elif isinstance(config, (str, os.PathLike)):
            _lib.check(lib.axl_layers_load_json(_lib.enc(os.fspath(config)),
                                                ctypes.byref(self._h), msg), msg)
        else:
            raise TypeError("config: None, a MacSpec, a dict like the per-layer JSON or a JSON "
                            f"file's path, not {type(config).__name__}")

    def __del__(self):
        if getattr(self, "_h", None) and self._h.value:
            lib.axl_layers_free(self._h)
            self._h = None

    def exact(self, layer, op):
        """Whether the rules keep layer LAYER of operator OP exact."""
        spec, ex = _lib.MacSpecC(), ctypes.c_int()
        lib.axl_layers_resolve(self._h, _lib.enc(layer), _lib.enc(op), ctypes.byref(spec),
                               ctypes.byref(ex))
        return bool(ex.value)

    def check(self, names, ops):
        """AxlutError when a rule matches none of the layers (NAMES, OPS),
        naming the rule and the closest layer name."""
        n = len(names)
        na = (ctypes.c_char_p * max(n, 1))(*[_lib.enc(x) for x in names])
        oa = (ctypes.c_char_p * max(n, 1))(*[_lib.enc(x) for x in ops])
        msg = _lib.msgbuf()
        _lib.check(lib.axl_layers_check(self._h, na, oa, n, msg), msg)

    def _key(self, layer, op):
        """What the rules give layer LAYER: layers with equal keys get equal
        engines (as axl_layers_bind shares them within a graph)."""
        spec, ex = _lib.MacSpecC(), ctypes.c_int()
        lib.axl_layers_resolve(self._h, _lib.enc(layer), _lib.enc(op), ctypes.byref(spec),
                               ctypes.byref(ex))
        if ex.value:
            return ("exact",)
        return tuple(tuple(v) if isinstance(v, ctypes.Array) else v
                     for v in (getattr(spec, f) for f, _ in spec._fields_))

    def mac(self, layer, op):
        """The engine of a layer named LAYER of operator OP (Conv, Gemm,
        MatMul...) under this configuration: the exact float32 one where the
        rules keep it exact.  Layers configured alike share one engine
        (tables are built once)."""
        cache = self.__dict__.setdefault("_macs", {})
        key = self._key(layer, op)
        if key not in cache:
            cache[key] = self._make(layer, op)
        return cache[key]

    def _make(self, layer, op):
        h = ctypes.c_void_p()
        msg = _lib.msgbuf()
        _lib.check(lib.axl_layers_mac(self._h, _lib.enc(layer), _lib.enc(op), ctypes.byref(h),
                                      msg), msg)
        return Mac(h.value)


class Mac:
    """A prepared MAC engine (formats parsed, design bound, tables built)."""

    def __init__(self, handle):
        self._h = ctypes.c_void_p(handle)

    def __del__(self):
        if getattr(self, "_h", None) and self._h.value:
            lib.axl_mac_free(self._h)
            self._h = None

    def describe(self):
        buf = ctypes.create_string_buffer(512)
        lib.axl_mac_describe(self._h, buf, len(buf))
        return _lib.dec(buf.value)

    @property
    def path(self):
        return _lib.dec(lib.axl_path_name(lib.axl_mac_path(self._h)))

    def operand_limit(self, role):
        """Largest magnitude of operand ROLE (0 activation, 1 weight) that
        its format represents without clipping (inf: no clipping)."""
        return float(lib.axl_mac_operand_limit(self._h, role))

    def quantize_acts(self, x):
        """x encoded as this engine's activations and decoded back to float32."""
        x = _f32(x, "x")
        out = np.empty_like(x)
        msg = _lib.msgbuf()
        _lib.check(lib.axl_mac_quantize_acts(self._h, x.ctypes.data, x.size, out.ctypes.data,
                                             msg), msg)
        return out

    def quantize_weights(self, w):
        """Weights w[nout, ...] (per output channel as configured) encoded and
        decoded back to float32."""
        w = _f32(w, "w")
        nout = w.shape[0]
        k = w.size // max(nout, 1)
        out = np.empty_like(w)
        msg = _lib.msgbuf()
        _lib.check(lib.axl_mac_quantize_weights(self._h, w.ctypes.data, nout, k, k, 1,
                                                out.ctypes.data, msg), msg)
        return out

    def __repr__(self):
        return f"<axlut.Mac {self.describe()}>"

    # a model holding engines may be deep-copied (the copy shares the
    # prepared engine, which calls do not change) but not pickled
    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        raise TypeError("axlut.Mac holds C state and cannot be pickled; save the MacSpec or "
                        "the configuration instead")


def _f32(a, what):
    a = np.asarray(a)
    if a.dtype != np.float32:
        a = a.astype(np.float32)
    return np.ascontiguousarray(a)


def _fptr(a):
    return None if a is None else a.ctypes.data_as(_lib.c_float_p)


_DICT_CONFIGS = {}  # JSON text -> Layers: a dict config prepares its engines once


def _engine(spec, layer, op):
    if isinstance(spec, Mac):
        return spec
    if spec is None:
        spec = MacSpec()
    if isinstance(spec, MacSpec):
        return spec.mac(layer, op)
    if isinstance(spec, dict):
        key = json.dumps(spec, sort_keys=True)
        if key not in _DICT_CONFIGS:
            if len(_DICT_CONFIGS) >= 16:
                _DICT_CONFIGS.pop(next(iter(_DICT_CONFIGS)))
            _DICT_CONFIGS[key] = Layers(spec)
        return _DICT_CONFIGS[key].mac(layer, op)
    return Layers(spec).mac(layer, op)


def cuda_devices():
    """The number of CUDA devices the library sees (0 where it was built
    without CUDA or there is none): device="cuda" needs one."""
    if not lib.axl_cuda_compiled():
        return 0
    return max(0, lib.axl_cuda_device_count(None, 0))


def _backend(device):
    if device not in _BACKENDS:
        raise AxlutError(f"device '{device}' is not cpu or cuda")
    return _BACKENDS[device]


def _rows(a):
    """(array, leading dimension): a 2-D float32 array whose rows may be
    apart in memory (a slice) is passed as it is; anything else as a
    contiguous copy."""
    a = np.asarray(a)
    if (a.dtype == np.float32 and a.ndim == 2 and a.strides[1] == 4 and a.strides[0] >= 4 *
            a.shape[1] and a.strides[0] % 4 == 0):
        return a, a.strides[0] // 4
    a = _f32(a, "")
    return a, a.shape[1] if a.ndim == 2 else 0


def gemm(a, b, spec=None, bias=None, trans_a=False, trans_b=False, layer="gemm", op="Gemm",
         device="cpu", out=None):
    """C = op(A) @ op(B) + bias through the engine: A holds activations
    (M x K, or K x M with trans_a), B weights (K x N, or N x K with trans_b,
    as nn.Linear's weight), bias N values added exactly.  SPEC: a MacSpec,
    a prepared Mac, a per-layer configuration (dict or JSON path: the rules
    for layer LAYER of operator OP apply), or None (exact float32)."""
    m_ = _engine(spec, layer, op)
    a, lda = _rows(a)
    b, ldb = _rows(b)
    if a.ndim != 2 or b.ndim != 2:
        raise AxlutError(f"gemm: A and B must be matrices, got {a.ndim}-D and {b.ndim}-D")
    M, K = (a.shape[1], a.shape[0]) if trans_a else a.shape
    K2, N = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if K != K2:
        raise AxlutError(f"gemm: op(A) is {M}x{K} but op(B) is {K2}x{N}")
    if bias is not None:
        bias = _f32(bias, "bias").reshape(-1)
        if bias.size != N:
            raise AxlutError(f"gemm: bias has {bias.size} values for {N} outputs")
    if out is None:
        out = np.empty((M, N), dtype=np.float32)
    elif out.dtype != np.float32 or out.shape != (M, N) or not out.flags.c_contiguous:
        raise AxlutError(f"gemm: out must be a C-contiguous float32 {M}x{N} array")
    g = _lib.GemmArgs(int(bool(trans_a)), int(bool(trans_b)), M, N, K, _fptr(a), lda, _fptr(b),
                      ldb, _fptr(bias), _fptr(out), N)
    msg = _lib.msgbuf()
    _lib.check(lib.axl_mac_gemm(m_._h, _backend(device), ctypes.byref(g), msg), msg)
    return out


def _pair(v, what):
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(x) for x in v)
    if len(v) != 2:
        raise AxlutError(f"conv2d: {what} must be an int or a pair")
    return v


def conv2d(x, weight, bias=None, spec=None, stride=1, padding=0, dilation=1, groups=1,
           layer="conv", op="Conv", device="cpu", out=None):
    """NCHW convolution through the engine, as an ONNX Conv / nn.Conv2d:
    x [N, C, H, W], weight [OC, C/groups, KH, KW], bias [OC] (added
    exactly); padding an int, (ph, pw) or (top, left, bottom, right); the
    padding enters the multiplier as the code of 0.  SPEC as for gemm."""
    m_ = _engine(spec, layer, op)
    x = _f32(x, "x")
    w = _f32(weight, "weight")
    if x.ndim != 4 or w.ndim != 4:
        raise AxlutError(f"conv2d: x and weight must be 4-D, got {x.ndim}-D and {w.ndim}-D")
    sh, sw = _pair(stride, "stride")
    dh, dw = _pair(dilation, "dilation")
    if isinstance(padding, int):
        pads = (padding,) * 4
    else:
        p = tuple(int(v) for v in padding)
        pads = (p[0], p[1], p[0], p[1]) if len(p) == 2 else p
        if len(pads) != 4:
            raise AxlutError("conv2d: padding must be an int, (ph, pw) or (top, left, bottom, "
                             "right)")
    N, C, H, W = x.shape
    OC, CG, KH, KW = w.shape
    if groups < 1 or C % groups or OC % groups or CG != C // groups:
        raise AxlutError(f"conv2d: weight {OC}x{CG}x{KH}x{KW} does not fit {C} input channels "
                         f"in {groups} groups")
    if bias is not None:
        bias = _f32(bias, "bias").reshape(-1)
        if bias.size != OC:
            raise AxlutError(f"conv2d: bias has {bias.size} values for {OC} output channels")
    a = _lib.ConvArgs(N, C, H, W, OC, KH, KW, sh, sw, pads[0], pads[1], pads[2], pads[3], dh, dw,
                      groups, _fptr(x), _fptr(w), _fptr(bias), None)
    oh, ow = ctypes.c_int64(), ctypes.c_int64()
    msg = _lib.msgbuf()
    _lib.check(lib.axl_conv_out_size(ctypes.byref(a), ctypes.byref(oh), ctypes.byref(ow), msg),
               msg)
    shape = (N, OC, oh.value, ow.value)
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif out.dtype != np.float32 or out.shape != shape or not out.flags.c_contiguous:
        raise AxlutError(f"conv2d: out must be a C-contiguous float32 {shape} array")
    a.y = _fptr(out)
    _lib.check(lib.axl_mac_conv2d(m_._h, _backend(device), ctypes.byref(a), msg), msg)
    return out
