"""From groups of runs to table entries: coordinates, metric values, seed means, the grid.

An ``Entry`` is one table cell's worth of one config: its coordinates (the layout's row and
column keys, plus any other config key that would otherwise put two configs into one cell),
the values of its finished seeds, and how many of its sweep points did not finish.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from acdc_bench.artefacts.spec import analysis_metric
from acdc_bench.reports.stats import Interval, mean_interval
from acdc_bench.reports.sweep import Group, Run, mean_std
from acdc_bench.sparsity import subnets


@dataclass(frozen=True)
class Metric:
    label: str
    scale: float = 1.0  # ours * scale = the paper's units
    fmt: str = ".3f"
    higher_is_better: bool = True


METRICS: dict[str, Metric] = {
    "val_top1": Metric("top-1 (%)", 100.0, ".2f"),
    "val_top5": Metric("top-5 (%)", 100.0, ".2f"),
    "train_loss": Metric("train loss", 1.0, ".3f", False),
    "train_ce": Metric("train cross-entropy", 1.0, ".3f", False),
    "val_loss": Metric("val loss", 1.0, ".3f", False),
    "val_entropy": Metric("val entropy", 1.0, ".3f", False),
    "val_mean_attr_acc": Metric("mean attribute acc. (%)", 100.0, ".2f"),
    "val_uncertain_fraction": Metric("uncertain predictions (%)", 100.0, ".1f", False),
    "sparsity": Metric("sparsity (%)", 100.0, ".1f"),
    "channel_sparsity": Metric("zero channels (%)", 100.0, ".2f"),
    "mask_iou": Metric("mask IoU", 1.0, ".3f"),
    "mean_mask_iou": Metric("mean mask IoU", 1.0, ".3f"),
    "zero_fraction_decompressed": Metric("zeros in decompression (%)", 100.0, ".1f"),
    "last_zero_fraction_decompressed": Metric("zeros in last decompression (%)", 100.0, ".1f"),
    "inference_flops_fraction": Metric("inference FLOPs (x dense)", 1.0, ".3f", False),
    # training FLOPs from the schedule (metrics/training_flops.py); an AST sub-net's: its iterations'
    "training_flops": Metric("training FLOPs (x e18)", 1e-18, ".3g", False),
    "training_flops_fraction": Metric("training FLOPs (x dense)", 1.0, ".3f", False),
    "params_nonzero": Metric("nonzero params (M)", 1e-6, ".2f"),
    "dense_val_top1": Metric("co-trained dense top-1 (%)", 100.0, ".2f"),
    # paper 001 Fig. 5 / Table 1: sparse minus dense top-1 in points (published cells only; our
    # runs' change is drawn in acc_vs_flops.png against the sweep's dense run)
    "acc_change": Metric("top-1 change from dense (points)", 100.0, ".2f"),
    "aie": Metric("AIE", 1.0, ".3f", False),  # task=transfer (paper 001 Eq. 5)
    "transfer_mean_accuracy": Metric("mean downstream acc. (%)", 100.0, ".2f"),
    "clean_top1": Metric("clean top-1 (%)", 100.0, ".2f"),  # analysis=corruptions
    "corruption_mean_top1": Metric("corrupted top-1, mean (%)", 100.0, ".2f"),
    "mce": Metric("mCE (%)", 100.0, ".1f", False),
    # text tasks (paper 001 Table H.7); best_*: at the early-stopping epoch (summary.json `best`)
    "val_accuracy": Metric("accuracy (%)", 100.0, ".1f"),
    "val_accuracy_mm": Metric("mismatched accuracy (%)", 100.0, ".1f"),
    "val_f1": Metric("F1 (%)", 100.0, ".1f"),
    "val_matthews": Metric("Matthews corr. (x100)", 100.0, ".1f"),
    "val_pearson": Metric("Pearson (x100)", 100.0, ".1f"),
    "val_spearman": Metric("Spearman (x100)", 100.0, ".1f"),
    "best_metric": Metric("task metric at the best epoch (x100)", 100.0, ".1f"),
    "encoder_sparsity": Metric("encoder sparsity (%)", 100.0, ".2f"),
    # paper 002 Fig. 7 ("stabilised early in training"): mean |change| of top-1 between consecutive
    # epochs of the first half of training (the high-LR part of the cosine schedule), per sub-net
    "early_val_top1_change": Metric("top-1 change per epoch, first half (points)", 100.0, ".2f", False),
    # issue 12: paper 001 Table 3's layers (RUN/analysis/channels.json)
    "@channels:layers/layer1.0.conv2": Metric("layer1.0.conv2 zero channels (%)", 100.0, ".2f"),
    "@channels:layers/layer2.1.conv2": Metric("layer2.1.conv2 zero channels (%)", 100.0, ".2f"),
    "@channels:layers/layer4.2.conv2": Metric("layer4.2.conv2 zero channels (%)", 100.0, ".2f"),
}
PREFIXED = {"transfer_acc/": "acc. (%)", "corruption_top1/": "top-1 (%)",  # per task / corruption
            "best_val_": "at the best epoch (x100)",  # text tasks under early stopping
            "@channels:": "zero channels (%)", "@agreement:": "(%)",  # issue 12's analyses (fractions)
            "@subnet_dissimilarity:": "(points)"}


# issue 23: task=speedup's flat metrics (acdc_bench.inference.timing.flat_metrics), e.g.
# speedup_deepsparse_b1, flops_bound_torch_csr, latency_ms_sparse_torch_csr_b64
MEASURED = {"speedup_": ("speed-up over dense", ".2f", True), "flops_bound_": ("FLOPs bound", ".2f", True),
            "latency_ms_": ("latency (ms)", ".2f", False)}


def metric(name: str) -> Metric:
    for prefix, (label, fmt, higher) in MEASURED.items():
        if name.startswith(prefix) and name not in METRICS:
            return Metric(f"{label} {name.removeprefix(prefix)}", 1.0, fmt, higher)
    for prefix, unit in PREFIXED.items():
        if name.startswith(prefix) and name not in METRICS:
            return Metric(f"{name.removeprefix(prefix)} {unit}", 100.0, ".2f")
    return METRICS.get(name, Metric(name))


def analysis_value(run: Run, name: str) -> Any:
    """``name`` in a run's analysis results (``RUN/analysis/*.json``, the final model's entry,
    its ``metrics`` first): how reports see ``task=analyze`` (e.g. analysis=corruptions)."""
    import json

    for path in sorted(run.job_dir.glob("analysis/*.json")) if run.job_dir else []:
        try:
            final = (json.loads(path.read_text()).get("entries") or {}).get("final") or {}
        except (OSError, ValueError, AttributeError):
            continue
        for source in (final.get("metrics") or {}, final):
            if isinstance(source, dict) and name in source:
                return source[name]
    return None


def analysis_entries(run: Run, name: str) -> tuple[dict[str, Any], list[str]]:
    """The entries of the analysis result an ``@<analysis>:<key>/<key>...`` metric names
    (``RUN/analysis/<analysis>.json``, ``runner.read_result``) and the path of keys into each."""
    from acdc_bench.analysis.runner import read_result

    parsed = analysis_metric(name)
    if parsed is None or run.job_dir is None:
        return {}, []
    analysis, path = parsed
    entries = ((read_result(run.job_dir, analysis) or {}).get("entries") or {})
    return entries, path


def path_value(entry: Any, path: list[str]) -> Any:
    """The value at ``path`` in one analysis entry, or None."""
    for key in path:
        entry = entry.get(key) if isinstance(entry, dict) else None
    return entry


def analysis_path_value(run: Run, name: str) -> float | None:
    """``@<analysis>:<key>/<key>...`` (the reports of issue 12's artefacts): the value of the entry
    ``final``, else the largest over all entries (interpolation's segments: the highest barrier)."""
    entries, path = analysis_entries(run, name)
    values = []
    for entry in [entries["final"]] if "final" in entries else list(entries.values()):
        v = path_value(entry, path)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            values.append(float(v))
    return max(values) if values else None


def _last(rows: list[dict[str, Any]], key: str) -> Any:
    for row in reversed(rows):
        if row.get(key) is not None:
            return row[key]
    return None


def early_change(run: Run, key: str, subnet: float | None = None) -> float | None:
    """The mean absolute change of ``key`` between consecutive epochs 0..E/2 (E: the epochs of the
    finished run's rows), of the AST sub-net ``subnet`` when given: how unsteady the first half of
    training is."""
    epochs = [r["epoch"] for r in run.rows if isinstance(r.get("epoch"), int)]
    half = (max(epochs) + 1) // 2 if epochs else 0
    vals: list[float] = []
    for row in run.rows:
        if not isinstance(row.get("epoch"), int) or row["epoch"] > half:
            continue
        src = row if subnet is None else next(
            (v for k, v in (row.get("subnets") or {}).items() if same_value(float(k), subnet)), {})
        v = src.get(key) if isinstance(src, dict) else None
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            vals.append(float(v))
    steps = [abs(b - a) for a, b in zip(vals, vals[1:], strict=False)]
    return sum(steps) / len(steps) if steps else None


def run_value(run: Run, name: str, subnet: float | None = None) -> float | None:
    """A finished run's value of ``name`` in our units (fractions, counts), or ``None``.

    Looked up in this order: the AST sub-net's own entry, ``summary.final`` (the last epoch's
    row), ``summary`` itself (``inference_flops_fraction``, ``params_nonzero``), then values
    derived from ``metrics.jsonl``.
    """
    s = run.summary or {}
    if name.startswith("@"):
        return analysis_path_value(run, name)
    if name == "early_val_top1_change":
        return early_change(run, "val_top1", subnet)
    if subnet is not None:
        if name == "training_flops":  # a sub-net's share: the FLOPs of the iterations that trained it
            for key, v in (s.get("training_flops_parts") or {}).items():
                if same_value(float(key), subnet):
                    return float(v)
        for sub in s.get("subnets") or []:
            if same_value(sub.get("target_sparsity"), subnet):
                v = sub.get(name)
                if v is None and name == "training_flops_fraction":  # kept once, for the whole run
                    v = s.get(name)  # (what every sub-net together costs; older runs: in each entry)
                return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
        return None
    if name == "mean_mask_iou":
        vals = [r["mask_iou"] for r in run.rows if isinstance(r.get("mask_iou"), (int, float))]
        return sum(vals) / len(vals) if vals else None
    if name == "last_zero_fraction_decompressed":
        v = _last(run.rows, "zero_fraction_decompressed")
        return float(v) if v is not None else None
    if name == "dense_val_top1":
        v = (s.get("dense") or {}).get("val_top1")
        return float(v) if v is not None else None
    if name.startswith("best_val_"):  # early stopping: the best epoch's row (recipe.early_stopping)
        v = (s.get("best") or {}).get(name.removeprefix("best_"))
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    for source in (s.get("final") or {}, s):
        v = source.get(name)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    if name.startswith(tuple(MEASURED)) and run.job_dir is not None:  # task=speedup on a trained run
        from acdc_bench.inference.timing import read_metrics

        v = read_metrics(run.job_dir).get(name)
        if v is not None:
            return float(v)
    v = _last(run.rows, name)
    if v is None:
        v = analysis_value(run, name)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def same_value(a: Any, b: Any) -> bool:
    """Config values equal up to float rounding (0.9 from YAML and 0.9 from a sweep's string)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def matches(coords: dict[str, Any], where: dict[str, Any]) -> bool:
    """``where`` values may be a scalar or a list of allowed scalars."""
    for key, want in where.items():
        if key not in coords:
            return False
        allowed = want if isinstance(want, list) else [want]
        if not any(same_value(coords[key], w) for w in allowed):
            return False
    return True


def subnet_targets(config: dict[str, Any]) -> list[float]:
    """An AST run's sub-net target sparsities, from its flattened config (also known for missing
    runs); parsed by ``acdc_bench.sparsity.subnets``, as the method itself parses them."""
    return subnets.subnet_targets(config.get("method.subnet_sparsities"), config.get("method.subnet_nm"))


def derived_coordinates(config: dict[str, Any]) -> dict[str, Any]:
    out = dict(config)
    if config.get("method.subnet_sparsities") or config.get("method.subnet_nm"):
        out["n_subnets"] = len(subnet_targets(config))
    return out


@dataclass
class Entry:
    coords: dict[str, Any]
    group: Group
    subnet: float | None = None
    values: dict[str, list[float]] = field(default_factory=dict)  # metric -> one value per finished seed

    @property
    def n_asked(self) -> int:
        return len(self.group.runs)

    @property
    def n_done(self) -> int:
        return len(self.group.finished)

    def stat(self, name: str) -> tuple[float, float, int]:
        """Mean and std in the paper's units, and the number of seeds behind them."""
        vals = self.values.get(name, [])
        m, s = mean_std(vals)
        k = metric(name).scale
        return m * k, s * k, len(vals)

    def interval(self, name: str) -> Interval:
        """The seeds' mean in the paper's units with its 95% t interval (``stats.mean_interval``)."""
        k = metric(name).scale
        return mean_interval([v * k for v in self.values.get(name, [])])

    def missing_note(self) -> str:
        bad = self.group.not_finished
        if not bad:
            return ""
        kinds: dict[str, int] = {}
        for r in bad:
            kinds[r.status] = kinds.get(r.status, 0) + 1
        return ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))


def entries(groups: list[Group], layout_keys: list[str], names: list[str], subnets: bool) -> list[Entry]:
    """One entry per group (per group and sub-net for AST), with every metric in ``names``."""
    out: list[Entry] = []
    for g in groups:
        base = derived_coordinates(g.config)
        targets = subnet_targets(g.config) if subnets else [None]
        for t in targets:
            coords = {k: base.get(k) for k in layout_keys if k != "subnet"}
            if t is not None:
                coords["subnet"] = t
            e = Entry(coords=coords, group=g, subnet=t)
            for name in names:
                vals = [run_value(r, name, t) for r in g.finished]
                e.values[name] = [v for v in vals if v is not None and math.isfinite(v)]
            out.append(e)
    _add_distinguishing_keys(out, layout_keys)
    return out


def _add_distinguishing_keys(es: list[Entry], layout_keys: list[str]) -> None:
    """Where two configs share a cell, add the config keys that tell them apart to every
    entry's coordinates: they become extra row keys instead of being averaged together."""
    cells: dict[tuple, list[Entry]] = {}
    for e in es:
        cells.setdefault(tuple(repr(e.coords.get(k)) for k in layout_keys), []).append(e)
    extra: set[str] = set()
    for members in cells.values():
        if len(members) < 2:
            continue
        keys = set().union(*(m.group.config for m in members))
        for k in keys:
            vals = {repr(m.group.config.get(k)) for m in members}
            if len(vals) > 1 and k not in layout_keys:
                extra.add(k)
    for e in es:
        for k in sorted(extra):
            e.coords[k] = e.group.config.get(k)
    for members in cells.values():  # identical configs in one cell (sweep points that only differ in
        if len(members) > 1 and not extra:  # ignored keys): number them so nothing merges silently
            for i, m in enumerate(members):
                m.coords["variant"] = i


def sort_key(value: Any) -> tuple:
    if isinstance(value, bool):
        return (0, int(value), "")
    if isinstance(value, (int, float)):
        return (0, float(value), "")
    if value is None:
        return (2, 0.0, "")
    return (1, 0.0, str(value))


PERCENT_COORDS = ("sparsity", "subnet", "method.decompression_sparsity", "method.initial_sparsity")


def fmt_coord(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key in PERCENT_COORDS and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value * 100:g}%"
    if key == "epoch_multiplier":
        return f"{value:g}x"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "[" + ",".join(fmt_coord(key, v) for v in value) + "]"
    return str(value)


COORD_LABELS = {
    "method.name": "method", "distribution.name": "distribution", "epoch_multiplier": "budget",
    "optim.weight_decay": "weight decay", "method.decompression_sparsity": "decompression sparsity",
    "method.relation": "relation", "method.gradient_correction": "GC", "method.initial_sparsity": "s_i",
    "dataset.name": "dataset", "subnet": "sub-net", "n_subnets": "sub-nets",
}


def coord_label(key: str) -> str:
    return COORD_LABELS.get(key, key)


def fmt_number(value: float, fmt: str) -> str:
    return "" if value is None or not math.isfinite(value) else format(value, fmt)
