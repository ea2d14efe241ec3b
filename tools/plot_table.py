#!/usr/bin/python3
"""Draw an axlut table's error: a heatmap over the operand plane and the
error histogram stored in the file.

    tools/plot_table.py TABLE.h5 [-o OUT.png] [--relative | --absolute] [--check]

Reads the table with h5py only (no axlut): the operand and result codes are
decoded from the format fields stored as attributes (tables/SCHEMA.md), the
exact unit's result is recomputed for every (a, b) the way the metrics define
it (integers: the exact product or sum; floats: the exact product or sum
rounded once into the result format), and the error is approx - exact.
Row = operand a (vertical axis), column = operand b (horizontal axis); for a
mantissa table the axes are the two significands (hidden bit included).

--check compares the recomputed MAE and error count with the file's
/metrics and exits 1 if they differ (the test suite uses it).
Exit status: 0 done, 1 check failed, 2 bad input.
"""
import argparse
import os
import sys

import h5py
import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)


class Fmt:
    """A format read from the `F_*` attributes of a table file."""

    def __init__(self, attrs, key):
        def get(name):
            full = key + "_" + name
            if full not in attrs:
                raise KeyError(f"attribute '{full}' is missing")
            return attrs[full]

        self.name = str(attrs[key])
        self.kind = str(get("kind"))
        self.bits = int(get("bits"))
        self.ebits = int(get("ebits"))
        self.mbits = int(get("mbits"))
        self.bias = int(get("bias"))
        self.special = str(get("special"))
        self.subnormals = int(get("subnormals"))
        self.overflow = str(get("overflow"))

    def decode(self, codes):
        """Codes (any integer array) to float64 values; NaN and +-inf as such."""
        c = np.asarray(codes, dtype=np.int64) & ((1 << self.bits) - 1)
        if self.kind == "uint":
            return c.astype(np.float64)
        if self.kind == "int":
            neg = (c >> (self.bits - 1)) & 1
            return (c - (neg << self.bits)).astype(np.float64)
        m, e_bits = self.mbits, self.ebits
        sign = np.where((c >> (e_bits + m)) & 1, -1.0, 1.0)
        e = (c >> m) & ((1 << e_bits) - 1)
        f = c & ((1 << m) - 1)
        emax_code = (1 << e_bits) - 1
        normal = sign * np.ldexp(1.0 + f / float(1 << m), (e - self.bias).astype(np.int32))
        sub = sign * np.ldexp(f / float(1 << m), 1 - self.bias)
        if not self.subnormals:
            sub = sign * 0.0
        v = np.where(e == 0, sub, normal)
        if self.special == "ieee":
            v = np.where((e == emax_code) & (f == 0), sign * np.inf, v)
            v = np.where((e == emax_code) & (f != 0), np.nan, v)
        elif self.special == "fn":
            v = np.where((e == emax_code) & (f == (1 << m) - 1), np.nan, v)
        elif self.special == "fnuz":
            v = np.where(c == (1 << (self.bits - 1)), np.nan, v)
        return v

    def max_finite(self):
        m = self.mbits
        if self.special == "ieee":
            e, f = (1 << self.ebits) - 2, (1 << m) - 1
        elif self.special == "fn":
            e, f = (1 << self.ebits) - 1, (1 << m) - 2
        else:
            e, f = (1 << self.ebits) - 1, (1 << m) - 1
        return np.ldexp(1.0 + f / float(1 << m), e - self.bias)

    def round(self, y, mode):
        """Real values (float64, exact) rounded once into this floating format."""
        y = np.asarray(y, dtype=np.float64)
        out = y.copy()
        fin = np.isfinite(y) & (y != 0)
        emin = 1 - self.bias
        ay = np.where(fin, np.abs(y), 1.0)
        e = np.maximum(np.floor(np.log2(ay)), emin)
        q = np.ldexp(1.0, (e - self.mbits).astype(np.int32))
        t = y / q  # exact: a power-of-two scaling
        if mode == "zero":
            r = np.trunc(t)
        elif mode == "up":
            r = np.ceil(t)
        elif mode == "down":
            r = np.floor(t)
        else:  # nearest (and stochastic, whose reference is nearest-even)
            r = np.round(t)  # numpy rounds halves to even
        r = r * q
        if not self.subnormals:
            r = np.where(np.abs(r) < np.ldexp(1.0, emin), 0.0 * np.sign(y), r)
        mx = self.max_finite()
        with np.errstate(invalid="ignore"):
            return np.where(fin, self._overflow(y, r, mx, mode), out)

    def _overflow(self, y, r, mx, mode):
        over = np.abs(r) > mx
        if self.overflow == "saturate":
            big = np.sign(y) * mx
        elif self.special == "ieee":
            pos = y > 0
            to_inf = {"zero": np.zeros_like(pos), "up": pos, "down": ~pos}.get(mode, np.ones_like(pos))
            big = np.where(to_inf, np.sign(y) * np.inf, np.sign(y) * mx)
        else:
            big = np.full_like(y, np.nan)
        return np.where(over, big, r)


def exact_results(ta, tb, tr, op, mode):
    """The exact unit's result for every (a, b) of the table's axes."""
    va = ta.decode(np.arange(1 << ta.bits))[:, None]
    vb = tb.decode(np.arange(1 << tb.bits))[None, :]
    with np.errstate(invalid="ignore", over="ignore"):
        y = va * vb if op == "mul" else va + vb
    if tr.kind == "float":
        # products and sums of these formats (at most float32 values) are
        # exact in double except sums of far-apart magnitudes; the error of
        # such a sum is below the result's half ulp, as for the metrics.
        y = tr.round(y, mode)
    return y


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("table")
    ap.add_argument("-o", "--output", help="PNG to write (default: TABLE with .png)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--relative", action="store_true",
                   help="plot (approx - exact) / |exact| (default for floating results)")
    g.add_argument("--absolute", action="store_true",
                   help="plot approx - exact (default for integer results)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless the recomputed MAE and error count match /metrics")
    args = ap.parse_args(argv)

    try:
        f = h5py.File(args.table, "r")
    except OSError as e:
        print(f"plot_table: {args.table}: not a readable HDF5 file ({e})", file=sys.stderr)
        return 2
    with f:
        try:
            if int(f.attrs["schema_version"]) != 1:
                raise KeyError(f"schema_version {int(f.attrs['schema_version'])} is not 1")
            ta, tb, tr = (Fmt(f.attrs, k) for k in
                          ("table_a_format", "table_b_format", "table_result_format"))
            op, path = str(f.attrs["op"]), str(f.attrs["path"])
            mode = str(f.attrs["round"])
            design, params = str(f.attrs["design"]), str(f.attrs["parameters"])
            unit = f"{f.attrs['a_format']} x {f.attrs['b_format']} -> {f.attrs['result_format']}"
            lut = f["lut"][...]
            hist = f["error_histogram"][...]
            edges = f["error_histogram"].attrs["edges"][...]
            metrics = dict(f["metrics"].attrs)
        except KeyError as e:
            print(f"plot_table: {args.table}: not an axlut table: {e}", file=sys.stderr)
            return 2

    x = tr.decode(lut)
    y = exact_results(ta, tb, tr, op, mode)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = x - y
        compared = np.isfinite(x) & np.isfinite(y)
        err = np.where(compared, err, np.nan)
        same = (x == y) | (np.isnan(x) & np.isnan(y))
        n_err = int(np.count_nonzero(~same))
        mae = float(np.mean(np.abs(err[compared]))) if compared.any() else 0.0
        rel = np.where(compared & (y != 0), err / np.abs(y), np.nan)

    relative = args.relative or (tr.kind == "float" and not args.absolute)
    plane = rel if relative else err
    what = "relative error (approx - exact) / |exact|" if relative else "error approx - exact"

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(13, 5.6),
                                   gridspec_kw={"width_ratios": [1.15, 1]})
    # Colour limits at the 99.5th percentile of |error|, so that a few outliers
    # (e.g. products flushed to zero) do not wash out the rest of the plane.
    finite = np.abs(plane[np.isfinite(plane)])
    top = float(finite.max()) if finite.size else 0.0
    lim = float(np.percentile(finite, 99.5)) if finite.size else 0.0
    lim = lim if lim > 0 else (top if top > 0 else 1.0)
    if lim < top:
        what += f"\ncolours clipped at +-{lim:.3g} (99.5th percentile; max {top:.3g})"
    cmap = plt.get_cmap("RdBu_r").copy()
    cmap.set_bad("0.75")  # non-finite pairs, and exact 0 in relative plots
    im = ax0.imshow(plane, origin="lower", cmap=cmap, vmin=-lim, vmax=lim,
                    interpolation="nearest", aspect="auto",
                    extent=(-0.5, lut.shape[1] - 0.5, -0.5, lut.shape[0] - 0.5))
    axis = "significand" if path == "mantissa" else "code"
    ax0.set_xlabel(f"b ({tb.name} {axis}, weight)")
    ax0.set_ylabel(f"a ({ta.name} {axis}, activation)")
    ax0.set_title(what + ("\ngrey: not compared (NaN/inf or exact 0)" if relative
                          else "\ngrey: NaN/inf results"), fontsize=9)
    fig.colorbar(im, ax=ax0, fraction=0.046, pad=0.04, extend="both" if lim < top else "neither")

    width = np.diff(edges)
    ax1.bar(edges[:-1], np.maximum(hist, 0), width=width, align="edge",
            color="tab:blue", edgecolor="none")
    if hist.max() > 0:
        ax1.set_yscale("log")
    ax1.set_xlabel("error approx - exact (output units)")
    ax1.set_ylabel("operand pairs")
    ax1.set_title("/error_histogram (64 bins over compared pairs)", fontsize=9)

    title = f"{design}" + (f" ({params})" if params else "") + f": {op} {unit}, path {path}"
    if path == "mantissa":
        title += f" (core {ta.name} x {tb.name} -> {tr.name})"
    sub = (f"MAE {metrics.get('mae', float('nan')):.4g}   "
           f"WCE {metrics.get('wce', float('nan')):.4g}   "
           f"MRED {metrics.get('mred', float('nan')):.4g}   "
           f"bias {metrics.get('mean_error', float('nan')):.4g}   "
           f"EP% {metrics.get('EP%', float('nan')):.4g}")
    fig.suptitle(title + "\n" + sub, fontsize=10)
    fig.tight_layout()
    out = args.output or os.path.splitext(args.table)[0] + ".png"
    fig.savefig(out, dpi=110)
    print(f"wrote {out}: recomputed MAE {mae:.6g} (file {metrics.get('mae', float('nan')):.6g}), "
          f"{n_err} pairs differ from exact (file {int(metrics.get('errors', -1))})")

    if args.check:
        fm = float(metrics.get("mae", np.nan))
        ok = abs(mae - fm) <= 1e-9 * max(1.0, abs(fm)) and n_err == int(metrics.get("errors", -1))
        if not ok:
            print("plot_table: --check: the recomputed error does not match /metrics",
                  file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
