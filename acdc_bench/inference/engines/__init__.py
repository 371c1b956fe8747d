"""Inference engines behind one interface (:class:`~acdc_bench.inference.engines.base.Engine`),
one module each, imported only when chosen (DeepSparse, TensorRT and CUDA are optional).

- ``torch_dense``: PyTorch eager, every layer dense: the reference (its speed-up is ~1 by design);
- ``torch_csr``: PyTorch with the sparse model's Linear layers as CSR matrices (MKL's sparse
  kernels, ``torch.sparse.mm``), convolutions dense: the open engine for BERT's linear layers;
- ``deepsparse``: Neural Magic's DeepSparse 1.8 on the ONNX files, in its own environment
  (``scripts/deepsparse_env.sh``), through a subprocess: the CPU engine the papers cite;
- ``cuda_24``: CUDA, Linear layers as 2:4 semi-structured sparse matrices in fp16/bf16;
- ``tensorrt``: CUDA, torch-tensorrt with sparse weights (2:4 convolutions), when installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not at run time: the DeepSparse runner imports this package where torch is absent
    from acdc_bench.inference.engines.base import Engine

ENGINES: dict[str, str] = {
    "torch_dense": "acdc_bench.inference.engines.torch_dense:TorchDense",
    "torch_csr": "acdc_bench.inference.engines.torch_csr:TorchCSR",
    "deepsparse": "acdc_bench.inference.engines.deepsparse:DeepSparse",
    "cuda_24": "acdc_bench.inference.engines.cuda_24:Cuda24",
    "tensorrt": "acdc_bench.inference.engines.tensorrt:TensorRT",
}

__all__ = ["ENGINES", "build_engine"]


def build_engine(name: str, threads: int, options: dict | None = None) -> Engine:
    module, cls = ENGINES[name].split(":")
    return getattr(importlib.import_module(module), cls)(threads=threads, **(options or {}))
