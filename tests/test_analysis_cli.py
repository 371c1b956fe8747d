"""task=analyze on real runs: kept checkpoints (survive a kill), the run loader, resumable
results, the one-line error for missing checkpoints, interpolation endpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import kill_after_rows, run_cli, trained_run

from acdc_bench import checkpoint as ckpt
from acdc_bench.analysis.runs import kept_epochs, load_run

TINY = ["dataset=digits", "model=resnet20", "model.width=0.25", "method=dense", "epochs=4",
        "trainer.deterministic=true", "trainer.progress=false", "checkpoint.keep_epochs=[1,3]"]
ENV = {"OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return trained_run(tmp_path_factory.mktemp("runs") / "dense", *TINY)


def test_kept_checkpoints_are_small_data_and_match_the_run(run):
    assert kept_epochs(run) == [1, 3]
    state = ckpt.read(run / "checkpoints" / "epoch_3.pt")  # weights_only=True inside
    assert state["epoch"] == 3 and "optimizer" not in state and "rng" not in state
    last = ckpt.load(run / "checkpoints" / "last.pt")
    assert all(torch.equal(state["model"][k], v) for k, v in last["model"].items())
    loaded = load_run(run, 3)
    assert not loaded.model.training and loaded.epoch == 3
    weights = {k for k, v in last["model"].items() if k.endswith("weight") and v.ndim > 1}
    assert set(loaded.masks) == weights


def test_kept_checkpoints_survive_a_kill(run, tmp_path):
    killed = tmp_path / "killed"
    kill_after_rows([*TINY, f"hydra.run.dir={killed}"], killed / "metrics.jsonl", rows=2, env=ENV)
    out = run_cli(*TINY, f"hydra.run.dir={killed}", env=ENV)
    assert out.returncode == 0, out.stderr
    assert kept_epochs(killed) == [1, 3]
    for e in (1, 3):
        a, b = ckpt.read(run / f"checkpoints/epoch_{e}.pt"), ckpt.read(killed / f"checkpoints/epoch_{e}.pt")
        assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


def test_bad_keep_epochs_is_one_line(tmp_path):
    out = run_cli(*TINY[:-1], "checkpoint.keep_epochs=[7]", f"hydra.run.dir={tmp_path / 'r'}", env=ENV)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "checkpoint.keep_epochs=[7] is not allowed" in out.stderr


def test_analyze_is_resumable_and_names_missing_checkpoints(run):
    args = ["task=analyze", "analysis=sharpness", f"run_dir={run}", "analysis.samples=64",
            "analysis.iterations=3", "analysis.epochs=[1,3]"]
    out = run_cli(*args, env=ENV)
    assert out.returncode == 0, out.stderr
    doc = json.loads((run / "analysis" / "sharpness.json").read_text())
    assert set(doc["entries"]) == {"epoch_1", "epoch_3"}
    assert all(e["iterations"] == 3 and e["samples"] == 64 for e in doc["entries"].values())
    again = run_cli(*args, env=ENV)
    assert "2 entries already computed, 0 to go" in again.stderr
    assert json.loads((run / "analysis" / "sharpness.json").read_text()) == doc
    missing = run_cli("task=analyze", "analysis=channels", f"run_dir={run}", "analysis.epochs=[2]", env=ENV)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "checkpoint.keep_epochs" in missing.stderr and "[2]" in missing.stderr


def test_interpolation_endpoints_are_the_checkpoints_losses(run):
    out = run_cli("task=analyze", "analysis=interpolation", f"run_dir={run}", "analysis.points=2",
                  "analysis.samples=200", "analysis.bn=interpolate", env=ENV)
    assert out.returncode == 0, out.stderr
    seg = json.loads((run / "analysis" / "interpolation.json").read_text())["entries"]["segment_1_3"]
    own, pts = seg["checkpoint_losses"], seg["points"]
    assert [p["alpha"] for p in pts] == [0.0, 0.5, 1.0]
    for key in ("train_loss", "val_loss"):
        assert pts[0][key] == pytest.approx(own["start"][key], rel=1e-6)
        assert pts[-1][key] == pytest.approx(own["end"][key], rel=1e-6)
    assert seg["union_density"] == pytest.approx(1.0)  # dense: nothing masked


def test_the_run_loader_evaluates_at_the_runs_resolutions(tmp_path):
    """A model trained at another size than its images' (the CPU twins: 28-px Fashion-MNIST at
    14 px) is analysed at that size: the loaded run's evaluation equals the logged one."""
    import torch.nn.functional as F

    from acdc_bench.config import register_resolvers

    register_resolvers()
    size = ["dataset.resolution.min_res=12", "dataset.resolution.max_res=12", "dataset.eval_res=12"]
    run_dir = trained_run(tmp_path / "r", *TINY[:4], "epochs=2", "trainer.progress=false", *size)
    run = load_run(run_dir)
    total, n = 0.0, 0
    with torch.no_grad():
        for x, y in run.data(200).val:
            assert x.shape[-1] == 12
            total += float(F.cross_entropy(run.model(x), y, reduction="sum"))
            n += len(y)
    logged = json.loads((run_dir / "summary.json").read_text())["final"]["val_loss"]
    assert total / n == pytest.approx(logged, rel=1e-5)
