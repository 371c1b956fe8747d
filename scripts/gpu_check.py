"""Every CUDA path of the product on one GPU, in one call; ``--rehearse``: the same steps on the CPU.

A GPU machine is lent here only now and then, for minutes, without a package registry, so this
check is written and rehearsed without one (the test suite runs ``--rehearse``) and then run in
one call (``scripts/gpu_check.sh``, README "Checking a GPU machine"). Each step prints one JSON
line ``{"step": ..., "ok": true|false|null, ...}`` (null: skipped, with ``reason``); the last
line is the summary. The exit status is non-zero when a step failed, and the summary names the
first failure.

Steps (GPU sizes; the rehearsal runs each at tiny sizes on the CPU, gloo instead of NCCL):

- ``env``: torch, CUDA, the device.
- ``train:<method>`` for dense, acdc, gmp, rigl, ast_gc: the trainer's own set-up (the FFCV
  recipe's SGD, mixed precision and channels-last on CUDA) on ResNet-50 with synthetic
  ImageNet-shaped batches (the memory loader; FFCV is not installed there), the method put in
  its sparse state, then timed ``train_step`` calls on batches already on the device: images/s,
  ms per step, peak GPU memory, the prunable weights' zero fraction against the schedule's
  target, masks on the device (bool), host synchronisations inside the step
  (``torch.cuda.set_sync_debug_mode``) and the step time over dense's (the goal: <= 1.03).
- ``resume``: a run killed mid-epoch (SIGKILL) and resumed gives the uninterrupted run's metrics.
- ``overflow:rigl``, ``overflow:ast_gc``: a huge initial loss scale makes every gradient
  overflow: the scaler skips the steps, weights stay finite and unchanged, masks do not move
  (also across a mask-update step); with a normal scale training moves on.
- ``cpu_checkpoint``: a checkpoint written on the CPU (no loss scale) resumed with ``device=auto``.
- ``bert_tiny``: BERT-tiny fine-tuning from the CLI with the defaults (mixed precision,
  channels-last on: the text batches are dicts).
- ``collectives``: a process group (one NCCL rank on a GPU; two gloo ranks in the rehearsal)
  running the collectives the trainer uses, and DDP training through the CLI (rehearsal: AST-GC
  on two gloo ranks; NCCL will not put two ranks on one GPU).
- ``speedup``: ``task=speedup`` (2:4 inference on BERT-base linear layers in bf16) when this
  checkout has it; skipped otherwise.

Usage: ``python scripts/gpu_check.py [--rehearse] [--out DIR] [--only STEP,...]``
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

METHODS = {  # name -> (overrides, the epoch whose start puts the method in the state to time)
    "dense": (["method=dense"], 0),
    "acdc": (["method=acdc"], 10),  # 100-epoch plan: epoch 10 starts the first compression phase
    "gmp": (["method=gmp"], 75),  # the final, fixed mask
    "rigl": (["method=rigl", "method.update_interval=100"], 1),
    "ast_gc": (["method=ast", "method.gradient_correction=true", "method.update_interval=99"], 0),
}
RATIO_GOAL = 1.03
# (model overrides, resolution, batch, warm-up steps, timed steps, images in the synthetic set)
SIZES = {
    "gpu": (["model=resnet50"], 160, 256, 30, 170, 2048),
    "cpu": (["model=resnet20", "model.width=0.25"], 16, 8, 2, 4, 64),
}
TINY_RUN = [
    "dataset=synthetic",
    "model=resnet20",
    "model.width=0.25",
    "dataset.train_size=96",
    "dataset.val_size=32",
    "dataset.batch_size=16",
    "dataset.native_res=16",
    "dataset.eval_res=16",
    "dataset.resolution.min_res=16",
    "dataset.resolution.max_res=16",
    "trainer.progress=false",
]
BERT = [
    "model=bert_tiny",
    "dataset=pydoc",
    "dataset.task=para",
    "recipe=dense_transfer",
    "trainer.progress=false",
]
BERT_TINY_SIZES = [
    "model.hidden_size=32",
    "model.intermediate_size=64",
    "model.vocab_size=512",
    "dataset.max_length=32",
    "dataset.train_subset=128",
    "dataset.val_subset=64",
    "epochs=1",
]


class Check:
    """The steps' shared context: the mode, the device, a scratch directory, the results."""

    def __init__(self, rehearse: bool, out: Path):
        self.rehearse, self.out = rehearse, out
        self.device = torch.device("cpu" if rehearse else "cuda")
        self.results: list[dict[str, Any]] = []
        self.dense_step_s: float | None = None
        self.t_step = time.perf_counter()  # when the running step began

    def emit(self, step: str, ok: bool | None, **fields: Any) -> None:
        row = {"step": step, "ok": ok, **fields, "seconds": round(time.perf_counter() - self.t_step, 2)}
        self.results.append(row)
        print(json.dumps(row, default=str), flush=True)

    def cli(
        self, *overrides: str, env: dict[str, str] | None = None, timeout: float = 400, torchrun: int = 0
    ) -> subprocess.CompletedProcess:
        full = {**os.environ, "PYTHONUNBUFFERED": "1", "WANDB_MODE": "offline", **(env or {})}
        full.pop("HYDRA_FULL_ERROR", None)
        if self.rehearse:
            full.setdefault("OMP_NUM_THREADS", "1")
        pre = (
            [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={torchrun}"]
            if torchrun
            else [sys.executable]
        )
        return subprocess.run(
            [*pre, "-m", "acdc_bench", *overrides],
            cwd=ROOT,
            env=full,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def _tail(proc: subprocess.CompletedProcess) -> str:
    """The line that says what went wrong (an error line, else the last line)."""
    lines = [x for x in ((proc.stderr or "") + "\n" + (proc.stdout or "")).splitlines() if x.strip()]
    errors = [x for x in lines if "acdc-bench: error" in x] or [
        x for x in lines if "rror" in x and not x.startswith(" ") and "elastic" not in x
    ]
    return (errors or lines or [f"exit status {proc.returncode}"])[-1][:500]


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


def _strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "epoch_time_s"} for r in rows]


def compose(overrides: list[str]):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    from acdc_bench.config import register_resolvers

    register_resolvers()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return hydra_compose(config_name="config", overrides=overrides)


def build_trainer(ck: Check, overrides: list[str], run_dir: Path):
    """The trainer's own set-up (device, data, model, channels-last, recipe, scaler), no loop."""
    from acdc_bench.trainer import Trainer

    cfg = compose([f"device={ck.device.type}", "trainer.progress=false", *overrides])
    trainer = Trainer(cfg, run_dir)
    trainer.setup()
    trainer.method.on_train_start(trainer.optimizer)
    return trainer


def _image_overrides(ck: Check) -> list[str]:
    model, res, batch, _, _, images = SIZES["cpu" if ck.rehearse else "gpu"]
    return [
        *model,
        "dataset=synthetic",
        "dataset.num_classes=1000",
        f"dataset.native_res={res}",
        f"dataset.eval_res={res}",
        f"dataset.resolution.min_res={res}",
        f"dataset.resolution.max_res={res}",
        f"dataset.batch_size={batch}",
        f"dataset.train_size={images}",
        f"dataset.val_size={batch}",
        "epochs=100",
        "optim.label_smoothing=0.1",
        "optim.weight_decay=5e-5",
        "optim.lr=0.5",
    ]


def _batches(trainer, n: int) -> list[tuple[Any, Any]]:
    from acdc_bench.trainer.device import channels_last

    trainer.data.train.set_epoch(0, trainer.train_res(0))
    out = []
    for x, y in trainer.data.train:
        out.append((channels_last(x) if trainer.channels_last else x, y))
        if len(out) == n:
            break
    return out


def _mask_sets(method) -> list[Any]:
    from acdc_bench.sparsity.masks import MaskSet

    masks = getattr(method, "masks", None)
    if isinstance(masks, MaskSet):
        return [masks]
    return [m for m in masks if isinstance(m, MaskSet)] if isinstance(masks, list | tuple) else []


def _zero_fraction(model) -> float:
    from acdc_bench.sparsity.masks import prunable_layers

    layers = prunable_layers(model)
    zeros = sum(int((layer.weight == 0).sum()) for layer in layers)
    return zeros / sum(layer.weight.numel() for layer in layers)


def _sync(ck: Check) -> None:
    if ck.device.type == "cuda":
        torch.cuda.synchronize()


def step_env(ck: Check) -> None:
    info: dict[str, Any] = {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "device": str(ck.device),
        "cuda_available": torch.cuda.is_available(),
    }
    if not ck.rehearse:
        if not torch.cuda.is_available():
            ck.emit("env", False, error="no CUDA device visible", **info)
            return
        info.update(
            gpu=torch.cuda.get_device_name(0),
            gpus=torch.cuda.device_count(),
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
        )
    ck.emit("env", True, **info)


def step_train(ck: Check, name: str) -> None:
    """Timed steps of one method in its sparse state (see the module's docstring)."""
    from acdc_bench.trainer import train_step

    overrides, epoch = METHODS[name]
    _, _, batch, warm, timed, _ = SIZES["cpu" if ck.rehearse else "gpu"]
    trainer = build_trainer(ck, [*_image_overrides(ck), *overrides], ck.out / f"train_{name}")
    method = trainer.method
    method.on_epoch_start(epoch)
    target = float(method.schedule(epoch)["target_sparsity"])
    spe = trainer.steps_per_epoch
    is_update = getattr(method, "is_update_step", lambda s: False)
    steps = [s for s in range(epoch * spe, epoch * spe + 100 * spe) if not is_update(s)][: warm + timed]
    batches = _batches(trainer, 4)
    autocast = trainer._autocast()

    def run(step: int) -> None:
        x, y = batches[step % len(batches)]
        train_step(
            trainer.ddp_model,
            x,
            y,
            step=step,
            optimizer=trainer.optimizer,
            method=method,
            loss_fn=trainer.objective.loss,
            lr=trainer.recipe.lr(step),
            scaler=trainer.scaler,
            autocast=autocast,
        )

    trainer.ddp_model.train()
    for s in steps[:warm]:
        run(s)
    _sync(ck)
    if ck.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    syncs = 0
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if ck.device.type == "cuda":
            torch.cuda.set_sync_debug_mode("warn")
        try:
            for s in steps[warm:]:
                run(s)
        finally:
            if ck.device.type == "cuda":
                torch.cuda.set_sync_debug_mode("default")
        syncs = sum("synchroniz" in str(w.message) for w in caught)
    _sync(ck)
    elapsed = time.perf_counter() - t0
    step_s = elapsed / timed
    if name == "dense":
        ck.dense_step_s = step_s
    masks = _mask_sets(method)
    on_device = all(m.flat.device == trainer.device and m.flat.dtype == torch.bool for m in masks)
    finite = all(bool(torch.isfinite(p).all()) for p in trainer.model.parameters())
    zero = _zero_fraction(trainer.model)
    densities = [round(float(m.flat.float().mean()), 6) for m in masks]
    ratio = None if ck.dense_step_s is None else step_s / ck.dense_step_s
    # Exact sparsity: the masked methods' zero fraction is the target's, to a weight or so per
    # layer (AST's working weights carry sub-net k's mask: its densities are reported).
    exact = name in ("dense", "ast_gc") or abs(zero - target) <= 1e-3
    problems = [
        p
        for p, bad in [
            ("non-finite weights", not finite),
            ("masks off the device or not bool", not on_device),
            (f"zero fraction {zero:.5f} != target {target}", not exact),
            (f"{syncs} host syncs in {timed} steps", syncs > 0),
        ]
        if bad
    ]
    ck.emit(
        f"train:{name}",
        not problems,
        images_per_s=round(timed * batch / elapsed, 1),
        ms_per_step=round(1e3 * step_s, 3),
        ratio_to_dense=None if ratio is None else round(ratio, 4),
        ratio_goal_met=None if ratio is None or name == "dense" else ratio <= RATIO_GOAL,
        peak_mem_gib=round(torch.cuda.max_memory_allocated() / 2**30, 3)
        if ck.device.type == "cuda"
        else None,
        target_sparsity=target,
        zero_fraction=round(zero, 6),
        mask_densities=densities,
        masks_on_device=on_device,
        host_syncs=syncs if ck.device.type == "cuda" else None,
        steps=timed,
        batch=batch,
        amp=trainer.amp,
        channels_last=trainer.channels_last,
        optimizer_fused=bool(trainer.optimizer.param_groups[0].get("fused")),
        error="; ".join(problems) or None,
    )


def step_overflow(ck: Check, name: str) -> None:
    """Forced overflows (initial loss scale 3e38: the scaled loss itself is inf) across a
    mask-update step: every step skipped, weights finite and unchanged, masks unmoved; then
    a normal scale: the weights move and stay finite."""
    from acdc_bench.trainer import train_step

    overrides = {
        "rigl": ["method=rigl", "method.update_interval=4"],
        "ast_gc": [
            "method=ast",
            "method.gradient_correction=true",
            "method.update_interval=6",
            "method.adjustment_period=1",
        ],
    }[name]
    trainer = build_trainer(ck, [*TINY_RUN, "epochs=4", *overrides], ck.out / f"overflow_{name}")
    method, model = trainer.method, trainer.model
    method.on_epoch_start(0)
    batches = _batches(trainer, 2)
    is_update = method.is_update_step
    first_update = next(s for s in range(1, 1000) if is_update(s))
    # The loss times 1e30 under a scale of 2^100: every gradient is inf in float32 too (the
    # rehearsal has no float16); on a GPU the float16 activations' gradients overflow anyway.
    scaler = torch.amp.GradScaler(trainer.device.type, init_scale=2.0**100)
    before = [p.detach().clone() for p in model.parameters()]
    masks_before = [m.flat.clone() for m in _mask_sets(method)]

    def huge(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loss, ce = trainer.objective.loss(logits, labels)
        return loss * 1e30, ce

    def run(steps: range, sc, loss_fn) -> None:
        for s in steps:
            x, y = batches[s % 2]
            train_step(
                trainer.ddp_model,
                x,
                y,
                step=s,
                optimizer=trainer.optimizer,
                method=method,
                loss_fn=loss_fn,
                lr=trainer.recipe.lr(s),
                scaler=sc,
                autocast=trainer._autocast(),
            )

    trainer.ddp_model.train()
    run(range(first_update - 2, first_update + 2), scaler, huge)
    unchanged = all(torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True))
    masks_kept = all(torch.equal(a, m.flat) for a, m in zip(masks_before, _mask_sets(method), strict=True))
    gc_prev = getattr(getattr(method, "gc", None), "prev", None)
    gc_finite = gc_prev is None or bool(torch.isfinite(gc_prev).all())
    skipped = int(method.skipped_updates)
    scale_after = float(scaler.get_scale())
    run(
        range(first_update + 2, first_update + 6),
        torch.amp.GradScaler(trainer.device.type, init_scale=2.0**10),
        trainer.objective.loss,
    )
    finite = all(bool(torch.isfinite(p).all()) for p in model.parameters())
    moved = not all(torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True))
    problems = [
        p
        for p, bad in [
            ("weights changed on skipped steps", not unchanged),
            ("masks moved on a skipped update", not masks_kept),
            ("a non-finite gradient was remembered", not gc_finite),
            ("the update step was not skipped", skipped < 1),
            ("non-finite weights", not finite),
            ("no training after the overflow", not moved),
        ]
        if bad
    ]
    ck.emit(
        f"overflow:{name}",
        not problems,
        skipped_mask_updates=skipped,
        scale_after_skips=scale_after,
        weights_unchanged_while_skipped=unchanged,
        masks_kept=masks_kept,
        weights_finite=finite,
        error="; ".join(problems) or None,
    )


def step_resume(ck: Check) -> None:
    """Kill a run mid-epoch (checkpoints every step), resume it, compare with an uninterrupted run."""
    base = [
        *TINY_RUN,
        "method=rigl",
        "epochs=2",
        "trainer.deterministic=true",
        "method.update_interval=3",
        "checkpoint.every_minutes=1e-6",
        f"device={'cpu' if ck.rehearse else 'cuda'}",
    ]
    if not ck.rehearse:  # bigger batches on the GPU, still seconds
        base += ["dataset.train_size=4096", "dataset.batch_size=128"]
    full, part = ck.out / "resume_full", ck.out / "resume_part"
    out = ck.cli(*base, f"hydra.run.dir={full}")
    if out.returncode:
        ck.emit("resume", False, error=f"uninterrupted run failed: {_tail(out)}")
        return
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "WANDB_MODE": "offline"}
    if ck.rehearse:
        env.setdefault("OMP_NUM_THREADS", "1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "acdc_bench", *base, f"hydra.run.dir={part}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    from acdc_bench import checkpoint as ckpt_io

    # killed once last.pt is a step checkpoint inside epoch 1 (polled, not timed: a busy machine
    # would otherwise let the kill land on an epoch end)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        try:
            state = ckpt_io.load(part / "checkpoints" / ckpt_io.LAST)
        except ckpt_io.CorruptCheckpoint:  # not written yet, or between the two renames
            state = None
        if state is not None and state["epoch"] == 1 and state["partial"] is not None:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    last = ckpt_io.load(part / "checkpoints" / ckpt_io.LAST)
    where = f"epoch {last['epoch']}" + (
        f" before batch {last['partial']['batch']}" if last["partial"] else " end"
    )
    out = ck.cli(*base, f"hydra.run.dir={part}")
    same = out.returncode == 0 and _strip(_rows(full / "metrics.jsonl")) == _strip(
        _rows(part / "metrics.jsonl")
    )
    ck.emit(
        "resume",
        same,
        killed_at=where,
        mid_epoch=last["partial"] is not None,
        error=None
        if same
        else (
            f"resumed run failed: {_tail(out)}"
            if out.returncode
            else "metrics differ from the uninterrupted run"
        ),
    )


def step_cpu_checkpoint(ck: Check) -> None:
    """A checkpoint written by a CPU run (``device=auto`` with no GPU visible: no loss scale)
    resumed with ``device=auto`` where a GPU is visible (mixed precision on)."""
    run = ck.out / "cpu_written"
    base = [*TINY_RUN, "method=rigl", "method.update_interval=3", "device=auto", f"hydra.run.dir={run}"]
    out = ck.cli(*base, "epochs=1", env={"CUDA_VISIBLE_DEVICES": ""})
    if out.returncode:
        ck.emit("cpu_checkpoint", False, error=f"CPU run failed: {_tail(out)}")
        return
    out = ck.cli(*base, "epochs=2")
    summary = json.loads((run / "summary.json").read_text()) if (run / "summary.json").exists() else {}
    ok = out.returncode == 0 and "resuming from" in out.stderr and summary.get("status") == "finished"
    ck.emit(
        "cpu_checkpoint",
        ok,
        resumed_on=summary.get("device"),
        epochs=len(_rows(run / "metrics.jsonl")),
        error=None if ok else _tail(out),
    )


def step_bert(ck: Check) -> None:
    run = ck.out / "bert_tiny"
    sizes = (
        BERT_TINY_SIZES
        if ck.rehearse
        else ["dataset.train_subset=4096", "dataset.val_subset=512", "epochs=2"]
    )
    out = ck.cli(*BERT, *sizes, f"hydra.run.dir={run}")
    rows = _rows(run / "metrics.jsonl")
    summary = json.loads((run / "summary.json").read_text()) if (run / "summary.json").exists() else {}
    ok = out.returncode == 0 and bool(rows) and all(r.get("train_loss") == r.get("train_loss") for r in rows)
    ck.emit(
        "bert_tiny",
        ok,
        device=summary.get("device"),
        epochs=len(rows),
        train_loss=rows[-1].get("train_loss") if rows else None,
        epoch_time_s=rows[-1].get("epoch_time_s") if rows else None,
        error=None if ok else _tail(out),
    )


def collectives_worker() -> None:
    """One rank of ``step_collectives``: the collectives the trainer uses, then a DDP step."""
    import torch.distributed as dist

    cuda = torch.cuda.is_available() and os.environ.get("GPU_CHECK_BACKEND") == "nccl"
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    t = torch.tensor([float(rank + 1)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    m = torch.tensor([float(rank + 1)], device=device)
    dist.all_reduce(m, op=dist.ReduceOp.MIN)
    rows = [torch.empty(3, device=device) for _ in range(world)]
    dist.all_gather(rows, torch.full((3,), float(rank), device=device))
    objs: list[Any] = [None] * world
    dist.all_gather_object(objs, {"rank": rank})
    box = [f"from {rank}"]
    dist.broadcast_object_list(box, src=0)
    dist.barrier()
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Flatten(), torch.nn.LazyLinear(4)).to(
        device
    )
    model(torch.zeros(2, 3, 8, 8, device=device))
    ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if cuda else None)
    ddp(torch.randn(4, 3, 8, 8, device=device)).sum().backward()
    ok = (
        float(t) == world * (world + 1) / 2
        and float(m) == 1.0
        and [float(r[0]) for r in rows] == list(range(world))
        and [o["rank"] for o in objs] == list(range(world))
        and box[0] == "from 0"
    )
    # the DDP wrapper (its reducer holds the group's work) goes before the group; rank 1 otherwise
    # aborts at exit now and then ("terminate called without an active exception", a busy CPU)
    del ddp, model
    dist.barrier()
    dist.destroy_process_group()
    if rank == 0:
        print(
            json.dumps({"collectives_ok": ok, "backend": "nccl" if cuda else "gloo", "world": world}),
            flush=True,
        )
    # everything is checked and printed: leave without the interpreter's teardown, where gloo's
    # background threads still abort a rank now and then on a busy CPU ("terminate called without an
    # active exception") after a clean destroy_process_group
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if ok else 1)


def step_collectives(ck: Check) -> None:
    nproc = 2 if ck.rehearse else 1
    env = {**os.environ, "GPU_CHECK_BACKEND": "gloo" if ck.rehearse else "nccl", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={nproc}",
            str(Path(__file__).resolve()),
            "--collectives-worker",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    found = [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]
    ok = out.returncode == 0 and bool(found) and found[-1]["collectives_ok"]
    ck.emit(
        "collectives", ok, backend=env["GPU_CHECK_BACKEND"], ranks=nproc, error=None if ok else _tail(out)
    )


def step_ddp_ast(ck: Check) -> None:
    """DDP training with AST-GC (sub-net weights swapped under DDP's parameters) through the CLI
    on two gloo ranks; on one GPU skipped (NCCL puts no two ranks on one GPU)."""
    if not ck.rehearse:
        ck.emit(
            "ddp:ast_gc", None, reason="NCCL will not put two ranks on one GPU: a multi-GPU machine's check"
        )
        return
    run = ck.out / "ddp_ast"
    ddp = ck.cli(
        *TINY_RUN,
        "method=ast",
        "method.gradient_correction=true",
        "method.update_interval=3",
        "method.final_prune_epoch=2",
        "epochs=3",
        "device=cpu",
        f"hydra.run.dir={run}",
        torchrun=2,
    )
    rows = _rows(run / "metrics.jsonl")
    agree = bool(rows) and all(len(set(r.get("mask_checksums", [0, 1]))) == 1 for r in rows)
    ok = ddp.returncode == 0 and agree and len(rows) == 3
    ck.emit(
        "ddp:ast_gc",
        ok,
        epochs=len(rows),
        masks_agree=agree,
        error=None if ok else (_tail(ddp) if ddp.returncode else "the ranks' masks differ"),
    )


def step_speedup(ck: Check) -> None:
    from acdc_bench.tasks import TASKS

    if "speedup" not in TASKS:
        ck.emit("speedup", None, reason="task=speedup is not in this checkout (skipped)")
        return
    run = ck.out / "speedup"
    # The GPU: 2:4 on BERT-base's linear layers in bf16, fresh weights (no run needed); the
    # rehearsal: BERT-tiny, torch's dense and CSR engines on the CPU, a few rounds.
    if ck.rehearse:
        args = [
            "inference=cpu",
            "model=bert_tiny",
            "inference.engines=[torch_dense,torch_csr]",
            "inference.batch_sizes=[1]",
            "inference.warmup=1",
            "inference.repeats=6",
            "inference.threads=1",
        ]
    else:
        args = [
            "inference=cuda",
            "model=bert_base",
            "distribution=nm",
            "inference.engines=[cuda_24]",
            "inference.engine_options.cuda_24.precision=bf16",
            "inference.batch_sizes=[1,64]",
        ]
    # epochs=30: the task checks the config's method as a run would (pydoc's 3 epochs hold no AC/DC
    # plan of paper 001 App. B); nothing trains, the epochs only set the training-FLOPs plan.
    out = ck.cli("task=speedup", "dataset=pydoc", "sparsity=0.5", "epochs=30", *args,
                 f"hydra.run.dir={run}")
    result = json.loads((run / "speedup.json").read_text()) if (run / "speedup.json").exists() else {}
    ck.emit(
        "speedup",
        out.returncode == 0,
        results=[
            {k: r.get(k) for k in ("engine", "batch", "speedup", "speedup_low", "speedup_high")}
            for r in result.get("results", [])
        ],
        error=None if out.returncode == 0 else _tail(out),
    )


STEPS: dict[str, Callable[[Check], None]] = {
    "env": step_env,
    **{f"train:{m}": (lambda ck, m=m: step_train(ck, m)) for m in METHODS},
    "resume": step_resume,
    "overflow:rigl": lambda ck: step_overflow(ck, "rigl"),
    "overflow:ast_gc": lambda ck: step_overflow(ck, "ast_gc"),
    "cpu_checkpoint": step_cpu_checkpoint,
    "bert_tiny": step_bert,
    "collectives": step_collectives,
    "ddp:ast_gc": step_ddp_ast,
    "speedup": step_speedup,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rehearse", action="store_true", help="the same steps on the CPU at tiny sizes")
    ap.add_argument("--out", type=Path, default=None, help="scratch directory (default: a temporary one)")
    ap.add_argument("--only", default="", help="comma-separated steps (default: all): " + ", ".join(STEPS))
    ap.add_argument("--collectives-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.collectives_worker:
        collectives_worker()
    chosen = [s for s in args.only.split(",") if s] or list(STEPS)
    unknown = [s for s in chosen if s not in STEPS]
    if unknown:
        print(
            f"gpu_check: --only={','.join(unknown)} is not allowed; expected some of {', '.join(STEPS)}",
            file=sys.stderr,
        )
        return 2
    out = args.out or Path(tempfile.mkdtemp(prefix="gpu_check_"))
    out.mkdir(parents=True, exist_ok=True)
    ck = Check(args.rehearse, out)
    t0 = time.perf_counter()
    for name in chosen:
        ck.t_step = time.perf_counter()
        try:
            STEPS[name](ck)
        except Exception as err:  # noqa: BLE001 - a step's crash is its failure; the others still run
            ck.emit(
                name,
                False,
                error=f"{type(err).__name__}: {err}",
                where=traceback.format_exc().strip().splitlines()[-3:],
            )
        gc.collect()  # the step's trainer and batches
        if ck.device.type == "cuda":
            torch.cuda.empty_cache()
        if name == "env" and ck.results[-1]["ok"] is False:
            break
    failed = [r for r in ck.results if r["ok"] is False]
    print(
        json.dumps(
            {
                "summary": True,
                "mode": "rehearse" if args.rehearse else "gpu",
                "passed": sum(r["ok"] is True for r in ck.results),
                "failed": len(failed),
                "skipped": sum(r["ok"] is None for r in ck.results),
                "first_failure": f"{failed[0]['step']}: {failed[0].get('error')}" if failed else None,
                "seconds": round(time.perf_counter() - t0, 1),
            }
        ),
        flush=True,
    )
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
