"""Loading libaxlut.so and declaring the C API for ctypes.

The binding is a thin layer: every computation happens in the C library,
whose public headers (include/axlut/*.h) the structures below mirror field
for field.  A status other than AXL_OK becomes an :class:`AxlutError`
carrying the library's one-line message.
"""
import ctypes
import ctypes.util
import glob
import os
import sys

MSG_LEN = 512  # AXL_MSG_LEN (status.h)
MAX_PARAMS = 4  # AXL_DESIGN_MAX_PARAMS (design.h)
MAX_DIMS = 8  # AXL_MAX_DIMS (graph.h)

STATUS_NAMES = ["ok", "invalid", "nomem", "io", "format", "mismatch", "unsupported", "cuda",
                "too_large", "compile"]


class AxlutError(Exception):
    """An error reported by the axlut C library: its one-line message, and
    the status (``.status``, e.g. "invalid", "io", "mismatch")."""

    def __init__(self, message, status="invalid"):
        super().__init__(message)
        self.status = status


# --- structures of the public headers --------------------------------------
c_float_p = ctypes.POINTER(ctypes.c_float)
c_u32_p = ctypes.POINTER(ctypes.c_uint32)


class Format(ctypes.Structure):  # struct axl_format (format.h)
    _fields_ = [("kind", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("ebits", ctypes.c_uint8),
                ("mbits", ctypes.c_uint8), ("special", ctypes.c_uint8),
                ("subnormals", ctypes.c_uint8), ("overflow", ctypes.c_uint8),
                ("pad_", ctypes.c_uint8), ("bias", ctypes.c_int32),
                ("name", ctypes.c_char * 32)]


class DesignParam(ctypes.Structure):  # struct axl_design_param (design.h)
    _fields_ = [("name", ctypes.c_char_p), ("default", ctypes.c_int32),
                ("min", ctypes.c_int32), ("max", ctypes.c_int32), ("help", ctypes.c_char_p)]


class Design(ctypes.Structure):  # struct axl_design (design.h)
    _fields_ = [("abi", ctypes.c_uint32), ("name", ctypes.c_char_p),
                ("description", ctypes.c_char_p), ("citation", ctypes.c_char_p),
                ("op", ctypes.c_uint8), ("operands", ctypes.c_uint8),
                ("mantissa_only", ctypes.c_uint8), ("fmt_a", ctypes.c_char_p),
                ("fmt_b", ctypes.c_char_p), ("fmt_r", ctypes.c_char_p),
                ("nparams", ctypes.c_uint32), ("params", DesignParam * MAX_PARAMS),
                ("eval", ctypes.c_void_p), ("version", ctypes.c_uint32),
                ("mantissa_core", ctypes.c_char_p)]


class DesignCtx(ctypes.Structure):  # struct axl_design_ctx (design.h)
    _fields_ = [("fa", Format), ("fb", Format), ("fr", Format),
                ("param", ctypes.c_int32 * MAX_PARAMS), ("id", ctypes.c_uint32),
                ("round", ctypes.c_uint8)]


class Metrics(ctypes.Structure):  # struct axl_metrics (table.h)
    _fields_ = ([(n, ctypes.c_uint64) for n in
                 ("pairs", "compared", "errors", "nan_results", "inf_results",
                  "exact_nonfinite", "special_mismatch", "rel_pairs")] +
                [(n, ctypes.c_double) for n in
                 ("ep", "mean_error", "mae", "mse", "rmse", "wce", "mred", "wre", "max_exact",
                  "nmed")] +
                [(n, ctypes.c_uint32) for n in ("wce_a", "wce_b", "wre_a", "wre_b")] +
                [(n, ctypes.c_double) for n in
                 ("output_range", "ep_pct", "mre_pct", "wcre_pct", "mae_pct", "wce_pct",
                  "hist_range")] +
                [("hist", ctypes.c_uint64 * 64)] +
                [(n, ctypes.c_uint64) for n in ("samples", "seed")] +
                [(n, ctypes.c_double) for n in
                 ("ci95_mean_error", "ci95_mae", "ci95_mse", "ci95_mred", "ci95_ep")])


class TableInfo(ctypes.Structure):  # struct axl_table_info (table.h)
    _fields_ = [("path", ctypes.c_uint32), ("op", ctypes.c_uint32), ("round", ctypes.c_uint32),
                ("fa", Format), ("fb", Format), ("fr", Format),
                ("ta", Format), ("tb", Format), ("tr", Format),
                ("rows", ctypes.c_uint64), ("cols", ctypes.c_uint64),
                ("entry_bytes", ctypes.c_uint32), ("design_version", ctypes.c_uint32),
                ("nparams", ctypes.c_uint32),
                ("param_names", (ctypes.c_char * 32) * MAX_PARAMS),
                ("param", ctypes.c_int32 * MAX_PARAMS),
                ("design", ctypes.c_char * 64), ("core_design", ctypes.c_char * 64),
                ("description", ctypes.c_char * 512), ("citation", ctypes.c_char * 512),
                ("parameters", ctypes.c_char * 512), ("source_sha256", ctypes.c_char * 72),
                ("generator_version", ctypes.c_char * 32),
                ("generator_commit", ctypes.c_char * 48), ("created", ctypes.c_char * 32),
                ("metrics", Metrics), ("metrics_only", ctypes.c_uint32),
                ("block_format", ctypes.c_char * 16)]


class TableOpts(ctypes.Structure):  # struct axl_table_opts (table.h)
    _fields_ = [("threads", ctypes.c_int), ("max_bits", ctypes.c_int),
                ("progress", ctypes.c_void_p), ("progress_user", ctypes.c_void_p),
                ("source_sha256", ctypes.c_char_p), ("mantissa_core", ctypes.POINTER(Design)),
                ("skip_metrics", ctypes.c_int), ("block_format", ctypes.c_char_p)]


class GemmArgs(ctypes.Structure):  # struct axl_gemm_args (mac.h)
    _fields_ = [("trans_a", ctypes.c_int), ("trans_b", ctypes.c_int),
                ("m", ctypes.c_int64), ("n", ctypes.c_int64), ("k", ctypes.c_int64),
                ("a", c_float_p), ("lda", ctypes.c_int64), ("b", c_float_p),
                ("ldb", ctypes.c_int64), ("bias", c_float_p), ("c", c_float_p),
                ("ldc", ctypes.c_int64)]


class ConvArgs(ctypes.Structure):  # struct axl_conv_args (mac.h)
    _fields_ = ([(n, ctypes.c_int64) for n in
                 ("n", "c", "h", "w", "oc", "kh", "kw", "stride_h", "stride_w", "pad_t", "pad_l",
                  "pad_b", "pad_r", "dil_h", "dil_w", "groups")] +
                [("x", c_float_p), ("weight", c_float_p), ("bias", c_float_p), ("y", c_float_p)])


class MacSpecC(ctypes.Structure):  # struct axl_mac_spec (mac.h)
    _fields_ = [("mul", ctypes.c_char_p), ("mul_params", ctypes.c_char_p * MAX_PARAMS),
                ("n_mul_params", ctypes.c_int), ("fmt_a", ctypes.c_char_p),
                ("fmt_w", ctypes.c_char_p), ("fmt_p", ctypes.c_char_p), ("round", ctypes.c_int),
                ("seed", ctypes.c_uint64), ("add", ctypes.c_char_p),
                ("add_params", ctypes.c_char_p * MAX_PARAMS), ("n_add_params", ctypes.c_int),
                ("fmt_acc", ctypes.c_char_p), ("order", ctypes.c_int), ("chunk", ctypes.c_uint32),
                ("path", ctypes.c_int), ("max_table_bits", ctypes.c_int), ("wquant", ctypes.c_int),
                ("act_range_set", ctypes.c_int), ("act_min", ctypes.c_float),
                ("act_max", ctypes.c_float), ("wscale", ctypes.c_int), ("ascale", ctypes.c_int),
                ("scale_pow2", ctypes.c_int), ("scale_margin", ctypes.c_int),
                ("act_amax", ctypes.c_float), ("block_add", ctypes.c_char_p),
                ("block_add_params", ctypes.c_char_p * MAX_PARAMS),
                ("n_block_add_params", ctypes.c_int), ("fmt_block_acc", ctypes.c_char_p)]


class LayerMacs(ctypes.Structure):  # struct axl_layer_macs (layers.h)
    _fields_ = [("n", ctypes.c_size_t), ("macs", ctypes.c_void_p), ("owned", ctypes.c_void_p),
                ("nowned", ctypes.c_size_t)]


class RunSettings(ctypes.Structure):  # struct axl_run_settings (run.h)
    _fields_ = [("backend", ctypes.c_int), ("batch", ctypes.c_int64), ("limit", ctypes.c_int64),
                ("progress", ctypes.c_void_p), ("progress_user", ctypes.c_void_p),
                ("save_outputs", ctypes.c_char_p), ("save_layers", ctypes.c_int),
                ("no_reference", ctypes.c_int)]


class RunReport(ctypes.Structure):  # struct axl_run_report (run.h)
    _fields_ = ([("samples", ctypes.c_int64), ("batch", ctypes.c_int64),
                 ("batching", ctypes.c_char * 160), ("has_labels", ctypes.c_int),
                 ("top_k", ctypes.c_int)] +
                [(n, ctypes.c_double) for n in
                 ("top1", "top5", "exact_top1", "exact_top5", "agreement", "seconds",
                  "exact_seconds", "samples_per_s")] +
                [("nlayers", ctypes.c_size_t), ("layers", ctypes.c_void_p),
                 ("out_sums", ctypes.c_double * 6), ("output_error", ctypes.c_double * 4),
                 ("reference", ctypes.c_int)])


# --- finding and loading the library ---------------------------------------
def _candidates():
    env = os.environ.get("AXLUT_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    # the source tree: python/axlut/ -> build*/libaxlut.so (AXL_BUILD_DIR first)
    root = os.path.dirname(os.path.dirname(here))
    build = os.environ.get("AXL_BUILD_DIR")
    if build:
        yield os.path.join(build, "libaxlut.so")
    for d in sorted(glob.glob(os.path.join(root, "build*"))):
        yield os.path.join(d, "libaxlut.so")
    # an installed prefix: the dynamic linker's path, then the usual prefixes
    found = ctypes.util.find_library("axlut")
    if found:
        yield found
    for prefix in (sys.prefix, "/usr/local", "/usr"):
        for sub in ("lib", "lib64", "lib/x86_64-linux-gnu", "lib/aarch64-linux-gnu"):
            yield os.path.join(prefix, sub, "libaxlut.so")


def _load():
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            # global: a user design (.c compiled and dlopen'ed by the library)
            # may call the library's functions
            return ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL), path
        except OSError as e:
            tried.append(f"{path} ({e})")
    raise ImportError("axlut: libaxlut.so not found; build it (cmake --build build) or install "
                      "it, or set AXLUT_LIBRARY=/path/to/libaxlut.so. Tried: " + "; ".join(tried))


lib, path = _load()


def blas_core():
    """The kernel set ("core") OpenBLAS chose in this process, or None when the
    library was built without OpenBLAS.  OpenBLAS chooses when it loads (from
    OPENBLAS_CORETYPE, else the CPU model); the exact float32 reference of a
    run goes through it, so its last bits follow the core.  Debian 12's
    OpenBLAS falls back to its SSE3 kernels ("Prescott") on CPUs newer than
    it knows; the axlut CLI then sets OPENBLAS_CORETYPE and starts itself
    again (tools/axlut.c), which a Python process cannot do: set the
    variable before starting Python to get the same kernels and bits."""
    try:
        f = lib.openblas_get_corename
    except AttributeError:
        return None
    f.restype = ctypes.c_char_p
    f.argtypes = []
    return f().decode()

# Every mirror above, by the C structure it mirrors.  A mirror that differs
# from the library's structure (a field added to a header and not here) makes
# the library write past the object Python allocated: a heap corruption that
# crashed much later, inside h5py.  So the layouts are compared with the
# library's own (abi.h) before anything is called, and a difference refuses
# to load, naming the field.
MIRRORS = {"axl_format": Format, "axl_design_param": DesignParam, "axl_design": Design,
           "axl_design_ctx": DesignCtx, "axl_metrics": Metrics, "axl_table_info": TableInfo,
           "axl_table_opts": TableOpts, "axl_gemm_args": GemmArgs, "axl_conv_args": ConvArgs,
           "axl_mac_spec": MacSpecC, "axl_layer_macs": LayerMacs,
           "axl_run_settings": RunSettings, "axl_run_report": RunReport}


def layout_mismatch(lib, ctype, mirror):
    """None when MIRROR (a ctypes.Structure) has the layout of the library's
    struct CTYPE: the same size and the same fields (offset and size, in
    order); else one line saying what differs."""
    lib.axl_abi_sizeof.restype = ctypes.c_size_t
    lib.axl_abi_sizeof.argtypes = [ctypes.c_char_p]
    lib.axl_abi_field.restype = ctypes.c_char_p
    lib.axl_abi_field.argtypes = [ctypes.c_char_p, ctypes.c_size_t,
                                  ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_size_t)]
    size = lib.axl_abi_sizeof(ctype.encode())
    if size == 0:
        return f"struct {ctype}: not described by the library"
    c_fields = []
    off, sz = ctypes.c_size_t(), ctypes.c_size_t()
    while True:
        name = lib.axl_abi_field(ctype.encode(), len(c_fields), ctypes.byref(off), ctypes.byref(sz))
        if name is None:
            break
        c_fields.append((name.decode(), off.value, sz.value))
    py_fields = [(n, getattr(mirror, n).offset, getattr(mirror, n).size)
                 for n, *_ in mirror._fields_]
    for i in range(max(len(c_fields), len(py_fields))):
        c = c_fields[i] if i < len(c_fields) else None
        p = py_fields[i] if i < len(py_fields) else None
        if c is None or p is None or c[1:] != p[1:]:
            def show(f):
                return "nothing" if f is None else f"{f[0]} at {f[1]} ({f[2]} bytes)"
            return (f"struct {ctype}: field {i} is {show(c)} in the library, {show(p)} in "
                    f"python/axlut/_lib.py {mirror.__name__}")
    if size != ctypes.sizeof(mirror):
        return (f"struct {ctype}: {size} bytes in the library, {ctypes.sizeof(mirror)} in "
                f"python/axlut/_lib.py {mirror.__name__}")
    return None


def _check_layouts(lib, path):
    if not hasattr(lib, "axl_abi_field"):
        raise ImportError(f"axlut: {path} is older than this binding (no axl_abi_field); use "
                          "the python/ package of the same source tree as the library")
    for ctype, mirror in MIRRORS.items():
        why = layout_mismatch(lib, ctype, mirror)
        if why:
            raise ImportError(f"axlut: {path} does not match this binding ({why}); use the "
                              "python/ package of the same source tree as the library")


_check_layouts(lib, path)

_P = ctypes.c_void_p
_S = ctypes.c_char_p
_I = ctypes.c_int
_I64 = ctypes.c_int64
_MSG = ctypes.c_char_p  # a caller-provided AXL_MSG_LEN buffer

_SIGNATURES = {
    "axl_strerror": (_S, [_I]),
    "axl_format_parse": (_I, [_S, ctypes.POINTER(Format), _MSG]),
    "axl_format_named_count": (ctypes.c_size_t, []),
    "axl_format_named": (_S, [ctypes.c_size_t]),
    "axl_format_named_note": (_S, [ctypes.c_size_t]),
    "axl_format_max_finite": (ctypes.c_float, [ctypes.POINTER(Format)]),
    "axl_round_parse": (_I, [_S, ctypes.POINTER(_I)]),
    "axl_round_name": (_S, [_I]),
    "axl_format_encode_array": (None, [ctypes.POINTER(Format), _P, ctypes.c_size_t, _I,
                                       ctypes.c_uint64, _P]),
    "axl_format_decode_array": (None, [ctypes.POINTER(Format), _P, ctypes.c_size_t, _P]),
    "axl_op_name": (_S, [_I]),
    "axl_design_count": (ctypes.c_size_t, []),
    "axl_design_at": (ctypes.POINTER(Design), [ctypes.c_size_t]),
    "axl_design_find": (ctypes.POINTER(Design), [_S]),
    "axl_design_bind": (_I, [ctypes.POINTER(Design), ctypes.POINTER(Format),
                             ctypes.POINTER(Format), ctypes.POINTER(Format),
                             ctypes.POINTER(_S), _I, ctypes.POINTER(DesignCtx), _MSG]),
    "axl_user_design_load": (_I, [_S, ctypes.POINTER(_P), ctypes.POINTER(_P), _MSG]),
    "axl_user_design_get": (ctypes.POINTER(Design), [_P]),
    "axl_user_design_sha256": (_S, [_P]),
    "axl_user_design_free": (None, [_P]),
    "axl_table_generate": (_I, [ctypes.POINTER(Design), ctypes.POINTER(DesignCtx),
                                ctypes.POINTER(TableOpts), ctypes.POINTER(_P), _MSG]),
    "axl_table_generate_isolated": (_I, [ctypes.POINTER(Design), ctypes.POINTER(DesignCtx),
                                         ctypes.POINTER(TableOpts), ctypes.c_double,
                                         ctypes.POINTER(_P), _P, _MSG]),
    "axl_table_write": (_I, [_P, _S, _I, _MSG]),
    "axl_table_load": (_I, [_S, ctypes.POINTER(_P), _MSG]),
    "axl_table_free": (None, [_P]),
    "axl_table_info": (ctypes.POINTER(TableInfo), [_P]),
    "axl_table_data": (_P, [_P]),
    "axl_table_path_name": (_S, [_I]),
    "axl_format_kind_name": (_S, [_I]),
    "axl_layers_new": (_I, [ctypes.POINTER(_P), _MSG]),
    "axl_layers_parse_json": (_I, [_S, _S, ctypes.POINTER(_P), _MSG]),
    "axl_layers_load_json": (_I, [_S, ctypes.POINTER(_P), _MSG]),
    "axl_layers_set_default": (_I, [_P, _S, _S, _MSG]),
    "axl_layers_free": (None, [_P]),
    "axl_layers_resolve": (None, [_P, _S, _S, ctypes.POINTER(MacSpecC), ctypes.POINTER(_I)]),
    "axl_layers_check": (_I, [_P, ctypes.POINTER(_S), ctypes.POINTER(_S), ctypes.c_size_t, _MSG]),
    "axl_layers_mac": (_I, [_P, _S, _S, ctypes.POINTER(_P), _MSG]),
    "axl_layers_bind": (_I, [_P, _P, ctypes.POINTER(LayerMacs), _MSG]),
    "axl_layer_macs_free": (None, [ctypes.POINTER(LayerMacs)]),
    "axl_mac_free": (None, [_P]),
    "axl_mac_describe": (None, [_P, ctypes.c_char_p, ctypes.c_size_t]),
    "axl_mac_path": (_I, [_P]),
    "axl_path_name": (_S, [_I]),
    "axl_mac_gemm": (_I, [_P, _I, ctypes.POINTER(GemmArgs), _MSG]),
    "axl_mac_conv2d": (_I, [_P, _I, ctypes.POINTER(ConvArgs), _MSG]),
    "axl_mac_quantize_acts": (_I, [_P, _P, _I64, _P, _MSG]),
    "axl_mac_quantize_weights": (_I, [_P, _P, _I64, _I64, _I64, _I64, _P, _MSG]),
    "axl_mac_operand_limit": (ctypes.c_float, [_P, _I]),
    "axl_conv_out_size": (_I, [ctypes.POINTER(ConvArgs), ctypes.POINTER(_I64),
                               ctypes.POINTER(_I64), _MSG]),
    "axl_cuda_compiled": (_I, []),
    "axl_cuda_device_count": (_I, [ctypes.c_char_p, ctypes.c_size_t]),
    "axl_graph_load": (_I, [_S, ctypes.POINTER(_P), _MSG]),
    "axl_graph_free": (None, [_P]),
    "axl_dataset_open": (_I, [_S, _P, ctypes.POINTER(_P), _MSG]),
    "axl_dataset_close": (None, [_P]),
    "axl_run_dataset": (_I, [_P, _P, _P, ctypes.POINTER(RunSettings), ctypes.POINTER(RunReport),
                             _MSG]),
    "axl_run_report_free": (None, [ctypes.POINTER(RunReport)]),
    "axl_run_report_write_json": (_I, [ctypes.POINTER(RunReport), _S, _S, _S, _MSG]),
}

for _name, (_res, _args) in _SIGNATURES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _res
    _fn.argtypes = _args


def msgbuf():
    return ctypes.create_string_buffer(MSG_LEN)


def check(status, msg, what=None):
    """Raise AxlutError for a status other than AXL_OK, with the library's
    message (or `what` when the library left none)."""
    if status == 0:
        return
    text = msg.value.decode("utf-8", "replace") if msg is not None else ""
    if not text:
        text = what or lib.axl_strerror(status).decode()
    name = STATUS_NAMES[status] if 0 <= status < len(STATUS_NAMES) else str(status)
    raise AxlutError(text, name)


def enc(s):
    return None if s is None else str(s).encode("utf-8")


def dec(b):
    return "" if b is None else b.decode("utf-8", "replace")
