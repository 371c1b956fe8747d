"""CUDA, the sparse twin's Linear layers as 2:4 semi-structured matrices (fp16 or bf16).

``torch.sparse.to_sparse_semi_structured`` stores at most 2 nonzeros in every group of 4 along
the input dimension and runs them on the sparse tensor cores (cuSPARSELt or CUTLASS). There is no
fp32 kernel on Hopper and none for Conv2d, and no kernel skips more than half the weights, so
3:4, 7:8 and 15:16 masks run at 2:4 speed (``floor`` 0.5 in the FLOPs bound). A mask with more
than 2 nonzeros in some group of 4 cannot be stored: the engine refuses it in one line.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from acdc_bench.inference.engines.base import Engine, EngineUnavailable, Times
from acdc_bench.inference.timing import interleaved
from acdc_bench.inference.workload import Workload
from acdc_bench.sparsity.masks import PrunableLayer

DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def require_cuda(engine: str) -> None:
    if not torch.cuda.is_available():
        raise EngineUnavailable(f"engine {engine} needs a CUDA device; none is visible (choose CPU engines: "
                                "inference.engines=[torch_dense,torch_csr,deepsparse])")


def fits_24(weight: torch.Tensor) -> bool:
    """At most 2 nonzeros in every group of 4 consecutive inputs (the last dimension)."""
    if weight.shape[-1] % 4:
        return False
    return bool(((weight.reshape(-1, 4) != 0).sum(dim=1) <= 2).all())


class Cuda24(Engine):
    name = "cuda_24"
    floor = 0.5
    device = "cuda"

    def runs_sparse(self, layer: PrunableLayer) -> bool:
        return type(layer.module) is nn.Linear

    def check(self) -> None:
        require_cuda(self.name)
        precision = self.options.get("precision", "fp16")
        if precision not in DTYPES:
            raise EngineUnavailable(f"engine cuda_24: precision={precision!r}; expected one of "
                                    f"{sorted(DTYPES)}")

    def describe(self) -> dict[str, object]:
        return {"torch": torch.__version__, "precision": self.options.get("precision", "fp16"),
                "sparse": "Linear as 2:4 semi-structured (to_sparse_semi_structured)"}

    @torch.inference_mode()
    def measure(self, work: Workload, batch: int, warmup: int, repeats: int) -> Times:
        from torch.sparse import to_sparse_semi_structured

        self.check()
        dtype = DTYPES[self.options.get("precision", "fp16")]
        dense = copy.deepcopy(work.dense).to("cuda", dtype)
        sparse = copy.deepcopy(work.sparse).to("cuda", dtype)
        for name, module in sparse.named_modules():
            if type(module) is nn.Linear:
                if not fits_24(module.weight):
                    raise EngineUnavailable(f"engine cuda_24: the mask of {name} is not 2:4 (more "
                                            "than 2 nonzeros in a group of 4 inputs); use N:M masks "
                                            "(distribution=nm)")
                module.weight = nn.Parameter(to_sparse_semi_structured(module.weight), requires_grad=False)
        args = tuple(a.to("cuda", dtype) if a.is_floating_point() else a.to("cuda")
                     for a in work.example(batch))
        return interleaved(lambda: dense(*args), lambda: sparse(*args), warmup, repeats,
                           sync=torch.cuda.synchronize)
