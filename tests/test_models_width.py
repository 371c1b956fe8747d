"""model.width on timm's ResNets (paper 001 App. E: "ResNet-50x0.5", every hidden dimension
halved) and the one-line error for a model that has no width multiplier."""

from __future__ import annotations

import torch
from conftest import cli_error
from omegaconf import OmegaConf

from acdc_bench.models import create_model


def _resnet50(**more) -> torch.nn.Module:
    return create_model(OmegaConf.create({"name": "resnet50", "blurpool": True, **more}), 1000, 3)


def _weights(model: torch.nn.Module) -> tuple[int, int]:
    """(conv weights, all parameters)."""
    convs = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    return convs, sum(p.numel() for p in model.parameters())


def test_half_width_resnet50_has_a_quarter_of_the_conv_weights():
    full, half = _resnet50(), _resnet50(width=0.5)
    (cf, af), (ch, ah) = _weights(full), _weights(half)
    assert af == 25_557_032  # timm's ResNet-50, untouched without a width
    assert abs(ch / cf - 0.25) < 0.005  # every conv: in and out channels halved
    assert 0.25 < ah / af < 0.28  # the classifier only halves (1024 features)
    assert half.conv1.out_channels == 64 and half.fc.in_features == 1024  # timm's plain stem: fixed 64
    assert [half.get_submodule(f"layer{i}")[0].conv2.out_channels for i in range(1, 5)] == [32, 64, 128, 256]
    torch.manual_seed(0)
    one = _resnet50(width=1.0)
    torch.manual_seed(0)
    same = _resnet50()
    pairs = zip(one.state_dict().values(), same.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)


def test_width_on_a_model_without_one_is_a_one_line_error():
    status, err = cli_error("task=summary", "model=mobilenet_v1", "+model.width=0.5")
    assert status == 2 and err.count("\n") == 1, err
    assert "model.width=0.5 is not allowed" in err and "1 (model.name=mobilenet_v1" in err
