"""Runs that survive: SIGKILL at any moment, corrupt checkpoints, resuming with another config."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from conftest import ROOT, read_jsonl, run_cli

from acdc_bench import checkpoint as ckpt

BASE = ["dataset=digits", "model=resnet20", "model.width=0.25"]
TINY = [*BASE, "method=dense"]
ENV = {"OMP_NUM_THREADS": "1"}  # one thread per run: 2 shared cores, several runs at once
EVERY_STEP = "checkpoint.every_minutes=1e-6"  # a step-level checkpoint after every batch


def _strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "epoch_time_s"} for r in rows]


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return ckpt.load(run / "checkpoints" / ckpt.LAST)["model"]


def _assert_same_run(a: Path, b: Path) -> None:
    assert _strip(read_jsonl(a / "metrics.jsonl")) == _strip(read_jsonl(b / "metrics.jsonl"))
    sa, sb = (json.loads((p / "summary.json").read_text()) for p in (a, b))
    assert sa["status"] == sb["status"] == "finished"
    assert _strip([sa["final"]]) == _strip([sb["final"]])
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def _kill_mid_epoch(args: list[str], run: Path, epoch: int) -> dict:
    """Start a run with step-level checkpoints and SIGKILL it while ``last.pt`` is a mid-epoch
    checkpoint of ``epoch``, a few batches in; returns that checkpoint's position."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **ENV}
    proc = subprocess.Popen([sys.executable, "-m", "acdc_bench", *args, EVERY_STEP, f"hydra.run.dir={run}"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, seen = time.time() + 300, None
    try:
        while time.time() < deadline and proc.poll() is None:
            try:
                state = ckpt.load(run / "checkpoints" / ckpt.LAST)
            except ckpt.CorruptCheckpoint:  # not written yet, or between the two renames
                time.sleep(0.01)
                continue
            part = state["partial"]
            inside = part is not None and 3 <= part["batch"] <= state["steps_per_epoch"] - 8
            if state["epoch"] == epoch and inside:
                seen = {"epoch": state["epoch"], "batch": part["batch"]}
                break
            time.sleep(0.005)  # the window is 12 steps; leave the cores to the runs between looks
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert seen is not None, "the run ended before a mid-epoch checkpoint was seen"
    return seen


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """An uninterrupted 3-epoch dense run (epoch-end checkpoints only), shared read-only."""
    run = tmp_path_factory.mktemp("full") / "run"
    out = run_cli(*TINY, "epochs=3", "trainer.deterministic=true", f"hydra.run.dir={run}", env=ENV)
    assert out.returncode == 0, out.stderr
    return run


def _copy(run: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "copy"
    shutil.copytree(run, dst)
    return dst


# ------------------------------------------------------------------------ the checkpoint file
def test_checkpoint_file_is_plain_torch_and_detects_truncation_and_bit_flips(tmp_path):
    state = {k: k for k in ckpt.REQUIRED_KEYS} | {"model": {"w": torch.arange(5000.0)}}
    path = ckpt.save_rotating(state, tmp_path)
    assert torch.equal(torch.load(path, weights_only=False)["model"]["w"], state["model"]["w"])
    assert torch.equal(ckpt.load(path)["model"]["w"], state["model"]["w"])
    data = path.read_bytes()
    for name, damaged in [("truncated", data[: len(data) // 2]), ("short", data[:20]),
                          ("flipped", data[:5000] + bytes([data[5000] ^ 1]) + data[5001:]),
                          ("tail", data[:-3])]:
        bad = tmp_path / f"{name}.pt"
        bad.write_bytes(damaged)
        with pytest.raises(ckpt.CorruptCheckpoint):
            ckpt.load(bad)


def test_previous_checkpoint_is_kept_until_the_new_one_is_complete(tmp_path):
    base = {k: k for k in ckpt.REQUIRED_KEYS}
    ckpt.save_rotating(base | {"epoch": 0}, tmp_path)
    ckpt.save_rotating(base | {"epoch": 1}, tmp_path)
    assert ckpt.load(tmp_path / ckpt.LAST)["epoch"] == 1 and ckpt.load(tmp_path / ckpt.PREV)["epoch"] == 0

    class Unpicklable:
        def __reduce__(self):
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):  # a write that fails half-way changes nothing on disk
        ckpt.save_rotating(base | {"epoch": 2, "model": Unpicklable()}, tmp_path)
    assert ckpt.load(tmp_path / ckpt.LAST)["epoch"] == 1 and ckpt.load(tmp_path / ckpt.PREV)["epoch"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [ckpt.LAST, ckpt.PREV]
    # a kill between the two renames leaves only prev.pt: that is what resumes
    (tmp_path / ckpt.LAST).unlink()
    state, path, bad = ckpt.load_latest(tmp_path, print)
    assert state["epoch"] == 0 and path.name == ckpt.PREV and bad == []


# ------------------------------------------------------------------------ kill and resume
# Method settings that put mask changes into the epoch the kill interrupts: AC/DC's first
# compression phase is epoch 1 (after a dense warm-up); RigL updates its masks every 5 of
# the 22 steps per epoch; AST trains sub-net step % 3 and prunes/regrows each every 5
# steps (sub-net pointer, previous gradient, per-sub-net BatchNorm in its state). Dense
# resume is the methods' special case (and tests/test_cli.py).
METHOD_ARGS = {
    "acdc": ["epochs=4", "sparsity=0.8", "method.warmup_epochs=1", "method.phase_epochs=1",
             "method.final_decompression_epochs=1", "method.final_compression_epochs=1"],
    "rigl": ["epochs=3", "sparsity=0.8", "method.update_interval=5"],
    "ast": ["epochs=3", "method.update_interval=5"],
}


@pytest.mark.parametrize("method", list(METHOD_ARGS))
def test_sigkill_mid_epoch_then_rerun_matches_an_uninterrupted_run(method, tmp_path):
    args = [*BASE, f"method={method}", *METHOD_ARGS[method], "trainer.deterministic=true"]
    full = tmp_path / "full"
    with ThreadPoolExecutor(1) as pool:  # the uninterrupted run beside the interrupted one (2 cores)
        uninterrupted = pool.submit(run_cli, *args, f"hydra.run.dir={full}", env=ENV)
        part = tmp_path / "part"
        at = _kill_mid_epoch(args, part, epoch=1)
        out = uninterrupted.result()
    assert out.returncode == 0, out.stderr
    assert len(read_jsonl(part / "metrics.jsonl")) == 1  # epoch 0 finished, epoch 1 interrupted
    out = run_cli(*args, EVERY_STEP, f"hydra.run.dir={part}", env=ENV)
    assert out.returncode == 0, out.stderr
    resumed = re.search(r"resuming from \S+ in epoch 1 at batch (\d+) of (\d+)", out.stderr)
    assert resumed, out.stderr
    assert at["batch"] <= int(resumed.group(1)) < int(resumed.group(2))
    _assert_same_run(full, part)


# ------------------------------------------------------------------------ corrupt checkpoints
def test_corrupt_last_checkpoint_falls_back_to_previous_and_reproduces(finished_run, tmp_path):
    run = _copy(finished_run, tmp_path)
    last = run / "checkpoints" / ckpt.LAST
    data = bytearray(last.read_bytes())
    data[len(data) // 3] ^= 0xFF
    last.write_bytes(bytes(data))
    out = run_cli(*TINY, "epochs=3", "trainer.deterministic=true", f"hydra.run.dir={run}", env=ENV)
    assert out.returncode == 0, out.stderr
    assert f"checkpoint {last} is unusable: checksum mismatch" in out.stderr
    assert "falling back to" in out.stderr and "resuming from" in out.stderr
    assert "prev.pt after epoch 1" in out.stderr
    assert (run / "checkpoints" / "last.pt.corrupt").exists()  # set aside, not rotated into prev.pt
    _assert_same_run(finished_run, run)  # epoch 2 trained again, identically


def test_no_readable_checkpoint_refuses_in_one_line(finished_run, tmp_path):
    run = _copy(finished_run, tmp_path)
    for name in (ckpt.LAST, ckpt.PREV):
        p = run / "checkpoints" / name
        p.write_bytes(p.read_bytes()[:1000])
    rows = read_jsonl(run / "metrics.jsonl")
    out = run_cli(*TINY, "epochs=3", "trainer.deterministic=true", f"hydra.run.dir={run}", env=ENV)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    last_line = out.stderr.strip().splitlines()[-1]
    assert last_line.startswith("acdc-bench: error: no readable checkpoint")
    assert "last.pt: truncated" in last_line and "prev.pt: truncated" in last_line
    assert read_jsonl(run / "metrics.jsonl") == rows  # nothing started over


# ------------------------------------------------------------------------ config guard
def test_resume_with_a_different_config_refuses_and_lists_the_keys(finished_run, tmp_path):
    run = _copy(finished_run, tmp_path)
    before = (run / "metrics.jsonl").read_text()
    out = run_cli(*TINY, "epochs=3", "trainer.deterministic=true", "optim.lr=0.2", "seed=1",
                  f"hydra.run.dir={run}", env=ENV)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    line = out.stderr.strip().splitlines()[-1]
    assert "was started with a different config" in line
    assert "optim.lr (0.1 -> 0.2)" in line and "seed (0 -> 1)" in line and "sparsity" not in line
    assert (run / "metrics.jsonl").read_text() == before
    # fewer epochs than the run already holds
    out = run_cli(*TINY, "epochs=2", "trainer.deterministic=true", f"hydra.run.dir={run}", env=ENV)
    assert out.returncode == 2 and "epochs=2 is not allowed; expected at least 3" in out.stderr


def test_documented_keys_may_differ_on_resume(finished_run, tmp_path):
    run = _copy(finished_run, tmp_path)
    out = run_cli(*TINY, "epochs=4", "trainer.deterministic=true", "trainer.progress=false",
                  "checkpoint.every_minutes=30", "dataset.num_workers=1", f"hydra.run.dir={run}", env=ENV)
    assert out.returncode == 0, out.stderr
    assert "resuming from" in out.stderr and "after epoch 2" in out.stderr
    rows = read_jsonl(run / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3]
    assert _strip(rows[:3]) == _strip(read_jsonl(finished_run / "metrics.jsonl"))
