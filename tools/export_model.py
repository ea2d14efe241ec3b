#!/usr/bin/env -S /usr/bin/python3
"""Export a PyTorch model to ONNX with its exact outputs on a few inputs.

    tools/export_model.py MODEL -o MODEL.onnx [--h5 REF.h5 | --no-h5]
        [--batch B] [--data DATA.h5] [--input-shape [NAME=]DIMS]...
        [--input-name NAME]... [--output-name NAME]... [--opset N]
        [--seed S] [--weights STATE.pt] [--load-onnx RETRAINED.onnx]
        [--save-state STATE.pt] [--keep-bn] [--static-batch]

MODEL is a built-in name (run --list) or `module:function` /
`path/to/file.py:function`, where function() returns an nn.Module, or a
tuple (module, input shapes) with the shapes as a dict input name -> per-sample
shape (without the batch axis), e.g. {"input": (1, 28, 28)}.

The model is put in eval mode and exported with torch.onnx.export (opset 13
by default, a dynamic batch axis named "batch" on every input and output
unless --static-batch, constants folded).  By default the exporter folds
each BatchNormalization into the preceding Conv; --keep-bn keeps them as
BatchNormalization nodes (TrainingMode.PRESERVE on an eval-mode model).

The companion HDF5 file (default: the ONNX path with .h5) holds
  /inputs/<input name>    float32 B x ...: the inputs used
  /outputs/<output name>  float32 B x ...: PyTorch's outputs on them
                          (model.eval(), torch.no_grad())
and root attributes model, opset, inputs_from, seed, torch_version.
Inputs are standard-normal random numbers (fixed --seed) or, with --data,
the first B samples of an axlut dataset file (uint8 inputs decoded with
their scale and offset).

--load-onnx takes the weights of a retrained ONNX file (e.g. written by
axlut's training, which keeps the exported initializers' names) into the
model: each initializer whose name is a state_dict key replaces that entry
(after --weights, if given).  Initializers without a key are listed; those
called onnx::Conv_* or onnx::MatMul_* are tensors the exporter made up (a
BatchNormalization folded into its Conv: export with --keep-bn to keep the
names; a transposed weight), whose values cannot go back into the model.
Nothing matched is an error.  --save-state writes the state_dict (for
continuing in PyTorch); with it, -o is optional.

The ONNX file is checked with onnx.checker (and run with onnxruntime where
it is installed) before it is renamed into place; the set of operator types
in the graph is printed.  Exit status: 0 done, 1 check failed, 2 bad input.
"""
import argparse
import hashlib
import importlib
import importlib.util
import io
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_dataset import InputError, atomic_output, fail  # noqa: E402

PROG = "export_model.py"


class CheckError(Exception):
    """The exported model failed a check: exit status 1."""


# Built-in models: name -> (module in tools/, function).  Each function
# returns (model, {input name: per-sample shape}).
BUILTINS = {
    "lenet": ("train_demo", "lenet_model"),
    "resnet_bn": ("make_model_fixtures", "resnet_bn"),
    "mobilenetv2_block": ("make_model_fixtures", "mobilenetv2_block"),
    "transformer_block": ("make_model_fixtures", "transformer_block"),
}


def parse_dims(text):
    try:
        dims = tuple(int(d) for d in text.lower().replace(",", "x").split("x"))
    except ValueError:
        raise InputError(f"bad shape '{text}' (expected e.g. 1x28x28)")
    if not dims or any(d <= 0 for d in dims):
        raise InputError(f"bad shape '{text}' (dimensions must be positive)")
    return dims


def load_model(spec):
    """Return (model, input shapes dict or None) for a built-in name or
    module:function."""
    if spec in BUILTINS:
        modname, fn = BUILTINS[spec]
        mod = importlib.import_module(modname)
    else:
        if ":" not in spec:
            raise InputError(f"unknown model '{spec}' (a built-in name: "
                             f"{', '.join(BUILTINS)}; or module:function)")
        modname, fn = spec.rsplit(":", 1)
        try:
            if modname.endswith(".py") or os.sep in modname:
                if not os.path.exists(modname):
                    raise InputError(f"{modname}: no such file")
                s = importlib.util.spec_from_file_location(
                    os.path.splitext(os.path.basename(modname))[0], modname)
                mod = importlib.util.module_from_spec(s)
                s.loader.exec_module(mod)
            else:
                sys.path.insert(0, os.getcwd())
                mod = importlib.import_module(modname)
        except InputError:
            raise
        except Exception as e:
            raise InputError(f"{modname}: cannot import ({type(e).__name__}: {e})")
    if not hasattr(mod, fn):
        raise InputError(f"{modname}: has no function '{fn}'")
    res = getattr(mod, fn)()
    shapes = None
    if isinstance(res, tuple):
        res, shapes = res
    import torch
    if not isinstance(res, torch.nn.Module):
        raise InputError(f"{spec}: returned {type(res).__name__}, not a torch.nn.Module")
    return res, shapes


def read_data_inputs(path, names, batch):
    """First `batch` samples of each input from an axlut dataset file."""
    import h5py
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file")
    try:
        f = h5py.File(path, "r")
    except OSError:
        raise InputError(f"{path}: not a readable HDF5 file")
    out = {}
    with f:
        if "inputs" not in f:
            raise InputError(f"{path}: no /inputs")
        for name in names:
            node = f["inputs"]
            if isinstance(node, h5py.Group):
                if name not in node:
                    raise InputError(f"{path}: no /inputs/{name} for input '{name}'")
                node = node[name]
            elif len(names) > 1:
                raise InputError(f"{path}: the model has {len(names)} inputs; "
                                 "the file needs /inputs/<name> for each")
            if node.shape[0] < batch:
                raise InputError(f"{path}: {node.name} has {node.shape[0]} samples, "
                                 f"--batch asks for {batch}")
            arr = node[:batch]
            if arr.dtype == np.uint8:
                if "scale" not in node.attrs or "offset" not in node.attrs:
                    raise InputError(f"{path}: {node.name} is uint8 without "
                                     "scale/offset attributes")
                arr = (arr.astype(np.float64) * float(node.attrs["scale"])
                       + float(node.attrs["offset"])).astype(np.float32)
            elif arr.dtype != np.float32:
                raise InputError(f"{path}: {node.name} is {arr.dtype}, "
                                 "expected float32 or uint8")
            out[name] = arr
    return out


def load_onnx_weights(model, path):
    """Copy the initializers of the ONNX file at `path` into `model`'s
    parameters and buffers, matching initializer names to state_dict keys
    (the first of duplicated names).  Returns (matched, unmatched): the keys
    set, and the initializer names with no key.  A shape that differs from
    the key's is an InputError; the model is then unchanged."""
    import onnx
    import torch
    from onnx import numpy_helper
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # protobuf's on a file that is not ONNX
            m = onnx.load(path)
    except Exception as e:
        raise InputError(f"{path}: not a readable ONNX file ({type(e).__name__}: {e})")
    state = model.state_dict()
    found, unmatched = {}, []
    for init in m.graph.initializer:
        if init.name in found:
            continue
        if init.name not in state:
            unmatched.append(init.name)
            continue
        arr = numpy_helper.to_array(init)
        want = tuple(state[init.name].shape)
        if tuple(arr.shape) != want:
            raise InputError(f"{path}: initializer '{init.name}' has shape "
                             f"{tuple(arr.shape)}, the model's {want}")
        found[init.name] = arr
    with torch.no_grad():
        for k, arr in found.items():
            state[k].copy_(torch.from_numpy(np.array(arr)).to(state[k].dtype))
    return list(found), unmatched


def report_onnx_weights(path, model, matched, unmatched):
    """Say what --load-onnx matched; InputError when nothing did."""
    if not matched:
        raise InputError(f"{path}: none of its {len(unmatched)} initializers is a "
                         "state_dict key of the model (is it an export of this model?)")
    keys = list(model.state_dict())
    print(f"{path}: {len(matched)} of {len(keys)} state_dict entries loaded: "
          f"{' '.join(matched)}")
    made_up = [n for n in unmatched if n.startswith("onnx::")]
    if unmatched:
        print(f"{path}: warning: {len(unmatched)} initializers match no state_dict key "
              f"and were not loaded: {' '.join(unmatched)}", file=sys.stderr)
    if made_up:
        print(f"{path}: warning: names like {made_up[0]} are tensors the exporter made "
              "(a BatchNormalization folded into its Conv, a transposed weight); the "
              "model keeps its previous values there (export with --keep-bn to keep "
              "BatchNormalization's names)", file=sys.stderr)
    rest = [k for k in keys if k not in matched and not k.endswith("num_batches_tracked")]
    if rest:
        print(f"{path}: warning: {len(rest)} state_dict entries keep their previous "
              f"values: {' '.join(rest)}", file=sys.stderr)


def save_state(model, path):
    import torch
    with atomic_output(path) as tmp:
        torch.save(model.state_dict(), tmp)
    print(f"{path}: state_dict of {len(model.state_dict())} entries")


def op_types(onnx_model):
    return sorted({n.op_type for n in onnx_model.graph.node})


def export(model, inputs, onnx_path, h5_path=None, output_names=None, opset=13,
           dynamic_batch=True, keep_bn=False, attrs=None, quiet=False):
    """Export `model` (eval mode) on `inputs` (dict name -> float32 array,
    batch first) to `onnx_path`, and its PyTorch outputs to `h5_path`.
    Returns (list of op types, dict name -> output array)."""
    import h5py
    import onnx
    import torch

    model.eval()
    names = list(inputs)
    tens = tuple(torch.from_numpy(np.ascontiguousarray(inputs[n])) for n in names)
    with torch.no_grad():
        out = model(*tens)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    if output_names is None:
        output_names = (["output"] if len(outs) == 1
                        else [f"output{i}" for i in range(len(outs))])
    if len(output_names) != len(outs):
        raise InputError(f"the model has {len(outs)} outputs, "
                         f"{len(output_names)} output names given")
    outputs = {n: o.detach().numpy().astype(np.float32) for n, o in zip(output_names, outs)}
    dyn = ({n: {0: "batch"} for n in names + list(output_names)}
           if dynamic_batch else None)
    training = (torch.onnx.TrainingMode.PRESERVE if keep_bn
                else torch.onnx.TrainingMode.EVAL)

    with atomic_output(onnx_path) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            buf = io.StringIO()
            # The exporter prints diagnostics on stdout for some models.
            old = sys.stdout
            sys.stdout = buf if quiet else old
            try:
                with torch.no_grad():
                    torch.onnx.export(model, tens, tmp, input_names=names,
                                      output_names=list(output_names),
                                      dynamic_axes=dyn, opset_version=opset,
                                      do_constant_folding=True, training=training)
            finally:
                sys.stdout = old
        m = onnx.load(tmp)
        try:
            onnx.checker.check_model(m, full_check=True)
        except Exception as e:
            raise CheckError(f"{onnx_path}: onnx.checker rejects the export: {e}")
        got_in = [i.name for i in m.graph.input]
        got_out = [o.name for o in m.graph.output]
        if got_in != names or got_out != list(output_names):
            raise CheckError(f"{onnx_path}: graph inputs {got_in} / outputs {got_out}, "
                             f"expected {names} / {list(output_names)}")
        ort_err = check_onnxruntime(tmp, inputs, outputs)
        if h5_path:
            with open(tmp, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            with atomic_output(h5_path) as htmp:
                text = h5py.string_dtype("utf-8")
                with h5py.File(htmp, "w") as f:
                    for n in names:
                        f.create_dataset(f"inputs/{n}", data=inputs[n])
                    for n in output_names:
                        f.create_dataset(f"outputs/{n}", data=outputs[n])
                    a = {"model": os.path.basename(onnx_path), "model_sha256": digest,
                         "opset": int(opset), "torch_version": torch.__version__,
                         "generator": "tools/export_model.py"}
                    a.update(attrs or {})
                    for k, v in a.items():
                        if isinstance(v, str):
                            f.attrs.create(k, v, dtype=text)
                        else:
                            f.attrs[k] = v
        ops = op_types(m)
    if not quiet and ort_err is not None:
        print(f"onnxruntime: max abs difference from PyTorch {ort_err:.3g}")
    return ops, outputs


def check_onnxruntime(path, inputs, outputs):
    """Run the model with onnxruntime if it is installed; return the largest
    absolute difference from PyTorch (None without onnxruntime)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    res = sess.run(list(outputs), dict(inputs))
    worst = 0.0
    for (n, ref), got in zip(outputs.items(), res):
        d = float(np.max(np.abs(ref.astype(np.float64) - got))) if ref.size else 0.0
        tol = 1e-4 * max(1.0, float(np.max(np.abs(ref))))
        if not d <= tol:
            raise CheckError(f"{path}: onnxruntime output '{n}' differs from PyTorch "
                             f"by {d:.3g} (tolerance {tol:.3g})")
        worst = max(worst, d)
    return worst


def main(argv):
    ap = argparse.ArgumentParser(
        prog=PROG, description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?", help="built-in name or module:function")
    ap.add_argument("-o", "--output", metavar="MODEL.onnx")
    ap.add_argument("--h5", metavar="REF.h5", help="companion file (default: MODEL.h5)")
    ap.add_argument("--no-h5", action="store_true", help="write no companion file")
    ap.add_argument("--batch", type=int, default=2, metavar="B",
                    help="number of samples (default 2)")
    ap.add_argument("--data", metavar="DATA.h5", help="take the inputs from a dataset file")
    ap.add_argument("--input-shape", action="append", default=[], metavar="[NAME=]DIMS",
                    help="per-sample input shape, e.g. 1x28x28 (repeat for several inputs)")
    ap.add_argument("--input-name", action="append", default=[], metavar="NAME",
                    help="input names (default: from the model function, else 'input')")
    ap.add_argument("--output-name", action="append", default=[], metavar="NAME",
                    help="output names (default 'output', or output0, output1, ...)")
    ap.add_argument("--opset", type=int, default=13, help="ONNX opset (default 13)")
    ap.add_argument("--seed", type=int, default=0, help="seed for weights and inputs")
    ap.add_argument("--weights", metavar="STATE.pt", help="load a state_dict")
    ap.add_argument("--load-onnx", metavar="RETRAINED.onnx",
                    help="load the weights of a retrained ONNX file by initializer name")
    ap.add_argument("--save-state", metavar="STATE.pt",
                    help="write the model's state_dict (after --weights, --load-onnx)")
    ap.add_argument("--keep-bn", action="store_true",
                    help="keep BatchNormalization nodes (no Conv+BN folding)")
    ap.add_argument("--static-batch", action="store_true", help="no dynamic batch axis")
    ap.add_argument("--list", action="store_true", help="list the built-in models")
    args = ap.parse_args(argv)

    if args.list:
        for name, (mod, fn) in BUILTINS.items():
            print(f"{name:20s} tools/{mod}.py:{fn}")
        return 0
    if not args.model or not (args.output or args.save_state):
        fail(PROG, "a MODEL and -o MODEL.onnx (or --save-state STATE.pt) are required "
             "(see --help)")
    if not 7 <= args.opset <= 17:
        fail(PROG, f"--opset {args.opset}: this exporter supports 7..17")
    if args.batch <= 0:
        fail(PROG, f"--batch must be positive, got {args.batch}")
    try:
        import torch
        torch.manual_seed(args.seed)
        model, shapes = load_model(args.model)
        if args.weights:
            try:
                state = torch.load(args.weights, map_location="cpu")
            except Exception as e:
                raise InputError(f"{args.weights}: cannot load ({e})")
            try:
                model.load_state_dict(state)
            except RuntimeError as e:
                first = str(e).strip().splitlines()
                raise InputError(f"{args.weights}: does not fit the model "
                                 f"({' '.join(x.strip() for x in first[:3])})")
        if args.load_onnx:
            if not os.path.isfile(args.load_onnx):
                raise InputError(f"{args.load_onnx}: no such file")
            matched, unmatched = load_onnx_weights(model, args.load_onnx)
            report_onnx_weights(args.load_onnx, model, matched, unmatched)
        if args.save_state:
            save_state(model, args.save_state)
            if not args.output:
                return 0
        # Input names and shapes: command line over what the model declares.
        given = {}
        for item in args.input_shape:
            name, _, dims = item.rpartition("=")
            given[name or None] = parse_dims(dims)
        names = list(args.input_name) or (list(shapes) if shapes else None) \
            or [k for k in given if k] or ["input"]
        if None in given:
            if len(names) != 1 or len([k for k in given if k]) > 0:
                raise InputError("--input-shape without NAME= needs exactly one input")
            given[names[0]] = given.pop(None)
        for k in given:
            if k not in names:
                raise InputError(f"--input-shape {k}=...: no input named '{k}' "
                                 f"(inputs: {', '.join(names)})")
        spec = {}
        for n in names:
            if n in given:
                spec[n] = given[n]
            elif shapes and n in shapes:
                spec[n] = tuple(shapes[n])
            elif shapes and len(shapes) == len(names):
                spec[n] = tuple(list(shapes.values())[names.index(n)])
            elif not args.data:
                raise InputError(f"no shape for input '{n}' (pass --input-shape {n}=DIMS)")
        if args.data:
            inputs = read_data_inputs(args.data, names, args.batch)
            for n in names:
                if n in spec and inputs[n].shape[1:] != spec[n]:
                    raise InputError(
                        f"{args.data}: input '{n}' has per-sample shape "
                        f"{'x'.join(map(str, inputs[n].shape[1:]))}, the model wants "
                        f"{'x'.join(map(str, spec[n]))}")
            source = f"first {args.batch} samples of {os.path.basename(args.data)}"
        else:
            g = np.random.default_rng(args.seed)
            inputs = {n: g.standard_normal((args.batch,) + spec[n]).astype(np.float32)
                      for n in names}
            source = f"standard normal, numpy default_rng({args.seed})"
        h5 = None if args.no_h5 else (args.h5 or os.path.splitext(args.output)[0] + ".h5")
        try:
            ops, _ = export(model, inputs, args.output, h5, args.output_name or None,
                            args.opset, not args.static_batch, args.keep_bn,
                            {"inputs_from": source, "seed": args.seed,
                             "model_spec": args.model})
        except RuntimeError as e:
            msg = str(e).strip().splitlines()
            raise InputError(f"{args.model}: PyTorch cannot run or export it "
                             f"({msg[0] if msg else type(e).__name__})")
    except InputError as e:
        fail(PROG, str(e))
    except CheckError as e:
        fail(PROG, str(e), 1)
    size = os.path.getsize(args.output)
    print(f"{args.output}: {size} bytes, opset {args.opset}, ops: {' '.join(ops)}")
    if h5:
        print(f"{h5}: inputs and PyTorch outputs ({source})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
