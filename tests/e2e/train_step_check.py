#!/usr/bin/env -S /usr/bin/python3
"""One optimizer step of `axlut train` against the same step in PyTorch.

    tests/e2e/train_step_check.py AXLUT [--models NAME,...]

For each model (LeNet-5, a residual net with BatchNormalization kept as
nodes, the zoo's vision transformer), from the same random weights and one
batch of random inputs and labels: PyTorch computes the mean softmax
cross-entropy, its gradients by autograd and one SGD step (and one Adam
step, and for the residual net a step in training mode with batch
statistics, whose running averages must match too); axlut runs
`axlut train MODEL --epochs 1 --batch B --limit B` with the same settings
(one step: one batch of all the samples) and writes the retrained ONNX.
Every initializer of that file must equal torch's updated weights within
float32 tolerance.  Initializers the exporter renamed (onnx::MatMul_*, the
transposes of Linear weights) are matched to their torch parameter by value
before the step.

Exit 0 all equal, 1 a mismatch, 77 without torch/onnx/h5py (ctest skips).
"""
import os
import subprocess
import sys
import tempfile

try:
    import h5py
    import numpy as np
    import onnx
    import torch
    import torch.nn.functional as F
    from onnx import numpy_helper
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "..", "tools")
sys.path.insert(0, TOOLS)
import export_model  # noqa: E402
import make_model_fixtures  # noqa: E402
import train_zoo  # noqa: E402

BATCH = 8


def models():
    torch.manual_seed(1)
    lenet, _ = make_model_fixtures.lenet()
    res, rshape = make_model_fixtures.resnet_bn()
    make_model_fixtures.settle_norm_layers(res, tuple(rshape["input"]), 1)
    vit = train_zoo.build("vit", 1)
    # no two parameters equal (the exporter would merge them into one
    # initializer: LayerNorm's ones and zeros at initialisation)
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for m in (lenet, res, vit):
            for p in m.parameters():
                p.add_(0.05 * torch.randn(p.shape, generator=g))
    return [("lenet", lenet, (1, 28, 28), False), ("resnet_bn", res, (3, 16, 16), True),
            ("vit", vit, (1, 28, 28), False)]


def torch_step(model, x, y, opt, lr, bn_train):
    model.train(bn_train)
    params = [p for p in model.parameters()]
    o = (torch.optim.SGD(params, lr=lr, momentum=0.9) if opt == "sgd"
         else torch.optim.Adam(params, lr=lr))
    o.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    grads = {k: p.grad.detach().clone().numpy() for k, p in model.named_parameters()}
    o.step()
    model.eval()
    return grads


def write_data(path, x, y):
    with h5py.File(path, "w") as f:
        f["inputs"] = x.numpy()
        f["labels"] = y.numpy().astype(np.int64)


def onnx_weights(path):
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}


def name_map(before, model):
    """onnx initializer name -> (torch key, transposed)."""
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    out = {}
    for n, a in before.items():
        if n in state:
            out[n] = (n, False)
            continue
        for k, v in state.items():
            if v.ndim == 2 and v.T.shape == a.shape and np.array_equal(v.T, a):
                out[n] = (k, True)
                break
    return out


def check(name, model, shape, bn, opt, axlut, tmp):
    import copy
    g = torch.Generator().manual_seed(7)
    x = torch.randn((BATCH,) + shape, generator=g)
    y = torch.randint(0, 10, (BATCH,), generator=g)
    model.eval()
    src = os.path.join(tmp, f"{name}.onnx")
    export_model.export(model, {"input": x.numpy()}, src, None, ["output"], 13, True, bn,
                        quiet=True)
    data = os.path.join(tmp, f"{name}.h5")
    write_data(data, x, y)
    before = onnx_weights(src)
    names = name_map(before, model)
    lr = 0.05 if opt == "sgd" else 1e-3
    bn_train = bn and opt == "bn-train"
    ref = copy.deepcopy(model)
    grads = torch_step(ref, x, y, "adam" if opt == "adam" else "sgd", lr, bn_train)
    out = os.path.join(tmp, f"{name}-{opt}.onnx")
    cmd = [axlut, "train", src, "--data", data, "-o", out, "--epochs", "1", "--batch",
           str(BATCH), "--limit", str(BATCH), "--lr", str(lr), "--schedule", "constant",
           "--optimizer", "adam" if opt == "adam" else "sgd", "--quiet"]
    if bn_train:
        cmd += ["--bn", "train"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"{name} {opt}: axlut train failed: {r.stderr.strip()}")
        return 1
    after = onnx_weights(out)
    state = {k: v.detach().numpy() for k, v in ref.state_dict().items()}
    bad = checked = moved_some = 0
    for n, a in after.items():
        if n not in names or a.dtype != np.float32:
            continue
        k, tr = names[n]
        want = state[k].T if tr else state[k]
        checked += 1
        step = np.abs(want - before[n])
        # float32 gradients summed in another order: an error well below the
        # step itself, per element
        tol = 1e-6 + 1e-6 * np.abs(want) + 2e-3 * step
        over = np.abs(a - want) > tol
        if opt == "adam" and k in grads:
            # a gradient that is zero but for rounding (the key bias of
            # attention: softmax ignores it) has a random sign: Adam moves
            # it by the rate either way; such elements prove nothing
            gr = np.abs(grads[k].T if tr else grads[k])
            over &= gr > 1e-4 * gr.max() + 1e-9
        moved_some += float(np.median(step)) > 1e-5
        if over.sum() > 0:
            i = int(np.argmax(np.abs(a - want) - tol))
            print(f"{name} {opt}: {n} ({k}): {int(over.sum())} of {a.size} elements differ "
                  f"from torch, e.g. [{i}] {a.flat[i]:.8g} against {want.flat[i]:.8g} "
                  f"(moved by {step.flat[i]:.3g})")
            bad += 1
    if checked < len(list(model.parameters())):
        print(f"{name} {opt}: only {checked} initializers were compared")
        bad += 1
    if 2 * moved_some < checked:
        print(f"{name} {opt}: the step moved only {moved_some} of {checked} initializers "
              "noticeably: the comparison proves little")
        bad += 1
    print(f"{name} {opt}: {checked} initializers compared, {bad} differ")
    return bad


def main(argv):
    if len(argv) < 1:
        print(__doc__)
        return 2
    axlut = argv[0]
    torch.set_num_threads(2)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, model, shape, bn in models():
            for opt in ["sgd", "adam"] + (["bn-train"] if bn else []):
                bad += check(name, model, shape, bn, opt, axlut, tmp)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
