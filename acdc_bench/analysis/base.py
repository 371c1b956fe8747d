"""The interface every analysis implements, and the settings all of them share.

An analysis splits its work on one run into *entries* (the final model, one epoch, one
path segment, ...), each computed independently into a JSON-able dict; the runner
(:mod:`acdc_bench.analysis.runner`) stores finished entries and never recomputes them,
so an interrupted analysis of a sweep continues where it stopped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError


@dataclass(frozen=True)
class AnalysisSettings:
    """``analysis.*`` fields every analysis has (defaults in ``conf/analysis/<name>.yaml``)."""

    epochs: tuple[int, ...] | None  # kept epochs to analyse (checkpoint.keep_epochs); None: the final model
    device: str  # cpu | cuda | auto
    batch_size: int  # evaluation batch (double backward needs more memory than a forward)

    @classmethod
    def fields(cls, cfg: Any) -> dict[str, Any]:
        epochs = V.get(cfg, "analysis.epochs")
        if epochs is V.ABSENT or epochs is None:
            parsed = None
        else:
            items = list(epochs) if not isinstance(epochs, int) else None
            if items is None or not all(V.is_int(e) and e >= 0 for e in items):
                raise ConfigError("analysis.epochs", epochs,
                                  "null (the final model) or a list of 0-based epochs")
            parsed = tuple(int(e) for e in items)
        return {"epochs": parsed,
                "device": V.string(cfg, "analysis.device", "auto, cpu, cuda or cuda:<index>"),
                "batch_size": V.integer(cfg, "analysis.batch_size")}

    @classmethod
    def read(cls, cfg: Any) -> Any:
        return cls(**cls.fields(cfg))

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("device")  # where it ran does not change what it computes
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


class Analysis:
    """One analysis. ``entries`` names the units of work on one run (and raises a
    ``ConfigError`` naming ``checkpoint.keep_epochs`` when the run lacks checkpoints);
    ``compute`` does one of them. Results are keyed by the entry name in
    ``RUN/analysis/<name>.json``."""

    name: ClassVar[str]
    settings_class: ClassVar[type[AnalysisSettings]] = AnalysisSettings

    def __init__(self, cfg: Any):
        self.settings = self.settings_class.read(cfg)

    def device(self) -> str:
        import torch

        d = self.settings.device
        return ("cuda" if torch.cuda.is_available() else "cpu") if d == "auto" else d

    def entries(self, run_dir: Path) -> list[str]:
        """Default: the final model, or each of ``analysis.epochs`` (``epoch_<e>``)."""
        from acdc_bench.analysis.runs import kept_epochs, missing_epochs_error

        if self.settings.epochs is None:
            return ["final"]
        missing = sorted(set(self.settings.epochs) - set(kept_epochs(run_dir)))
        if missing:
            raise missing_epochs_error(run_dir, missing, f"analysis={self.name}")
        return [f"epoch_{e}" for e in self.settings.epochs]

    @staticmethod
    def entry_epoch(entry: str) -> int | None:
        return None if entry == "final" else int(entry.removeprefix("epoch_"))

    def compute(self, run_dir: Path, entry: str) -> dict[str, Any]:
        raise NotImplementedError
