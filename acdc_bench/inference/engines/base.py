"""The engine interface: time a workload's dense and sparse twins at one batch size.

An engine says which layers it runs sparse (``runs_sparse``, for the FLOPs bound) and the most
sparsity its kernels exploit (``floor``: 2:4 kernels skip at most half), checks that it can run
here (``check``: a one-line :class:`EngineUnavailable` naming what to install), and returns the
seconds per call of both twins from interleaved rounds (``acdc_bench.inference.timing``).
"""

from __future__ import annotations

from acdc_bench.errors import ReportedError
from acdc_bench.inference.workload import Workload
from acdc_bench.sparsity.masks import PrunableLayer

Times = tuple[list[float], list[float]]  # seconds per call: dense, sparse


class EngineUnavailable(ReportedError):
    """An engine that cannot run here (not installed, no CUDA): one line, exit status 2."""


class Engine:
    name = "engine"
    floor = 0.0  # the smallest density the engine's sparse kernels reach (2:4: 0.5)
    device = "cpu"

    def __init__(self, threads: int, **options: object):
        self.threads = int(threads)
        self.options = options

    def runs_sparse(self, layer: PrunableLayer) -> bool:
        """Whether this engine computes ``layer`` with a sparse kernel."""
        return False

    def check(self) -> None:
        """Raise :class:`EngineUnavailable` when the engine cannot run here."""

    def describe(self) -> dict[str, object]:
        """What the results should say about the engine (version, precision, device)."""
        return {}

    def measure(self, work: Workload, batch: int, warmup: int, repeats: int) -> Times:
        """Seconds per call of the dense and the sparse twin, ``repeats`` interleaved rounds each."""
        raise NotImplementedError
