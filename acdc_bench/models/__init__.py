"""Models by name: the papers' CIFAR ResNets here, everything else through timm."""

from __future__ import annotations

from typing import Any

from torch import nn

CIFAR_DEPTHS = {"resnet20": 20, "resnet32": 32, "resnet44": 44, "resnet56": 56}
# acdc-bench name -> timm name
TIMM_ALIASES = {"resnet18": "resnet18", "resnet50": "resnet50", "mobilenet_v1": "mobilenetv1_100"}


def create_model(cfg: Any, num_classes: int, in_chans: int) -> nn.Module:
    """Build ``cfg.name`` (an acdc-bench name or, with ``cfg.timm_name``, any timm model).

    Weights are always freshly initialised: nothing is downloaded.
    """
    name = cfg.name
    if name in CIFAR_DEPTHS:
        from acdc_bench.models.cifar_resnet import CifarResNet

        width, stem_stride = float(cfg.get("width", 1.0)), int(cfg.get("stem_stride", 1))
        return CifarResNet(CIFAR_DEPTHS[name], num_classes, in_chans, width, stem_stride)
    import timm

    timm_name = cfg.get("timm_name") or TIMM_ALIASES.get(name, name)
    kwargs: dict[str, Any] = {"num_classes": num_classes, "in_chans": in_chans, "pretrained": False}
    if cfg.get("blurpool", False):
        from timm.layers import BlurPool2d

        kwargs["aa_layer"] = BlurPool2d
    try:
        return timm.create_model(timm_name, **kwargs)
    except RuntimeError as err:  # timm's "Unknown model"
        from acdc_bench.config import ConfigError

        raise ConfigError(
            "model.name", name, f"one of {sorted(CIFAR_DEPTHS) + sorted(TIMM_ALIASES)} or a timm model name"
        ) from err
