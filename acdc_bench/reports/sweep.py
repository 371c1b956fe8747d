"""Reading a Hydra multirun directory: which sweep points were asked for, which ran, and how
they group.

A sweep directory holds ``multirun.yaml`` (the sweep's own config: its command-line overrides
and ``hydra.sweeper.params``) and one job directory per sweep point with ``.hydra/config.yaml``,
``.hydra/overrides.yaml``, ``metrics.jsonl`` and, once finished, ``summary.json``. The points
asked for are recomputed from ``multirun.yaml`` with Hydra's own sweep expansion, so a point
whose job directory was never written (or was deleted) is still known, and reported as missing.

Runs are grouped by their config with the seed removed: the seeds of one config are averaged,
two configs never are (even when they land in the same table cell), and one seed never counts
twice.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

# Config keys that do not change what a run computes: left out when comparing configs.
IGNORED_KEYS = (
    "seed", "task", "device", "trainer.progress", "sweep_dir", "results_dir", "report",
    "dataset.root", "dataset.num_workers", "dataset.ffcv_train", "dataset.ffcv_val",
    "checkpoint.resume_code_change",
)
IGNORED_PREFIXES = ("logger.", "report.")
FINISHED, FAILED, INCOMPLETE, MISSING = "finished", "failed", "incomplete", "missing"


@dataclass
class Run:
    """One sweep point (one seed of one config) and what it left on disk."""

    overrides: tuple[str, ...]
    job_dir: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)  # flattened: "optim.lr" -> 0.5
    status: str = MISSING
    summary: dict[str, Any] | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status == FINISHED

    @property
    def seed(self) -> Any:
        return self.config.get("seed")

    def label(self) -> str:
        return " ".join(self.overrides) or (self.job_dir.name if self.job_dir else "?")


@dataclass
class Group:
    """Runs whose configs agree on everything but the seed."""

    key: str
    config: dict[str, Any]
    runs: list[Run]

    @property
    def finished(self) -> list[Run]:
        return [r for r in self.runs if r.ok]

    @property
    def not_finished(self) -> list[Run]:
        return [r for r in self.runs if not r.ok]


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts to dotted keys; lists stay values (``method.subnet_sparsities``)."""
    if not isinstance(node, dict):
        return {prefix: node} if prefix else {}
    out: dict[str, Any] = {}
    for k, v in node.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def _container(cfg: DictConfig) -> dict[str, Any]:
    """The config as plain data, resolved where the resolvers allow it."""
    from acdc_bench.config import register_resolvers

    register_resolvers()
    cfg = OmegaConf.masked_copy(cfg, [k for k in cfg.keys() if k != "hydra"]) if "hydra" in cfg else cfg
    try:
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except Exception:  # an interpolation that only resolves inside a Hydra job
        return OmegaConf.to_container(cfg, resolve=False)  # type: ignore[return-value]


def load_config(path: Path) -> dict[str, Any]:
    return flatten(_container(OmegaConf.load(path)))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by a kill: the rows before it stand
            break
    return rows


def sweep_points(multirun_yaml: Path) -> list[tuple[str, ...]]:
    """The override lists of every point of the sweep, as Hydra's basic sweeper makes them."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    cfg = OmegaConf.load(multirun_yaml)
    task = list(OmegaConf.select(cfg, "hydra.overrides.task") or [])
    params = OmegaConf.select(cfg, "hydra.sweeper.params") or {}
    args = [f"{k}={v}" for k, v in params.items()] + task  # the command line wins, as in Hydra
    parsed = OverridesParser.create().parse_overrides(args)
    return [tuple(point) for point in BasicSweeper.split_arguments(parsed, None)[0]]


def master_config(sweep_dir: Path) -> dict[str, Any]:
    """The sweep's config (``multirun.yaml`` without its hydra node), flattened."""
    path = sweep_dir / "multirun.yaml"
    return load_config(path) if path.is_file() else {}


def compose_point(overrides: tuple[str, ...]) -> dict[str, Any] | None:
    """The config a sweep point would run with, composed from the project's conf/ (for points
    with nothing on disk). ``None`` when it no longer composes."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from acdc_bench.config import register_resolvers

    register_resolvers()
    conf_dir = str(Path(__file__).resolve().parent.parent.parent / "conf")
    try:
        if GlobalHydra.instance().is_initialized():
            cfg = compose(config_name="config", overrides=list(overrides))
        else:
            with initialize_config_dir(config_dir=conf_dir, version_base="1.3"):
                cfg = compose(config_name="config", overrides=list(overrides))
    except Exception:
        return None
    return flatten(_container(cfg))


def _from_overrides(overrides: tuple[str, ...]) -> dict[str, Any]:
    """Last resort for a point that no longer composes: its plain ``key=value`` overrides."""
    out: dict[str, Any] = {}
    for o in overrides:
        key, _, value = o.lstrip("+~").partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def read_job(job_dir: Path, overrides: tuple[str, ...]) -> Run:
    run = Run(overrides=overrides, job_dir=job_dir)
    cfg_path = job_dir / ".hydra" / "config.yaml"
    run.config = load_config(cfg_path) if cfg_path.is_file() else {}
    run.rows = read_jsonl(job_dir / "metrics.jsonl")
    summary_path = job_dir / "summary.json"
    if summary_path.is_file():
        try:
            run.summary = json.loads(summary_path.read_text())
        except json.JSONDecodeError:
            run.summary = None
    if run.summary is not None:
        run.status = FAILED if run.summary.get("status") == FAILED else FINISHED
        if run.status == FAILED:
            run.note = str(run.summary.get("error", run.summary.get("reason", "")))
    elif run.rows:
        run.status = INCOMPLETE
        run.note = f"{len(run.rows)} of {run.config.get('epochs', '?')} epochs, no summary.json"
    else:
        run.status = MISSING
        run.note = "job directory without results"
    return run


def read_sweep(sweep_dir: Path) -> list[Run]:
    """Every sweep point asked for (from ``multirun.yaml``) and every job directory found."""
    sweep_dir = Path(sweep_dir)
    on_disk: dict[frozenset[str], tuple[Path, tuple[str, ...]]] = {}
    for ov_path in sorted(sweep_dir.glob("*/.hydra/overrides.yaml")):
        job_dir = ov_path.parent.parent
        overrides = tuple(str(o) for o in (OmegaConf.load(ov_path) or []))
        on_disk[frozenset(overrides)] = (job_dir, overrides)
    asked = sweep_points(sweep_dir / "multirun.yaml") if (sweep_dir / "multirun.yaml").is_file() else []
    runs: list[Run] = []
    seen: set[frozenset[str]] = set()
    for point in asked:
        key = frozenset(point)
        seen.add(key)
        if key in on_disk:
            runs.append(read_job(*on_disk[key]))
            continue
        run = Run(overrides=point, status=MISSING, note="no job directory")
        run.config = compose_point(point) or _from_overrides(point)
        runs.append(run)
    for key, (job_dir, overrides) in on_disk.items():
        if key not in seen:  # a job of an earlier sweep into the same directory: it ran, report it
            runs.append(read_job(job_dir, overrides))
    for run in runs:  # a job killed before Hydra wrote its config: compose it
        if not run.config:
            run.config = compose_point(run.overrides) or _from_overrides(run.overrides)
    return runs


def comparable(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a flattened config that decides the numbers (the seed left out)."""
    return {k: v for k, v in config.items()
            if k not in IGNORED_KEYS and not k.startswith(IGNORED_PREFIXES)}


def _seedless(overrides: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(o for o in overrides if o.lstrip("+~").partition("=")[0] != "seed"))


def group_runs(runs: list[Run]) -> list[Group]:
    """Group seeds of one config. Runs are first grouped by their overrides without the seed;
    a group whose finished runs disagree on any config key (say the recipe changed between
    two launches of the sweep) is split by config, so different configs are never averaged."""
    by_overrides: dict[tuple[str, ...], list[Run]] = {}
    for run in runs:
        by_overrides.setdefault(_seedless(run.overrides), []).append(run)
    groups: list[Group] = []
    for ov, members in by_overrides.items():
        by_config: dict[str, list[Run]] = {}
        for run in members:
            if run.ok or run.job_dir is not None and (run.job_dir / ".hydra" / "config.yaml").is_file():
                key = json.dumps(comparable(run.config), sort_keys=True, default=str)
            else:
                key = ""  # no config of its own: joins the sweep point's group below
            by_config.setdefault(key, []).append(run)
        homeless = by_config.pop("", [])
        if not by_config:
            by_config[json.dumps(comparable(homeless[0].config), sort_keys=True, default=str)] = []
        first = next(iter(by_config))
        by_config[first].extend(homeless)
        for key, rs in by_config.items():
            for i, layer in enumerate(_one_run_per_seed(rs)):
                tag = "" if i == 0 else f"|repeat {i}"
                groups.append(Group(key=" ".join(ov) + "|" + key + tag, config=comparable(layer[0].config),
                                    runs=layer))
    return groups


def _one_run_per_seed(runs: list[Run]) -> list[list[Run]]:
    """Split runs so that no seed appears twice in one group: a seed run twice (an earlier sweep
    into the same directory without ``seed=`` in its overrides, then ``SEEDS=N``) is the same
    draw, not a second sample, and counting it twice would shrink the confidence intervals. The
    first run of each seed (the sweep's own points come first) stays; repeats form their own
    groups, which the tables show as separate variants."""
    layers: list[list[Run]] = []
    for run in runs:
        seed = repr(run.seed)
        for layer in layers:
            if all(repr(r.seed) != seed for r in layer):
                layer.append(run)
                break
        else:
            layers.append([run])
    return layers


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    mean = sum(values) / n
    if n == 1:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
