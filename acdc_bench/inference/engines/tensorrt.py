"""CUDA, torch-tensorrt with ``sparse_weights=True``: TensorRT picks 2:4 sparse kernels for the
convolutions and linear layers whose weights follow the 2:4 pattern (fp16). Optional: it needs
the ``torch_tensorrt`` package and a CUDA device, else a one-line error. Like every 2:4 kernel it
skips at most half the weights (``floor`` 0.5)."""

from __future__ import annotations

import copy
import importlib.util

import torch

from acdc_bench.inference.engines.base import Engine, EngineUnavailable, Times
from acdc_bench.inference.engines.cuda_24 import require_cuda
from acdc_bench.inference.timing import interleaved
from acdc_bench.inference.workload import Workload
from acdc_bench.sparsity.masks import PrunableLayer


class TensorRT(Engine):
    name = "tensorrt"
    floor = 0.5
    device = "cuda"

    def runs_sparse(self, layer: PrunableLayer) -> bool:
        return True

    def check(self) -> None:
        require_cuda(self.name)
        if importlib.util.find_spec("torch_tensorrt") is None:
            raise EngineUnavailable("engine tensorrt needs the torch_tensorrt package (pip install "
                                    "torch-tensorrt matching torch); not installed")

    def describe(self) -> dict[str, object]:
        return {"precision": "fp16", "sparse": "TensorRT sparse_weights=True (2:4)"}

    @torch.inference_mode()
    def measure(self, work: Workload, batch: int, warmup: int, repeats: int) -> Times:
        import torch_tensorrt

        self.check()
        args = tuple(a.to("cuda", torch.float16) if a.is_floating_point() else a.to("cuda")
                     for a in work.example(batch))
        compiled = {}
        for which, model in (("dense", work.dense), ("sparse", work.sparse)):
            m = copy.deepcopy(model).to("cuda", torch.float16)
            compiled[which] = torch_tensorrt.compile(m, ir="dynamo", inputs=list(args),
                                                     enabled_precisions={torch.float16},
                                                     sparse_weights=which == "sparse")
        dense, sparse = compiled["dense"], compiled["sparse"]
        return interleaved(lambda: dense(*args), lambda: sparse(*args), warmup, repeats,
                           sync=torch.cuda.synchronize)
