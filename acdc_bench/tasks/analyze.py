"""``task=analyze analysis=<name> run_dir=DIR | sweep_dir=DIR``: an analysis of finished runs.

Writes ``RUN/analysis/<name>.json`` for the run (or every run of the sweep) and prints
their paths; finished entries are not recomputed. See :mod:`acdc_bench.analysis`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import DictConfig


def analyze(cfg: DictConfig) -> list[Path]:
    from acdc_bench.analysis import analysis_class
    from acdc_bench.analysis.runner import result_path, run_analysis
    from acdc_bench.analysis.runs import find_runs
    from acdc_bench.errors import ConfigError

    name = cfg.get("analysis", None)
    name = name.get("name") if isinstance(name, DictConfig) else name
    analysis = analysis_class(str(name) if name else "")(cfg)
    run_dir, sweep_dir = cfg.get("run_dir"), cfg.get("sweep_dir")
    if bool(run_dir) == bool(sweep_dir):
        raise ConfigError("run_dir", run_dir,
                          "exactly one of run_dir=DIR (one run) or sweep_dir=DIR (a multirun)")
    if run_dir:
        if not Path(run_dir).is_dir():
            raise ConfigError("run_dir", run_dir, "an existing run directory")
        runs = [Path(run_dir)]
    else:
        runs = find_runs(sweep_dir)
        if not runs:
            raise ConfigError("sweep_dir", sweep_dir,
                              "a multirun directory holding runs (*/.hydra/config.yaml)")
    progress = cfg.get("trainer", {}).get("progress", "auto")
    run_analysis(analysis, runs, progress, log=lambda m: print(m, file=sys.stderr, flush=True))
    paths = [result_path(r, analysis.name) for r in runs]
    sys.stdout.write("".join(f"{p}\n" for p in paths))
    sys.stdout.flush()
    return paths
