"""A non-finite loss stops the run at the first bad step; no checkpoint holds a poisoned model.

``+debug.nan_at_step=N`` (test-only) multiplies step N's loss by NaN.
"""

from __future__ import annotations

import json

import torch
from conftest import read_jsonl, run_cli

from acdc_bench import checkpoint as ckpt

TINY = ["dataset=digits", "model=resnet20", "model.width=0.25", "method=dense"]
ENV = {"OMP_NUM_THREADS": "1"}


def _finite(state: dict) -> bool:
    return all(torch.isfinite(t).all() for t in state["model"].values() if t.is_floating_point())


def test_nan_loss_stops_names_the_step_keeps_the_last_good_checkpoint_and_resumes(tmp_path):
    run = tmp_path / "run"
    args = [*TINY, "epochs=3", f"hydra.run.dir={run}"]
    # 1. Detected at the end of epoch 1 (no step-level checkpoints), named by its own step.
    out = run_cli(*args, "+debug.nan_at_step=30", env=ENV)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    msg = ("non-finite training loss (nan) at epoch 1, step 30 (batch 8 of 22); stopped; the last good "
           f"checkpoint ({run / 'checkpoints' / 'last.pt'}, after epoch 0) is kept")
    assert out.stderr.strip().splitlines()[-1] == f"acdc-bench: error: {msg}"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["error"] == msg
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [0] and summary["final"] == rows[0]
    state = ckpt.load(run / "checkpoints" / ckpt.LAST)
    assert state["epoch"] == 0 and state["partial"] is None and _finite(state)

    # 2. With a checkpoint after every step, the last one is the state just before the bad step.
    out = run_cli(*args, "+debug.nan_at_step=40", "checkpoint.every_minutes=1e-6", env=ENV)
    assert out.returncode == 1
    assert "resuming from" in out.stderr and "at epoch 1, step 40 (batch 18 of 22)" in out.stderr
    assert "last.pt, epoch 1 before batch 18) is kept" in out.stderr
    state = ckpt.load(run / "checkpoints" / ckpt.LAST)
    assert state["step"] == 40 and state["partial"]["batch"] == 18 and _finite(state)
    assert _finite(ckpt.load(run / "checkpoints" / ckpt.PREV))

    # 3. The same command without the injection continues from there and finishes.
    out = run_cli(*args, env=ENV)
    assert out.returncode == 0, out.stderr
    assert "resuming from" in out.stderr and "in epoch 1 at batch 18 of 22" in out.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and "error" not in summary
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert all(r["train_loss"] == r["train_loss"] and r["train_loss"] < 10 for r in rows)


def test_nan_in_the_first_epoch_says_no_checkpoint_was_written(tmp_path):
    out = run_cli(*TINY, "epochs=1", "+debug.nan_at_step=0", f"hydra.run.dir={tmp_path}", env=ENV)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1] == (
        "acdc-bench: error: non-finite training loss (nan) at epoch 0, step 0 (batch 0 of 22); stopped; "
        "no checkpoint had been written yet")
    assert not (tmp_path / "checkpoints" / ckpt.LAST).exists()
    assert json.loads((tmp_path / "summary.json").read_text())["status"] == "failed"
