#!/usr/bin/env -S /usr/bin/python3
"""Write an axlut dataset (HDF5) from Fashion-MNIST.

    tools/make_dataset.py [--split test|train] [--limit N] [--uint8]
                          [--input-name NAME] [--dir DIR] -o DATA.h5

Reads the IDX files (gzipped or not) of Debian's dataset-fashion-mnist
package (/usr/share/datasets/fashion-mnist; --dir or $AXL_FMNIST_DIR
overrides) and writes:

  /inputs   float32 N x 1 x 28 x 28, normalised as the demo model was trained:
            x = (pixel / 255 - MEAN) / STD, i.e. x = scale * pixel + offset
            with scale = 1 / (255 STD) and offset = -MEAN / STD, evaluated in
            double and rounded once to float32.  Attributes: `normalization`
            (that formula as text), `mean`, `std`, `scale`, `offset`.
            With --uint8: the raw pixels as uint8 N x 1 x 28 x 28 with the
            same attributes; value = float32(scale * code + offset).
  /labels   int64 N (class index 0..9)
  root attributes (variable-length UTF-8 strings): `source`, `classes`
            (the ten class names, in label order).

With --input-name NAME the images go to /inputs/NAME instead (the form a
model with several inputs reads: one dataset per input name under the
/inputs group).  The file is written under a temporary name and renamed
when complete.  Exit status: 0 done, 2 bad input.

Other axlut scripts import this file for the IDX reader, the normalisation
and the atomic-write helper.
"""
import argparse
import contextlib
import gzip
import os
import struct
import sys

import numpy as np

PROG = "make_dataset.py"

# The axlut scripts import this module before torch.  PyTorch's OpenMP
# threads spin while they wait by default, which on a small shared machine
# (2 cores, other jobs running) makes 2 threads ten times slower than 1;
# passive waiting avoids that.  Takes effect only if set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"

# Normalisation used by the demo model (tools/train_demo.py): the mean and
# standard deviation of the 60000 training images' pixels / 255, rounded.
MEAN = 0.2860
STD = 0.3530
SCALE = 1.0 / (255.0 * STD)
OFFSET = -MEAN / STD
NORMALIZATION = (f"x = float32((pixel / 255 - {MEAN}) / {STD}) = "
                 f"float32(scale * pixel + offset), scale = 1/(255*{STD}), "
                 f"offset = -{MEAN}/{STD}, computed in double")

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class InputError(Exception):
    """Bad input: reported as one line, exit status 2."""


def fail(prog, msg, code=2):
    print(f"{prog}: error: {msg}", file=sys.stderr)
    sys.exit(code)


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path next to `path`; rename it to `path` when the
    block completes, remove it if the block raises."""
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(d):
        raise InputError(f"{path}: directory '{d}' does not exist")
    tmp = os.path.join(d, f".{os.path.basename(path)}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_idx(path):
    """Read an IDX file (optionally gzipped) into a numpy array."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})")
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise InputError(f"{path}: corrupt gzip data ({e})")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise InputError(f"{path}: not an IDX file (bad magic number)")
    types = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"),
             0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
    if raw[2] not in types:
        raise InputError(f"{path}: unknown IDX element type 0x{raw[2]:02x}")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise InputError(f"{path}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    dt = np.dtype(types[raw[2]])
    need = int(np.prod(dims, dtype=np.int64)) * dt.itemsize
    body = raw[4 + 4 * ndim:]
    if len(body) != need:
        raise InputError(f"{path}: IDX body has {len(body)} bytes, header says {need}")
    return np.frombuffer(body, dtype=dt).reshape(dims)


def find_file(directory, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(directory, name)
        if os.path.exists(p):
            return p
    raise InputError(f"{os.path.join(directory, stem)}[.gz]: not found "
                     "(install dataset-fashion-mnist or pass --dir)")


def load_fashion_mnist(split, limit=None, directory=None):
    """Return (images uint8 N x 1 x 28 x 28, labels int64 N, source text)."""
    if split not in FILES:
        raise InputError(f"unknown split '{split}' (test or train)")
    directory = directory or os.environ.get("AXL_FMNIST_DIR") or DEFAULT_DIR
    ipath = find_file(directory, FILES[split][0])
    lpath = find_file(directory, FILES[split][1])
    images = read_idx(ipath)
    labels = read_idx(lpath)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise InputError(f"{ipath}: expected uint8 N x 28 x 28 images, "
                         f"got {images.dtype} {'x'.join(map(str, images.shape))}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise InputError(f"{lpath}: expected {images.shape[0]} labels, "
                         f"got shape {'x'.join(map(str, labels.shape))}")
    if labels.size and labels.max() >= len(CLASSES):
        raise InputError(f"{lpath}: label {int(labels.max())} out of range 0..9")
    total = images.shape[0]
    if limit is not None:
        if limit <= 0:
            raise InputError(f"--limit must be positive, got {limit}")
        images, labels = images[:limit], labels[:limit]
    n = images.shape[0]
    source = (f"Fashion-MNIST {split} split, {os.path.basename(ipath)}: "
              f"first {n} of {total} images" if n < total else
              f"Fashion-MNIST {split} split, {os.path.basename(ipath)}: all {total} images")
    return images[:, None, :, :].copy(), labels.astype(np.int64), source


def normalize(codes):
    """uint8 pixels -> float32 inputs, exactly as the dataset file stores them."""
    return (np.asarray(codes, dtype=np.float64) * SCALE + OFFSET).astype(np.float32)


def write_dataset(path, inputs, labels=None, source="", classes=None,
                  input_name=None, attrs=None):
    """Write an axlut dataset file atomically.

    inputs: one array (goes to /inputs or /inputs/<input_name>) or a dict
    name -> array (goes to /inputs/<name> each).  attrs: dict applied to
    every input dataset (e.g. scale/offset for uint8)."""
    import h5py

    text = h5py.string_dtype("utf-8")
    if not isinstance(inputs, dict):
        inputs = {input_name: inputs} if input_name else {None: inputs}
    with atomic_output(path) as tmp:
        with h5py.File(tmp, "w") as f:
            for name, arr in inputs.items():
                key = "inputs" if name is None else f"inputs/{name}"
                ds = f.create_dataset(key, data=arr)
                for k, v in (attrs or {}).items():
                    if isinstance(v, str):
                        ds.attrs.create(k, v, dtype=text)
                    else:
                        ds.attrs[k] = v
            if labels is not None:
                f.create_dataset("labels", data=np.asarray(labels, dtype=np.int64))
            f.attrs.create("source", source, dtype=text)
            if classes is not None:
                f.attrs.create("classes", np.array(classes, dtype=object), dtype=text)


def main(argv):
    ap = argparse.ArgumentParser(
        prog=PROG, description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="test", choices=["test", "train"],
                    help="which split (default: test, 10000 images)")
    ap.add_argument("--limit", type=int, metavar="N", help="keep the first N images")
    ap.add_argument("--uint8", action="store_true",
                    help="store raw uint8 pixels with scale/offset attributes")
    ap.add_argument("--input-name", metavar="NAME",
                    help="write /inputs/NAME instead of /inputs")
    ap.add_argument("--dir", metavar="DIR",
                    help=f"directory with the IDX files (default {DEFAULT_DIR})")
    ap.add_argument("-o", "--output", required=True, metavar="DATA.h5")
    args = ap.parse_args(argv)

    if args.input_name is not None and (not args.input_name or "/" in args.input_name):
        fail(PROG, f"--input-name '{args.input_name}': must be non-empty, without '/'")
    try:
        images, labels, source = load_fashion_mnist(args.split, args.limit, args.dir)
        attrs = {"normalization": NORMALIZATION, "mean": MEAN, "std": STD,
                 "scale": SCALE, "offset": OFFSET}
        data = images if args.uint8 else normalize(images)
        write_dataset(args.output, data, labels, source, CLASSES,
                      input_name=args.input_name, attrs=attrs)
    except InputError as e:
        fail(PROG, str(e))
    except OSError as e:
        fail(PROG, f"{args.output}: cannot write ({e})")
    kind = "uint8" if args.uint8 else "float32"
    where = f"/inputs/{args.input_name}" if args.input_name else "/inputs"
    print(f"{args.output}: {images.shape[0]} images ({kind} at {where}), labels, "
          f"from {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
