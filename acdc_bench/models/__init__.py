"""Models by name: the papers' CIFAR ResNets here, everything else through timm.

:class:`ModelSettings` is ``cfg.model`` read once and checked with
:mod:`acdc_bench.validation`: ``config.validate`` reads it to refuse a bad name or field
before any work, and :func:`create_model` builds from it. Defaults live in
``conf/model/*.yaml`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omegaconf import OmegaConf
from torch import nn

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError

CIFAR_DEPTHS = {"resnet20": 20, "resnet32": 32, "resnet44": 44, "resnet56": 56}
# acdc-bench name -> timm name
TIMM_ALIASES = {"resnet18": "resnet18", "resnet50": "resnet50", "mobilenet_v1": "mobilenetv1_100"}
# timm ResNets whose hidden dimensions model.width scales (paper 001 App. E's "ResNet-50x0.5"): the four
# stages' widths (timm's default `channels`, bottleneck outputs 4x these), passed scaled to timm's ResNet.
# The 7x7 stem keeps its 64 channels: timm fixes the plain stem's width (`stem_width` is for deep stems).
WIDTH_SCALABLE = ("resnet18", "resnet50")
RESNET_CHANNELS = (64, 128, 256, 512)
HF_MODELS = ("bert_base", "bert_tiny")  # acdc_bench.models.hf (transformers, the `text` extra)
KNOWN = sorted(CIFAR_DEPTHS) + sorted(TIMM_ALIASES) + list(HF_MODELS) + ["timm"]


@dataclass(frozen=True)
class ModelSettings:
    """``cfg.model``: one of the CIFAR ResNets (``depth``, ``width``, ``stem_stride``) or a
    timm model (``timm_name``, ``blurpool``: timm's BlurPool2d in the strided convolutions;
    ``width`` on the timm ResNets of ``WIDTH_SCALABLE`` only, None: timm's own widths)."""

    name: str
    timm_name: str | None  # None: a CIFAR ResNet
    depth: int | None
    width: float | None
    stem_stride: int | None
    blurpool: bool
    hf: Any = None  # a BERT model's HFModelSettings (acdc_bench.models.hf); None for image models

    @classmethod
    def read(cls, cfg: Any) -> ModelSettings:
        """Read and check ``cfg.model`` (a name set directly is checked as strictly as a group option)."""
        name = V.get(cfg, "model.name")
        if isinstance(name, str) and name in HF_MODELS:
            from acdc_bench.models.hf import HFModelSettings

            return cls(name, None, None, None, None, False, HFModelSettings.read(cfg))
        if isinstance(name, str) and name in CIFAR_DEPTHS:
            width = V.number(cfg, "model.width", 0, low_open=True)
            stem_stride = V.integer(cfg, "model.stem_stride")
            V.boolean(cfg, "model.blurpool", required=False)  # ImageNet recipes set it: unused here
            return cls(name, None, CIFAR_DEPTHS[name], width, stem_stride, False)
        timm_name = V.get(cfg, "model.timm_name") if name == "timm" else name
        if isinstance(name, str) and name in TIMM_ALIASES:
            timm_name = TIMM_ALIASES[name]
        field = "model.timm_name" if name == "timm" else "model.name"
        if not isinstance(timm_name, str):
            raise ConfigError(field, None if timm_name is V.ABSENT else timm_name,
                              f"one of {KNOWN} or a timm model name")
        if name == "timm" or name not in TIMM_ALIASES:
            import timm

            if not timm.is_model(timm_name):
                allowed = f"one of {KNOWN} or a timm model name (timm.list_models())"
                raise ConfigError(field, timm_name, allowed)
        width = V.number(cfg, "model.width", 0, low_open=True, required=False)
        if width is not None and float(width) != 1.0 and name not in WIDTH_SCALABLE:
            scalable = sorted(CIFAR_DEPTHS) + list(WIDTH_SCALABLE)
            raise ConfigError("model.width", width,
                              f"1 (model.name={name} has no width multiplier here; width scales {scalable})")
        V.integer(cfg, "model.stem_stride", required=False)  # a CIFAR field: checked, unused here
        width = None if width is None or float(width) == 1.0 else float(width)
        return cls(name, timm_name, None, width, None, V.boolean(cfg, "model.blurpool"))

    @classmethod
    def of(cls, model: ModelSettings | Any) -> ModelSettings:
        """``model`` itself, or read from a ``cfg.model`` node."""
        if isinstance(model, ModelSettings):
            return model
        node = OmegaConf.to_container(model, resolve=True) if OmegaConf.is_config(model) else dict(model)
        return cls.read(OmegaConf.create({"model": node}))


def create_model(model: ModelSettings | Any, num_classes: int, in_chans: int) -> nn.Module:
    """Build ``model`` (:class:`ModelSettings`, or the ``cfg.model`` node to read it from).

    Weights are always freshly initialised: nothing is downloaded.
    """
    m = ModelSettings.of(model)
    if m.hf is not None:
        return m.hf.create(num_classes)
    if m.timm_name is None:
        from acdc_bench.models.cifar_resnet import CifarResNet

        return CifarResNet(m.depth, num_classes, in_chans, float(m.width), int(m.stem_stride))
    import timm

    kwargs: dict[str, Any] = {"num_classes": num_classes, "in_chans": in_chans, "pretrained": False}
    if m.blurpool:
        from timm.layers import BlurPool2d

        kwargs["aa_layer"] = BlurPool2d
    if m.width is not None:  # every stage's width scaled (the bottleneck's inner width follows its planes)
        kwargs["channels"] = tuple(max(1, round(c * m.width)) for c in RESNET_CHANNELS)
    try:
        return timm.create_model(m.timm_name, **kwargs)
    except RuntimeError as err:  # timm's "Unknown model"
        raise ConfigError("model.name", m.name, f"one of {KNOWN[:-1]} or a timm model name") from err
