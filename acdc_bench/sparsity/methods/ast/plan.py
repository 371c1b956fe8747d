"""AST's prune-and-regrow schedule (GraNet, Sec. 3.3), pure functions of steps: when each
sub-net changes its mask and the sparsity it ramps to. No torch state, so ``task=summary``
prints it and tests pin it against the paper's numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass

from acdc_bench.errors import ConfigError
from acdc_bench.sparsity.ramps import cubic_sparsity
from acdc_bench.sparsity.subnets import Subnet

# The paper's CIFAR recipe: masks change every 1000 iterations, the sparsity ramp ends at
# epoch 110 of 160, Δτ is a tenth of the update interval (100 of 1000 on CIFAR, 400 of 4000
# on ImageNet). Null settings follow it; short runs update more often, so that every sub-net
# still climbs its ramp in about MIN_RAMP_UPDATES steps.
PAPER_UPDATE_INTERVAL, MIN_RAMP_UPDATES = 1000, 8
PAPER_FINAL_PRUNE_FRACTION = 110 / 160
ADJUSTMENT_RATIO = 10


def final_prune_epoch(final: int | None, start: int, epochs: int) -> int:
    """``method.final_prune_epoch``, or for null the paper's 110/160 of the run (after ``start``)."""
    if final is not None:
        return final
    return min(epochs, max(start + 1, math.floor(PAPER_FINAL_PRUNE_FRACTION * epochs + 1e-9)))


def update_interval(interval: int | None, n: int, start: int, final: int) -> int:
    """``method.update_interval``, or for null the paper's 1000 iterations, fewer when the ramp
    from step ``start`` to step ``final`` is too short for MIN_RAMP_UPDATES updates (at least
    ``n``, so that every sub-net trains between two of its updates)."""
    return interval or max(n, min(PAPER_UPDATE_INTERVAL, (final - start) // MIN_RAMP_UPDATES))


def adjustment_period(period: int | None, interval: int) -> int:
    """``method.adjustment_period`` Δτ, or for null a tenth of the update interval."""
    return period if period is not None else interval // ADJUSTMENT_RATIO


@dataclass(frozen=True)
class Plan:
    """When each sub-net changes its mask, in global steps (0-based)."""

    n: int  # sub-nets
    total: int  # steps in the run
    start: int  # first step of the pruning period (initial_prune_epoch)
    final: int  # from this step on every sub-net is at its target (final_prune_epoch)
    interval: int  # update_interval (>= n)
    period: int  # adjustment period Δτ

    @classmethod
    def build(cls, n: int, epochs: int, steps_per_epoch: int, initial_prune_epoch: int, final_epoch: int,
              interval: int | None, period: int | None) -> Plan:
        """The plan of a run from the settings (null interval and period resolved as the paper's)."""
        start, final = initial_prune_epoch * steps_per_epoch, final_epoch * steps_per_epoch
        every = update_interval(interval, n, start, final)
        return cls(n, epochs * steps_per_epoch, start, final, every, adjustment_period(period, every))

    def update_step(self, k: int, m: int) -> int:
        """Sub-net k's m-th update (m >= 1): its first own iteration (t = k mod n) at or
        after start + m * interval + k * period."""
        t = self.start + m * self.interval + k * self.period
        return t + (k - t) % self.n

    def update_index(self, step: int) -> int | None:
        """m when ``step`` is an update of the sub-net it trains (step mod n), else None."""
        if not 0 <= step < self.total:
            return None
        k = step % self.n
        x = step - self.start - k * self.period
        if x < self.interval:
            return None
        m, r = divmod(x, self.interval)
        return m if r < self.n else None

    def updates_before(self, k: int, step: int) -> int:
        """How many updates sub-net k makes at steps < ``step``."""
        m = (step - 1 - self.start - k * self.period) // self.interval
        if m >= 1 and self.update_step(k, m) >= step:
            m -= 1
        return max(0, min(m, self.updates_before_end(k)))

    def updates_before_end(self, k: int) -> int:
        m = (self.total - 1 - self.start - k * self.period) // self.interval
        if m >= 1 and self.update_step(k, m) >= self.total:
            m -= 1
        return max(0, m)

    def ramp_updates(self, k: int) -> int:
        """M_k: sub-net k's updates before ``final`` (its ramp reaches the target at the last)."""
        return self.updates_before(k, self.final)

    def check_ramps(self, final_epoch: int) -> list[int]:
        """Every sub-net's M_k; ConfigError when one would not update before ``final_prune_epoch``
        (it would never leave its initial sparsity)."""
        ramp = [self.ramp_updates(k) for k in range(self.n)]
        if min(ramp) < 1:
            k = ramp.index(min(ramp))
            raise ConfigError(
                "method.update_interval", self.interval,
                f"short enough for sub-net {k} to update before method.final_prune_epoch="
                f"{final_epoch} ({self.final} steps; its first update comes at step "
                f"{self.update_step(k, 1)} with adjustment_period={self.period})")
        return ramp


def level(subnet: Subnet, m: int, ramp: int, initial: float) -> float:
    """Sub-net ``subnet``'s level after its m-th of ``ramp`` updates: its sparsity on the cubic
    ramp from s_i (``initial``), or for N:M sub-nets the share of N:M groups, ramped from 0."""
    if subnet.nm is not None:
        return cubic_sparsity(m, ramp, 1.0, 0.0) if m > 0 else 0.0
    return cubic_sparsity(m, ramp, subnet.target, initial) if m > 0 else initial


def level_sparsity(subnet: Subnet, value: float) -> float:
    """The sparsity a level means: itself, or for N:M the share of groups times 1 - n/m."""
    nm = subnet.nm
    return value if nm is None else value * (1.0 - nm[0] / nm[1])
