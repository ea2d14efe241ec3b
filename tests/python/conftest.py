"""Shared fixtures of the Python binding's tests: the package from the
source tree's python/, the library ctest names in $AXLUT_LIBRARY (else the
build tree's), the CLI beside it."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "tools"))


def build_dir():
    if os.environ.get("AXL_BUILD_DIR"):
        return os.environ["AXL_BUILD_DIR"]
    lib = os.environ.get("AXLUT_LIBRARY")
    return os.path.dirname(lib) if lib else os.path.join(ROOT, "build")


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def cli():
    """run the axlut CLI: cli(*args, input=bytes) -> stdout bytes (exit 0 required)."""
    exe = os.path.join(build_dir(), "axlut")
    assert os.access(exe, os.X_OK), f"{exe}: the axlut binary is not built"

    # the CLI chooses OpenBLAS's kernels where the user has not (tools/axlut.c);
    # the same kernels as this process, so that exact references agree bit for bit
    from axlut import _lib
    env = dict(os.environ)
    if _lib.blas_core():
        env["OPENBLAS_CORETYPE"] = _lib.blas_core()

    def run(*args, input=None):
        p = subprocess.run([exe, *map(str, args)], input=input, capture_output=True, env=env)
        assert p.returncode == 0, f"axlut {' '.join(map(str, args))}: {p.stderr.decode()}"
        return p.stdout

    return run
