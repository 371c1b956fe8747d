"""One ``task=transfer`` job: an upstream run fine-tuned on every task of ``transfer.tasks``, the
same for the AIE baseline, and the job's ``summary.json``.

Per-task results are kept in the *upstream run's* folder, ``RUN/transfer/<mode>.json`` (keyed
by task, with the recipe they were made with), so the baseline is fine-tuned once however
many jobs compare against it, and an interrupted sweep continues where it stopped. The
job's own ``summary.json`` has the shape a training run's has (``final``: the numbers the
reports read), so a sweep of transfer jobs is reported like any sweep:
``final.aie``, ``final.transfer_mean_accuracy`` and ``final["transfer_acc/<task>"]``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import torch
from omegaconf import OmegaConf
from torch import nn

from acdc_bench import provenance
from acdc_bench import validation as V
from acdc_bench.checkpoint import atomic_write_text
from acdc_bench.errors import ConfigError
from acdc_bench.transfer import finetune as FT
from acdc_bench.transfer.aie import average_increase_in_error
from acdc_bench.transfer.datasets import DOWNSTREAM, check_root
from acdc_bench.transfer.settings import TransferSettings, read_downstream


def _same(a: Any, b: Any) -> bool:
    if V.is_number(a) and V.is_number(b):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def find_run(sweep: str, want: dict[str, Any], field: str) -> Path:
    """The one run of ``sweep`` whose config has every ``want`` value (a one-line error otherwise)."""
    from acdc_bench.analysis.runs import find_runs, run_config

    found = [
        r
        for r in find_runs(sweep)
        if all(_same(OmegaConf.select(run_config(r), k), v) for k, v in want.items())
    ]
    if len(found) != 1:
        shown = ", ".join(f"{k}={v}" for k, v in want.items())
        raise ConfigError(field, shown, f"the values of exactly one run of {sweep} (found {len(found)})")
    return found[0]


def upstream_and_baseline(cfg: Any, s: TransferSettings) -> tuple[Path, Path]:
    mine = {k: V.get(cfg, k) for k in s.match}
    up = Path(s.upstream) if s.upstream else find_run(str(s.upstream_sweep), mine, "transfer.match")
    if s.baseline_run:
        base = Path(s.baseline_run)
    elif s.upstream_sweep:
        base = find_run(s.upstream_sweep, {**mine, **s.baseline}, "transfer.baseline")
    else:
        raise ConfigError(
            "transfer.baseline_run", None, "the AIE baseline's run directory (or transfer.upstream_sweep)"
        )
    return up, base


def device_of(s: TransferSettings) -> torch.device:
    if s.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(s.device)


def fine_tune(run_dir: Path, task: str, s: TransferSettings, seed: int) -> dict[str, Any]:
    """Fine-tune the run's final model on one task; the task's scores."""
    from acdc_bench.analysis.runs import load_run
    from acdc_bench.data.loader import Normalise

    device = device_of(s)
    spec = read_downstream(task, s.roots)
    train, test = DOWNSTREAM[task](spec)
    run = load_run(run_dir, device=device)
    ds = run.settings  # the run's data settings, read when it was loaded
    res, in_chans = ds.eval_res, ds.in_chans
    norm = Normalise(list(ds.mean), list(ds.std), device, channels=in_chans)
    model, name = run.model, FT.head_name(run.model)
    test_data = FT.loader(FT.Prepared(test, res, in_chans), s.eval_batch_size, False, s.num_workers, seed)
    torch.manual_seed(seed)
    out: dict[str, Any] = {}
    if s.mode == "linear":
        lr = s.lr
        FT.replace_head(model, name, nn.Identity())
        train_data = FT.loader(
            FT.Prepared(train, res, in_chans), s.eval_batch_size, False, s.num_workers, seed
        )
        feats, labels = FT.extract(model, train_data, norm, device)
        head = FT.train_linear(feats, labels, spec.num_classes, s, lr, seed)
        test_feats, y = FT.extract(model, test_data, norm, device)
        with torch.no_grad():
            pred = head(test_feats).argmax(1)
    else:
        lr = spec.full_lr or s.lr
        old = model.get_submodule(name)
        FT.replace_head(model, name, nn.Linear(old.in_features, spec.num_classes).to(device))
        masks = FT.fixed_masks(model, run.masks, name)
        train_data = FT.loader(
            FT.Prepared(train, res, in_chans, spec.augment), s.batch_size, True, s.num_workers, seed
        )
        FT.train_full(model, masks, train_data, norm, s, lr, device)
        pred, y = FT.predict(model, test_data, norm, device)
        if masks is not None:
            out["backbone_sparsity"] = 1.0 - sum(int((w != 0).sum()) for w in masks.weights) / masks.total
    sc = FT.scores(pred, y, spec.num_classes)
    return {
        "metric": spec.metric,
        "accuracy": sc[spec.metric],
        **sc,
        "lr": lr,
        "train_images": len(train),
        "test_images": len(test),
        **out,
    }


def results(run_dir: Path, s: TransferSettings, seed: int, log: Any) -> dict[str, dict[str, Any]]:
    """Every task's scores for one run, from ``RUN/transfer/<mode>.json`` or computed (and kept)."""
    path = run_dir / "transfer" / f"{s.mode}.json"
    recipe = {**s.recipe(), "seed": seed}
    out: dict[str, dict[str, Any]] = {}
    for task in s.tasks:
        stored = json.loads(path.read_text()) if path.is_file() else {}
        entry = (stored.get("tasks") or {}).get(task)
        if entry is not None and entry.get("recipe") == recipe:
            out[task] = entry["scores"]
            continue
        log(f"{s.mode} fine-tuning of {run_dir} on {task}")
        out[task] = fine_tune(run_dir, task, s, seed)
        stored = json.loads(path.read_text()) if path.is_file() else {}  # another job may have added tasks
        stored.setdefault("tasks", {})[task] = {"recipe": recipe, "scores": out[task]}
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(json.dumps(stored, indent=1, sort_keys=True), path)
    return out


def run_transfer(cfg: Any, out_dir: Path) -> dict[str, Any]:
    s = TransferSettings.read(cfg)
    for task in s.tasks:  # every dataset's facts and folder checked before any work
        check_root(read_downstream(task, s.roots))

    def log(msg: str) -> None:
        print(f"[acdc-bench] {msg}", file=sys.stderr, flush=True)

    up, base = upstream_and_baseline(cfg, s)
    seed = int(cfg.seed)
    mine = results(up, s, seed, log)
    theirs = mine if up.resolve() == base.resolve() else results(base, s, seed, log)
    acc = {t: r["accuracy"] for t, r in mine.items()}
    final: dict[str, Any] = {
        "aie": average_increase_in_error(acc, {t: r["accuracy"] for t, r in theirs.items()}),
        "transfer_mean_accuracy": sum(acc.values()) / len(acc),
        **{f"transfer_acc/{t}": v for t, v in acc.items()},
    }
    summary = {
        "final": final,
        "mode": s.mode,
        "upstream": str(up),
        "baseline": str(base),
        "tasks": mine,
        "baseline_tasks": theirs,
        "recipe": s.recipe(),
        **provenance.environment(),  # which code made it (acdc_bench/provenance.py), for the report
        "torch_threads": torch.get_num_threads(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(json.dumps(summary, indent=1, sort_keys=True), out_dir / "summary.json")
    for t, r in mine.items():
        base_acc = 100 * theirs[t]["accuracy"]
        log(f"{t:16s} {r['metric']:10s} {100 * r['accuracy']:6.2f}  (baseline {base_acc:6.2f})")
    log(f"AIE {final['aie']:+.3f} over {len(acc)} tasks against {base}")
    return summary
