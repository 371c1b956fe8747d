"""Preemption that loses nothing: a signal from SLURM becomes a checkpoint at the next step
boundary, and only then reaches the handler it was meant for.

In a SLURM job (or a submitit job) two signals announce the end of an allocation:

* ``SIGUSR2`` (submitit's preemption signal, ``SUBMITIT_PREEMPT_SIGNAL`` changes it): sent
  ``signal_delay_s`` before the time limit by the ``--signal=USR2@<s>`` submitit asks for, and
  by ``job._interrupt()``. submitit's handler requeues the job (``scontrol requeue``, same
  pickled overrides, hence the same run directory) and exits. Left alone, it would exit in the
  middle of a step and lose everything since the last epoch-end checkpoint.
* ``SIGTERM``: sent by ``scontrol requeue``, ``scancel`` and preemption with
  ``PreemptMode=REQUEUE``, followed by ``SIGKILL`` after ``KillWait`` (or the partition's
  ``GraceTime``). submitit ignores it (it expects USR2 next); SLURM itself requeues a job
  submitted with ``--requeue``.

Both handlers are wrapped: the signal only marks a request; at the next step boundary the
trainer writes a mid-epoch checkpoint (at an epoch end, the epoch's own) and then calls the
handler that was installed before (submitit's, or the default action, re-raised). For
SIGTERM that means: checkpoint and train on until the kill, so that the requeued job resumes
exactly where the checkpoint was taken. The grace time must cover one step plus one
checkpoint write (or the rest of an evaluation when the signal comes during one).

Under DDP the ranks agree on the request (one all-reduce of a few flags) at the steps where
rank 0 already polls for a timed mid-epoch checkpoint (``DDP_CKPT_POLL_EVERY``) and at each
epoch end; a single process looks at a Python flag every step. No other host sync is added.
Outside SLURM and submitit nothing is installed: signals behave as before.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import torch

from acdc_bench.distributed import DistInfo, all_reduce_sum, barrier
from acdc_bench.trainer.run_state import DDP_CKPT_POLL_EVERY

Log = Callable[[str], None]


def requeue_signal() -> signal.Signals:
    """submitit's preemption/time-out signal (``SUBMITIT_PREEMPT_SIGNAL``, USR2 by default)."""
    name = os.environ.get("SUBMITIT_PREEMPT_SIGNAL", "USR2").upper().removeprefix("SIG")
    return signal.Signals["SIG" + name]


def in_scheduled_job() -> bool:
    """A SLURM job or a submitit job (whose local executor signals like SLURM)?"""
    return "SLURM_JOB_ID" in os.environ or bool(os.environ.get("SUBMITIT_EXECUTOR"))


class Preemption:
    """The signals seen since the last hand-over, and the handlers they were meant for."""

    def __init__(self, dist: DistInfo, device: torch.device, log: Log, enabled: bool | None = None):
        self.dist, self.device, self.log = dist, device, log
        self.enabled = in_scheduled_job() if enabled is None else enabled
        # Python lets only the main thread install handlers (a trainer in a thread: none).
        self.enabled = self.enabled and threading.current_thread() is threading.main_thread()
        self.requeue = requeue_signal() if self.enabled else None
        # Ordered: SIGTERM's handler (submitit: log and carry on) before the requeue signal's (exit).
        self.signals: tuple[signal.Signals, ...] = (signal.SIGTERM, self.requeue) if self.enabled else ()
        self.pending: set[int] = set()
        self.previous: dict[int, Any] = {}
        for sig in self.signals:
            self.previous[sig] = signal.getsignal(sig)
            signal.signal(sig, self._mark)

    def _mark(self, signum: int, frame: FrameType | None) -> None:
        # A signal handler: only remember; the trainer acts at the next step boundary.
        self.pending.add(signum)

    def requested(self, batch: int | None = None, steps_per_epoch: int = 0) -> tuple[int, ...]:
        """The signals to act on now, the same on every rank; ``()`` almost always.

        ``batch``: the batch just trained (mid-epoch); None at an epoch end. The epoch's last
        batch is left to the epoch-end checkpoint that follows it."""
        if not self.signals:
            return ()
        if batch is not None and batch + 1 >= steps_per_epoch:
            return ()
        if self.dist.world_size == 1:
            return tuple(s for s in self.signals if s in self.pending)
        if batch is not None and (batch + 1) % DDP_CKPT_POLL_EVERY:
            return ()
        flags = torch.tensor([float(s in self.pending) for s in self.signals], device=self.device)
        agreed = all_reduce_sum(flags).tolist()
        return tuple(s for s, seen in zip(self.signals, agreed, strict=True) if seen > 0)

    def hand_over(self, signals: tuple[int, ...], where: str) -> None:
        """After the checkpoint at ``where``: each signal reaches the handler it was meant for.
        The requeue signal does not come back (submitit requeues and exits on rank 0; the other
        ranks exit once rank 0 has requeued)."""
        for sig in signals:
            self.pending.discard(sig)
            name = signal.Signals(sig).name
            previous = self.previous[sig]
            self.log(f"{name} received: checkpoint written at {where}; "
                     + ("handing over to the job's handler" if callable(previous) else
                        "now acting on it" if previous == signal.SIG_DFL else "ignored, as before"))
            if sig != self.requeue:
                self._call(sig, previous)
                continue
            try:
                self._call(sig, previous)  # rank 0 under submitit: scontrol requeue, then SystemExit
            finally:
                barrier()  # the other ranks wait until rank 0 has requeued (or given up)
            if previous != signal.SIG_IGN:
                sys.exit(-1)  # the job ends here on every rank, as submitit's rank 0 does

    def after_epoch(self, epoch: int, epochs: int) -> None:
        """At an epoch end, after its checkpoint: hand over, unless the run is about to finish
        anyway (then finishing beats a requeue)."""
        if epoch + 1 < epochs:
            signals = self.requested()
            if signals:
                self.hand_over(signals, f"the end of epoch {epoch}")

    @staticmethod
    def _call(sig: int, previous: Any) -> None:
        if callable(previous):
            previous(sig, None)
        elif previous == signal.SIG_DFL:
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
