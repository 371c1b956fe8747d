"""``task=report sweep_dir=DIR``: tables and figures of a finished (or half-finished) sweep.

Writes ``<results_dir>/<experiment>/`` (``table.md``, ``table.csv``, PNGs) and prints the
path of ``table.md``. See ``acdc_bench.reports``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig


def report(cfg: DictConfig) -> Path:
    from acdc_bench.errors import ConfigError
    from acdc_bench.reports import make_report

    sweep_dir = cfg.get("sweep_dir")
    if not sweep_dir:
        raise ConfigError("sweep_dir", sweep_dir, "a multirun directory (task=report sweep_dir=multirun/...)")
    out = make_report(sweep_dir, cfg.get("results_dir") or "results")
    sys.stdout.write(f"{out / 'table.md'}\n")
    sys.stdout.flush()
    return out
