#!/usr/bin/env -S /usr/bin/python3
"""Write the small ONNX models (and PyTorch's outputs on them) that the
importer and executor tests compare against.

    tools/make_model_fixtures.py [NAME...] [-o DIR] [--opset N] [--list]

For each NAME (default: all) writes DIR/NAME.onnx and DIR/NAME.h5 (DIR is
tests/data/models by default) the way tools/export_model.py does: opset 13,
a dynamic batch axis, one input "input" and one output "output"; the HDF5
file holds /inputs/input (batch 2, standard normal, numpy default_rng(seed))
and /outputs/output (PyTorch's output in eval mode).  Weights are PyTorch's
default initialisation under torch.manual_seed(seed); every BatchNorm gets
non-trivial affine parameters and running statistics (ten forward passes in
train mode on shifted, scaled random data, then eval) and is kept as a
BatchNormalization node (not folded into the Conv).

  lenet              the demo LeNet-5 (tools/train_demo.py), random weights,
                     input 1 x 28 x 28
  resnet_bn          conv-bn-relu stem, a basic block (identity shortcut) and a
                     strided basic block (1x1 stride-2 conv + bn shortcut),
                     global average pool, linear; input 3 x 16 x 16
  mobilenetv2_block  two inverted residuals: 1x1 expand, depthwise 3x3,
                     1x1 project, BN, ReLU6 (Clip); the first with a residual
                     add, the second strided; input 8 x 12 x 12
  inception_mini     conv-relu stem, an inception module (1x1, 3x3 and max pool
                     + 1x1 branches, each conv with its ReLU) joined by Concat,
                     max pool, conv-relu, global average pool, linear; input
                     3 x 12 x 12
  transformer_block  pre-norm encoder block: LayerNorm, 2-head self-attention
                     (MatMul, Softmax), GELU MLP, residual adds; tokens
                     input 8 x 16 (T x D)

Prints each model's operator types.  Exit status: 0 done, 1 a check
failed, 2 bad input.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_dataset import InputError, fail  # noqa: E402

PROG = "make_model_fixtures.py"
SEED = 0
BATCH = 2


# --- architectures -----------------------------------------------------------
# Functions return (model, {input name: per-sample shape}), the form
# tools/export_model.py takes.

def resnet_bn():
    import torch.nn as nn

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

        def forward(self, x):
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return self.relu(y + (x if self.down is None else self.down(x)))

    class SmallResNet(nn.Module):
        def __init__(self, classes=10):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1, bias=False),
                                      nn.BatchNorm2d(8), nn.ReLU())
            self.layer1 = BasicBlock(8, 8, 1)
            self.layer2 = BasicBlock(8, 16, 2)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(16, classes)

        def forward(self, x):
            x = self.layer2(self.layer1(self.stem(x)))
            return self.fc(self.pool(x).flatten(1))

    return SmallResNet(), {"input": (3, 16, 16)}


def mobilenetv2_block():
    import torch.nn as nn

    class InvertedResidual(nn.Module):
        def __init__(self, cin, cout, stride, expand):
            super().__init__()
            hid = cin * expand
            self.residual = stride == 1 and cin == cout
            self.body = nn.Sequential(
                nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.ReLU6(),
                nn.Conv2d(hid, hid, 3, stride, 1, groups=hid, bias=False),
                nn.BatchNorm2d(hid), nn.ReLU6(),
                nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = self.body(x)
            return x + y if self.residual else y

    model = nn.Sequential(InvertedResidual(8, 8, 1, 6), InvertedResidual(8, 16, 2, 4))
    return model, {"input": (8, 12, 12)}


def transformer_block(tokens=8, dim=16, heads=2, mlp=32):
    import torch.nn as nn

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = heads
            self.scale = (dim // heads) ** -0.5
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)

        def forward(self, x):
            # Written the way vision-transformer code usually is (sizes taken
            # from x.shape), so the export has PyTorch's Shape/Gather patterns.
            b, t, c = x.shape
            qkv = self.qkv(x).reshape(b, t, 3, self.heads, c // self.heads)
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
            att = (q @ k.transpose(-2, -1)) * self.scale
            y = att.softmax(dim=-1) @ v
            return self.proj(y.transpose(1, 2).reshape(b, t, c))

    class EncoderBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1 = nn.LayerNorm(dim)
            self.attn = Attention()
            self.norm2 = nn.LayerNorm(dim)
            self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

        def forward(self, x):
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    return EncoderBlock(), {"input": (tokens, dim)}


def inception_mini():
    import torch
    import torch.nn as nn

    def conv(cin, cout, k):
        return nn.Sequential(nn.Conv2d(cin, cout, k, 1, k // 2), nn.ReLU())

    class InceptionMini(nn.Module):
        def __init__(self, classes=10):
            super().__init__()
            self.stem = conv(3, 8, 3)
            self.b1 = conv(8, 4, 1)
            self.b3 = conv(8, 6, 3)
            self.bp = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv(8, 4, 1))
            self.pool = nn.MaxPool2d(2)
            self.head = conv(14, 8, 3)
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(8, classes)

        def forward(self, x):
            x = self.stem(x)
            x = torch.cat([self.b1(x), self.b3(x), self.bp(x)], 1)
            x = self.head(self.pool(x))
            return self.fc(self.gap(x).flatten(1))

    return InceptionMini(), {"input": (3, 12, 12)}


def lenet():
    import train_demo
    return train_demo.lenet_model()


FIXTURES = {
    "lenet": lenet,
    "resnet_bn": resnet_bn,
    "mobilenetv2_block": mobilenetv2_block,
    "transformer_block": transformer_block,
    "inception_mini": inception_mini,
}


def settle_norm_layers(model, shape, seed):
    """Give BatchNorm and LayerNorm layers non-trivial parameters and BatchNorm
    layers non-trivial running statistics; leaves the model in eval mode."""
    import torch
    import torch.nn as nn
    g = torch.Generator().manual_seed(seed + 1)
    has_bn = False
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.4 * torch.rand(m.bias.shape, generator=g) - 0.2)
                has_bn |= isinstance(m, nn.BatchNorm2d)
        if has_bn:
            model.train()
            for _ in range(10):
                model(1.5 * torch.randn((8,) + shape, generator=g) + 0.3)
    model.eval()
    return has_bn


def make(name, outdir, opset):
    import torch
    import export_model
    torch.manual_seed(SEED)
    model, shapes = FIXTURES[name]()
    (iname, shape), = shapes.items()
    has_bn = settle_norm_layers(model, tuple(shape), SEED)
    x = np.random.default_rng(SEED).standard_normal((BATCH,) + tuple(shape)).astype(np.float32)
    onnx_path = os.path.join(outdir, name + ".onnx")
    h5_path = os.path.join(outdir, name + ".h5")
    ops, out = export_model.export(
        model, {iname: x}, onnx_path, h5_path, ["output"], opset, True, has_bn,
        {"inputs_from": f"standard normal, numpy default_rng({SEED})", "seed": SEED,
         "model_spec": f"tools/make_model_fixtures.py {name}"}, quiet=True)
    # The companion file must reproduce: the model run again gives the same bits.
    with torch.no_grad():
        again = model(torch.from_numpy(x)).numpy()
    if not np.array_equal(again, out["output"]):
        raise export_model.CheckError(f"{name}: PyTorch output is not reproducible")
    return ops, onnx_path, h5_path, out["output"].shape


def main(argv):
    ap = argparse.ArgumentParser(
        prog=PROG, description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("names", nargs="*", metavar="NAME")
    ap.add_argument("-o", "--outdir", default=os.path.join(root, "tests", "data", "models"))
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--list", action="store_true", help="list the fixture names")
    args = ap.parse_args(argv)
    if args.list:
        print("\n".join(FIXTURES))
        return 0
    for n in args.names:
        if n not in FIXTURES:
            fail(PROG, f"unknown fixture '{n}' (one of {', '.join(FIXTURES)})")
    if not 7 <= args.opset <= 17:
        fail(PROG, f"--opset {args.opset}: this exporter supports 7..17")
    if not os.path.isdir(args.outdir):
        fail(PROG, f"{args.outdir}: no such directory")
    import torch
    import export_model
    torch.set_num_threads(2)
    for name in args.names or list(FIXTURES):
        try:
            ops, op, hp, oshape = make(name, args.outdir, args.opset)
        except InputError as e:
            fail(PROG, str(e))
        except export_model.CheckError as e:
            fail(PROG, str(e), 1)
        print(f"{name}: {os.path.getsize(op)} + {os.path.getsize(hp)} bytes, "
              f"output {'x'.join(map(str, oshape))}, ops: {' '.join(ops)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
