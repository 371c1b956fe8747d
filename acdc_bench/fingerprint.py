"""A CPU twin's fingerprint: the first few training steps of its first sweep point, exactly.

A committed report is only reproducible while the training code still makes its numbers. A
full rerun to check that costs minutes per twin; a fingerprint costs a fraction of a second
and touches the same chain: the twin's config composed as its sweep composes it (Hydra's
compose API, in-process), its data (subset, augmentation, order), model, method (masks,
schedules, hooks) and optimizer (the recipe's LR schedule, the masked SGD step). It holds the
losses of the first ``STEPS`` steps of the sweep's first point (seed and all) and a checksum
of the weights after them, written as exact floats. ``results/<twin>/fingerprint.json`` keeps
it beside the report; ``tests/test_fingerprints.py`` recomputes every one and compares them
exactly, so a change that moves training numbers fails until the reports are remade (and
the fingerprints rewritten with ``make fingerprints``) or the fingerprint is consciously
updated.

A twin whose runs need another sweep's runs first (BERT fine-tuning needs the pre-trained
upstream, transfer needs its upstream sweep) is fingerprinted by that upstream experiment
(``UPSTREAM``), which its numbers rest on; the fine-tuning code itself is not covered.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from acdc_bench import provenance

STEPS = 2  # per stretch (stretches())
CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
RESULTS = Path(__file__).resolve().parent.parent / "results"
# twins that fine-tune another sweep's runs: fingerprinted by the experiment they rest on
UPSTREAM = {
    "table6_bert_rescaled_cpu": "bert_pretrain_cpu", "table7_bert_transfer_cpu": "bert_pretrain_cpu",
    "fig11_bert_mrpc_cpu": "bert_pretrain_cpu", "fig12_bert_cola_cpu": "bert_pretrain_cpu",
    "tableF5_transfer_cpu": "figG2_corruptions_cpu", "figF1_transfer_cpu": "figG2_corruptions_cpu",
}


def twins() -> list[str]:
    """Every CPU twin with a committed report folder (``results/<twin>/``)."""
    return sorted(p.stem for p in (CONF_DIR / "experiment").glob("*_cpu.yaml") if (RESULTS / p.stem).is_dir())


def first_point(experiment: str) -> DictConfig:
    """The config of the sweep's first point, as ``acdc-bench -m experiment=<experiment>`` runs it
    (Hydra's basic sweeper expands ``hydra.sweeper.params`` in the same order)."""
    from hydra import compose, initialize_config_dir
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from acdc_bench.config import register_resolvers

    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        base = compose(config_name="config", overrides=[f"experiment={experiment}"], return_hydra_config=True)
        params = OmegaConf.select(base, "hydra.sweeper.params") or {}
        args = [f"{k}={v}" for k, v in params.items()] + [f"experiment={experiment}"]
        points = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(args), None)[0]
        cfg = compose(config_name="config", overrides=list(points[0]))
    GlobalHydra.instance().clear()
    return cfg


def stretches(epochs: int) -> tuple[int, ...]:
    """The epochs whose first steps are taken: the first (data, warm-up), the middle (most
    methods sparse, the LR high) and the last (final masks and sparsity)."""
    return tuple(sorted({0, epochs // 2, epochs - 1}))


def _exact(x: float) -> float | str:
    return x if math.isfinite(x) else repr(x)


def compute(twin: str, steps: int = STEPS) -> dict[str, Any]:
    """The twin's fingerprint (see the module docstring), with one torch thread."""
    from acdc_bench.trainer import Trainer, train_step

    experiment = UPSTREAM.get(twin, twin)
    cfg = first_point(experiment)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            if OmegaConf.select(cfg, "dataset.cache_dir", default="") is None:  # text data: not in the cwd
                cfg.dataset.cache_dir = str(Path(tmp) / "tokenized")
            trainer = Trainer(cfg, Path(tmp))
            trainer.setup()
            trainer.method.on_train_start(trainer.optimizer)
            trainer.model.train()
            losses: list[float | str] = []
            for epoch in range(trainer.epochs):  # schedules reach the later stretches as in a run
                trainer.recipe.on_epoch_start(epoch)
                trainer.method.on_epoch_start(epoch)
                if epoch not in stretches(trainer.epochs):
                    continue
                trainer.data.train.set_epoch(epoch, trainer.train_res(epoch))
                for i, (x, y) in enumerate(trainer.data.train):
                    if i == steps:
                        break
                    step = epoch * trainer.steps_per_epoch + i
                    loss, _ = train_step(trainer.ddp_model, x, y, step=step, optimizer=trainer.optimizer,
                                         method=trainer.method, loss_fn=trainer.objective.loss,
                                         lr=trainer.recipe.lr(step), scaler=trainer.scaler)
                    losses.append(_exact(float(loss)))
            weights = sum(float(p.detach().double().abs().sum()) for p in trainer.model.parameters())
    finally:
        torch.set_num_threads(threads)
    return {"experiment": experiment, "steps": steps, "losses": losses, "weights_abs_sum": _exact(weights),
            "code_version": provenance.code_version()}


def path(twin: str) -> Path:
    return RESULTS / twin / "fingerprint.json"


def compare(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """What differs between two fingerprints (the code version is bookkeeping, not compared)."""
    return [f"{k}: {saved.get(k)!r} committed, {now.get(k)!r} now"
            for k in ("experiment", "steps", "losses", "weights_abs_sum") if saved.get(k) != now.get(k)]


def write(twin: str) -> dict[str, Any]:
    fp = compute(twin)
    path(twin).write_text(json.dumps(fp, indent=2) + "\n")
    return fp


def main(argv: list[str] | None = None) -> int:
    """``python -m acdc_bench.fingerprint [--check] [TWIN ...]``: rewrite (or check) fingerprints."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m acdc_bench.fingerprint", description=main.__doc__)
    parser.add_argument("--check", action="store_true", help="compare with the committed ones, write nothing")
    parser.add_argument("twins", nargs="*", help="default: every twin with a results folder")
    args = parser.parse_args(argv)
    bad = 0
    for twin in args.twins or twins():
        if args.check:
            saved = json.loads(path(twin).read_text()) if path(twin).is_file() else {}
            diffs = compare(saved, compute(twin))
            bad += bool(diffs)
            print(f"{twin}: " + ("; ".join(diffs) if diffs else "same"))
        else:
            fp = write(twin)
            print(f"{path(twin)}: {fp['losses']}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
