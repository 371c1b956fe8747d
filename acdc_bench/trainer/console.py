"""What a run prints: progress lines on stderr, one table row per epoch on stdout, a last line.

Only rank 0 prints. The last line holds what every run has (top-1, sparsity, FLOPs) and
then the method's own part (:meth:`SparsityMethod.summary_line`): the console never
names a method's keys.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

TABLE_COLUMNS = [  # key, format: one console row per epoch
    ("epoch", "d"), ("phase", "s"), ("lr", ".4f"), ("train_res", "d"), ("train_loss", ".4f"),
    ("val_top1", ".4f"), ("val_loss", ".4f"), ("val_entropy", ".4f"), ("sparsity", ".4f"),
    ("zero_grad_share", ".3f"),  # dead units: zero weights whose dense gradient is zero (masked methods)
    ("epoch_time_s", ".1f"),
]


def _cell(value: Any, fmt: str, width: int) -> str:
    text = "-" if value is None else format(value, fmt) if not isinstance(value, str) else value
    return f"{text:>{width}}"


def table_header() -> str:
    return " ".join(f"{key:>{max(len(key), 6)}}" for key, _ in TABLE_COLUMNS)


def table_row(row: dict[str, Any]) -> str:
    return " ".join(_cell(row.get(key), fmt, max(len(key), 6)) for key, fmt in TABLE_COLUMNS)


def finish_parts(summary: dict[str, Any], method_line: str | None) -> list[str]:
    """The last line's figures: the final row's top-1 and sparsity, the inference FLOPs (the
    sparse statistics every method reports), then the method's own part."""
    final = summary["final"]
    parts = [f"val_top1={final.get('val_top1', float('nan')):.4f}"]
    if final.get("sparsity") is not None:
        parts.append(f"sparsity={final['sparsity']:.4f}")
    if summary.get("inference_flops_fraction") is not None:
        parts.append(f"inference FLOPs {summary['inference_flops_fraction']:.3f} of dense")
    if method_line:
        parts.append(method_line)
    return parts


class Console:
    """Rank 0's voice; every other rank stays silent."""

    def __init__(self, is_main: bool, progress: bool | str):
        self.is_main = is_main
        self.progress_mode = progress  # trainer.progress: auto (on a terminal) | true | false

    def log(self, msg: str) -> None:
        if self.is_main:
            print(f"[acdc-bench] {msg}", file=sys.stderr, flush=True)

    def print(self, line: str) -> None:
        if self.is_main:
            print(line, flush=True)

    def progress(self, iterable: Iterable, total: int, epoch: int, initial: int = 0) -> Iterable:
        mode = self.progress_mode
        if not (self.is_main and (mode is True or (mode == "auto" and sys.stderr.isatty()))):
            return iterable
        from tqdm import tqdm

        return tqdm(iterable, total=total, initial=initial, desc=f"epoch {epoch}", leave=False,
                    file=sys.stderr, mininterval=0.5, unit="step")

    def start(self, cfg: Any, dataset: str, params: int, epochs: int, steps_per_epoch: int, device: str,
              threads: int, world_size: int, run_dir: Path) -> None:
        """The first line (what runs where) and the table's header."""
        if not self.is_main:
            return
        self.log(f"method={cfg.method.name} sparsity={cfg.sparsity} distribution={cfg.distribution.name} on "
                 f"{dataset}, {cfg.model.name} ({params:,} weights), {epochs} epochs of "
                 f"{steps_per_epoch} steps, {device}, {threads} threads, "
                 f"world size {world_size} -> {run_dir}")
        self.print(table_header())

    def finish(self, summary: dict[str, Any], method_line: str | None, elapsed: float, path: Path) -> None:
        self.log(f"finished {summary['epochs']} epochs in {elapsed:.1f}s: "
                 f"{', '.join(finish_parts(summary, method_line))} -> {path}")
