"""Two-process DDP on the CPU (gloo) through torchrun: identical masks on every rank, rank 0 writes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch
from conftest import ROOT, read_jsonl

from acdc_bench import checkpoint as ckpt

RIGL = ["dataset=digits", "model=resnet20", "model.width=0.25", "method=rigl", "sparsity=0.9", "epochs=2",
        "method.update_interval=5"]


def torchrun(*overrides: str, nproc: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "WANDB_MODE": "offline"}
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
         "-m", "acdc_bench", *overrides], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def _strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "epoch_time_s"} for r in rows]


def test_rigl_on_two_gloo_ranks_agrees_on_masks_and_resumes_mid_epoch(tmp_path):
    run = tmp_path / "run"
    # a step-level checkpoint whenever rank 0 polls (every 16 steps): one mid-epoch per epoch
    out = torchrun(*RIGL, "checkpoint.every_minutes=1e-6", f"hydra.run.dir={run}")
    assert out.returncode == 0, out.stderr
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["status"] == "finished"
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [0, 1]  # one writer: no duplicated rows
    for r in rows:
        assert len(r["mask_checksums"]) == 2 and r["mask_checksums"][0] == r["mask_checksums"][1]
    assert rows[0]["mask_checksums"] != rows[1]["mask_checksums"]  # RigL moved the masks
    # RigL updates every 5 steps until 75% of the 44 steps: each update compared across ranks
    assert sum(r["mask_checks"] for r in rows) >= 5
    assert sum(1 for ln in out.stdout.splitlines() if ln.split()[:1] == ["epoch"]) == 1  # rank 0 prints
    assert len(list(run.rglob("hydra.yaml"))) == 1
    assert "output_subdir=null" not in (run / ".hydra" / "hydra.yaml").read_text()  # rank 0's, not rank 1's

    # prev.pt is the mid-epoch checkpoint of epoch 1, with each rank's running sums
    prev = ckpt.load(run / "checkpoints" / ckpt.PREV)
    assert prev["epoch"] == 1 and prev["partial"]["batch"] == 16 and prev["partial"]["sums"].shape == (2, 3)
    again = tmp_path / "again"
    shutil.copytree(run, again)
    (again / "checkpoints" / ckpt.LAST).unlink()
    out = torchrun(*RIGL, "checkpoint.every_minutes=1e-6", f"hydra.run.dir={again}")
    assert out.returncode == 0, out.stderr
    assert "in epoch 1 at batch 16 of 22" in out.stderr
    assert _strip(read_jsonl(again / "metrics.jsonl")) == _strip(rows)
    wa, wb = (ckpt.load(p / "checkpoints" / ckpt.LAST)["model"] for p in (run, again))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_submitit_tasks_are_ranks_and_different_masks_stop_the_run(tmp_path):
    """hydra/launcher=local with two tasks per job (what a multi-task SLURM job does, on this
    CPU): the two tasks are one DDP run, whose ranks compare their masks and, told by the
    test-only option that rank 1's differ, stop before training with a clear error."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    env.pop("HYDRA_FULL_ERROR", None)
    subprocess.run(
        [sys.executable, "-m", "acdc_bench", "-m", "hydra/launcher=local", "hydra.launcher.tasks_per_node=2",
         *RIGL, "+debug.mask_mismatch_rank=1", f"hydra.sweep.dir={tmp_path}"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    (run,) = [p for p in tmp_path.iterdir() if (p / "summary.json").exists()]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["status"] == "failed"
    assert summary["error"].startswith("masks differ across ranks at the start of training: (mask_version, "
                                       "mask_checksum) per rank = [(")
    per_rank = re.findall(r"\((\d+), (-?\d+)\)", summary["error"])
    assert len(per_rank) == 2 and int(per_rank[1][1]) == int(per_rank[0][1]) + 1  # the injected difference
    assert not (run / "checkpoints" / ckpt.LAST).exists() and not (run / "metrics.jsonl").read_text()


class _Left(Exception):
    """What the patched ``os._exit`` raises: the status a rank's process would have left with."""


def test_a_rank_leaves_without_finalization_and_keeps_the_exit_status(monkeypatch, capsys):
    """A torchrun rank ends by ``os._exit`` (the process group's threads outlive the run, see
    ``acdc_bench.__main__._leave``) with the status the CLI would have had: 2 for a bad override,
    printed in one line by rank 0; a single process still exits through ``SystemExit``."""
    import acdc_bench.__main__ as cli

    def fake_exit(status: int) -> None:
        raise _Left(status)

    monkeypatch.setattr(cli.os, "_exit", fake_exit)
    monkeypatch.setattr(sys, "argv", ["acdc-bench", "method=nope"])
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(_Left) as left:
        cli.main()
    assert left.value.args == (2,)
    assert capsys.readouterr().err.strip().startswith("acdc-bench: error: method=nope is not a method config")
    monkeypatch.setenv("RANK", "1")  # the same error, silent on rank 1
    with pytest.raises(_Left) as left:
        cli.main()
    assert left.value.args == (2,) and capsys.readouterr().err == ""
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 2
    assert cli._status(None) == 0 and cli._status(3) == 3
