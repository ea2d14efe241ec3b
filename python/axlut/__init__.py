"""axlut: emulation of approximate and reduced-precision multiply-accumulate
hardware, from Python.

A thin ctypes binding over the C library libaxlut.so (no second
implementation of anything): number formats, designs and their tables, the
MAC engine on NumPy arrays, whole ONNX networks.  ``import axlut.torch``
adds approximate PyTorch layers.

The library is found through $AXLUT_LIBRARY, the source tree's build
directory, then the dynamic linker's path and the usual prefixes.
"""
from ._lib import AxlutError, path as library_path
from .engine import Layers, Mac, MacSpec, conv2d, cuda_devices, gemm
from .formats import decode, format_info, formats, quantize
from .network import run
from .tables import Table, designs, gen

__version__ = "0.1.0"

__all__ = ["AxlutError", "Layers", "Mac", "MacSpec", "Table", "conv2d", "cuda_devices", "decode", "designs",
           "format_info", "formats", "gemm", "gen", "library_path", "quantize", "run"]
