"""``task=summary``: the model, its parameters and the method's schedule, as one JSON object.

No data is read and nothing is trained: it works for ``dataset=imagenet`` with no
ImageNet on disk.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from omegaconf import DictConfig


def summary(cfg: DictConfig) -> dict[str, Any]:
    import torch

    from acdc_bench.models import create_model
    from acdc_bench.sparsity.methods import method_class

    logging.getLogger(__name__).info("building %s for %s", cfg.model.name, cfg.dataset.name)
    torch.manual_seed(int(cfg.seed))
    model = create_model(cfg.model, int(cfg.dataset.num_classes), int(cfg.dataset.in_chans))
    epochs = int(cfg.epochs)
    method = method_class(cfg.method.name)(cfg, model, epochs, 1, is_main=True, device=torch.device("cpu"),
                                           eval_res=int(cfg.dataset.eval_res))
    out: dict[str, Any] = {
        "model": cfg.model.name,
        "dataset": cfg.dataset.name,
        "method": cfg.method.name,
        "epochs": epochs,
        "params_total": sum(p.numel() for p in model.parameters()),
    }
    out.update(method.describe())
    out["schedule"] = [{"epoch": e, **method.schedule(e)} for e in range(epochs)]
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    return out
