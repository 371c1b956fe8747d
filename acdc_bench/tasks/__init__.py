"""Task dispatch: ``task=train`` trains and evaluates, ``task=summary`` describes without data,
``task=report`` turns a multirun directory into tables and figures."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from acdc_bench.config import validate


def run_task(cfg: DictConfig) -> Any:
    validate(cfg)
    if cfg.task == "report":  # reads a sweep's results; builds no model, trains nothing
        from acdc_bench.tasks.report import report

        return report(cfg)
    from acdc_bench.sparsity.methods import method_class

    method_class(cfg.method.name).check_config(cfg, int(cfg.epochs))
    if cfg.task == "train":
        from acdc_bench.tasks.train import train

        return train(cfg)
    if cfg.task == "summary":
        from acdc_bench.tasks.summary import summary

        return summary(cfg)
    raise AssertionError(cfg.task)  # validate() lists the tasks
