"""``task=artefacts``: the catalogue of paper artefacts (every spec's make target, paper, table or
figure, experiment and twin, and its committed reports' verdict counts); ``format=make``: the text
of ``make/artefacts.mk`` instead. Reads ``results_dir`` (default ``results``); runs nothing."""

from __future__ import annotations

import sys

from omegaconf import DictConfig

FORMATS = ("catalogue", "make")


def artefacts(cfg: DictConfig) -> str:
    from acdc_bench.errors import ConfigError

    fmt = cfg.get("format") or "catalogue"
    if fmt not in FORMATS:
        raise ConfigError("format", fmt, " or ".join(FORMATS))
    if fmt == "make":
        from acdc_bench.artefacts import ARTEFACTS
        from acdc_bench.artefacts.makefile import makefile_text

        text = makefile_text(ARTEFACTS)
    else:
        from acdc_bench.reports.catalogue import catalogue

        text = catalogue(cfg.get("results_dir") or "results")
    sys.stdout.write(text)
    sys.stdout.flush()
    return text
