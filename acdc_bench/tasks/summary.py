"""``task=summary``: the model, its masks, FLOPs (inference, and training from the schedule:
``training_flops``, ``training_flops_fraction`` over dense training of the same model, images
and epochs, cumulative per epoch in ``schedule``) and the method's schedule, as one JSON object.

No data is read and nothing is trained: the masks are the ones ``distribution`` gives the
initial weights at ``sparsity`` (through the method when it has masks: RigL's initial ones,
N:M's fixed sparsity; directly for ``method=dense``, whose schedule stays dense), so it
works for ``dataset=imagenet`` with no ImageNet on disk. Logs go to stderr, the JSON
object is the only line on stdout.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig

if TYPE_CHECKING:
    from acdc_bench.data.datasets import DataSettings
    from acdc_bench.settings import RunSettings


def planned_steps_per_epoch(data: DataSettings) -> int | None:
    """Training steps per epoch as the trainer would have them (last partial batch dropped),
    from the dataset config's sizes (``train_subset``, ``train_images``, ``train_size``);
    None when the config does not say (the data would have to be read)."""
    n = data.train_subset or data.train_images or data.train_size
    if not n:
        return None
    return max(1, int(n) // data.batch_size)


def planned_training_flops(settings: RunSettings, model: Any, layers: Any, method: Any,
                           steps_per_epoch: int | None) -> Any:
    """The run's training FLOPs from the method's schedule (``metrics.training_flops``), at the
    recipe's training resolution of each epoch, the global batch per step; None when the
    dataset config states no training set size. Global magnitude distributions have no trained
    weights here: their per-layer densities are the ones they give the initial weights (as
    for the inference FLOPs above)."""
    if steps_per_epoch is None:
        return None
    from acdc_bench.metrics.training_flops import run_training_flops

    data, epochs = settings.data, settings.trainer.epochs
    return run_training_flops(model, layers, epochs, method.training_steps,
                              lambda epoch: data.train_res(epoch, epochs), data.in_chans, data.batch_size)


def planned_run(cfg: DictConfig, settings: RunSettings | None = None) -> tuple[Any, int | None]:
    """The model (seeded, as training builds it), the recipe and the method of ``cfg``'s run
    (:func:`acdc_bench.trainer.build.build`), on the CPU, with the steps per epoch the dataset
    config states (None: unknown, the method plans 1)."""
    from acdc_bench.settings import RunSettings
    from acdc_bench.trainer.build import build

    settings = RunSettings.read(cfg) if settings is None else settings
    steps_per_epoch = planned_steps_per_epoch(settings.data)
    return build(cfg, settings, steps_per_epoch or 1), steps_per_epoch


def training_cost(cfg: DictConfig, settings: RunSettings | None = None) -> dict[str, Any] | None:
    """``training_flops``, ``training_flops_fraction`` (and AST's ``training_flops_parts``) of
    ``cfg``'s whole run, from its schedule alone (no data read); None when the dataset config
    states no training set size. For tasks that report a cost beside their own measurements."""
    from acdc_bench.settings import RunSettings
    from acdc_bench.sparsity.masks import prunable_layers

    settings = RunSettings.read(cfg) if settings is None else settings
    built, steps_per_epoch = planned_run(cfg, settings)
    cost = planned_training_flops(settings, built.model, prunable_layers(built.model), built.method,
                                  steps_per_epoch)
    return None if cost is None else cost.summary(settings.trainer.epochs - 1)


def summary(cfg: DictConfig, settings: RunSettings | None = None) -> dict[str, Any]:
    """``settings``: the run's, as the task read them when it started (read here when not given)."""
    import torch

    from acdc_bench.metrics.sparse import sparse_report
    from acdc_bench.settings import RunSettings
    from acdc_bench.sparsity.distributions import build_distribution
    from acdc_bench.sparsity.masks import prunable_layers

    settings = RunSettings.read(cfg) if settings is None else settings
    data = settings.data
    # Hydra's job logging writes to stdout, which is the JSON's alone.
    print(f"[acdc-bench] summary of {settings.model.name} on {data.name}", file=sys.stderr, flush=True)
    built, steps_per_epoch = planned_run(cfg, settings)
    model, method = built.model, built.method
    epochs, eval_res = settings.trainer.epochs, data.eval_res
    if steps_per_epoch is None:
        print(f"[acdc-bench] dataset {data.name} states no training set size: step-based schedules "
              "are shown for 1 step per epoch", file=sys.stderr, flush=True)
    layers = prunable_layers(model)
    cost = planned_training_flops(settings, model, layers, method, steps_per_epoch)
    masks = method.preview_masks()
    described = method.describe()
    if masks is None:  # a method without masks (dense): the masks `distribution` would give
        distribution = build_distribution(cfg, layers)
        masks = [torch.empty(layer.shape, dtype=torch.bool) for layer in layers]
        distribution.select_magnitude([layer.weight for layer in layers],
                                      distribution.target(float(cfg.sparsity)), masks)
        described = {"distribution": distribution.describe(), **described}
    counts = torch.stack([torch.count_nonzero(m) for m in masks]).tolist()
    densities = [c / layer.numel for c, layer in zip(counts, layers, strict=True)]
    out: dict[str, Any] = {
        "model": settings.model.name,
        "dataset": data.name,
        "method": cfg.method.name,
        "epochs": epochs,
        "steps_per_epoch": steps_per_epoch,
        "sparsity": float(cfg.sparsity),
        "eval_res": eval_res,
    }
    out.update(sparse_report(model, layers, densities, data.in_chans, eval_res))
    prunable = sum(layer.numel for layer in layers)
    kept = sum(d * layer.numel for d, layer in zip(densities, layers, strict=True))
    out["prunable_sparsity"] = 1.0 - kept / prunable
    out.update(described)
    if cost is None:
        out.update({"training_flops": None, "training_flops_fraction": None})
    else:
        out.update(cost.summary(epochs - 1))
    out["schedule"] = [{"epoch": e, **method.schedule(e), **(cost.row(e) if cost else {})}
                       for e in range(epochs)]
    recipe = built.recipe  # the recipe's plan: LR and trainable parameters per epoch
    out["recipe"] = recipe.name
    out["plan"] = [recipe.plan(e) for e in range(epochs)]
    out["trainable_params"] = recipe.trainable_parameters()
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    return out
