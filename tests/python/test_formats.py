"""axlut.quantize / axlut.decode against `axlut quantize --raw` on every
code of several formats and on values between and beyond them."""
import numpy as np
import pytest

import axlut

FORMATS = ["e4m3", "e5m2", "e2m1", "e3m2", "e2m3", "fp16", "bf16", "int8", "uint4", "e4m3fnuz"]


def cli_decode(cli, fmt, codes):
    out = cli("quantize", fmt, "--decode", "--raw",
              input=np.ascontiguousarray(codes, dtype="<u4").tobytes())
    return np.frombuffer(out, dtype="<f4")


def cli_encode(cli, fmt, values, *opts):
    out = cli("quantize", fmt, *opts, "--raw",
              input=np.ascontiguousarray(values, dtype="<f4").tobytes())
    return np.frombuffer(out, dtype="<u4")


def same_floats(a, b):
    """Bitwise equal float32 arrays (every NaN equal to every NaN)."""
    both_nan = np.isnan(a) & np.isnan(b)
    return np.array_equal(a.view(np.uint32)[~both_nan], b.view(np.uint32)[~both_nan])


@pytest.mark.parametrize("fmt", FORMATS)
def test_decode_every_code_equals_cli(cli, fmt):
    bits = axlut.format_info(fmt)["bits"]
    codes = np.arange(1 << bits, dtype=np.uint32)
    got = axlut.decode(codes, fmt)
    assert got.dtype == np.float32 and got.shape == codes.shape
    want = cli_decode(cli, fmt, codes)
    assert len(want) == len(codes)
    assert same_floats(got, want)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", ["nearest", "zero", "up", "down", "stochastic"])
def test_quantize_equals_cli(cli, fmt, mode):
    bits = axlut.format_info(fmt)["bits"]
    vals = axlut.decode(np.arange(1 << bits, dtype=np.uint32), fmt).astype(np.float64)
    vals = np.unique(vals[np.isfinite(vals)])
    # every value, the midpoints (ties), a point beside each, beyond the range
    mids = (vals[1:] + vals[:-1]) / 2
    rng = np.random.default_rng(1)
    x = np.concatenate([vals, mids, mids * (1 + 1e-3), vals * 1.01, [np.inf, -np.inf, np.nan],
                        rng.standard_normal(1000) * min(np.abs(vals).max(), 1e38)]).astype(np.float32)
    opts = ["--round", mode] + (["--seed", "7"] if mode == "stochastic" else [])
    got = axlut.quantize(x, fmt, round=mode, seed=7 if mode == "stochastic" else None)
    want = cli_encode(cli, fmt, x, *opts)
    assert got.dtype == np.uint32 and got.shape == x.shape
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [(float(x[i]), hex(got[i]), hex(want[i])) for i in bad[:10]]


def test_shapes_views_and_seeds():
    x = np.linspace(-3, 3, 24, dtype=np.float32).reshape(2, 3, 4)
    c = axlut.quantize(x, "e4m3")
    assert c.shape == (2, 3, 4)
    # a non-contiguous view is quantized as its values, in C order
    assert np.array_equal(axlut.quantize(x[:, ::2], "e4m3"), c[:, ::2])
    assert np.array_equal(axlut.decode(c, "e4m3").reshape(-1),
                          axlut.decode(c.reshape(-1), "e4m3"))
    y = np.full(10000, 1.0 + 1 / 32, dtype=np.float32)  # between two e4m3 values
    a = axlut.quantize(y, "e4m3", round="stochastic", seed=1)
    b = axlut.quantize(y, "e4m3", round="stochastic", seed=2)
    assert not np.array_equal(a, b) and len(np.unique(a)) == 2


def test_errors_carry_the_library_message():
    with pytest.raises(axlut.AxlutError, match="e9m30"):
        axlut.quantize([1.0], "e9m30")
    with pytest.raises(axlut.AxlutError, match="round 'sideways'"):
        axlut.quantize([1.0], "e4m3", round="sideways")
    with pytest.raises(axlut.AxlutError, match="8-bit"):
        axlut.decode([256], "e4m3")
    with pytest.raises(axlut.AxlutError, match="integers"):
        axlut.decode([1.5], "e4m3")


def test_formats_lists_the_named_formats():
    names = {f["alias"]: f for f in axlut.formats()}
    assert {"fp32", "bf16", "e4m3", "e2m1"} <= set(names)
    assert names["e4m3"]["max"] == 448.0 and names["e4m3"]["bits"] == 8
    assert names["bf16"]["ebits"] == 8 and names["bf16"]["mbits"] == 7
