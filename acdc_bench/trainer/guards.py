"""Failure guards: a run stops at its first non-finite loss, and when its ranks' masks drift apart.

Both fail loudly (:class:`~acdc_bench.errors.RunFailed`, ``summary.json`` says ``failed``)
instead of training on: a poisoned model or ranks training different models would make
every later number meaningless while the logs look normal.
"""

from __future__ import annotations

from typing import Any

import torch

from acdc_bench.distributed import DistInfo, all_gather_object, all_reduce_min
from acdc_bench.errors import RunFailed
from acdc_bench.sparsity.base import SparsityMethod

NAN_CHECK_EVERY = 50  # steps between host-side checks of the device-side non-finite-loss flag
_NO_BAD_STEP = 2**62


class NonFiniteLoss:
    """The first non-finite loss of an epoch, kept on the device: recording costs no host
    sync; :meth:`raise_if_seen` reads it every few steps and before any checkpoint, so no
    checkpoint holds a poisoned model."""

    def __init__(self, device: torch.device):
        self.bad_step = torch.full((), _NO_BAD_STEP, dtype=torch.long, device=device)
        self.bad_loss = torch.zeros((), device=device)

    def record(self, step: int, loss: torch.Tensor) -> None:
        first = ~torch.isfinite(loss) & (self.bad_step == _NO_BAD_STEP)
        self.bad_step = torch.where(first, step, self.bad_step)
        self.bad_loss = torch.where(first, loss.float(), self.bad_loss)

    def raise_if_seen(self, epoch: int, steps_per_epoch: int, kept: str) -> None:
        """``kept`` says which checkpoint survives (for the message)."""
        first = int(all_reduce_min(self.bad_step.clone()).item())
        if first == _NO_BAD_STEP:
            return
        value = float(self.bad_loss.item()) if int(self.bad_step.item()) == first else float("nan")
        raise RunFailed(
            f"non-finite training loss ({value}) at epoch {epoch}, step {first} (batch "
            f"{first - epoch * steps_per_epoch} of {steps_per_epoch}); stopped; {kept}"
        )


class MaskAgreement:
    """After every mask change the ranks compare mask fingerprints. DDP averages the
    gradients, but each rank applies its own masks: masks that drift apart would train
    different models. ``checks`` counts the mask changes compared during the epoch
    (``force``d comparisons are not counted)."""

    def __init__(self, method: SparsityMethod, dist: DistInfo, mismatch_rank: int | None = None):
        self.method, self.dist = method, dist
        self.mismatch_rank = mismatch_rank  # test-only: fake a divergence on this rank
        self.version_seen: int | None = None
        self.checks = 0
        self.checksums: list[int] | None = None

    def check(self, where: str, force: bool = False) -> None:
        version = self.method.mask_version
        if version == self.version_seen and not force:
            return
        changed = not force
        self.version_seen = version
        checksum = self.method.mask_checksum()
        if checksum is None:  # no masks (dense): nothing to compare, on every rank alike
            return
        if self.mismatch_rank == self.dist.rank and self.dist.world_size > 1:
            checksum += 1
        per_rank = all_gather_object((int(version), int(checksum)))
        self.checks += changed
        self.checksums = [c for _, c in per_rank]
        if len(set(per_rank)) > 1:
            raise RunFailed(f"masks differ across ranks at {where}: (mask_version, mask_checksum) per rank = "
                            f"{per_rank}")

    def epoch_row(self, epoch: int) -> dict[str, Any]:
        """Per-rank mask checksums at the end of the epoch and how many comparisons it made."""
        self.check(f"the end of epoch {epoch}", force=True)
        if self.checksums is None:
            return {}
        row = {"mask_checksums": list(self.checksums), "mask_checks": self.checks}
        self.checks = 0
        return row
