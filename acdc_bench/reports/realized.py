"""Realized sparsity against the target: every report flags a config whose runs end more than
half a point from the sparsity they were asked for, and says why where the run's own summary
tells (issue 24: a 15:16 sub-net at width 0.5 ended at 87.1%, not 93.75%, because N:M groups run
along a layer's input dimension and layers whose inputs do not divide by M stay dense)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from acdc_bench.reports.sweep import Run
from acdc_bench.reports.tables import Entry, fmt_coord, run_value

TOLERANCE = 0.005  # half a point of sparsity
TARGETED = ("acdc", "acdcpp", "gmp", "rigl")  # methods whose run ends at ``sparsity`` (AST: its sub-nets')


@dataclass(frozen=True)
class Flag:
    config: str
    target: float
    realized: list[float]  # one per finished seed
    why: str


def _target(run: Run, subnet: float | None) -> float | None:
    if subnet is not None:
        return float(subnet)
    if run.config.get("method.name") in TARGETED and isinstance(run.config.get("sparsity"), (int, float)):
        return float(run.config["sparsity"])
    return None


def _subnet_entry(run: Run, subnet: float | None) -> dict[str, Any]:
    for sub in (run.summary or {}).get("subnets") or []:
        if subnet is not None and abs(float(sub.get("target_sparsity", -1)) - subnet) < 1e-9:
            return sub
    return {}


def why(run: Run, subnet: float | None, target: float, realized: float) -> str:
    """The reason the run's summary shows: N:M layers that cannot be grouped, layers kept dense by
    the distribution; otherwise 'unexplained'."""
    s, sub = run.summary or {}, _subnet_entry(run, subnet)
    layers = s.get("layers") if isinstance(s.get("layers"), list) else []
    densities = sub.get("layer_densities") or [x.get("density") for x in layers]
    named = len(layers) == len(densities)
    dense = [i for i, d in enumerate(densities) if isinstance(d, (int, float)) and d >= 1.0 - 1e-9]
    keep = run.config.get("distribution.keep_dense") or []
    pattern = sub.get("pattern")
    if realized > target + TOLERANCE:
        return _sparser(run, target, realized)
    if pattern and dense:
        m = int(str(pattern).split(":")[1])
        odd = [x["name"] for x in layers if named and len(x.get("shape", [])) > 1 and x["shape"][1] % m]
        which = f" ({', '.join(odd)})" if odd else ""
        return (f"{len(dense)} of {len(densities)} prunable layers end dense: an {pattern} sub-net groups "
                f"{m} consecutive weights along a layer's input dimension (sparsity/nm.py), so a layer whose "
                f"input dimension does not divide by {m} cannot be grouped{which}"
                + (f"; the distribution keeps {', '.join(keep)} dense" if keep else ""))
    if dense and keep:
        which = f" ({', '.join(layers[i]['name'] for i in dense)})" if named else ""
        return f"{len(dense)} layer(s) end dense{which}: the distribution keeps {', '.join(keep)} dense"
    if dense:
        return f"{len(dense)} of {len(densities)} prunable layers end dense, not by the distribution: " \
            "unexplained"
    return "unexplained: no layer ends dense and no N:M pattern applies"


def mask_sparsity(run: Run) -> float | None:
    """The sparsity of the mask the run ended with (its last checkpoint's method state: masks packed
    8 per byte), or None where the checkpoint or its mask is not there."""
    path = run.job_dir / "checkpoints" / "last.pt" if run.job_dir is not None else None
    if path is None or not path.is_file():
        return None
    import numpy as np
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True).get("method") or {}
    masks = state.get("masks") if isinstance(state, dict) else None
    if not isinstance(masks, dict) or not {"packed", "total"} <= set(masks):
        return None
    total = int(masks["total"])
    kept = int(np.unpackbits(masks["packed"].numpy())[:total].sum())
    return 1.0 - kept / total if total else None


def _sparser(run: Run, target: float, realized: float) -> str:
    """Why a run has more zeros than its target: its mask keeps the target's share, and the extra
    zeros are kept weights that are exactly zero (units that died while pruned: their gradient is
    zero, so decompression never moved them off zero, and the next mask kept their blocks)."""
    planned = mask_sparsity(run)
    if planned is None or abs(planned - target) > TOLERANCE:
        return "unexplained: sparser than its target"
    dead = run_value(run, "zero_grad_share", None)
    share = f" ({dead:.2f} of its pruned weights have a zero gradient)" if isinstance(dead, float) else ""
    return (f"its mask is at {100 * planned:.1f}%, the target; the other {100 * (realized - planned):.1f} "
            "points are weights the mask keeps that are exactly zero: dead units, zeroed by an earlier "
            f"compression and never moved off zero since{share}")


def flags(entries: list[Entry]) -> tuple[list[Flag], int]:
    """The flagged configs, and how many configs with a sparsity target were checked."""
    out: list[Flag] = []
    checked = 0
    for e in entries:
        runs = e.group.finished
        pairs = [(r, _target(r, e.subnet), run_value(r, "sparsity", e.subnet)) for r in runs]
        pairs = [(r, t, v) for r, t, v in pairs if t is not None and isinstance(v, (int, float))]
        if not pairs:
            continue
        checked += 1
        off = [(r, t, v) for r, t, v in pairs if abs(v - t) > TOLERANCE]
        if off:
            r, t, v = max(off, key=lambda p: abs(p[2] - p[1]))
            label = ", ".join(fmt_coord(k, x) for k, x in sorted(e.coords.items()) if k != "variant") or "run"
            out.append(Flag(label, t, [v for _, _, v in pairs], why(r, e.subnet, t, v)))
    return out, checked


def section(entries: list[Entry]) -> list[str]:
    """``## Realized sparsity`` of table.md: the flagged configs with their reason."""
    found, checked = flags(entries)
    out = ["", "## Realized sparsity", ""]
    if not checked:
        return out + ["No config of this sweep has a sparsity target to check (dense or fixed-mask runs)."]
    if not found:
        return out + [f"All {checked} configs with a sparsity target end within {TOLERANCE * 100:g} points "
                      "of it in every finished seed (final sparsity of the prunable weights)."]
    out.append(f"{len(found)} of {checked} configs end more than {TOLERANCE * 100:g} points from their "
               "target sparsity (final sparsity of the prunable weights, every finished seed):")
    out.append("")
    out.append("| config | target | realized | why |")
    out.append("|---|---|---|---|")
    for f in found:
        got = ", ".join(f"{100 * v:.1f}%" for v in f.realized)
        out.append(f"| {f.config} | {100 * f.target:g}% | {got} | {f.why} |")
    return out
