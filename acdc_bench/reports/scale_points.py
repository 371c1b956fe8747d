"""The scale study's points: AC/DC − GMP and AC/DC − RigL at every value of every factor, base included.

A factor's panel holds the AC/DC configs of its own parts and the base configuration: every AC/DC
config at the study's base in all coordinates but the factor's own (``scale_data.STUDY_BASE``),
from a part of the factor or, for the base itself, from whichever part ran it: so the base configuration
(the length sweep's 8-epoch configs) is a point of every factor, and the width factor gathers
``width`` (0.25, 0.75), the base (0.5), ``width_wide`` (1, 1.5, 2) and, as a second series, ERK
for AC/DC and GMP (``distribution``'s ERK at 0.5, ``width_erk`` at 1 and 2). Each AC/DC config
is compared with the GMP and the RigL config at the same coordinates; where AC/DC has the study's
distribution (one global threshold), each baseline has its own base distribution (RigL: ERK, as
the papers run it), so the base point compares the methods as the papers configure them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from acdc_bench.reports.scale_data import ACDC_ONLY, METHOD_BASE, STUDY_BASE, STUDY_KEYS, Config, Moments
from acdc_bench.reports.stats import Interval, contrast_moments
from acdc_bench.reports.tables import fmt_coord, same_value, sort_key

TOP1 = "val_top1"
DEAD = "zero_grad_share"


@dataclass(frozen=True)
class Factor:
    name: str
    keys: tuple[str, ...]  # the coordinates it varies
    parts: tuple[str, ...]  # the parts that vary it (the panel is drawn when one of them is there)
    context: dict[str, Any] = field(default_factory=dict)  # where its part departs from the base
    series_key: str | None = None  # a second coordinate drawn as separate series
    series: tuple[Any, ...] = ()


FACTORS = (
    Factor("length", ("epochs",), ("length",)),
    Factor("phase", ("method.phase_epochs",), ("phase",), {"epochs": 10}),  # phase.yaml: 10 epochs
    Factor("weight_decay", ("optim.weight_decay",), ("weight_decay",)),
    Factor("acdc_settings", ("method.momentum_reset", "method.final_compression_epochs"), ("acdc_settings",)),
    Factor("width", ("model.width",), ("width", "width_wide", "width_erk"),
           series_key="distribution.name", series=("global", "erk")),
    Factor("distribution", ("distribution.name",), ("distribution",)),
)
SERIES_LABEL = {"global": "papers' distributions (AC/DC, GMP global; RigL ERK)", "erk": "ERK for all"}


@dataclass
class Point:
    factor: str
    keys: tuple[str, ...]
    value: tuple[Any, ...]  # AC/DC's values of the factor's keys
    series: Any  # the series coordinate's value, None without series
    vs: str  # gmp | rigl
    diff: Interval  # AC/DC − baseline, top-1 points, 95% Welch
    se: float  # the difference's standard error (inf with one seed)
    seeds: tuple[int, int]
    dead: Moments | None  # AC/DC's zero_grad_share
    base: bool  # the study's base configuration
    parts: str  # where AC/DC's and the baseline's configs come from

    @property
    def label(self) -> str:
        text = ", ".join(fmt_coord(k, v) for k, v in zip(self.keys, self.value, strict=True))
        return text + (f", {str(self.series).upper()}" if self.series not in (None, "global") else "")

    @property
    def factor_label(self) -> str:
        return "/".join(self.keys)


def base_of(factor: Factor) -> dict[str, Any]:
    return {**STUDY_BASE, **factor.context}


def _at(c: Config, coords: dict[str, Any], keys: tuple[str, ...]) -> bool:
    return all(same_value(c.coords.get(k), coords.get(k)) for k in keys)


def baseline_coords(acdc: Config, vs: str) -> dict[str, Any]:
    """The coordinates of the config AC/DC is compared with: AC/DC's own, without its own settings,
    and at the baseline's base distribution where AC/DC is at the study's."""
    out = {**acdc.coords, "method.name": vs, **{k: None for k in ACDC_ONLY}}
    if same_value(acdc.coords["distribution.name"], STUDY_BASE["distribution.name"]):
        out["distribution.name"] = METHOD_BASE.get(vs, {}).get("distribution.name", out["distribution.name"])
    return out


def find(pool: list[Config], coords: dict[str, Any]) -> Config | None:
    """The first config of the pool at these coordinates (parts in the order given)."""
    for c in pool:
        if c.method == coords["method.name"] and _at(c, coords, STUDY_KEYS):
            return c
    return None


def difference(a: Moments, b: Moments) -> tuple[Interval, float]:
    diff = contrast_moments([(1.0, a.mean, a.var, a.n), (-1.0, b.mean, b.var, b.n)])
    se = math.sqrt(a.var / a.n + b.var / b.n) if a.n > 1 and b.n > 1 else math.inf
    return diff, se


def factor_points(factor: Factor, pool: list[Config]) -> list[Point]:
    base = base_of(factor)
    others = tuple(k for k in STUDY_KEYS if k not in factor.keys and k != factor.series_key)
    at_base = factor.keys + ((factor.series_key,) if factor.series_key else ())
    acdcs = [c for c in pool if c.method == "acdc" and _at(c, base, others)
             and (c.part in factor.parts or _at(c, base, factor.keys))  # its parts', and the base's
             # (in every series: ERK at width 0.5 is the distribution sweep's)
             and (factor.series_key is None or any(same_value(c.coords[factor.series_key], s)
                                                   for s in factor.series))]
    seen: list[Config] = []
    for c in acdcs:  # one point per config: a config two parts ran is taken from the first
        if not any(_at(c, s.coords, STUDY_KEYS) for s in seen):
            seen.append(c)
    order = {s: i for i, s in enumerate(factor.series)}
    seen.sort(key=lambda c: (order.get(c.coords.get(factor.series_key), 0) if factor.series_key else 0,
                             tuple(sort_key(c.coords[k]) for k in factor.keys)))
    out = []
    for acdc in seen:
        a = acdc.stats.get(TOP1)
        for vs in ("gmp", "rigl"):
            other = find(pool, baseline_coords(acdc, vs))
            b = other.stats.get(TOP1) if other is not None else None
            if a is None or b is None or a.n == 0 or b.n == 0:
                continue
            diff, se = difference(a, b)
            parts = acdc.part if other.part == acdc.part else f"{acdc.part} + {other.part}"
            out.append(Point(factor.name, factor.keys, tuple(acdc.coords[k] for k in factor.keys),
                             acdc.coords.get(factor.series_key) if factor.series_key else None, vs, diff,
                             se, (a.n, b.n), acdc.stats.get(DEAD), _at(acdc, base, at_base), parts))
    return out


def study_points(pool: list[Config], parts: list[str]) -> list[Point]:
    """Every factor one of whose parts is among ``parts``, in the study's order."""
    return [p for f in FACTORS if set(f.parts) & set(parts) for p in factor_points(f, pool)]


def sign(d: Interval) -> str:
    if not d.bounded:
        return "?"
    return "+" if d.low > 0 else "−" if d.high < 0 else "0"


def flips(points: list[Point]) -> list[str]:
    """Each factor (and series) whose AC/DC − baseline intervals lie on both sides of zero."""
    out = []
    for factor in dict.fromkeys(p.factor for p in points):
        for series in dict.fromkeys(p.series for p in points if p.factor == factor):
            for vs in ("gmp", "rigl"):
                seq = [p for p in points if p.factor == factor and p.series == series and p.vs == vs]
                signs = [sign(p.diff) for p in seq]
                if "+" in signs and "−" in signs:
                    where = f"{factor}, {SERIES_LABEL.get(series, series)}" if series is not None else factor
                    out.append(f"- `{where}` ({seq[0].factor_label}): AC/DC − {vs.upper()} changes sign: "
                               + ", ".join(f"{p.label} {s}" for p, s in zip(seq, signs, strict=True)))
    return out
