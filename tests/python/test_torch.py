"""axlut.torch: ApproxConv2d / ApproxLinear forward equals axlut.conv2d /
axlut.gemm; their gradients equal nn.Conv2d's / nn.Linear's at the
operands quantized independently (axlut.quantize + decode); exact without
a configuration; approximate() swaps by name, glob and type; clear errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import axlut
import axlut.torch as at

SPECS = [axlut.MacSpec(mul="fpmul_drum", params={"k": 2}, format="e4m3"),
         axlut.MacSpec(format="e2m3"),  # saturates at 7.5: clipped operands
         axlut.MacSpec(mul="fpmul_mitchell", format="e5m2", format_w="e4m3")]


def q(t, fmt):
    """t rounded to FMT (nearest) by axlut.quantize/decode, as a tensor."""
    return torch.from_numpy(axlut.decode(axlut.quantize(t.detach().numpy(), fmt), fmt))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: "-".join(s.options()[1::2]))
@pytest.mark.parametrize("geom", [dict(padding=1), dict(stride=2, padding=(2, 1), dilation=2),
                                  dict(groups=2, padding="same")])
def test_conv_forward_and_ste_gradients(spec, geom):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, 3, **geom)
    a = at.ApproxConv2d.from_module(conv, spec=spec)
    assert a.weight is conv.weight and a.bias is conv.bias
    x = (3 * torch.randn(2, 4, 9, 9)).requires_grad_(True)
    y = a(x)
    p = conv.padding
    pads = {"same": (1, 1, 1, 1)}.get(p, p)
    want = axlut.conv2d(x.detach().numpy(), conv.weight.detach().numpy(),
                        conv.bias.detach().numpy(), spec=spec, stride=conv.stride, padding=pads,
                        dilation=conv.dilation, groups=conv.groups)
    assert np.array_equal(y.detach().numpy(), want)
    gy = torch.randn_like(y)
    y.backward(gy)
    fa = spec.fields["format"]
    fw = spec.fields.get("format_w", fa)
    xq = q(x, fa).requires_grad_(True)
    wq = q(conv.weight, fw).requires_grad_(True)
    bq = conv.bias.detach().clone().requires_grad_(True)
    ref = F.conv2d(xq, wq, bq, conv.stride, conv.padding, conv.dilation, conv.groups)
    ref.backward(gy)
    assert torch.allclose(x.grad, xq.grad, rtol=1e-5, atol=1e-5)
    assert torch.allclose(conv.weight.grad, wq.grad, rtol=1e-5, atol=1e-4)
    assert torch.allclose(conv.bias.grad, bq.grad, rtol=1e-5, atol=1e-5)
    # the quantization mattered: plain gradients differ
    plain = torch.autograd.grad(F.conv2d(x, conv.weight, None, conv.stride, conv.padding,
                                         conv.dilation, conv.groups), conv.weight, gy)[0]
    assert not torch.allclose(plain, wq.grad, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("spec", SPECS[:2], ids=["drum", "e2m3"])
def test_linear_forward_and_ste_gradients(spec):
    torch.manual_seed(1)
    lin = nn.Linear(20, 7)
    a = at.ApproxLinear.from_module(lin, spec=spec)
    x = (2 * torch.randn(3, 5, 20)).requires_grad_(True)  # extra leading axes
    y = a(x)
    assert y.shape == (3, 5, 7)
    want = axlut.gemm(x.detach().numpy().reshape(15, 20), lin.weight.detach().numpy(), spec=spec,
                      bias=lin.bias.detach().numpy(), trans_b=True)
    assert np.array_equal(y.detach().numpy().reshape(15, 7), want)
    gy = torch.randn_like(y)
    y.backward(gy)
    xq = q(x, "e4m3" if "drum" in str(spec) else "e2m3").requires_grad_(True)
    wq = q(lin.weight, "e4m3" if "drum" in str(spec) else "e2m3").requires_grad_(True)
    F.linear(xq, wq, lin.bias.detach()).backward(gy)
    assert torch.allclose(x.grad, xq.grad, rtol=1e-5, atol=1e-5)
    assert torch.allclose(lin.weight.grad, wq.grad, rtol=1e-5, atol=1e-4)


def test_exact_without_configuration():
    torch.manual_seed(2)
    conv, lin = nn.Conv2d(3, 5, 3, padding=1), nn.Linear(12, 4)
    x = torch.randn(2, 3, 6, 6)
    y = at.ApproxConv2d.from_module(conv)(x)
    assert torch.allclose(y, conv(x), rtol=1e-5, atol=1e-5)
    z = torch.randn(4, 12)
    assert torch.allclose(at.ApproxLinear.from_module(lin)(z), lin(z), rtol=1e-5, atol=1e-5)
    # a fresh layer is a drop-in: ordinary parameters, state_dict keys
    a = at.ApproxConv2d(3, 5, 3, padding=1)
    assert set(a.state_dict()) == {"weight", "bias"}
    a.load_state_dict(conv.state_dict())
    assert torch.allclose(a(x), conv(x), rtol=1e-5, atol=1e-5)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3))
        self.fc1 = nn.Linear(4 * 4 * 4, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(self.features(x).flatten(1))))


def test_approximate_swaps_by_rules():
    torch.manual_seed(3)
    net = Net()
    x = torch.randn(2, 1, 8, 8)
    params = list(net.parameters())
    cfg = {"default": {"mul": "fpmul_drum", "params": {"k": 3}, "format": "e4m3"},
           "layers": [{"match": "features.*", "format": "e5m2"},
                      {"op": "Gemm", "format": "bf16"},
                      {"match": "fc2", "exact": True}]}
    at.approximate(net, cfg)
    assert list(net.parameters()) == params  # same objects: optimizers keep working
    assert isinstance(net.features[0], at.ApproxConv2d)
    assert isinstance(net.features[2], at.ApproxConv2d)
    assert "e5m2" in net.features[0].mac.describe()
    assert isinstance(net.fc1, at.ApproxLinear) and "bf16" in net.fc1.mac.describe()
    assert type(net.fc2) is nn.Linear  # kept exact: stays PyTorch
    y = net(x)
    y.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    # the swapped network equals the engine's layer by layer
    h = axlut.conv2d(x.numpy(), net.features[0].weight.detach().numpy(),
                     net.features[0].bias.detach().numpy(), spec=cfg, layer="features.0")
    assert np.array_equal(net.features[0](x).detach().numpy(), h)
    # one MacSpec for every layer
    net2 = at.approximate(Net(), axlut.MacSpec(format="int8"))
    assert isinstance(net2.fc2, at.ApproxLinear)
    with pytest.raises(axlut.AxlutError, match="fc9"):
        at.approximate(Net(), {"layers": [{"match": "fc9", "format": "e4m3"}]})


def test_clear_errors():
    a = at.ApproxConv2d(1, 2, 3, spec=axlut.MacSpec(format="e4m3"), name="c")
    with pytest.raises(axlut.AxlutError, match="ApproxConv2d c: input is torch.float64"):
        a(torch.randn(1, 1, 5, 5, dtype=torch.float64))
    with pytest.raises(axlut.AxlutError, match="input is on meta.*CPU"):
        a(torch.empty(1, 1, 5, 5, device="meta"))
    with pytest.raises(axlut.AxlutError, match="padding_mode 'reflect'"):
        at.ApproxConv2d(1, 2, 3, padding=1, padding_mode="reflect")
    lin = at.ApproxLinear(4, 2, name="l").double()
    with pytest.raises(axlut.AxlutError, match="ApproxLinear l: input is torch.float64"):
        lin(torch.randn(1, 4, dtype=torch.float64))
    with pytest.raises(axlut.AxlutError, match="colour"):
        at.ApproxLinear(4, 2, spec={"default": {"colour": 1}})


def test_inference_and_partial_gradients():
    torch.manual_seed(4)
    conv, lin = nn.Conv2d(2, 3, 3), nn.Linear(5, 2)
    a = at.ApproxConv2d.from_module(conv, spec=SPECS[0])
    b = at.ApproxLinear.from_module(lin, spec=SPECS[0])
    x, z = torch.randn(2, 2, 6, 6), torch.randn(3, 5)
    with torch.no_grad():  # inference keeps no operands: the same outputs
        y0, u0 = a(x), b(z)
    y1, u1 = a(x), b(z)  # inputs without grad: only the parameters' gradients
    assert torch.equal(y0, y1.detach()) and torch.equal(u0, u1.detach())
    (y1.sum() + u1.sum()).backward()
    assert conv.weight.grad is not None and lin.weight.grad is not None
    for p in (conv.weight, conv.bias, lin.weight, lin.bias):
        p.requires_grad_(False)
    xr, zr = x.clone().requires_grad_(True), z.clone().requires_grad_(True)
    (a(xr).sum() + b(zr).sum()).backward()  # frozen layers: only the inputs'
    want = torch.nn.grad.conv2d_input(x.shape, q(conv.weight, "e4m3"), torch.ones(2, 3, 4, 4))
    assert torch.allclose(xr.grad, want, rtol=1e-5, atol=1e-5)
    assert torch.allclose(zr.grad, torch.ones(3, 2) @ q(lin.weight, "e4m3"), rtol=1e-5, atol=1e-5)
