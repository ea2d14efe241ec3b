#!/usr/bin/env -S /usr/bin/python3
"""Define, train (Fashion-MNIST, CPU) and export the twelve-model zoo.

    tools/train_zoo.py (--all | --model NAME ...) [-o models/zoo]
        [--epochs N] [--time-budget-min M] [--limit-train N] [--limit-test N]
        [--seed S] [--threads N] [--batch B] [--verify DATA.h5 [--verify-limit N]]
        [--readme README.md] [--list]

Twelve architectures of the approximate-computing literature, adapted to
28 x 28 grayscale inputs with widths reduced so that the whole zoo trains on a
2-core CPU in well under an hour (run --list for names, sizes and default
epochs).  Each model is trained with the demo's loop (tools/train_demo.py:
Adam, one-cycle learning rate, batch 128, numpy-seeded shuffling, no
augmentation), evaluated on the test images, and exported like the demo model
(tools/export_model.py: ONNX opset 13, eval mode with BatchNormalization
folded into the preceding Conv where there is one, dynamic batch axis, input
"input" N x 1 x 28 x 28 normalised as tools/make_dataset.py writes it,
output "logits" N x 10).  nn.Module attribute names become the ONNX node
names (/layer2/layer2.0/conv1/Conv, /blocks/blocks.1/attn/qkv/MatMul, ...).

Output: DIR/NAME.onnx per model and DIR/zoo.json, which records per model the
parameters, the MACs per sample at 28 x 28 (Conv and Linear layers, plus the
attention matrix products of the transformer, counted separately too), the
epochs run, the exact test accuracy (correct / total), the training seconds,
the ONNX file's size and sha256, and the settings (seed, threads, limits,
PyTorch version).  Entries of models not trained in this run are kept.  With
--readme the table between the <!-- zoo-table --> markers of that file is
rewritten from zoo.json.

Training is deterministic for one machine and software stack: fixed seeds
(torch.manual_seed(seed) before the model is built, numpy default_rng(seed)
for the batch order) and torch.use_deterministic_algorithms.  The thread
count can change rounding, so it is recorded.  --time-budget-min stops a
model's training between batches (recorded as stopped_early; the one-cycle
schedule is then cut short, so keep the budget above the expected time).

--verify DATA.h5 runs each exported model with `axlut run` (exact: no MAC
options) on the first --verify-limit samples and checks that its top-1
predictions equal PyTorch's, allowing ties (the two best PyTorch logits
within 1e-5 relative).  Exit status: 0 done, 1 a check failed, 2 bad input.
"""
import argparse
import datetime
import functools
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_dataset  # noqa: E402  (sets OMP_WAIT_POLICY before torch loads)
from make_dataset import InputError, atomic_output, fail  # noqa: E402

PROG = "train_zoo.py"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE_BEGIN = "<!-- zoo-table -->"
TABLE_END = "<!-- /zoo-table -->"


class CheckError(Exception):
    """An exported model failed a check: exit status 1."""


# ---------------------------------------------------------------- models
# Everything that needs torch is built inside _define() so that --help and
# argument errors do not pay for importing torch.

@functools.lru_cache(maxsize=None)
def _define():
    """(name -> factory, the Attention class), built once: count_macs tells
    attention modules by class, so every model must come from one call."""
    import torch
    import torch.nn as nn
    from collections import OrderedDict

    def conv_bn(cin, cout, k, stride=1, pad=None, groups=1, act="relu"):
        """Conv (no bias) + BatchNorm (+ ReLU/ReLU6): the exporter folds the
        BatchNorm into the Conv, so the ONNX graph has Conv (+ Relu/Clip)."""
        if pad is None:
            pad = (k[0] // 2, k[1] // 2) if isinstance(k, tuple) else k // 2
        layers = [("conv", nn.Conv2d(cin, cout, k, stride, pad, groups=groups, bias=False)),
                  ("bn", nn.BatchNorm2d(cout))]
        if act == "relu":
            layers.append(("relu", nn.ReLU()))
        elif act == "relu6":
            layers.append(("relu", nn.ReLU6()))
        return nn.Sequential(OrderedDict(layers))

    # ---------------------------------------------------------- AlexNet
    class AlexNet(nn.Module):
        """AlexNet's shape (5 convs, 3 max pools, 3 fully connected layers with
        dropout), 28 x 28: 5x5 stem instead of 11x11 stride 4, widths / 4-8."""

        def __init__(self, classes=10):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 24, 5, padding=2)     # 28
            self.relu1 = nn.ReLU()
            self.pool1 = nn.MaxPool2d(2)                    # 14
            self.conv2 = nn.Conv2d(24, 48, 3, padding=1)
            self.relu2 = nn.ReLU()
            self.pool2 = nn.MaxPool2d(2)                    # 7
            self.conv3 = nn.Conv2d(48, 64, 3, padding=1)
            self.relu3 = nn.ReLU()
            self.conv4 = nn.Conv2d(64, 64, 3, padding=1)
            self.relu4 = nn.ReLU()
            self.conv5 = nn.Conv2d(64, 48, 3, padding=1)
            self.relu5 = nn.ReLU()
            self.pool3 = nn.MaxPool2d(2)                    # 3
            self.flatten = nn.Flatten()
            self.drop1 = nn.Dropout(0.3)
            self.fc1 = nn.Linear(48 * 3 * 3, 256)
            self.relu6 = nn.ReLU()
            self.drop2 = nn.Dropout(0.3)
            self.fc2 = nn.Linear(256, 256)
            self.relu7 = nn.ReLU()
            self.fc3 = nn.Linear(256, classes)

        def forward(self, x):
            x = self.pool1(self.relu1(self.conv1(x)))
            x = self.pool2(self.relu2(self.conv2(x)))
            x = self.relu3(self.conv3(x))
            x = self.relu4(self.conv4(x))
            x = self.pool3(self.relu5(self.conv5(x)))
            x = self.relu6(self.fc1(self.drop1(self.flatten(x))))
            x = self.relu7(self.fc2(self.drop2(x)))
            return self.fc3(x)

    # ---------------------------------------------------------- VGG
    class VGG(nn.Module):
        """VGG-11 (8 3x3 convs with BatchNorm, as VGG-11-BN) with widths / 8
        and one max pool fewer (28 -> 14 -> 7 -> 3); classifier 2 hidden
        layers of 256 instead of 4096."""
        CFG = [16, "M", 32, "M", 64, 64, "M", 128, 128, 128, 128]

        def __init__(self, classes=10):
            super().__init__()
            layers, cin, i, p = OrderedDict(), 1, 1, 1
            for v in self.CFG:
                if v == "M":
                    layers[f"pool{p}"] = nn.MaxPool2d(2)
                    p += 1
                else:
                    layers[f"conv{i}"] = conv_bn(cin, v, 3)
                    cin, i = v, i + 1
            self.features = nn.Sequential(layers)
            self.flatten = nn.Flatten()
            self.fc1 = nn.Linear(128 * 3 * 3, 256)
            self.relu1 = nn.ReLU()
            self.drop1 = nn.Dropout(0.3)
            self.fc2 = nn.Linear(256, 256)
            self.relu2 = nn.ReLU()
            self.drop2 = nn.Dropout(0.3)
            self.fc3 = nn.Linear(256, classes)

        def forward(self, x):
            x = self.flatten(self.features(x))
            x = self.drop1(self.relu1(self.fc1(x)))
            x = self.drop2(self.relu2(self.fc2(x)))
            return self.fc3(x)

    # ---------------------------------------------------------- ResNets
    class SE(nn.Module):
        """Squeeze-and-excitation: global average pool, 1x1 conv down by
        `reduction`, ReLU, 1x1 conv up, sigmoid, channel-wise scale."""

        def __init__(self, ch, reduction=4):
            super().__init__()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc1 = nn.Conv2d(ch, max(ch // reduction, 4), 1)
            self.relu = nn.ReLU()
            self.fc2 = nn.Conv2d(max(ch // reduction, 4), ch, 1)
            self.gate = nn.Sigmoid()

        def forward(self, x):
            return x * self.gate(self.fc2(self.relu(self.fc1(self.pool(x)))))

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, cin, width, stride, se=False):
            super().__init__()
            cout = width * self.expansion
            self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.relu1 = nn.ReLU()
            self.conv2 = nn.Conv2d(width, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.se = SE(cout) if se else None
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            self.relu2 = nn.ReLU()

        def forward(self, x):
            y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
            if self.se is not None:
                y = self.se(y)
            return self.relu2(y + (x if self.downsample is None else self.downsample(x)))

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, cin, width, stride, se=False):
            super().__init__()
            cout = width * self.expansion
            self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.relu1 = nn.ReLU()
            self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.relu2 = nn.ReLU()
            self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(cout)
            self.se = SE(cout) if se else None
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            self.relu3 = nn.ReLU()

        def forward(self, x):
            y = self.relu1(self.bn1(self.conv1(x)))
            y = self.relu2(self.bn2(self.conv2(y)))
            y = self.bn3(self.conv3(y))
            if self.se is not None:
                y = self.se(y)
            return self.relu3(y + (x if self.downsample is None else self.downsample(x)))

    class ResNet(nn.Module):
        """ImageNet ResNet layout for 28 x 28: stem 3x3 conv at 28 x 28 and
        a 2x2 max pool (instead of 7x7 stride 2 + 3x3 pool), four stages at
        14, 7, 4, 2 pixels, global average pool, one fully connected layer."""

        def __init__(self, block, counts, widths, se=False, classes=10):
            super().__init__()
            self.conv1 = nn.Conv2d(1, widths[0], 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.relu = nn.ReLU()
            self.maxpool = nn.MaxPool2d(2)
            cin = widths[0]
            for i, (n, w) in enumerate(zip(counts, widths)):
                blocks = []
                for j in range(n):
                    blocks.append(block(cin, w, (1 if i == 0 else 2) if j == 0 else 1, se))
                    cin = w * block.expansion
                setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(cin, classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.flatten(self.avgpool(x)))

    # ---------------------------------------------------------- DenseNet
    class DenseLayer(nn.Module):
        """DenseNet-BC layer: BN-ReLU-conv1x1 (4k) -BN-ReLU-conv3x3 (k), its
        output concatenated to its input.  The pre-activation BatchNorms
        stay BatchNormalization nodes in ONNX (no conv before them)."""

        def __init__(self, cin, growth):
            super().__init__()
            self.norm1 = nn.BatchNorm2d(cin)
            self.relu1 = nn.ReLU()
            self.conv1 = nn.Conv2d(cin, 4 * growth, 1, bias=False)
            self.norm2 = nn.BatchNorm2d(4 * growth)
            self.relu2 = nn.ReLU()
            self.conv2 = nn.Conv2d(4 * growth, growth, 3, 1, 1, bias=False)

        def forward(self, x):
            y = self.conv1(self.relu1(self.norm1(x)))
            y = self.conv2(self.relu2(self.norm2(y)))
            return torch.cat([x, y], 1)

    class Transition(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.norm = nn.BatchNorm2d(cin)
            self.relu = nn.ReLU()
            self.conv = nn.Conv2d(cin, cout, 1, bias=False)
            self.pool = nn.AvgPool2d(2)

        def forward(self, x):
            return self.pool(self.conv(self.relu(self.norm(x))))

    class DenseNet(nn.Module):
        """DenseNet-BC, 3 dense blocks of 3, 4, 4 layers, growth 10,
        compression 0.5; stem 3x3 conv + 2x2 max pool; blocks at 14, 7, 3
        pixels; BN-ReLU, global average pool, fc."""

        def __init__(self, blocks=(3, 4, 4), growth=10, stem=24, classes=10):
            super().__init__()
            self.conv0 = nn.Conv2d(1, stem, 3, 1, 1, bias=False)
            self.norm0 = nn.BatchNorm2d(stem)
            self.relu0 = nn.ReLU()
            self.pool0 = nn.MaxPool2d(2)
            ch = stem
            for i, n in enumerate(blocks):
                layers = []
                for _ in range(n):
                    layers.append(DenseLayer(ch, growth))
                    ch += growth
                setattr(self, f"denseblock{i + 1}", nn.Sequential(*layers))
                if i + 1 < len(blocks):
                    setattr(self, f"transition{i + 1}", Transition(ch, ch // 2))
                    ch //= 2
            self.norm5 = nn.BatchNorm2d(ch)
            self.relu5 = nn.ReLU()
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.classifier = nn.Linear(ch, classes)
            self.nblocks = len(blocks)

        def forward(self, x):
            x = self.pool0(self.relu0(self.norm0(self.conv0(x))))
            for i in range(self.nblocks):
                x = getattr(self, f"denseblock{i + 1}")(x)
                if i + 1 < self.nblocks:
                    x = getattr(self, f"transition{i + 1}")(x)
            x = self.avgpool(self.relu5(self.norm5(x)))
            return self.classifier(self.flatten(x))

    # ---------------------------------------------------------- GoogLeNet
    class Inception(nn.Module):
        """GoogLeNet inception module: 1x1 | 1x1-3x3 | 1x1-3x3 (the 5x5
        branch, as torchvision builds it) | 3x3 max pool-1x1, concatenated."""

        def __init__(self, cin, c1, c3r, c3, c5r, c5, cp):
            super().__init__()
            self.branch1 = conv_bn(cin, c1, 1)
            self.branch2 = nn.Sequential(conv_bn(cin, c3r, 1), conv_bn(c3r, c3, 3))
            self.branch3 = nn.Sequential(conv_bn(cin, c5r, 1), conv_bn(c5r, c5, 3))
            self.branch4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), conv_bn(cin, cp, 1))

        def forward(self, x):
            return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x),
                              self.branch4(x)], 1)

    class GoogLeNet(nn.Module):
        """GoogLeNet for 28 x 28: 3x3 stem + max pool, inception 3a/3b at 14,
        max pool, 4a/4b/4c at 7, max pool, 5a at 3, global average pool,
        dropout, fully connected; channel counts about / 8 of the original
        (6 of its 9 inception modules)."""

        def __init__(self, classes=10):
            super().__init__()
            self.conv1 = conv_bn(1, 24, 3)
            self.maxpool1 = nn.MaxPool2d(2)                              # 14
            self.inception3a = Inception(24, 8, 12, 16, 2, 4, 4)         # 32
            self.inception3b = Inception(32, 16, 16, 24, 4, 12, 8)       # 60
            self.maxpool2 = nn.MaxPool2d(2)                              # 7
            self.inception4a = Inception(60, 24, 12, 26, 2, 6, 8)        # 64
            self.inception4b = Inception(64, 20, 14, 28, 3, 8, 8)        # 64
            self.inception4c = Inception(64, 16, 16, 32, 3, 8, 8)        # 64
            self.maxpool3 = nn.MaxPool2d(2)                              # 3
            self.inception5a = Inception(64, 32, 20, 40, 4, 16, 16)      # 104
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.dropout = nn.Dropout(0.2)
            self.fc = nn.Linear(104, classes)

        def forward(self, x):
            x = self.maxpool1(self.conv1(x))
            x = self.maxpool2(self.inception3b(self.inception3a(x)))
            x = self.inception4c(self.inception4b(self.inception4a(x)))
            x = self.inception5a(self.maxpool3(x))
            return self.fc(self.dropout(self.flatten(self.avgpool(x))))

    # ---------------------------------------------------------- Inception-v3
    class InceptionA(nn.Module):
        """Inception-v3 module A: 1x1 | 1x1-5x5 factorised as two 3x3 |
        1x1-3x3-3x3 | 3x3 average pool-1x1."""

        def __init__(self, cin, c1, c5r, c5, c3r, c3, cp):
            super().__init__()
            self.branch1x1 = conv_bn(cin, c1, 1)
            self.branch5x5 = nn.Sequential(conv_bn(cin, c5r, 1), conv_bn(c5r, c5, 3),
                                           conv_bn(c5, c5, 3))
            self.branch3x3dbl = nn.Sequential(conv_bn(cin, c3r, 1), conv_bn(c3r, c3, 3),
                                              conv_bn(c3, c3, 3))
            self.branch_pool = nn.Sequential(nn.AvgPool2d(3, 1, 1),
                                             conv_bn(cin, cp, 1))

        def forward(self, x):
            return torch.cat([self.branch1x1(x), self.branch5x5(x), self.branch3x3dbl(x),
                              self.branch_pool(x)], 1)

    class ReductionB(nn.Module):
        """Grid reduction: 3x3 stride 2 | 1x1-3x3-3x3 stride 2 | max pool,
        concatenated (parallel strided branches instead of pooling first)."""

        def __init__(self, cin, c3, c3r, cd):
            super().__init__()
            self.branch3x3 = conv_bn(cin, c3, 3, 2, 0)
            self.branch3x3dbl = nn.Sequential(conv_bn(cin, c3r, 1), conv_bn(c3r, cd, 3),
                                              conv_bn(cd, cd, 3, 2, 0))
            self.branch_pool = nn.MaxPool2d(3, 2)

        def forward(self, x):
            return torch.cat([self.branch3x3(x), self.branch3x3dbl(x), self.branch_pool(x)], 1)

    class InceptionC(nn.Module):
        """Inception-v3 module C: n x n convolutions factorised into 1xn and
        nx1 (n = 7): 1x1 | 1x1-1x7-7x1 | 1x1-7x1-1x7-7x1-1x7 | pool-1x1."""

        def __init__(self, cin, c1, c7, cp, n=7):
            super().__init__()
            h, v = (1, n), (n, 1)
            self.branch1x1 = conv_bn(cin, c1, 1)
            self.branch7x7 = nn.Sequential(conv_bn(cin, c7, 1), conv_bn(c7, c7, h),
                                           conv_bn(c7, c1, v))
            self.branch7x7dbl = nn.Sequential(conv_bn(cin, c7, 1), conv_bn(c7, c7, v),
                                              conv_bn(c7, c7, h), conv_bn(c7, c7, v),
                                              conv_bn(c7, c1, h))
            self.branch_pool = nn.Sequential(nn.AvgPool2d(3, 1, 1),
                                             conv_bn(cin, cp, 1))

        def forward(self, x):
            return torch.cat([self.branch1x1(x), self.branch7x7(x), self.branch7x7dbl(x),
                              self.branch_pool(x)], 1)

    class InceptionV3(nn.Module):
        """Inception-v3 style for 28 x 28: stem 3x3 conv, max pool to 14, 3x3 conv,
        two module-A blocks, a grid reduction to 6, two module-C blocks with
        1x7/7x1 factorised convolutions, global average pool, dropout, fc."""

        def __init__(self, classes=10):
            super().__init__()
            self.Conv2d_1a_3x3 = conv_bn(1, 16, 3)
            self.maxpool1 = nn.MaxPool2d(2)                      # 14
            self.Conv2d_2a_3x3 = conv_bn(16, 24, 3)
            self.Mixed_5b = InceptionA(24, 16, 8, 12, 12, 16, 8)    # 52
            self.Mixed_5c = InceptionA(52, 16, 8, 12, 12, 16, 16)   # 60
            self.Mixed_6a = ReductionB(60, 48, 16, 24)              # 132 @ 6
            self.Mixed_6b = InceptionC(132, 32, 16, 32)             # 128
            self.Mixed_6c = InceptionC(128, 32, 20, 32)             # 128
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.dropout = nn.Dropout(0.2)
            self.fc = nn.Linear(128, classes)

        def forward(self, x):
            x = self.Conv2d_2a_3x3(self.maxpool1(self.Conv2d_1a_3x3(x)))
            x = self.Mixed_6a(self.Mixed_5c(self.Mixed_5b(x)))
            x = self.Mixed_6c(self.Mixed_6b(x))
            return self.fc(self.dropout(self.flatten(self.avgpool(x))))

    # ---------------------------------------------------------- MobileNetV2
    class InvertedResidual(nn.Module):
        """1x1 expansion (ReLU6) - 3x3 depthwise (ReLU6) - 1x1 linear
        projection, with a residual connection when shapes allow."""

        def __init__(self, cin, cout, stride, expand):
            super().__init__()
            hidden = cin * expand
            self.use_res = stride == 1 and cin == cout
            layers = OrderedDict()
            if expand != 1:
                layers["expand"] = conv_bn(cin, hidden, 1, act="relu6")
            layers["depthwise"] = conv_bn(hidden, hidden, 3, stride, groups=hidden, act="relu6")
            layers["project"] = conv_bn(hidden, cout, 1, act=None)
            self.conv = nn.Sequential(layers)

        def forward(self, x):
            return x + self.conv(x) if self.use_res else self.conv(x)

    class MobileNetV2(nn.Module):
        """MobileNetV2 with width multiplier 0.5: stride-2 stem (28 -> 14),
        six inverted-residual stages (t, c, n, s as in the paper's table,
        one stride-2 stage fewer: 14 -> 7 -> 4, the last stage dropped),
        1x1 conv to 192, global average pool, dropout, fc."""
        SETTINGS = [(1, 8, 1, 1), (6, 12, 2, 1), (6, 16, 3, 2), (6, 32, 3, 1),
                    (6, 48, 2, 2), (6, 64, 1, 1)]

        def __init__(self, classes=10):
            super().__init__()
            blocks, cin = [conv_bn(1, 16, 3, 2, act="relu6")], 16
            for t, c, n, s in self.SETTINGS:
                for i in range(n):
                    blocks.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                    cin = c
            blocks.append(conv_bn(cin, 192, 1, act="relu6"))
            self.features = nn.Sequential(*blocks)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.flatten = nn.Flatten()
            self.dropout = nn.Dropout(0.2)
            self.classifier = nn.Linear(192, classes)

        def forward(self, x):
            return self.classifier(self.dropout(self.flatten(self.avgpool(self.features(x)))))

    # ---------------------------------------------------------- ViT
    class Attention(nn.Module):
        """Multi-head self-attention; the two matrix products (q k^T and
        att v) are MatMul nodes in ONNX and are counted as MACs."""

        def __init__(self, dim, heads):
            super().__init__()
            self.heads = heads
            self.scale = (dim // heads) ** -0.5
            self.qkv = nn.Linear(dim, 3 * dim)
            self.proj = nn.Linear(dim, dim)

        def forward(self, x):
            b, t, c = x.shape
            qkv = self.qkv(x).reshape(b, t, 3, self.heads, c // self.heads)
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
            att = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
            y = (att @ v).transpose(1, 2).reshape(b, t, c)
            return self.proj(y)

    class EncoderBlock(nn.Module):
        def __init__(self, dim, heads, mlp):
            super().__init__()
            self.norm1 = nn.LayerNorm(dim)
            self.attn = Attention(dim, heads)
            self.norm2 = nn.LayerNorm(dim)
            self.mlp = nn.Sequential(OrderedDict(
                [("fc1", nn.Linear(dim, mlp)), ("gelu", nn.GELU()),
                 ("fc2", nn.Linear(mlp, dim))]))

        def forward(self, x):
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class ViT(nn.Module):
        """Vision transformer: 4x4 patches (7 x 7 = 49 tokens) embedded by a
        strided conv, a class token, learned position embeddings, pre-norm
        encoder blocks, final LayerNorm, linear head on the class token."""

        def __init__(self, dim=48, depth=3, heads=3, mlp=96, patch=4, classes=10):
            super().__init__()
            tokens = (28 // patch) ** 2
            self.patch_embed = nn.Conv2d(1, dim, patch, patch)
            self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos_embed = nn.Parameter(torch.randn(1, tokens + 1, dim) * 0.02)
            self.blocks = nn.Sequential(*[EncoderBlock(dim, heads, mlp) for _ in range(depth)])
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, classes)

        def forward(self, x):
            x = self.patch_embed(x).flatten(2).transpose(1, 2)     # B x 49 x dim
            cls = self.cls_token.expand(x.shape[0], -1, -1)
            x = torch.cat([cls, x], 1) + self.pos_embed
            x = self.norm(self.blocks(x))
            return self.head(x[:, 0])

    import train_demo
    lenet = train_demo._lenet_class()
    return {
        "lenet5": lambda: lenet(),
        "alexnet": lambda: AlexNet(),
        "vgg11": lambda: VGG(),
        "resnet18": lambda: ResNet(BasicBlock, (2, 2, 2, 2), (16, 32, 64, 128)),
        "resnet34": lambda: ResNet(BasicBlock, (3, 4, 6, 3), (12, 24, 48, 96)),
        "resnet50": lambda: ResNet(Bottleneck, (3, 4, 6, 3), (8, 16, 32, 64)),
        "densenet": lambda: DenseNet(),
        "googlenet": lambda: GoogLeNet(),
        "inception_v3": lambda: InceptionV3(),
        "mobilenet_v2": lambda: MobileNetV2(),
        "se_resnet18": lambda: ResNet(BasicBlock, (2, 2, 2, 2), (16, 32, 64, 128), se=True),
        "vit": lambda: ViT(),
    }, Attention


# name -> (one-line description, default epochs, peak learning rate).
# Epochs are chosen so that the whole zoo trains in about 40 minutes with
# 2 threads on a 2-core machine (see models/zoo/README.md for measured times).
MODELS = {
    "lenet5": ("LeNet-5 (the demo network, tools/train_demo.py)", 5, 3e-3),
    "alexnet": ("AlexNet-style: 5 convs, 3 max pools, 3 fc with dropout", 2, 2e-3),
    "vgg11": ("VGG-11-BN, widths / 8, 2 x 256 classifier", 2, 3e-3),
    "resnet18": ("ResNet-18 (basic blocks 2-2-2-2, widths 16..128)", 3, 3e-3),
    "resnet34": ("ResNet-34 (basic blocks 3-4-6-3, widths 12..96)", 2, 3e-3),
    "resnet50": ("ResNet-50 (bottlenecks 3-4-6-3, widths 8..64, x4 expansion)", 2, 3e-3),
    "densenet": ("DenseNet-BC (dense blocks of 3-4-4 layers, growth 10)", 2, 3e-3),
    "googlenet": ("GoogLeNet (6 inception modules, widths / 8)", 2, 3e-3),
    "inception_v3": ("Inception-v3 style (A modules, grid reduction, 1x7/7x1 C modules)", 2, 3e-3),
    "mobilenet_v2": ("MobileNetV2 (12 inverted residuals, width 0.5, ReLU6)", 2, 3e-3),
    "se_resnet18": ("SE-ResNet-18 (ResNet-18 with squeeze-and-excitation)", 3, 3e-3),
    "vit": ("Vision transformer (4x4 patches, dim 48, 3 blocks, 3 heads)", 4, 1e-3),
}


def build(name, seed):
    """Fresh model `name` with weights drawn after torch.manual_seed(seed)."""
    import torch
    factories, _ = _define()
    torch.manual_seed(seed)
    return factories[name]()


def count_macs(model, shape=(1, 28, 28)):
    """(total MACs per sample, of which attention MatMul MACs) for one
    forward pass: Conv2d (out elements x in/groups x kernel), Linear (out
    elements x in features) and the attention products q k^T and att v."""
    import torch
    import torch.nn as nn
    _, Attention = _define()
    counts = {"layer": 0, "matmul": 0}
    hooks = []

    def conv_hook(m, inp, out):
        counts["layer"] += out.numel() * (m.in_channels // m.groups) * \
            int(np.prod(m.kernel_size))

    def linear_hook(m, inp, out):
        counts["layer"] += out.numel() * m.in_features

    def attn_hook(m, inp, out):
        b, t, c = inp[0].shape
        counts["matmul"] += 2 * b * t * t * c    # q k^T: t*t*hd per head; att v: the same

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, Attention):
            hooks.append(m.register_forward_hook(attn_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros((1,) + tuple(shape)))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return counts["layer"] + counts["matmul"], counts["matmul"]


# ---------------------------------------------------------------- checks

def verify_axlut(onnx_path, data_path, limit, model, axlut, log):
    """Run `axlut run` exactly on the first `limit` samples; compare its
    top-1 predictions with PyTorch's.  Returns a summary dict."""
    import h5py
    import torch
    import export_model
    names = ["input"]
    inputs = export_model.read_data_inputs(data_path, names, limit)["input"]
    model.eval()
    with torch.no_grad():
        ref = model(torch.from_numpy(inputs)).numpy()
    with tempfile.TemporaryDirectory(prefix="train_zoo.") as tmp:
        rep, outs = os.path.join(tmp, "r.json"), os.path.join(tmp, "o.h5")
        cmd = [axlut, "run", onnx_path, "--data", data_path, "--limit", str(limit),
               "--quiet", "--report", rep, "--save-outputs", outs]
        t0 = time.monotonic()
        res = subprocess.run(cmd, capture_output=True, text=True)
        secs = time.monotonic() - t0
        if res.returncode != 0:
            err = (res.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise CheckError(f"{onnx_path}: axlut run exited {res.returncode}: {err}")
        with open(rep) as f:
            report = json.load(f)
        with h5py.File(outs, "r") as f:
            got = f["outputs/logits"][:]
    if got.shape != ref.shape:
        raise CheckError(f"{onnx_path}: axlut logits {got.shape}, PyTorch {ref.shape}")
    top_ref, top_got = ref.argmax(1), got.argmax(1)
    srt = np.sort(ref, 1)
    tie = (srt[:, -1] - srt[:, -2]) <= 1e-5 * np.maximum(1.0, np.abs(srt[:, -1]))
    bad = np.nonzero((top_ref != top_got) & ~tie)[0]
    maxdiff = float(np.max(np.abs(got.astype(np.float64) - ref)))
    if len(bad):
        raise CheckError(f"{onnx_path}: axlut top-1 differs from PyTorch on "
                         f"{len(bad)} of {limit} samples (first: sample {bad[0]})")
    macs = sum(int(l.get("macs_per_sample", 0)) for l in report.get("layers", []))
    log(f"  axlut run: {limit} samples in {secs:.1f} s, top-1 equal to PyTorch "
        f"({int((top_ref != top_got).sum())} ties differ), max |logit diff| {maxdiff:.3g}, "
        f"top1 {report.get('top1')}, axlut MACs/sample {macs}")
    return {"samples": limit, "top1_equal": True, "max_abs_logit_diff": maxdiff,
            "axlut_top1": report.get("top1"), "axlut_macs_per_sample": macs}


# ---------------------------------------------------------------- output

def load_json(path):
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: not a readable zoo.json ({e}); remove it or choose "
                         "another -o")
    if not isinstance(data, dict) or not isinstance(data.get("models", {}), dict):
        raise InputError(f"{path}: not a zoo.json written by {PROG}")
    return data


def write_json(path, data):
    with atomic_output(path) as tmp:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2, sort_keys=False)
            f.write("\n")


def table(data):
    rows = ["| model | params | MACs/sample | epochs | test accuracy | training time | "
            "sha256 (ONNX) |", "|---|---:|---:|---:|---:|---:|---|"]
    for name, (_, epochs, _) in MODELS.items():
        e = data.get("models", {}).get(name)
        if not e or e.get("train_samples") != 60000 or e.get("test_samples") != 10000:
            # Not trained on the full dataset: the architecture's row only.
            m = build(name, 0)
            params = sum(p.numel() for p in m.parameters())
            rows.append(f"| `{name}` | {params} | {count_macs(m)[0]} | {epochs} | "
                        "not trained yet | | |")
            continue
        acc = f"{100 * e['test_accuracy']:.2f}% ({e['test_correct']}/{e['test_samples']})"
        ep = f"{e['epochs_run']}" + (" (stopped early)" if e.get("stopped_early") else "")
        rows.append(f"| `{name}` | {e['params']} | {e['macs_per_sample']} | {ep} | {acc} | "
                    f"{e['train_seconds']:.0f} s | `{e['sha256']}` |")
    return "\n".join(rows) + "\n"


def update_readme(path, data):
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})")
    a, b = text.find(TABLE_BEGIN), text.find(TABLE_END)
    if a < 0 or b < a:
        raise InputError(f"{path}: no '{TABLE_BEGIN}' ... '{TABLE_END}' markers")
    text = text[:a + len(TABLE_BEGIN)] + "\n" + table(data) + text[b:]
    with atomic_output(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)


# ---------------------------------------------------------------- main

def main(argv):
    ap = argparse.ArgumentParser(
        prog=PROG, description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", default=[], metavar="NAME",
                    help="model to train (repeatable; see --list)")
    ap.add_argument("--all", action="store_true", help="train all twelve models")
    ap.add_argument("--list", action="store_true",
                    help="list the models with parameters, MACs and default epochs")
    ap.add_argument("-o", "--output-dir", default=os.path.join(ROOT, "models", "zoo"),
                    metavar="DIR", help="where NAME.onnx and zoo.json go (default models/zoo)")
    ap.add_argument("--epochs", type=int, metavar="N",
                    help="epochs for every model (default: per model, see --list)")
    ap.add_argument("--time-budget-min", type=float, metavar="M",
                    help="stop a model's training after M minutes (default: none)")
    ap.add_argument("--limit-train", type=int, metavar="N", help="first N training images")
    ap.add_argument("--limit-test", type=int, metavar="N", help="first N test images")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--dir", metavar="DIR", help="Fashion-MNIST IDX directory")
    ap.add_argument("--verify", metavar="DATA.h5",
                    help="check each export with `axlut run` on this dataset")
    ap.add_argument("--verify-limit", type=int, default=50, metavar="N",
                    help="samples for --verify (default 50)")
    ap.add_argument("--axlut", default=os.path.join(ROOT, "build", "axlut"),
                    help="axlut binary for --verify (default build/axlut)")
    ap.add_argument("--readme", metavar="README.md",
                    help="rewrite the table between the zoo-table markers of this file")
    args = ap.parse_args(argv)

    names = list(MODELS) if args.all else []
    for n in args.model:
        if n not in MODELS:
            fail(PROG, f"unknown model '{n}' (one of: {', '.join(MODELS)})")
        if n not in names:
            names.append(n)
    if not names and not args.list:
        fail(PROG, "name models with --model NAME or --all (see --list)")
    for opt in ("epochs", "limit_train", "limit_test", "threads", "batch", "verify_limit"):
        v = getattr(args, opt)
        if v is not None and v <= 0:
            fail(PROG, f"--{opt.replace('_', '-')} must be positive, got {v}")
    if args.time_budget_min is not None and not args.time_budget_min > 0:
        fail(PROG, f"--time-budget-min must be positive, got {args.time_budget_min}")
    if not args.list and not os.path.isdir(args.output_dir):
        fail(PROG, f"{args.output_dir}: directory does not exist")
    if args.readme and not os.path.isfile(args.readme):
        fail(PROG, f"{args.readme}: no such file")
    if args.verify and not os.path.isfile(args.verify):
        fail(PROG, f"{args.verify}: no such file")
    if args.verify and not os.access(args.axlut, os.X_OK):
        fail(PROG, f"{args.axlut}: not an executable (build axlut or pass --axlut)")

    try:
        import torch
        torch.set_num_threads(args.threads)
        torch.use_deterministic_algorithms(True, warn_only=True)
        if args.list:
            for n, (desc, ep, _) in MODELS.items():
                m = build(n, args.seed)
                p = sum(q.numel() for q in m.parameters())
                macs, _ = count_macs(m)
                print(f"{n:13s} {p:8d} params {macs:10d} MACs/sample {ep:2d} epochs  {desc}")
            return 0
        return run(args, names)
    except InputError as e:
        fail(PROG, str(e))
    except CheckError as e:
        fail(PROG, str(e), 1)


def run(args, names):
    import torch
    import export_model
    import train_demo

    out_dir = args.output_dir
    if not os.path.isdir(out_dir):
        raise InputError(f"{out_dir}: directory does not exist")
    zoo_path = os.path.join(out_dir, "zoo.json")
    data = load_json(zoo_path)
    if args.readme and not os.path.isfile(args.readme):
        raise InputError(f"{args.readme}: no such file")

    def log(msg):
        print(msg, flush=True)

    if args.verify:     # bad verification data fails before any training
        try:
            export_model.read_data_inputs(args.verify, ["input"], args.verify_limit)
        except InputError as e:
            raise InputError(str(e).replace("--batch asks", "--verify-limit asks"))

    xtr, ytr, src_tr = make_dataset.load_fashion_mnist("train", args.limit_train, args.dir)
    xte, yte, src_te = make_dataset.load_fashion_mnist("test", args.limit_test, args.dir)
    xtr, xte = make_dataset.normalize(xtr), make_dataset.normalize(xte)
    log(f"training on {len(xtr)} images, testing on {len(xte)}, {args.threads} threads, "
        f"seed {args.seed}")
    cmd = "tools/train_zoo.py" + "".join(" " + shlex.quote(a) for a in sys.argv[1:])
    failures = []
    for name in names:
        desc, default_epochs, lr = MODELS[name]
        epochs = args.epochs or default_epochs
        model = build(name, args.seed)
        params = sum(p.numel() for p in model.parameters())
        macs, mm = count_macs(model)
        log(f"{name}: {desc}; {params} parameters, {macs} MACs/sample, {epochs} epochs")
        budget = args.time_budget_min * 60 if args.time_budget_min else None
        # The batch order depends on the seed only, not on the model's position.
        ep_run, secs, early = train_demo.train(
            model, xtr, ytr, epochs, args.batch, lr, args.seed, budget,
            log=lambda m: log("  " + m))
        acc = train_demo.evaluate(model, xte, yte)
        correct = int(round(acc * len(xte)))
        log(f"  test accuracy {100 * acc:.2f}% ({correct}/{len(xte)}), "
            f"{secs:.0f} s training")
        onnx_path = os.path.join(out_dir, f"{name}.onnx")
        try:
            ops, _ = export_model.export(model, {"input": xte[:2]}, onnx_path, None,
                                         ["logits"], 13, True, False, quiet=True)
        except (RuntimeError, export_model.CheckError) as e:
            msg = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise CheckError(f"{name}: ONNX export failed: {msg}")
        with open(onnx_path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        size = os.path.getsize(onnx_path)
        log(f"  {onnx_path}: {size} bytes, sha256 {digest}, ops: {' '.join(ops)}")
        entry = {
            "description": desc, "params": params, "macs_per_sample": macs,
            "attention_matmul_macs_per_sample": mm, "epochs": epochs,
            "epochs_run": ep_run, "stopped_early": early, "lr": lr, "batch": args.batch,
            "seed": args.seed, "threads": args.threads,
            "train_samples": len(xtr), "test_samples": len(xte),
            "test_correct": correct, "test_accuracy": correct / len(xte),
            "train_seconds": round(secs, 1), "onnx": os.path.basename(onnx_path),
            "onnx_bytes": size, "sha256": digest, "ops": ops,
            "torch_version": torch.__version__, "command": cmd,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if args.verify:
            try:
                entry["axlut_check"] = verify_axlut(onnx_path, args.verify, args.verify_limit,
                                                    model, args.axlut, log)
            except CheckError as e:
                log(f"  {PROG}: check failed: {e}")
                failures.append(str(e))
                entry["axlut_check"] = {"error": str(e)}
        data.setdefault("models", {})[name] = entry
        data["generator"] = "tools/train_zoo.py"
        data["input"] = {"name": "input", "shape": ["N", 1, 28, 28],
                         "normalization": make_dataset.NORMALIZATION}
        data["output"] = {"name": "logits", "shape": ["N", 10],
                          "classes": make_dataset.CLASSES}
        write_json(zoo_path, data)     # after each model: a crash keeps what is done
    log(f"{zoo_path}: written ({len(names)} model{'s' if len(names) != 1 else ''})")
    if args.readme:
        update_readme(args.readme, data)
        log(f"{args.readme}: table rewritten")
    if failures:
        raise CheckError(f"{len(failures)} model(s) failed the axlut check: {failures[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
