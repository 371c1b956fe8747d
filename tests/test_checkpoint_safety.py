"""Checkpoints are data, not code: a ``last.pt`` whose unpickling would run a command, with
a correct integrity trailer, is refused by name in one line; nothing runs, nothing restarts."""

from __future__ import annotations

import os
import random
import shlex
import shutil

import numpy as np
import pytest
import torch
from conftest import read_jsonl, run_cli

from acdc_bench import checkpoint as ckpt
from acdc_bench.trainer import rng_state, set_rng_state

TINY = ["dataset=digits", "model=resnet20", "model.width=0.25", "method=dense"]
ENV = {"OMP_NUM_THREADS": "1"}


class RunsACommand:
    """Unpickling this calls ``os.system(command)``: what a crafted checkpoint would do."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_a_checkpoint_that_would_run_code_is_refused_and_nothing_runs(shared_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(shared_run(*TINY, "epochs=2")[0], run)  # tests/test_cli.py's run, changed here
    rows = read_jsonl(run / "metrics.jsonl")
    last = run / "checkpoints" / ckpt.LAST
    marker = tmp_path / "marker"
    # A real checkpoint with one extra entry, written the way acdc-bench writes checkpoints:
    # the trailer's SHA-256 matches, so only the loader stands between the file and the command.
    state = ckpt.load(last)
    state["history"] = state["history"][:1]  # would resume (epoch 1 to train again) if it loaded
    state["epoch"] = 0
    state["payload"] = RunsACommand(f"touch {shlex.quote(str(marker))}")
    ckpt.save_rotating(state, last.parent)
    ckpt.verify(last)  # the integrity trailer is valid
    assert not marker.exists()

    out = run_cli(*TINY, "epochs=2", f"hydra.run.dir={run}", env=ENV)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    line = out.stderr.strip().splitlines()[-1]
    assert line.startswith(f"acdc-bench: error: refusing to load {last}: it is not data")
    assert "system" in line
    assert not marker.exists()  # the command never ran
    assert read_jsonl(run / "metrics.jsonl") == rows  # the run did not start over, nor resume elsewhere
    assert "resuming from" not in out.stderr and "falling back" not in out.stderr

    with pytest.raises(ckpt.UnsafeCheckpoint):
        ckpt.load(last)
    assert not marker.exists()


def _draws() -> tuple:
    return torch.rand(3).tolist(), np.random.rand(3).tolist(), np.random.randn(), random.random()


def test_the_rng_states_are_plain_data_and_restore_exactly(tmp_path):
    """The RNG states (numpy's and Python's tuples as plain types) load with weights_only=True
    and put every generator back where it was."""
    np.random.randn()  # a cached Gaussian in numpy's state
    state = {k: k for k in ckpt.REQUIRED_KEYS} | {"rng": rng_state()}
    expected = _draws()
    path = ckpt.save_rotating(state, tmp_path)
    set_rng_state(torch.load(path, weights_only=True)["rng"])
    assert _draws() == expected
