"""``cfg.transfer`` and the downstream datasets' facts, read once and checked
(:mod:`acdc_bench.validation`); defaults only in ``conf/transfer/*.yaml`` and
``conf/downstream/<name>.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError
from acdc_bench.transfer.datasets import DOWNSTREAM, DownstreamSpec

MODES = ("linear", "full")
METRICS = ("top1", "mean_class")
CONF_DIR = Path(__file__).resolve().parent.parent.parent / "conf" / "downstream"


@dataclass(frozen=True)
class TransferSettings:
    """How to fine-tune (paper 001 App. F follows its reference [33]; conf/transfer/*.yaml)."""

    mode: str  # linear: a classifier on features extracted once | full: every layer, masks fixed
    upstream: str | None  # a run directory, or None: found in upstream_sweep by ``match``
    upstream_sweep: str | None
    match: tuple[str, ...]  # config keys a run of upstream_sweep must share with this job
    baseline: dict[str, Any]  # the AIE baseline: this job's match values with these replaced
    baseline_run: str | None  # or an explicit run directory
    tasks: tuple[str, ...]
    roots: dict[str, str]
    epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    lr_step_epochs: int
    lr_gamma: float
    eval_batch_size: int
    num_workers: int
    device: str

    @classmethod
    def read(cls, cfg: Any) -> TransferSettings:
        if V.get(cfg, "transfer") in (None, V.ABSENT):
            raise ConfigError("transfer", None, "linear or full (task=transfer transfer=linear|full)")
        upstream = V.string(cfg, "transfer.upstream", "a run directory", nullable=True)
        sweep = V.string(cfg, "transfer.upstream_sweep", "a multirun directory", nullable=True)
        if upstream is None and sweep is None:
            raise ConfigError(
                "transfer.upstream",
                None,
                "a run directory of task=train (or transfer.upstream_sweep with transfer.match)",
            )
        tasks = V.string_list(cfg, "transfer.tasks", "downstream dataset names")
        bad = [t for t in tasks if t not in DOWNSTREAM]
        if bad or not tasks:
            raise ConfigError("transfer.tasks", bad or tasks, f"a non-empty list of {sorted(DOWNSTREAM)}")
        roots = V.get(cfg, "transfer.roots")
        roots = OmegaConf.to_container(roots) if OmegaConf.is_config(roots) else roots
        if not isinstance(roots, dict) or not all(
            isinstance(v, str) for v in roots.values() if v is not None
        ):
            raise ConfigError("transfer.roots", roots, "a mapping of dataset name to folder")
        baseline = V.get(cfg, "transfer.baseline")
        baseline = OmegaConf.to_container(baseline) if OmegaConf.is_config(baseline) else baseline
        if not isinstance(baseline, dict):
            raise ConfigError(
                "transfer.baseline", baseline, "a mapping of config keys to the baseline's values"
            )
        return cls(
            mode=V.choice(cfg, "transfer.mode", MODES),
            upstream=upstream,
            upstream_sweep=sweep,
            match=tuple(V.string_list(cfg, "transfer.match", "config keys")),
            baseline=baseline,
            baseline_run=V.string(cfg, "transfer.baseline_run", "a run directory", nullable=True),
            tasks=tuple(tasks),
            roots={k: v for k, v in roots.items() if v is not None},
            epochs=V.integer(cfg, "transfer.epochs"),
            batch_size=V.integer(cfg, "transfer.batch_size"),
            lr=V.number(cfg, "transfer.lr", 0, low_open=True),
            momentum=V.number(cfg, "transfer.momentum", 0, 1),
            weight_decay=V.number(cfg, "transfer.weight_decay", 0),
            lr_step_epochs=V.integer(cfg, "transfer.lr_step_epochs"),
            lr_gamma=V.number(cfg, "transfer.lr_gamma", 0, 1, low_open=True, high_open=False),
            eval_batch_size=V.integer(cfg, "transfer.eval_batch_size"),
            num_workers=V.integer(cfg, "transfer.num_workers", low=0),
            device=V.choice(cfg, "transfer.device", ["auto", "cpu", "cuda"]),
        )

    def recipe(self) -> dict[str, Any]:
        """What decides a fine-tuning result (the cache key of a run's transfer results)."""
        keys = (
            "mode",
            "epochs",
            "batch_size",
            "lr",
            "momentum",
            "weight_decay",
            "lr_step_epochs",
            "lr_gamma",
        )
        return {k: getattr(self, k) for k in keys}


def read_downstream(name: str, roots: dict[str, str]) -> DownstreamSpec:
    """``conf/downstream/<name>.yaml`` (the root from ``transfer.roots.<name>`` when given)."""
    path = CONF_DIR / f"{name}.yaml"
    if name not in DOWNSTREAM or not path.is_file():
        raise ConfigError("transfer.tasks", name, f"one of {sorted(DOWNSTREAM)}")
    node = OmegaConf.create({"downstream": OmegaConf.load(path)})
    if name in roots:
        node.downstream.root = roots[name]
    return DownstreamSpec(
        name=name,
        root=V.string(node, "downstream.root", "a folder", nullable=True),
        num_classes=V.integer(node, "downstream.num_classes", low=2),
        metric=V.choice(node, "downstream.metric", METRICS),
        layout=V.string(node, "downstream.layout", "the folder layout expected"),
        full_lr=V.number(node, "downstream.full_lr", 0, low_open=True, nullable=True),
        augment=V.boolean(node, "downstream.augment"),
        train_size=V.integer(node, "downstream.train_size", nullable=True),
        test_size=V.integer(node, "downstream.test_size", nullable=True),
        split_seed=V.integer(node, "downstream.split_seed", low=0),
    )
