"""Models for tools/bench_net.sh, exported with tools/export_model.py as
`tools/bench_net_models.py:FUNCTION`.

resnet18_224: torchvision's ResNet-18 at 224x224 with its default
(random, seeded by export_model.py's --seed) weights: the whole-network case
of issue 19.  Its speed does not depend on the weights' values, so no
pretrained download is needed (the machines running benchmarks are
offline).
"""


def resnet18_224():
    import torchvision
    return torchvision.models.resnet18(weights=None), {"input": (3, 224, 224)}
