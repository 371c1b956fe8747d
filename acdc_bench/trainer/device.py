"""Which device a rank trains on, and what the device asks of a batch.

Kept apart from the loop so that the rules are plain functions a CPU test can pin: a SLURM
task that sees one GPU (``--gpus-per-task=1``: ``CUDA_VISIBLE_DEVICES`` holds one GPU per
task) trains on ``cuda:0`` whatever its local rank, and a named GPU that does not exist is a
one-line error instead of silently becoming ``cuda:0``.
"""

from __future__ import annotations

from typing import Any

import torch

from acdc_bench.errors import ConfigError

DEVICE_FIELD = "device"


def cuda_index(requested: int | None, local_rank: int, world_size: int, count: int) -> int:
    """The GPU this rank uses among the ``count`` it sees. ``requested``: the index of
    ``device=cuda:N`` (None for ``cuda``/``auto``). One process: the named GPU, else 0. Several
    ranks: the local rank when the node's GPUs are all visible to every task (torchrun, one
    task per node), 0 when each task sees one GPU (SLURM's ``--gpus-per-task=1``)."""
    shown = "cuda" if requested is None else f"cuda:{requested}"
    if count < 1:
        raise ConfigError(DEVICE_FIELD, shown, "cpu or auto: no CUDA device is visible")
    allowed = f"auto, cpu, cuda or cuda:<index> with index in [0, {count - 1}] ({count} visible)"
    if world_size <= 1:
        index = 0 if requested is None else requested
        if not 0 <= index < count:
            raise ConfigError(DEVICE_FIELD, shown, allowed)
        return index
    if requested is not None and requested != local_rank % count:
        raise ConfigError(DEVICE_FIELD, shown, "cuda or auto under DDP (each rank takes its own GPU)")
    if count == 1:
        return 0
    if local_rank >= count:
        raise ConfigError(
            "LOCAL_RANK", local_rank,
            f"below the {count} visible GPUs: start one task per GPU, or let each task see one GPU")
    return local_rank


def device_kind(name: str) -> str:
    """``cuda`` or ``cpu`` (what the process group's backend follows), before the rank is known."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name).type


def select_device(name: str, local_rank: int = 0, world_size: int = 1) -> torch.device:
    """``device``: auto (a GPU when there is one), cpu, cuda or cuda:N, resolved for this rank."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type != "cuda":
        return device
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return torch.device("cuda", cuda_index(device.index, local_rank, world_size, count))


def tune_backends(device: torch.device, deterministic: bool) -> None:
    """cuDNN picks the fastest convolution per input shape (progressive resizing has a few
    shapes; each is timed once), unless the run asks for deterministic kernels."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not deterministic


def channels_last(x: Any) -> Any:
    """A 4-D image batch in channels-last layout (a no-op when it already is); anything else
    (a text batch: a dict of token tensors) unchanged."""
    if isinstance(x, torch.Tensor) and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x
