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
from typing import Any

from omegaconf import DictConfig


def planned_steps_per_epoch(cfg: DictConfig) -> int | None:
    """Training steps per epoch as the trainer would have them (last partial batch dropped),
    from the dataset config's sizes (``train_subset``, ``train_images``, ``train_size``);
    None when the config does not say (the data would have to be read)."""
    ds = cfg.dataset
    n = ds.get("train_subset") or ds.get("train_images") or ds.get("train_size")
    if not n:
        return None
    return max(1, int(n) // int(ds.batch_size))


def planned_training_flops(cfg: DictConfig, model: Any, layers: Any, method: Any, epochs: int,
                           steps_per_epoch: int | None) -> Any:
    """The run's training FLOPs from the method's schedule (``metrics.training_flops``), at the
    recipe's training resolution of each epoch, the global batch per step; None when the
    dataset config states no training set size. Global magnitude distributions have no trained
    weights here: their per-layer densities are the ones they give the initial weights (as
    for the inference FLOPs above)."""
    if steps_per_epoch is None:
        return None
    from acdc_bench.metrics.training_flops import run_training_flops
    from acdc_bench.schedules import resolution_at_epoch

    r = cfg.dataset.resolution

    def resolution(epoch: int) -> int:
        return resolution_at_epoch(epoch, epochs, int(r.min_res), int(r.max_res), float(r.start_ramp),
                                   float(r.end_ramp))

    return run_training_flops(model, layers, epochs, method.training_steps, resolution,
                              int(cfg.dataset.in_chans), int(cfg.dataset.batch_size))


def planned_run(cfg: DictConfig) -> tuple[Any, Any, int | None]:
    """The model (seeded, as training builds it) and the method of ``cfg``'s run, on the CPU,
    with the steps per epoch the dataset config states (None: unknown, the method plans 1)."""
    import torch

    from acdc_bench.models import create_model
    from acdc_bench.sparsity.methods import method_class

    torch.manual_seed(int(cfg.seed))
    model = create_model(cfg.model, int(cfg.dataset.num_classes), int(cfg.dataset.in_chans))
    model = method_class(cfg.method.name).prepare_model(cfg, model)  # the model training would build
    steps_per_epoch = planned_steps_per_epoch(cfg)
    method = method_class(cfg.method.name)(cfg, model, int(cfg.epochs), steps_per_epoch or 1, is_main=True,
                                           device=torch.device("cpu"), eval_res=int(cfg.dataset.eval_res))
    return model, method, steps_per_epoch


def training_cost(cfg: DictConfig) -> dict[str, Any] | None:
    """``training_flops``, ``training_flops_fraction`` (and AST's ``training_flops_parts``) of
    ``cfg``'s whole run, from its schedule alone (no data read); None when the dataset config
    states no training set size. For tasks that report a cost beside their own measurements."""
    from acdc_bench.sparsity.masks import prunable_layers

    model, method, steps_per_epoch = planned_run(cfg)
    epochs = int(cfg.epochs)
    cost = planned_training_flops(cfg, model, prunable_layers(model), method, epochs, steps_per_epoch)
    return None if cost is None else cost.summary(epochs - 1)


def summary(cfg: DictConfig) -> dict[str, Any]:
    import torch

    from acdc_bench.metrics.sparse import sparse_report
    from acdc_bench.sparsity.distributions import build_distribution
    from acdc_bench.sparsity.masks import prunable_layers

    # Hydra's job logging writes to stdout, which is the JSON's alone.
    print(f"[acdc-bench] summary of {cfg.model.name} on {cfg.dataset.name}", file=sys.stderr, flush=True)
    model, method, steps_per_epoch = planned_run(cfg)
    epochs = int(cfg.epochs)
    eval_res = int(cfg.dataset.eval_res)
    if steps_per_epoch is None:
        print(f"[acdc-bench] dataset {cfg.dataset.name} states no training set size: step-based schedules "
              "are shown for 1 step per epoch", file=sys.stderr, flush=True)
    layers = prunable_layers(model)
    cost = planned_training_flops(cfg, model, layers, method, epochs, steps_per_epoch)
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
        "model": cfg.model.name,
        "dataset": cfg.dataset.name,
        "method": cfg.method.name,
        "epochs": epochs,
        "steps_per_epoch": steps_per_epoch,
        "sparsity": float(cfg.sparsity),
        "eval_res": eval_res,
    }
    out.update(sparse_report(model, layers, densities, int(cfg.dataset.in_chans), eval_res))
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
    from acdc_bench.recipes import build_recipe  # the recipe's plan: LR and trainable parameters per epoch

    recipe = build_recipe(cfg, model, epochs, steps_per_epoch or 1)
    out["recipe"] = recipe.name
    out["plan"] = [recipe.plan(e) for e in range(epochs)]
    out["trainable_params"] = recipe.trainable_parameters()
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    return out
