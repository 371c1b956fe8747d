"""Analyses of finished runs (``task=analyze analysis=<name>``): why a result is what it is.

One analysis is one module behind :class:`~acdc_bench.analysis.base.Analysis`, registered
here by name and imported only when chosen; its defaults live in
``conf/analysis/<name>.yaml``. Runs are read through :mod:`acdc_bench.analysis.runs`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acdc_bench import registry

if TYPE_CHECKING:
    from acdc_bench.analysis.base import Analysis

ANALYSES: dict[str, str] = {
    "sharpness": "acdc_bench.analysis.sharpness:Sharpness",
    "channels": "acdc_bench.analysis.channels:Channels",
    "interpolation": "acdc_bench.analysis.interpolation:Interpolation",
    "corruptions": "acdc_bench.analysis.corruptions:Corruptions",
    "agreement": "acdc_bench.analysis.agreement:Agreement",
    "subnet_dissimilarity": "acdc_bench.analysis.subnet_dissimilarity:SubnetDissimilarity",
}


def analysis_class(name: str) -> type[Analysis]:
    """The analysis registered as ``name`` (imported now, not before)."""
    return registry.load(ANALYSES, name, "analysis", " (analysis=<name>)")
