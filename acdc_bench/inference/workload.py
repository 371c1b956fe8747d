"""What every engine is given: a dense model, its sparse twin, inputs, ONNX files and FLOPs.

The sparse twin is the dense model with the masks multiplied into the weights (exact zeros where
masked), so any engine that reads weights (DeepSparse from ONNX, torch's CSR from the module)
sees the sparsity without knowing about masks. The dense twin must really be dense: an engine
that skips zeros would otherwise speed up the reference too, so a trained model's pruned weights
are refilled from a fresh initialisation there (the values do not change the speed).
"""

from __future__ import annotations

import copy
import importlib.util
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from acdc_bench.errors import ReportedError
from acdc_bench.metrics.flops import inference_flops
from acdc_bench.sparsity.masks import PrunableLayer, prunable_layers

ONNX_OPSET = 13  # what DeepSparse 1.8 reads; torch.onnx's TorchScript exporter (dynamo=False)


@dataclass
class Workload:
    """``dense`` and ``sparse`` (eval mode, CPU, float32), ``masks`` in ``prunable_layers`` order,
    ``example(batch)`` the model's inputs at a batch size, ``macs`` each prunable layer's
    multiply-adds per item (image or sequence)."""

    name: str
    dense: nn.Module
    sparse: nn.Module
    masks: list[Tensor]
    example: Callable[[int], tuple[Tensor, ...]]
    macs: list[int]
    workdir: Path
    _onnx: dict[str, Path] = field(default_factory=dict)

    @property
    def layers(self) -> list[PrunableLayer]:
        """The sparse twin's prunable layers (the order of ``masks`` and ``macs``)."""
        return prunable_layers(self.sparse)

    @property
    def densities(self) -> list[float]:
        return [float(m.float().mean()) for m in self.masks]

    def onnx(self, which: str) -> Path:
        """The ONNX file of ``dense`` or ``sparse`` (opset 13, batch axis dynamic), exported once."""
        if which not in self._onnx:
            model = self.dense if which == "dense" else self.sparse
            path = self.workdir / f"{self.name}_{which}.onnx"
            path.parent.mkdir(parents=True, exist_ok=True)
            if importlib.util.find_spec("onnx") is None:
                raise ReportedError("ONNX export needs the onnx package: pip install -e '.[inference]' "
                                    "(make setup installs it)")
            args = self.example(1)
            names = [f"input{i}" for i in range(len(args))]
            with warnings.catch_warnings():  # "legacy exporter": chosen, DeepSparse 1.8 reads opset 13
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.onnx.export(model, args, str(path), dynamo=False, opset_version=ONNX_OPSET,
                                  input_names=names, output_names=["output"],
                                  dynamic_axes={n: {0: "batch"} for n in names + ["output"]})
            self._onnx[which] = path
        return self._onnx[which]

    def flops_bound(self, sparse_kind: Callable[[PrunableLayer], bool], floor: float = 0.0) -> float:
        """Dense multiply-adds over the sparse model's, counting only the layers the engine runs
        sparse (``sparse_kind``) at their density (at least ``floor``: a 2:4 kernel skips at most
        half); every other layer dense. The speed-up an engine could reach if time were FLOPs."""
        dens = [max(d, floor) if sparse_kind(layer) else 1.0
                for layer, d in zip(self.layers, self.densities, strict=True)]
        _, fraction = inference_flops(self.macs, dens)
        return 1.0 / fraction if fraction > 0 else math.inf


def layer_macs(model: nn.Module, layers: Sequence[PrunableLayer], example: tuple[Tensor, ...]) -> list[int]:
    """Multiply-adds of each layer for one item of ``example`` (batch 1), by forward hooks: output
    elements times the weight's fan-in (``acdc_bench.metrics.flops.layer_macs`` for any input,
    token ids included)."""
    sizes: dict[int, int] = {}

    def hook(module: nn.Module, inputs, output) -> None:
        sizes[id(module)] = sizes.get(id(module), 0) + output.numel()

    handles = [layer.module.register_forward_hook(hook) for layer in layers]
    try:
        with torch.no_grad():
            model(*example)
    finally:
        for h in handles:
            h.remove()
    return [sizes.get(id(layer.module), 0) * math.prod(layer.shape[1:]) for layer in layers]


@torch.no_grad()
def build_workload(name: str, model: nn.Module, masks: Sequence[Tensor],
                   example: Callable[[int], tuple[Tensor, ...]], workdir: Path,
                   refill: nn.Module | None = None) -> Workload:
    """The dense and sparse twins of ``model`` under ``masks`` (True = kept, ``prunable_layers``
    order). ``refill``: a freshly initialised copy whose weights replace the masked ones in the
    dense twin (a trained sparse model's zeros would make the dense reference sparse); None keeps
    ``model``'s own weights (fresh ones, nonzero everywhere)."""
    model = model.cpu().float().eval()
    dense = copy.deepcopy(model)
    sparse = copy.deepcopy(model)
    d_layers, s_layers = prunable_layers(dense), prunable_layers(sparse)
    if len(masks) != len(s_layers):
        raise ValueError(f"{len(masks)} masks for {len(s_layers)} prunable layers")
    masks = [m.detach().cpu().bool() for m in masks]
    fresh = prunable_layers(refill) if refill is not None else None
    for i, (dl, sl, m) in enumerate(zip(d_layers, s_layers, masks, strict=True)):
        if tuple(m.shape) != sl.shape:
            raise ValueError(f"mask of {sl.name} has shape {tuple(m.shape)}, the weight {sl.shape}")
        sl.weight.mul_(m)
        if fresh is not None:
            dl.weight.copy_(torch.where(m, dl.weight, fresh[i].weight.detach().cpu().float()))
    macs = layer_macs(sparse, s_layers, example(1))
    return Workload(name, dense, sparse, masks, example, macs, Path(workdir))
