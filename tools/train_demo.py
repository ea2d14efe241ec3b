#!/usr/bin/env -S /usr/bin/python3
"""Train the demo network (a LeNet-5-like CNN) on Fashion-MNIST and export it.

    tools/train_demo.py [--epochs N] [--time-limit S] [--seed S]
                        [-o models/lenet5_fmnist.onnx] [--readme models/README.md]
                        [--save-state STATE.pt] [--threads N]

Trains on the 60000 training images with the CPU (Adam, one-cycle learning
rate, fixed seed, torch.set_num_threads(2) by default), reports the accuracy
on the 10000 test images, exports the model to ONNX (opset 13, dynamic batch
axis, input "input" N x 1 x 28 x 28 normalised as tools/make_dataset.py
writes it, output "logits" N x 10) and writes a README next to it with the
architecture, the accuracy, the command, the training time and the file's
sha256.  --time-limit stops training early (between batches) and says so in
the README; the default epoch count finishes in a few minutes on 2 cores.

Other scripts import lenet_model(), train() and evaluate() from here.
Exit status: 0 done, 2 bad input.
"""
import argparse
import hashlib
import os
import shlex
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_dataset  # noqa: E402
from make_dataset import InputError, atomic_output, fail  # noqa: E402

PROG = "train_demo.py"


def _lenet_class():
    import torch.nn as nn

    class LeNet5(nn.Module):
        """LeNet-5 for 28x28 inputs: conv5x5(6, pad 2)-ReLU-maxpool2,
        conv5x5(16)-ReLU-maxpool2, fc 400-120-84-10 with ReLU."""

        def __init__(self, classes=10):
            super().__init__()
            # Named modules give readable ONNX node names (/conv1/Conv, ...)
            # for per-layer configurations.
            self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
            self.relu1 = nn.ReLU()
            self.pool1 = nn.MaxPool2d(2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.relu2 = nn.ReLU()
            self.pool2 = nn.MaxPool2d(2)
            self.flatten = nn.Flatten()
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.relu3 = nn.ReLU()
            self.fc2 = nn.Linear(120, 84)
            self.relu4 = nn.ReLU()
            self.fc3 = nn.Linear(84, classes)

        def forward(self, x):
            x = self.pool1(self.relu1(self.conv1(x)))
            x = self.pool2(self.relu2(self.conv2(x)))
            x = self.relu3(self.fc1(self.flatten(x)))
            return self.fc3(self.relu4(self.fc2(x)))

    return LeNet5


def lenet_model():
    """The demo architecture with fresh weights, and its input shape."""
    return _lenet_class()(), {"input": (1, 28, 28)}


ARCHITECTURE = """\
| ONNX node | op | output (per sample) | parameters |
|---|---|---|---|
| `/conv1/Conv` | Conv 5x5, 6 filters, pad 2 | 6 x 28 x 28 | 156 |
| `/relu1/Relu`, `/pool1/MaxPool` | ReLU, MaxPool 2x2 | 6 x 14 x 14 | |
| `/conv2/Conv` | Conv 5x5, 16 filters | 16 x 10 x 10 | 2416 |
| `/relu2/Relu`, `/pool2/MaxPool` | ReLU, MaxPool 2x2 | 16 x 5 x 5 | |
| `/flatten/Flatten` | Flatten | 400 | |
| `/fc1/Gemm`, `/relu3/Relu` | Gemm 400 -> 120, ReLU | 120 | 48120 |
| `/fc2/Gemm`, `/relu4/Relu` | Gemm 120 -> 84, ReLU | 84 | 10164 |
| `/fc3/Gemm` | Gemm 84 -> 10 | 10 (`logits`) | 850 |

Weights are initializers named after the modules (`conv1.weight`,
`conv1.bias`, ..., `fc3.bias`).
"""


def evaluate(model, x, y, batch=1000):
    """Top-1 accuracy (fraction) of `model` on float32 x, int64 y."""
    import torch
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i:i + batch])
            pred = model(xb).argmax(1).numpy()
            correct += int((pred == y[i:i + batch]).sum())
    return correct / len(x)


def train(model, x, y, epochs=10, batch=128, lr=3e-3, seed=0, time_limit=None,
          log=print, eval_data=None):
    """Train with Adam and a one-cycle schedule; return (epochs run, seconds,
    stopped early?).  Shuffling uses numpy default_rng(seed)."""
    import torch
    import torch.nn.functional as F
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    t0 = time.monotonic()
    for ep in range(epochs):
        model.train()
        order = rng.permutation(len(x))
        total = 0.0
        for i in range(0, len(x), batch):
            idx = order[i:i + batch]
            xb, yb = torch.from_numpy(x[idx]), torch.from_numpy(y[idx])
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
            if time_limit and time.monotonic() - t0 > time_limit:
                log(f"epoch {ep + 1}: time limit {time_limit:g} s reached, stopping")
                return ep + 1, time.monotonic() - t0, True
        msg = f"epoch {ep + 1}/{epochs}: loss {total / len(x):.4f}"
        if eval_data is not None:
            msg += f", test accuracy {100 * evaluate(model, *eval_data):.2f}%"
        log(f"{msg} ({time.monotonic() - t0:.0f} s)")
    return epochs, time.monotonic() - t0, False


def main(argv):
    ap = argparse.ArgumentParser(
        prog=PROG, description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, metavar="S",
                    help="stop training after S seconds")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dir", metavar="DIR", help="Fashion-MNIST IDX directory")
    ap.add_argument("-o", "--output", default=os.path.join(root, "models", "lenet5_fmnist.onnx"))
    ap.add_argument("--readme", help="README to write (default: README.md next to -o; "
                    "'-' for none)")
    ap.add_argument("--save-state", metavar="STATE.pt", help="also save the state_dict")
    ap.add_argument("--quiet-epochs", action="store_true",
                    help="do not evaluate the test set after every epoch")
    args = ap.parse_args(argv)
    if args.epochs <= 0 or args.batch <= 0 or args.threads <= 0 or not args.lr > 0:
        fail(PROG, "--epochs, --batch, --threads and --lr must be positive")
    readme = args.readme or os.path.join(os.path.dirname(os.path.abspath(args.output)),
                                         "README.md")
    try:
        import torch
        import export_model
        torch.set_num_threads(args.threads)
        torch.manual_seed(args.seed)
        xtr, ytr, _ = make_dataset.load_fashion_mnist("train", directory=args.dir)
        xte, yte, _ = make_dataset.load_fashion_mnist("test", directory=args.dir)
        xtr, xte = make_dataset.normalize(xtr), make_dataset.normalize(xte)
        for p in (args.output, readme if readme != "-" else args.output):
            if not os.path.isdir(os.path.dirname(os.path.abspath(p))):
                raise InputError(f"{p}: directory does not exist")

        model, _ = lenet_model()
        nparams = sum(p.numel() for p in model.parameters())
        print(f"LeNet-5: {nparams} parameters; training on {len(xtr)} images, "
              f"{args.threads} threads", flush=True)
        epochs, secs, early = train(
            model, xtr, ytr, args.epochs, args.batch, args.lr, args.seed,
            args.time_limit, log=lambda m: print(m, flush=True),
            eval_data=None if args.quiet_epochs else (xte, yte))
        acc = evaluate(model, xte, yte)
        print(f"test accuracy {100 * acc:.2f}% on {len(xte)} images "
              f"({secs:.0f} s training)")
        if args.save_state:
            with atomic_output(args.save_state) as tmp:
                torch.save(model.state_dict(), tmp)
        ops, _ = export_model.export(model, {"input": xte[:2]}, args.output, None,
                                     ["logits"], 13, True, False, quiet=True)
        with open(args.output, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        size = os.path.getsize(args.output)
        print(f"{args.output}: {size} bytes, sha256 {digest}, ops: {' '.join(ops)}")
        if readme != "-":
            cmd = "tools/train_demo.py" + "".join(" " + shlex.quote(a) for a in argv)
            write_readme(readme, os.path.basename(args.output), acc, len(xte), secs,
                         epochs, early, args, cmd, digest, size, ops, nparams)
            print(f"{readme}: written")
    except InputError as e:
        fail(PROG, str(e))
    return 0


def write_readme(path, onnx_name, acc, ntest, secs, epochs, early, args, cmd,
                 digest, size, ops, nparams):
    import torch
    stop = (f" (stopped by --time-limit during epoch {epochs})" if early else "")
    text = f"""# Demo model: LeNet-5 on Fashion-MNIST

`{onnx_name}` is a LeNet-5-like CNN trained on the 60000 Fashion-MNIST
training images by `tools/train_demo.py`.  It is what the demo and the
README's main command run.

- **Accuracy (exact fp32, PyTorch): {100 * acc:.2f}% top-1 on the {ntest}
  test images.**
- Input `input`: float32 N x 1 x 28 x 28, pixels normalised as
  `x = (pixel / 255 - {make_dataset.MEAN}) / {make_dataset.STD}` (what
  `tools/make_dataset.py` writes; `--uint8` stores the pixels with the
  matching `scale` and `offset`).  Output `logits`: float32 N x 10, class order
  T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag,
  Ankle boot.  The batch axis is dynamic.
- ONNX opset 13, {size} bytes, {nparams} parameters, operators:
  {', '.join(ops)}.
- sha256 `{digest}`

## Architecture

{ARCHITECTURE}
## Training

    {cmd}

Adam, one-cycle learning rate (peak {args.lr:g}), batch {args.batch},
{epochs} epochs{stop}, seed {args.seed}, no augmentation, cross-entropy loss,
{args.threads} CPU threads (PyTorch {torch.__version__}): {secs:.0f} s.
Training is deterministic on one machine and software stack: the same command
with Debian 12's python3-torch gave a byte-identical file (same sha256) in
repeated runs.  Another PyTorch build or CPU may round differently; the
checksum above is of the committed file.

## Data file for it

    tools/make_dataset.py --split test -o fmnist_test.h5
"""
    with atomic_output(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
