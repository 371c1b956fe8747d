"""What a GPU run needs that the CPU can check: the device index under DDP and SLURM, text
batches under channels-last, the loss scaler's skipped steps seen by the methods, a resume
from a checkpoint without a loss scale, and the whole GPU check rehearsed on the CPU."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from conftest import ROOT

from acdc_bench.errors import ConfigError
from acdc_bench.sparsity.base import SparsityMethod
from acdc_bench.trainer import train_step
from acdc_bench.trainer.device import channels_last, cuda_index, select_device
from acdc_bench.trainer.overflow import overflow_flag


def test_each_rank_takes_its_own_gpu_or_the_only_one_it_sees():
    assert cuda_index(None, local_rank=3, world_size=8, count=1) == 0  # SLURM: one GPU per task
    assert cuda_index(None, local_rank=3, world_size=8, count=8) == 3  # torchrun: the node's GPUs
    assert cuda_index(None, local_rank=0, world_size=1, count=4) == 0
    assert cuda_index(2, local_rank=0, world_size=1, count=4) == 2  # device=cuda:2 is kept
    with pytest.raises(ConfigError, match=r"device='cuda:1' is not allowed; .*\[0, 0\] \(1 visible\)"):
        cuda_index(1, local_rank=0, world_size=1, count=1)  # not silently cuda:0
    with pytest.raises(ConfigError, match="LOCAL_RANK=5 is not allowed"):
        cuda_index(None, local_rank=5, world_size=8, count=4)
    with pytest.raises(ConfigError, match="under DDP"):
        cuda_index(1, local_rank=0, world_size=2, count=2)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_a_named_gpu_without_any_gpu_is_a_one_line_error():
    with pytest.raises(ConfigError, match="device='cuda:1' is not allowed; expected cpu or auto"):
        select_device("cuda:1")
    assert select_device("auto") == torch.device("cpu")


def test_channels_last_leaves_text_batches_alone():
    x = torch.randn(2, 3, 5, 5)
    assert channels_last(x).is_contiguous(memory_format=torch.channels_last)
    batch = {"input_ids": torch.zeros(2, 7, dtype=torch.long)}
    assert channels_last(batch) is batch
    tokens = torch.zeros(2, 7)
    assert channels_last(tokens) is tokens


class Flags(SparsityMethod):
    """Records the overflow flag each step's ``after_backward`` sees."""

    def __init__(self, model: torch.nn.Module):
        super().__init__(None, model, 1, 1)
        self.seen: list = []

    def after_backward(self, step: int) -> None:
        self.seen.append(None if self.overflow is None else float(self.overflow))


def _ce(logits, labels):
    loss = F.cross_entropy(logits, labels)
    return loss, loss


def test_the_method_learns_before_after_backward_that_the_scaler_skips_the_step():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    method = Flags(model)
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    train_step(model, x, y, step=0, optimizer=opt, method=method, loss_fn=_ce)  # no loss scaling
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**100)
    w = model.weight.detach().clone()
    huge = lambda lo, la: (_ce(lo, la)[0] * 1e30, _ce(lo, la)[1])  # noqa: E731
    train_step(model, x, y, step=1, optimizer=opt, method=method, loss_fn=huge, scaler=scaler)
    assert torch.equal(model.weight, w)  # skipped
    assert not method.step_skipped() or method.seen[-1] == 1.0
    train_step(
        model,
        x,
        y,
        step=2,
        optimizer=opt,
        method=method,
        loss_fn=_ce,
        scaler=torch.amp.GradScaler("cpu", init_scale=8.0),
    )
    assert method.seen == [None, 1.0, 0.0]
    assert not torch.equal(model.weight, w) and torch.isfinite(model.weight).all()


def test_overflow_flag_falls_back_to_the_gradients_themselves():
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    assert overflow_flag(torch.amp.GradScaler("cpu", enabled=False), opt) is None
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    scaler = torch.amp.GradScaler("cpu")  # unscale_ not called: no recorded flags
    assert float(overflow_flag(scaler, opt)) == 0.0
    model.bias.grad[0] = float("inf")
    assert float(overflow_flag(scaler, opt)) == 1.0


def test_a_checkpoint_without_a_loss_scale_resumes_with_mixed_precision(tmp_path):
    from acdc_bench.distributed import DistInfo
    from acdc_bench.trainer.run_state import Checkpoints, Parts, checkpoint_state

    model = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    method = SparsityMethod(None, model, 1, 1)
    written = Parts(model, opt, torch.amp.GradScaler("cpu", enabled=False), method)  # a CPU run: {}
    state = checkpoint_state(
        written,
        epoch=0,
        partial=None,
        steps_per_epoch=1,
        world_size=1,
        history=[],
        elapsed=1.0,
        config_hash="h",
        config={},
    )
    assert state["scaler"] == {}
    logs: list[str] = []
    resumed = Parts(model, opt, torch.amp.GradScaler("cpu", init_scale=4.0), method)  # mixed precision now
    point = Checkpoints(tmp_path, DistInfo(), 0, logs.append).restore(
        state, tmp_path / "last.pt", resumed, 1, torch.device("cpu")
    )
    assert point.start_epoch == 1 and resumed.scaler.get_scale() == 4.0
    assert any("holds no loss scale" in line for line in logs)


def test_the_gpu_check_rehearses_every_step_on_the_cpu(tmp_path):
    out = subprocess.run(
        [sys.executable, "scripts/gpu_check.py", "--rehearse", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )
    lines = [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]
    summary = lines[-1]
    assert summary["summary"] and summary["mode"] == "rehearse", out.stderr[-2000:]
    assert out.returncode == 0 and summary["failed"] == 0, summary["first_failure"]
    steps = {r["step"]: r for r in lines[:-1]}
    assert set(steps) >= {
        "env",
        "train:dense",
        "train:acdc",
        "train:gmp",
        "train:rigl",
        "train:ast_gc",
        "resume",
        "overflow:rigl",
        "overflow:ast_gc",
        "cpu_checkpoint",
        "bert_tiny",
        "collectives",
        "ddp:ast_gc",
        "speedup",
    }
    assert steps["train:acdc"]["zero_fraction"] == pytest.approx(
        steps["train:acdc"]["target_sparsity"], abs=1e-3
    )
    assert steps["resume"]["mid_epoch"] is True
    for name in ("overflow:rigl", "overflow:ast_gc"):
        assert steps[name]["skipped_mask_updates"] >= 1 and steps[name]["masks_kept"]
    assert steps["ddp:ast_gc"]["masks_agree"] is True
    assert steps["speedup"]["ok"] is not False
