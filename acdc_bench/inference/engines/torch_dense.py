"""PyTorch eager on the CPU, every layer dense: the reference engine. The sparse twin's zeros are
multiplied like any other weight, so its speed-up is ~1 by design; the other engines' dense
times can be read against it."""

from __future__ import annotations

import torch

from acdc_bench.inference.engines.base import Engine, Times
from acdc_bench.inference.timing import interleaved
from acdc_bench.inference.workload import Workload


class TorchDense(Engine):
    name = "torch_dense"

    def describe(self) -> dict[str, object]:
        return {"torch": torch.__version__, "precision": "fp32"}

    def prepare(self, work: Workload) -> tuple[torch.nn.Module, torch.nn.Module]:
        return work.dense, work.sparse

    @torch.inference_mode()
    def measure(self, work: Workload, batch: int, warmup: int, repeats: int) -> Times:
        dense, sparse = self.prepare(work)
        args = work.example(batch)
        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            return interleaved(lambda: dense(*args), lambda: sparse(*args), warmup, repeats)
        finally:
            torch.set_num_threads(before)
