"""``logger=wandb`` with no network: a real wandb run, offline, with instructions to sync it later."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, read_jsonl

pytest.importorskip("wandb")

TINY = ["dataset=digits", "model=resnet20", "model.width=0.25", "method=dense", "epochs=1", "logger=wandb"]


def _run(tmp_path: Path, *overrides: str) -> tuple[subprocess.CompletedProcess, Path]:
    """No W&B settings from the environment, no credentials, and a server that refuses connections."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_") and k != "HYDRA_FULL_ERROR"}
    env.update(HOME=str(tmp_path / "home"), WANDB_BASE_URL="http://127.0.0.1:9", OMP_NUM_THREADS="1",
               PYTHONUNBUFFERED="1")
    run = tmp_path / "run"
    out = subprocess.run([sys.executable, "-m", "acdc_bench", *TINY, *overrides, f"hydra.run.dir={run}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return out, run


def _offline_run(run: Path) -> Path:
    runs = list((run / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    files = list(runs[0].glob("run-*.wandb"))
    assert len(files) == 1 and files[0].stat().st_size > 0
    return runs[0]


def test_wandb_logs_offline_by_default_and_says_how_to_sync(tmp_path):
    out, run = _run(tmp_path)
    assert out.returncode == 0, out.stderr
    _offline_run(run)
    assert f"wandb runs offline; upload later with: wandb sync {run / 'wandb'}/offline-run-*" in out.stderr
    assert len(read_jsonl(run / "metrics.jsonl")) == 1


def test_wandb_online_without_credentials_or_network_continues_offline(tmp_path):
    out, run = _run(tmp_path, "logger.mode=online")
    assert out.returncode == 0, out.stderr
    assert "wandb could not start online (" in out.stderr and "logging offline instead" in out.stderr
    _offline_run(run)
