"""Shared test helpers: the CLI is the test surface, run as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*overrides: str, cwd: Path | None = None, timeout: float = 600, env: dict | None = None,
            module: str = "acdc_bench") -> subprocess.CompletedProcess:
    """Run ``python -m acdc_bench <overrides>`` and return the completed process."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "WANDB_MODE": "offline", **(env or {})}
    full_env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run(
        [sys.executable, "-m", module, *overrides], cwd=cwd or ROOT, capture_output=True, text=True,
        timeout=timeout, env=full_env,
    )


def trained_run(run_dir: Path, *overrides: str) -> Path:
    """A finished run in ``run_dir`` (one torch thread: tiny models on a shared machine)."""
    out = run_cli(*overrides, f"hydra.run.dir={run_dir}", env={"OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    return run_dir


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def kill_after_rows(args: list[str], metrics: Path, rows: int, env: dict | None = None) -> None:
    """Start ``python -m acdc_bench <args>`` and SIGKILL it once ``metrics`` (its
    metrics.jsonl) has at least ``rows`` rows: a preemption between two epochs. ``env``: as
    for :func:`run_cli` (a run compared bit for bit with another needs its thread count)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "acdc_bench", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and len(read_jsonl(metrics)) >= rows:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.fixture
def cli():
    return run_cli
