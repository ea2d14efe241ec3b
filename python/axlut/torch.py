"""Approximate PyTorch layers: nn.Conv2d and nn.Linear whose forward runs
through the axlut C engine and whose backward is the straight-through
estimator, so that a model is retrained inside the user's own loop.

Forward: ``axlut.conv2d`` / ``axlut.gemm`` with the layer's engine, the
same bits as `axlut run` for that layer.  Backward: the exact layer's
gradients at the quantized operands, i.e. those of nn.Conv2d / nn.Linear
evaluated at x_q = decode(encode(x)) and w_q = decode(encode(w)) in the
configured formats (Bengio et al., "Estimating or propagating gradients
through stochastic neurons", 2013; the estimator of quantization-aware
training).  CPU float32 tensors only.
"""
import torch
import torch.nn.functional as F
from torch import nn

from .engine import Layers, Mac, MacSpec, conv2d, gemm
from ._lib import AxlutError

__all__ = ["ApproxConv2d", "ApproxLinear", "approximate"]


def _check_tensor(layer, what, t):
    if t.device.type != "cpu":
        raise AxlutError(f"{layer}: {what} is on {t.device}; axlut.torch runs CPU tensors "
                         "(move the model and data with .cpu())", "unsupported")
    if t.dtype != torch.float32:
        raise AxlutError(f"{layer}: {what} is {t.dtype}; axlut.torch runs float32 tensors "
                         "(use .float())", "unsupported")


def _engine(spec, name, op):
    if isinstance(spec, Mac):
        return spec
    if spec is None or isinstance(spec, MacSpec):
        return (spec or MacSpec()).mac(name, op)
    return Layers(spec).mac(name, op)


def _np(t):
    return t.detach().contiguous().numpy()


def _conv_forward(layer, x, w, b):
    return torch.from_numpy(conv2d(_np(x), _np(w), None if b is None else _np(b),
                                   spec=layer.mac, stride=layer.stride, padding=layer._pads(),
                                   dilation=layer.dilation, groups=layer.groups))


def _quantized(ctx, mac, xn, wn, both=False):
    """The operands the backward needs, as the engine quantizes them: the
    activations for the weight gradient, the weights for the input's."""
    need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
    xq = torch.from_numpy(mac.quantize_acts(xn)) if need_w or both else None
    wq = torch.from_numpy(mac.quantize_weights(wn)) if need_x or both else None
    return xq, wq


class _ConvFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, layer):
        y = _conv_forward(layer, x, w, b)
        # torch.nn.grad takes no "same" padding: autograd then needs both
        ctx.xq, ctx.wq = _quantized(ctx, layer.mac, _np(x), _np(w), layer.padding == "same")
        ctx.layer, ctx.xshape, ctx.wshape = layer, x.shape, w.shape
        return y

    @staticmethod
    def backward(ctx, gy):
        L, xq, wq = ctx.layer, ctx.xq, ctx.wq
        ctx.xq = ctx.wq = None
        args = (L.stride, L.padding, L.dilation, L.groups)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gx = gw = None
        if L.padding == "same":
            with torch.enable_grad():
                xr, wr = xq.requires_grad_(True), wq.requires_grad_(True)
                gx, gw = torch.autograd.grad(F.conv2d(xr, wr, None, *args), (xr, wr), gy)
        else:
            if need_x:
                gx = torch.nn.grad.conv2d_input(ctx.xshape, wq, gy, *args)
            if need_w:
                gw = torch.nn.grad.conv2d_weight(xq, ctx.wshape, gy, *args)
        gb = gy.sum(dim=(0, 2, 3)) if need_b else None
        return gx if need_x else None, gw if need_w else None, gb, None


def _linear_forward(layer, x, w, b):
    x2 = _np(x.reshape(-1, x.shape[-1]))
    y = gemm(x2, _np(w), spec=layer.mac, bias=None if b is None else _np(b), trans_b=True)
    return torch.from_numpy(y).reshape(*x.shape[:-1], w.shape[0])


class _LinearFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, layer):
        y = _linear_forward(layer, x, w, b)
        ctx.xq, ctx.wq = _quantized(ctx, layer.mac, _np(x.reshape(-1, x.shape[-1])), _np(w))
        ctx.shape = x.shape
        return y

    @staticmethod
    def backward(ctx, gy):
        xq, wq = ctx.xq, ctx.wq
        g2 = gy.reshape(-1, gy.shape[-1])
        gx = (g2 @ wq).reshape(ctx.shape) if wq is not None else None
        gw = g2.t() @ xq if xq is not None else None
        gb = g2.sum(dim=0) if ctx.needs_input_grad[2] else None
        ctx.xq = ctx.wq = None
        return gx, gw, gb, None


def _needs_grad(*ts):
    return torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in ts)


class ApproxConv2d(nn.Conv2d):
    """nn.Conv2d through the axlut engine.  ``spec``: a MacSpec, a prepared
    Mac, a per-layer configuration (dict or JSON path; the rules for NAME
    apply) or None (exact float32, as `axlut run` without options).  Zero
    padding only (padding_mode "zeros")."""

    def __init__(self, *args, spec=None, name="conv", **kwargs):
        super().__init__(*args, **kwargs)
        if self.padding_mode != "zeros":
            raise AxlutError(f"ApproxConv2d {name}: padding_mode '{self.padding_mode}' is not "
                             "supported (zeros only)", "unsupported")
        self.layer_name = name
        self.mac = _engine(spec, name, "Conv")

    @classmethod
    def from_module(cls, conv, spec=None, name="conv"):
        """An ApproxConv2d with conv's hyper-parameters sharing its parameters."""
        new = cls(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                  padding=conv.padding, dilation=conv.dilation, groups=conv.groups,
                  bias=conv.bias is not None, padding_mode=conv.padding_mode, spec=spec,
                  name=name, device="meta")
        new.weight, new.bias = conv.weight, conv.bias
        return new

    def _pads(self):
        if self.padding == "valid":
            return 0
        if self.padding == "same":  # as PyTorch: the odd one at the bottom and right
            pads = []
            for d, k in zip(self.dilation, self.kernel_size):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return (pads[0][0], pads[1][0], pads[0][1], pads[1][1])
        return self.padding

    def forward(self, x):
        for what, t in (("input", x), ("weight", self.weight)):
            _check_tensor(f"ApproxConv2d {self.layer_name}", what, t)
        if not _needs_grad(x, self.weight, self.bias):  # inference: no operands kept
            return _conv_forward(self, x, self.weight, self.bias)
        return _ConvFn.apply(x, self.weight, self.bias, self)

    def extra_repr(self):
        return super().extra_repr() + f", mac={self.mac.describe()!r}"


class ApproxLinear(nn.Linear):
    """nn.Linear through the axlut engine (a Gemm with transB, as ONNX
    exports nn.Linear).  ``spec`` as for ApproxConv2d."""

    def __init__(self, in_features, out_features, bias=True, spec=None, name="linear", **kw):
        super().__init__(in_features, out_features, bias=bias, **kw)
        self.layer_name = name
        self.mac = _engine(spec, name, "Gemm")

    @classmethod
    def from_module(cls, lin, spec=None, name="linear"):
        new = cls(lin.in_features, lin.out_features, bias=lin.bias is not None, spec=spec,
                  name=name, device="meta")
        new.weight, new.bias = lin.weight, lin.bias
        return new

    def forward(self, x):
        for what, t in (("input", x), ("weight", self.weight)):
            _check_tensor(f"ApproxLinear {self.layer_name}", what, t)
        if not _needs_grad(x, self.weight, self.bias):
            return _linear_forward(self, x, self.weight, self.bias)
        return _LinearFn.apply(x, self.weight, self.bias, self)

    def extra_repr(self):
        return super().extra_repr() + f", mac={self.mac.describe()!r}"


_OPS = {nn.Conv2d: "Conv", nn.Linear: "Gemm"}


def approximate(model, config):
    """Swap model's nn.Conv2d and nn.Linear layers for ApproxConv2d and
    ApproxLinear where CONFIG approximates them, in place; returns model.
    CONFIG is the per-layer configuration of `axlut run` (docs/CONFIG.md)
    over the module names of model.named_modules() ("features.0", "fc1";
    globs) and the ONNX operator types Conv and Gemm: a dict, a JSON file's
    path, or a MacSpec for every layer.  A rule that matches no layer is an
    error, as in `axlut run`; layers the configuration keeps exact stay
    PyTorch modules.  The parameters are the same objects (an optimizer
    made before keeps working)."""
    layers = Layers(config)
    found = [(name, m, _OPS[type(m)]) for name, m in model.named_modules()
             if type(m) in _OPS]
    layers.check([n for n, _, _ in found], [op for _, _, op in found])
    for name, m, op in found:
        if layers.exact(name, op):
            continue
        mac = layers.mac(name, op)
        cls = ApproxConv2d if op == "Conv" else ApproxLinear
        new = cls.from_module(m, spec=mac, name=name)
        parent = model
        *path, last = name.split(".")
        for p in path:
            parent = getattr(parent, p)
        setattr(parent, last, new)
    return model
