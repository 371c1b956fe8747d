"""The paper experiments: every sweep point of every experiment config composes and passes the
checks a run does before any work; CPU twins keep their paper experiment's sweep structure;
the published numbers sit on sweep points; a real multirun goes through submitit's local
launcher and a preempted job resumes from its checkpoint."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from functools import cache
from pathlib import Path

import pytest
from conftest import ROOT, read_jsonl
from hydra import compose, initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from acdc_bench.artefacts import PUBLISHED, paper_artefacts
from acdc_bench.artefacts.spec import ANALYZED, SPEEDUP, SWEEP
from acdc_bench.config import register_resolvers, validate
from acdc_bench.reports.sweep import flatten
from acdc_bench.reports.tables import derived_coordinates, matches, subnet_targets
from acdc_bench.sparsity.methods import method_class

CONF = ROOT / "conf"
# the paper artefacts that `make <target>` runs as one sweep (PAPER_TARGETS) and that have a CPU twin, from
# the specs (acdc_bench/artefacts/): the list this file held by hand. The BEYOND (figG2, tableF5, figF1) and
# BERT twins stay out of it as before (Table 7's other-paper rows sit on no sweep point by design); every
# sweep point of theirs still composes and validates (EXPERIMENTS below).
PAPER = [a.config for a in paper_artefacts() if a.twin and a.kind in (SWEEP, ANALYZED, SPEEDUP)]
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


@pytest.fixture(scope="module", autouse=True)
def hydra_conf():
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield


@cache
def head(name: str):
    """The experiment's own config, Hydra's node included (its sweep)."""
    return compose("config", overrides=[f"experiment={name}"], return_hydra_config=True)


def sweep_points(name: str) -> list[list[str]]:
    params = head(name).hydra.sweeper.params or {}
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    return BasicSweeper.split_arguments(parsed, None)[0]


def sweep_values(value: str) -> list[str]:
    o = OverridesParser.create().parse_override(f"k={value}")
    return list(o.sweep_string_iterator()) if o.is_sweep_override() else [o.get_value_element_as_str()]


def _is_group(override: str) -> bool:
    key = override.split("=", 1)[0].lstrip("+~")
    return (CONF / key).is_dir()


@cache
def _composed(name: str, groups: tuple[str, ...]):
    return compose("config", overrides=[f"experiment={name}", *groups])


@cache
def point_configs(name: str) -> list[tuple[list[str], object]]:
    return [(point, point_config(name, point)) for point in sweep_points(name)]


def point_config(name: str, point: list[str]):
    """The config of one sweep point. Hydra composes once per combination of config-group
    choices; plain values are then set as Hydra sets command-line values (after composition),
    which keeps 300 sweep points to seconds."""
    groups = tuple(o for o in point if _is_group(o))
    cfg = OmegaConf.create(OmegaConf.to_container(_composed(name, groups)))  # a copy, still unresolved
    OmegaConf.set_struct(cfg, True)
    for o in OverridesParser.create().parse_overrides([o for o in point if not _is_group(o)]):
        OmegaConf.update(cfg, o.key_or_group, o.value(), merge=False, force_add=o.is_add())
    return cfg


def test_all_paper_experiments_and_their_cpu_twins_exist():
    assert set(PAPER) | {f"{p}_cpu" for p in PAPER} <= set(EXPERIMENTS), sorted(
        set(PAPER) | {f"{p}_cpu" for p in PAPER} - set(EXPERIMENTS))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_sweep_point_composes_and_validates(name):
    configs = point_configs(name)
    assert configs, name
    seen = set()
    for _, cfg in configs:
        validate(cfg)
        method_class(cfg.method.name).check_config(cfg, int(cfg.epochs))
        resolved = OmegaConf.to_container(cfg, resolve=True)
        resolved.pop("seed", None)
        seen.add(json.dumps(resolved, sort_keys=True, default=str))
    # no two sweep points train the same thing under different names (seeds aside)
    assert len(seen) == len({tuple(o for o in p if not o.startswith("seed=")) for p, _ in configs})
    # the fast path is Hydra's own composition: check it on the last point
    point, cfg = configs[-1]
    full = compose("config", overrides=[f"experiment={name}", *point])
    assert OmegaConf.to_container(full, resolve=True) == OmegaConf.to_container(cfg, resolve=True)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_sweep_dir_is_stable_and_report_is_declared(name):
    """A requeued SLURM job must land in the same directory: no timestamps in the sweep path."""
    cfg = head(name)
    assert cfg.hydra.sweep.dir == f"multirun/{cfg.report.name}"  # conf/config.yaml derives it: no timestamp
    assert cfg.report.name == name
    assert cfg.report.get("published") in PUBLISHED
    assert cfg.report.get("twin", False) == name.endswith("_cpu")


@pytest.mark.parametrize("name", PAPER)
def test_cpu_twin_keeps_the_sweep_structure(name):
    paper, twin = head(name), head(f"{name}_cpu")
    p, t = dict(paper.hydra.sweeper.params or {}), dict(twin.hydra.sweeper.params or {})
    assert list(p) == list(t)
    points = {k: len(sweep_values(v)) for k, v in p.items()}
    fixed = list(twin.report.get("twin_fixed") or [])  # axes a twin cannot reproduce (CIFAR-10/100)
    assert {k: len(sweep_values(v)) for k, v in t.items()} == {k: 1 if k in fixed else n
                                                                for k, n in points.items()}
    assert twin.dataset.name == "fashion_mnist" and twin.device == "cpu"
    assert list(twin.report.rows) == list(paper.report.rows)
    assert twin.report.get("column") == paper.report.get("column")


@pytest.mark.parametrize("name", PAPER)
def test_published_numbers_sit_on_sweep_points(name):
    """Every published number of the experiment's table has a sweep point to compare with."""
    pub = PUBLISHED[name]
    coords = []
    for _, cfg in point_configs(name):
        flat = derived_coordinates(flatten(OmegaConf.to_container(cfg, resolve=True)))
        for t in subnet_targets(flat) or [None]:
            coords.append({**flat, **({"subnet": t} if t is not None else {})})
    for cell in pub.cells:
        # Fig. 5 types in other papers' points (``published_method``): their sparsity must be ours
        where = {k: v for k, v in cell.where.items() if k != "published_method"}
        assert any(matches(c, where) for c in coords), (name, cell.where)


def test_fig7_samples_mask_iou_at_the_ends_of_acdc_compression_phases():
    """Fig. 7 compares masks at the ends of AC/DC's compression phases, one AC/DC cycle apart;
    the configs' mask_iou_start / mask_iou_every must land there for the plan the run gets."""
    import torch

    from acdc_bench.sparsity.methods.acdc import ACDC

    for name in ("fig7_mask_iou", "fig7_mask_iou_cpu"):
        _, cfg = next((p, c) for p, c in point_configs(name) if c.method.name == "acdc")
        model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4, 2))
        method = ACDC(cfg, model, int(cfg.epochs), 1)
        sampled = [e for e in range(int(cfg.epochs)) if e >= cfg.method.mask_iou_start
                   and (e - cfg.method.mask_iou_start) % cfg.method.mask_iou_every == 0]
        compression_ends = {p.end - 1 for p in method.phases if p.stage == "compression" and not p.final}
        # every alternating compression phase's end is sampled, and nothing else before the final phases
        assert {e for e in sampled if e <= max(compression_ends)} == compression_ends, name
        assert cfg.method.mask_iou_every == 2 * cfg.method.phase_epochs  # one compression + decompression
        if name.endswith("_cpu"):  # the twin's phases are hundreds of steps, not one 31-step epoch
            steps_per_epoch = cfg.dataset.train_subset // cfg.dataset.batch_size
            assert steps_per_epoch == 31 and cfg.method.phase_epochs * steps_per_epoch >= 150


def test_fig3_twin_gives_acdc_phases_of_hundreds_of_steps_where_the_budget_allows():
    """The fig3 twin's AC/DC arm: 5-epoch (155-step) phases from 25 epochs on, the acdc_cpu
    arm's 1-epoch phases below (the plans of 5 and 12 epochs stay as they were)."""
    import torch

    from acdc_bench.sparsity.methods.acdc import ACDC

    plans = {}
    assert any("+experiment/arm=acdc_cpu_steps" in point for point in sweep_points("fig3_methods_cpu"))
    for arm in ("acdc_cpu_steps", "acdc_cpu"):
        for multiplier in (1, 2.5, 5, 10):
            cfg = point_config("fig3_methods_cpu", [f"+experiment/arm={arm}", "sparsity=0.95",
                                                    f"epoch_multiplier={multiplier}"])
            model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4, 2))
            method = ACDC(cfg, model, int(cfg.epochs), 1)
            plans[arm, int(cfg.epochs)] = [(p.stage, p.start, p.end) for p in method.phases]
            steps = cfg.dataset.train_subset // cfg.dataset.batch_size
            alternating = [p for p in method.phases if p.stage != "warmup" and not p.final]
            if arm == "acdc_cpu_steps":
                shortest = min(p.end - p.start for p in alternating) * steps
                assert (shortest >= 150) == (cfg.epochs >= 25), (cfg.epochs, shortest)
    assert {e for _, e in plans} == {5, 12, 25, 50}
    for epochs in (5, 12):
        assert plans["acdc_cpu_steps", epochs] == plans["acdc_cpu", epochs]


def test_mask_iou_every_k_epochs_compares_supports_k_epochs_apart():
    import torch

    from acdc_bench.metrics.sparse import mask_iou, support
    from acdc_bench.sparsity.masked import WeightStats
    from acdc_bench.sparsity.masks import prunable_layers

    model = torch.nn.Sequential(torch.nn.Linear(8, 8, bias=False))
    stats = WeightStats(model, prunable_layers(model), 1, 8, iou_every=3, iou_start=1)
    w = model[0].weight
    supports, ious = {}, {}
    with torch.no_grad():
        for epoch in range(8):
            w.copy_((torch.rand(8, 8, generator=torch.Generator().manual_seed(epoch)) > 0.5).float())
            supports[epoch] = support([w]).clone()
            ious[epoch] = stats.epoch_row(epoch=epoch)["mask_iou"]
    assert [e for e, v in ious.items() if v is not None] == [4, 7]
    assert ious[4] == pytest.approx(mask_iou(supports[4], supports[1]))
    assert ious[7] == pytest.approx(mask_iou(supports[7], supports[4]))


# ----------------------------------------------------------------------------- launcher
def _job_pid(sweep: Path, job_dir: Path) -> int | None:
    """The submitit task process running the sweep point of ``job_dir`` (it holds the run's log
    file open), or None."""
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes().split(b"\0")
            if b"submitit.core._submit" not in cmd or not any(str(sweep).encode() in c for c in cmd):
                continue
            if any(os.readlink(fd).startswith(str(job_dir)) for fd in (p / "fd").iterdir()):
                return int(p.name)
        except OSError:
            continue
    return None


def test_two_point_multirun_through_submitit_local_launcher_resumes_after_preemption(tmp_path):
    """hydra/launcher=local runs each sweep point as a submitit job. SIGUSR2 is how SLURM (and
    submitit's local executor) tells a job it is preempted: submitit checkpoints the launcher and
    requeues the same sweep point, which must land in the same run directory and resume from
    checkpoints/last.pt there."""
    sweep = tmp_path / "sweep"
    epochs = 4
    # One thread per job: two jobs with two OpenMP threads each on a shared 2-core machine stall
    # each other (tens of seconds per digits epoch instead of one or two).
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "acdc_bench", "-m", "hydra/launcher=local", "dataset=digits", "method=dense",
         "model=resnet20", "model.width=0.25", f"epochs={epochs}", "seed=0,1", "trainer.progress=false",
         f"hydra.sweep.dir={sweep}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    job0, pid = None, None
    deadline = time.time() + 900
    while time.time() < deadline and proc.poll() is None and pid is None:
        for metrics in sweep.glob("0_*/metrics.jsonl"):
            if len(read_jsonl(metrics)) >= 2:
                job0 = metrics.parent
                pid = _job_pid(sweep, job0)
        time.sleep(0.1)
    assert pid is not None, "job 0 never wrote two epochs"
    done_before = len(read_jsonl(job0 / "metrics.jsonl"))
    os.kill(pid, signal.SIGUSR2)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-3000:]
    jobs = sorted(d for d in sweep.iterdir() if d.is_dir() and not d.name.startswith("."))
    assert [d.name.split("_", 1)[0] for d in jobs] == ["0", "1"]  # one directory per sweep point
    assert [d.name.split("seed=")[1] for d in jobs] == ["0", "1"]
    logs = {d.name: "".join(p.read_text() for p in sorted(d.glob("*_log.*")))  # one submitit job each
            for d in (sweep / ".submitit").iterdir() if d.is_dir() and d.name != "%j"}
    assert len(logs) == 2
    preempted = [text for text in logs.values() if "this job is preempted" in text]
    assert len(preempted) == 1 and "Requeued job" in preempted[0]
    resumed = [text for text in logs.values() if "resuming from" in text]
    assert len(resumed) == 1 and str(job0 / "checkpoints") in resumed[0]
    # The signal makes the trainer checkpoint at the next step boundary (acdc_bench/trainer/preemption.py),
    # so the job resumes inside the epoch it was in, or after an epoch when it came at an epoch's end.
    where = re.search(r"resuming from \S+ (?:after epoch (\d+)|in epoch (\d+) at batch \d+)", resumed[0])
    assert where, resumed[0]
    next_epoch = int(where.group(1)) + 1 if where.group(1) else int(where.group(2))
    assert done_before <= next_epoch < epochs  # mid-run, nothing trained before the signal is redone
    for job in jobs:
        rows = read_jsonl(job / "metrics.jsonl")
        assert [r["epoch"] for r in rows] == list(range(epochs))  # each epoch once: resumed, not restarted
        summary = json.loads((job / "summary.json").read_text())
        assert summary["status"] == "finished" and summary["epochs"] == epochs
        assert summary["final"] == rows[-1]
