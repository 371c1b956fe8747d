"""torch.distributed set-up from torchrun's or SLURM's environment (NCCL on GPU, gloo on CPU).

Every helper is a no-op (returns its input) in a single process, so the trainer calls them
unconditionally. Every rank runs the whole Hydra application; rank 0 alone writes files and
logs. Where the ranks come from, first match wins:

1. ``torchrun`` (``WORLD_SIZE`` is set): its variables as they are.
2. A SLURM task started by ``srun`` (``SLURM_STEP_ID`` is set; the batch script itself has
   none) in a step of several tasks: one rank per task, as the SLURM launcher's
   ``tasks_per_node`` x ``nodes`` ask (one per GPU for the ImageNet recipe). The rendezvous is
   the step's first node, on a port derived from the job id, so the ranks agree without talking.
3. submitit's local executor with several tasks (``hydra/launcher=local``).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

# MASTER_PORT under SLURM: this range plus the job id modulo its size (an array task has its
# own job id, a requeued job keeps its id), unless MASTER_PORT is set.
SLURM_PORT_BASE, SLURM_PORT_SPAN = 20000, 40000


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _slurm_task() -> bool:
    """A task of a multi-task ``srun`` step, outside torchrun?"""
    env = os.environ
    if "WORLD_SIZE" in env or "SLURM_STEP_ID" not in env:
        return False
    return int(env.get("SLURM_STEP_NUM_TASKS", env.get("SLURM_NTASKS", "1"))) > 1


def env_rank() -> int:
    """This process's rank as torchrun or SLURM announce it (0 otherwise), before any set-up."""
    if _slurm_task():
        return int(os.environ["SLURM_PROCID"])
    return int(os.environ.get("RANK", "0"))


def expand_hostlist(hostlist: str) -> list[str]:
    """SLURM's compressed host list as names: ``gpu[01-03,07],login1`` -> gpu01, gpu02, gpu03,
    gpu07, login1 (what ``scontrol show hostnames`` prints; parsed here so that no SLURM
    command is needed on the compute node). Zero padding is kept; one bracket per name."""
    hosts: list[str] = []
    for prefix, ranges, suffix in re.findall(r"([^,\[]*)(?:\[([^\]]*)\])?([^,\[]*)", hostlist):
        if not (prefix or ranges or suffix):
            continue
        if not ranges:
            hosts.append(prefix + suffix)
            continue
        for part in ranges.split(","):
            lo, _, hi = part.partition("-")
            hi = hi or lo
            width = len(lo)
            hosts.extend(f"{prefix}{i:0{width}d}{suffix}" for i in range(int(lo), int(hi) + 1))
    return hosts


def _node_address(node: str) -> str:
    """An address for SLURM node ``node``: its name when that resolves (the usual set-up),
    else the ``NodeAddr`` slurmctld has for it (several nodes on one host, as the local
    cluster of scripts/slurm_local.sh can run, share one host name)."""
    try:
        socket.getaddrinfo(node, None)
        return node
    except OSError:
        pass
    try:
        out = subprocess.run(["scontrol", "-o", "show", "node", node], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return node
    found = re.search(r"\bNodeAddr=(\S+)", out)
    return found.group(1) if found else node


def slurm_rendezvous(env: dict[str, str]) -> dict[str, str]:
    """What torch's ``env://`` set-up reads, from an ``srun`` task's SLURM variables."""
    nodes = expand_hostlist(env.get("SLURM_STEP_NODELIST") or env["SLURM_JOB_NODELIST"])
    world = env.get("SLURM_STEP_NUM_TASKS", env.get("SLURM_NTASKS", "1"))
    port = env.get("MASTER_PORT") or str(SLURM_PORT_BASE + int(env["SLURM_JOB_ID"]) % SLURM_PORT_SPAN)
    return {"MASTER_ADDR": env.get("MASTER_ADDR") or _node_address(nodes[0]), "MASTER_PORT": port,
            "RANK": env["SLURM_PROCID"], "WORLD_SIZE": world, "LOCAL_RANK": env.get("SLURM_LOCALID", "0")}


def _export_rank_env() -> None:
    """Export the ``env://`` variables for a multi-task SLURM step or submitit local job."""
    if _slurm_task():
        os.environ.update(slurm_rendezvous(dict(os.environ)))
        return
    if "WORLD_SIZE" in os.environ or not os.environ.get("SUBMITIT_EXECUTOR"):
        return
    from submitit import JobEnvironment
    from submitit.helpers import TorchDistributedEnvironment

    if JobEnvironment().num_tasks > 1:
        TorchDistributedEnvironment().export(set_cuda_visible_devices=False)


def init_distributed(device_kind: str) -> DistInfo:
    """DDP from torchrun's, SLURM's or a multi-task submitit job's environment; one process otherwise."""
    _export_rank_env()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_kind == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def _active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    if _active():
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def all_reduce_min(t: torch.Tensor) -> torch.Tensor:
    if _active():
        dist.all_reduce(t, op=dist.ReduceOp.MIN)
    return t


def all_gather_rows(t: torch.Tensor) -> torch.Tensor:
    """``world_size x *t.shape``: every rank's ``t``, in rank order."""
    if not _active():
        return t.unsqueeze(0)
    out = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(out, t.contiguous())
    return torch.stack(out)


def all_gather_object(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable), in rank order."""
    if not _active():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Rank ``src``'s ``obj`` on every rank."""
    if not _active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
