"""PyTorch with the sparse twin's Linear layers as CSR matrices: the open engine.

``torch.sparse.mm(W_csr, x.T)`` runs MKL's sparse-times-dense kernel; measured here it was
3.0x / 5.9x faster than dense on 1024x1024 linear layers at 90% / 95%, while ``F.linear`` with a
CSR or BSR weight was slower than dense, hence the transposes. Convolutions stay dense (as
unfold + CSR they gained 1-1.5x at best), so the FLOPs bound counts only the Linear layers.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import Tensor, nn

from acdc_bench.inference.engines.torch_dense import TorchDense
from acdc_bench.inference.workload import Workload
from acdc_bench.sparsity.masks import PrunableLayer


class CSRLinear(nn.Module):
    """``y = x W^T + b`` with ``W`` stored as CSR: ``(W_csr @ x^T)^T`` over the flattened leading dims."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        with warnings.catch_warnings():  # "CSR support is in beta": said once here, not per layer
            warnings.simplefilter("ignore", UserWarning)
            self.weight_csr = linear.weight.detach().to_sparse_csr()
        self.bias = None if linear.bias is None else linear.bias.detach().clone()
        self.in_features, self.out_features = linear.in_features, linear.out_features

    def forward(self, x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        y = torch.sparse.mm(self.weight_csr, x.reshape(-1, x.shape[-1]).t()).t()
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*lead, self.out_features)


def csr_linears(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose ``nn.Linear`` modules compute with CSR weights."""
    model = copy.deepcopy(model)
    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if type(child) is nn.Linear:
                setattr(module, child_name, CSRLinear(child))
    return model


class TorchCSR(TorchDense):
    name = "torch_csr"

    def runs_sparse(self, layer: PrunableLayer) -> bool:
        return type(layer.module) is nn.Linear

    def describe(self) -> dict[str, object]:
        return {"torch": torch.__version__, "precision": "fp32", "sparse": "Linear as CSR (torch.sparse.mm)"}

    def prepare(self, work: Workload) -> tuple[nn.Module, nn.Module]:
        return work.dense, csr_linears(work.sparse)
