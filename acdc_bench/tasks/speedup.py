"""``task=speedup``: the measured inference speed-up of a sparse model over its dense twin.

``run_dir=RUN``: the run's final sparse model (``analysis.runs.load_run``) and its masks;
results go to ``RUN/speedup.json``. Without a run: the config's model with fresh weights and
magnitude masks at ``sparsity`` from the config's ``distribution`` (speed depends on where the
zeros are, not on the trained values, so this measures what a trained model of that mask
shape would give); results go to the Hydra run directory (``speedup.json``, and
``summary.json`` with the flat metrics and the schedule's training FLOPs, which reports read).
Engines, batch sizes and rounds: ``cfg.inference`` (``conf/inference/``; default ``cpu``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import DictConfig

if TYPE_CHECKING:
    from acdc_bench.data.datasets import DataSettings
    from acdc_bench.models import ModelSettings
    from acdc_bench.settings import RunSettings

FRESH_NOTE = ("fresh weights with magnitude masks at the target sparsity (the config's distribution): speed "
              "depends on the mask shape, not on trained values")


def _log(msg: str) -> None:
    print(f"[acdc-bench] {msg}", file=sys.stderr, flush=True)


def _example(model: Any, data: DataSettings, seq_len: int):
    import torch

    hf = getattr(model, "hf", None)
    if hf is not None:  # a text model: token ids
        vocab = int(hf.config.vocab_size)
        return lambda b: (torch.randint(0, vocab, (b, seq_len), generator=torch.Generator().manual_seed(0)),)
    c, r = data.in_chans, data.eval_res
    return lambda b: (torch.randn(b, c, r, r, generator=torch.Generator().manual_seed(0)),)


def _fresh(cfg: DictConfig, data: DataSettings, model: ModelSettings) -> Any:
    """The config's model with fresh weights, seeded as training seeds it."""
    from acdc_bench.trainer.build import build_model

    return build_model(cfg, data, model, seed=int(cfg.seed))


def _magnitude_masks(cfg: DictConfig, model: Any) -> list[Any]:
    import torch

    from acdc_bench.sparsity.distributions import build_distribution
    from acdc_bench.sparsity.masks import prunable_layers

    layers = prunable_layers(model)
    dist = build_distribution(cfg, layers)
    masks = [torch.empty(layer.shape, dtype=torch.bool) for layer in layers]
    weights = [layer.weight.detach() for layer in layers]
    dist.select_magnitude(weights, dist.target(float(cfg.sparsity)), masks)
    return masks


def training_cost(cfg: DictConfig, settings: RunSettings | None = None) -> dict[str, Any]:
    """``training_flops`` and ``training_flops_fraction`` of the config's schedule (RigL's count, from
    the schedule alone: ``tasks.summary.training_cost``); {} where it cannot say (no training set size)."""
    from acdc_bench.tasks.summary import training_cost as planned

    cost = planned(cfg, settings) or {}
    return {k: cost[k] for k in ("training_flops", "training_flops_fraction") if k in cost}


def speedup(cfg: DictConfig, run_settings: RunSettings | None = None) -> dict[str, Any]:
    """``run_settings``: the config's, as the task read them when it started (read here when not given)."""
    from acdc_bench.errors import ConfigError
    from acdc_bench.inference.engines import build_engine
    from acdc_bench.inference.measure import flat_metrics, measure, table
    from acdc_bench.inference.settings import InferenceSettings
    from acdc_bench.inference.workload import build_workload
    from acdc_bench.metrics.flops import inference_flops
    from acdc_bench.models import ModelSettings
    from acdc_bench.settings import RunSettings
    from acdc_bench.sparsity.masks import prunable_layers

    run_settings = RunSettings.read(cfg) if run_settings is None else run_settings
    settings = InferenceSettings.read(cfg)
    threads = settings.resolved_threads()
    engines = [build_engine(n, threads, settings.engine_options.get(n)) for n in settings.engines]
    for e in engines:
        e.check()  # before any export: a missing engine is one line at once
    run_dir = cfg.get("run_dir")
    if run_dir:
        from acdc_bench.analysis.runs import load_run

        if not Path(run_dir).is_dir():
            raise ConfigError("run_dir", run_dir, "an existing run directory")
        run = load_run(run_dir)
        run_cfg, data = run.cfg, run.settings
        model = run.model
        masks = [run.masks[f"{layer.name}.weight"] for layer in prunable_layers(model)]
        refill = _fresh(run_cfg, data, ModelSettings.read(run_cfg))
        source, out_dir = f"run {run_dir} (final model)", Path(run_dir)
    else:
        from hydra.core.hydra_config import HydraConfig

        run_cfg, data = cfg, run_settings.data
        model = _fresh(cfg, data, run_settings.model)
        masks = _magnitude_masks(cfg, model)
        refill, source = None, FRESH_NOTE
        out_dir = Path(HydraConfig.get().runtime.output_dir)
        _log(f"speedup: {FRESH_NOTE}")
    work = build_workload(str(run_cfg.model.name), model, masks, _example(model, data, settings.seq_len),
                          out_dir / "onnx", refill=refill)
    rows = measure(work, engines, settings.batch_sizes, settings.warmup, settings.repeats)
    sparsity = 1 - sum(float(m.sum()) for m in masks) / sum(m.numel() for m in masks)
    _, flops_fraction = inference_flops(work.macs, work.densities)
    result = {"model": str(run_cfg.model.name), "source": source, "sparsity": sparsity,
              "distribution": str(run_cfg.distribution.name), "threads": threads, "results": rows}
    (out_dir / "speedup.json").write_text(json.dumps(result, indent=1) + "\n")
    sys.stdout.write(f"{table(rows)}\n{out_dir / 'speedup.json'}\n")
    sys.stdout.flush()
    if not run_dir:
        _write_summary(out_dir, {"task": "speedup", "model": str(cfg.model.name),
                                 "method": str(cfg.method.name), "sparsity": sparsity,
                                 "target_sparsity": float(cfg.sparsity),
                                 "threads": threads, "inference_flops_fraction": flops_fraction,
                                 **training_cost(cfg, run_settings), **flat_metrics(rows)})
    return result


def _write_summary(out_dir: Path, summary: dict[str, Any]) -> None:
    """``summary.json`` for the reports, unless a training run's own summary is there."""
    path = out_dir / "summary.json"
    if path.is_file():
        try:
            if json.loads(path.read_text()).get("task") != "speedup":
                _log(f"speedup: {path} belongs to a training run; left as it is")
                return
        except ValueError:
            pass
    path.write_text(json.dumps(summary, indent=1) + "\n")
