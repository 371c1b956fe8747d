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
HF_MODELS = ("bert_base", "bert_tiny")  # acdc_bench.models.hf (transformers, the `text` extra)
KNOWN = sorted(CIFAR_DEPTHS) + sorted(TIMM_ALIASES) + list(HF_MODELS) + ["timm"]


@dataclass(frozen=True)
class ModelSettings:
    """``cfg.model``: one of the CIFAR ResNets (``depth``, ``width``, ``stem_stride``) or a
    timm model (``timm_name``, ``blurpool``: timm's BlurPool2d in the strided convolutions)."""

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
        V.number(cfg, "model.width", 0, low_open=True, required=False)  # CIFAR fields: checked, unused here
        V.integer(cfg, "model.stem_stride", required=False)
        return cls(name, timm_name, None, None, None, V.boolean(cfg, "model.blurpool"))

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
    try:
        return timm.create_model(m.timm_name, **kwargs)
    except RuntimeError as err:  # timm's "Unknown model"
        raise ConfigError("model.name", m.name, f"one of {KNOWN[:-1]} or a timm model name") from err
