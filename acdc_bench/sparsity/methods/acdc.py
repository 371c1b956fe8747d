"""AC/DC: Alternating Compressed/DeCompressed training (paper 000; paper 001 Sec. 3, App. B).

Dense warm-up, then compression (sparse) and decompression (dense) phases alternating every
``phase_epochs``, a longer final decompression phase and a final compression phase. For
ImageNet's 100 epochs (warm-up 10, phases 5, final 10 and 15): dense 0-9, sparse 10-14,
dense 15-19, ..., sparse 70-74, dense 75-84, sparse 85-99. Compression is a top-k
projection of the current weights with the configured distribution; decompression lifts
the mask (pruned weights return at zero). Training returns a sparse/dense pair: the model
at the end of the final decompression phase is handed to the trainer (``take_artefacts``),
which saves it as ``checkpoints/dense_final.pt``; its metrics go into ``summary.json`` under
``dense`` and into the console's last line (``summary_line``).

The phase lengths are the dataset recipe's (``dataset.acdc`` in ``conf/dataset/*.yaml``, read
by ``conf/method/acdc.yaml`` unless overridden): the authors' ImageNet and CIFAR-100 plans,
a short one for the default Fashion-MNIST run.

Longer runs (AC/DC++, ``epoch_multiplier``) keep the 5-epoch phases and fit more of them
(paper 001 Sec. 3.2.1, App. D); the default warm-up is 10% of the epochs.

Options: ``decompression_sparsity`` (paper 001 Table 5) keeps a sparser mask during
decompression: the phase starts with one dense step, then the weights are projected to that
sparsity and the mask holds to the end of the phase (so the weights that return are chosen
by the magnitude a dense step gives them, i.e. by their gradient). ``sparsity_ramp_start``
(paper 001 Sec. 3.2.2) ramps the compression sparsity linearly over the compression phases
from this value to the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError
from acdc_bench.metrics.training_flops import Steps
from acdc_bench.sparsity.masked import MaskedMethod, MaskedSettings

WARMUP_FRACTION = 0.1  # warmup_epochs null: 10% of the epochs (paper 001, App. B)
DENSE_FINAL = "checkpoints/dense_final.pt"  # the co-trained dense model, relative to the run directory


@dataclass(frozen=True)
class Phase:
    stage: str  # warmup | compression | decompression
    start: int  # first epoch
    end: int  # one past the last epoch
    final: bool = False
    index: int = 0  # compression phases: 0, 1, ... (the sparsity ramp)


def _fits(epochs: int, warmup: int, phase: int, final_decompression: int, final_compression: int,
          compression: int | None = None, decompression: int | None = None) -> bool:
    """Whether compression/decompression phases (``phase`` each, unless set apart) starting and
    ending with compression fill the epochs between the warm-up and the final phases."""
    c = phase if compression is None else compression
    d = phase if decompression is None else decompression
    middle = epochs - warmup - final_decompression - final_compression
    if c == d:  # the paper's equal phases (identical to the split rule below)
        return middle >= 0 and middle % c == 0 and (middle // c) % 2 == (1 if middle else 0)
    return middle == 0 or (middle > 0 and (middle + d) % (c + d) == 0)


def resolve_warmup(epochs: int, warmup: int | None, phase: int, final_decompression: int,
                   final_compression: int, compression: int | None = None,
                   decompression: int | None = None) -> int:
    """The warm-up length: as configured, or (null) 10% of the epochs, moved later to the first
    epoch from which the alternating phases fill the run exactly (e.g. 30 for 250 epochs)."""
    if warmup is not None:
        return warmup
    start = round(WARMUP_FRACTION * epochs)
    c = phase if compression is None else compression
    d = phase if decompression is None else decompression
    for w in range(start, start + max(c + d, 1)):
        if _fits(epochs, w, phase, final_decompression, final_compression, c, d):
            return w
    return start  # does not fit: acdc_phases says why


def acdc_phases(epochs: int, warmup: int, phase: int, final_decompression: int,
                final_compression: int, compression: int | None = None,
                decompression: int | None = None) -> list[Phase]:
    """The AC/DC phase plan; ``ConfigError`` naming the field when it cannot fill ``epochs``.

    Between the warm-up and the final decompression phase, compression and decompression
    phases of ``phase`` epochs alternate, starting and ending with compression (so their
    number is odd, or zero when the warm-up runs into the final phases).
    """
    lengths = warmup + final_decompression + final_compression
    if lengths > epochs:
        raise ConfigError("epochs", epochs,
                          f"at least method.warmup_epochs + final_decompression_epochs + "
                          f"final_compression_epochs = {warmup} + {final_decompression} + "
                          f"{final_compression} = {lengths} for AC/DC")
    middle = epochs - lengths
    c = phase if compression is None else compression
    d = phase if decompression is None else decompression
    if c != d:
        return _split_phases(epochs, warmup, middle, c, d, final_decompression)
    phase = c
    if not _fits(epochs, warmup, phase, final_decompression, final_compression):
        fitting = [p for p in range(1, middle + 1) if middle % p == 0 and (middle // p) % 2 == 1]
        raise ConfigError(
            "method.phase_epochs", phase,
            f"a length whose alternating compression/decompression phases fill epochs {warmup}-"
            f"{warmup + middle - 1} ({middle} epochs) with an odd number of phases: one of {fitting} "
            f"(or change method.warmup_epochs / final_decompression_epochs / final_compression_epochs)",
        )
    plan = [Phase("warmup", 0, warmup)] if warmup else []
    compressions = 0
    for i, start in enumerate(range(warmup, warmup + middle, phase)):
        if i % 2 == 0:
            plan.append(Phase("compression", start, start + phase, index=compressions))
            compressions += 1
        else:
            plan.append(Phase("decompression", start, start + phase))
    fd_start = warmup + middle
    plan.append(Phase("decompression", fd_start, fd_start + final_decompression, final=True))
    plan.append(Phase("compression", fd_start + final_decompression, epochs, final=True, index=compressions))
    return plan


def _split_phases(epochs: int, warmup: int, middle: int, c: int, d: int,
                  final_decompression: int) -> list[Phase]:
    """Unequal phases (paper 001 App. C: the share of each cycle spent sparse is c / (c + d)):
    compression phases of ``c`` and decompression phases of ``d`` epochs alternate, starting and
    ending with compression; phases of zero length are left out (``d = 0`` with a zero final
    decompression: one compression phase from the warm-up to the end, i.e. prune once and
    train with the mask fixed)."""
    if middle and (middle + d) % (c + d):
        fitting = [k * c + (k - 1) * d for k in range(1, middle // max(c, 1) + 2)]
        raise ConfigError("method.compression_phase_epochs", c,
                          f"phases that fill epochs {warmup}-{warmup + middle - 1} ({middle} epochs) as "
                          f"c, d, c, ..., c (c + d = {c + d}): a middle of k*c + (k-1)*d epochs, e.g. "
                          f"{fitting[:6]} (change method.warmup_epochs or the final phases)")
    plan = [Phase("warmup", 0, warmup)] if warmup else []
    start, compressions = warmup, 0
    while start < warmup + middle:
        plan.append(Phase("compression", start, start + c, index=compressions))
        compressions += 1
        start += c
        if start < warmup + middle and d:
            plan.append(Phase("decompression", start, start + d))
            start += d
    if final_decompression:
        plan.append(Phase("decompression", start, start + final_decompression, final=True))
        start += final_decompression
    if start < epochs:
        plan.append(Phase("compression", start, epochs, final=True, index=compressions))
    return [p for p in plan if p.end > p.start]


@dataclass(frozen=True)
class ACDCSettings(MaskedSettings):
    """The AC/DC fields, checked, and the phase plan they give for ``epochs``."""

    warmup_epochs: int  # resolved: null in the config is 10% of the epochs (moved to fit)
    phase_epochs: int
    final_decompression_epochs: int
    final_compression_epochs: int
    decompression_sparsity: float  # paper 001 Table 5 (0: dense decompression)
    sparsity_ramp_start: float | None  # paper 001 Sec. 3.2.2 (None: no ramp)
    phases: tuple[Phase, ...]

    @classmethod
    def fields(cls, cfg: Any, epochs: int) -> dict[str, Any]:
        out = super().fields(cfg, epochs)
        phase = V.integer(cfg, "method.phase_epochs")
        # paper 001 App. C: compression and decompression phases of their own lengths (absent or
        # null: phase_epochs; a decompression length 0 leaves decompression phases out)
        c = V.integer(cfg, "method.compression_phase_epochs", required=False, nullable=True)
        d = V.integer(cfg, "method.decompression_phase_epochs", low=0, required=False, nullable=True)
        split = c is not None or d is not None
        fd = V.integer(cfg, "method.final_decompression_epochs", low=0 if split else 1)
        fc = V.integer(cfg, "method.final_compression_epochs", low=0 if split else 1)
        warmup = resolve_warmup(epochs, V.integer(cfg, "method.warmup_epochs", low=0, nullable=True),
                                phase, fd, fc, c, d)
        dsp = float(V.number(cfg, "method.decompression_sparsity", 0, 1))
        ramp = V.number(cfg, "method.sparsity_ramp_start", 0, 1, nullable=True)
        ramp = None if ramp is None else float(ramp)
        phases = tuple(acdc_phases(epochs, warmup, phase, fd, fc, c, d))
        structured = out["distribution"].name == "nm"
        target = out["sparsity"]
        if ramp is not None and (structured or ramp > target):
            allowed = "null with distribution=nm" if structured else f"a sparsity <= sparsity ({target})"
            raise ConfigError("method.sparsity_ramp_start", ramp, allowed)
        lowest = min(target, ramp) if ramp is not None else target
        if dsp > 0 and (structured or dsp >= lowest):
            raise ConfigError("method.decompression_sparsity", dsp,
                              "0 with distribution=nm" if structured
                              else f"a sparsity below the compression sparsity ({lowest})")
        return {**out, "warmup_epochs": warmup, "phase_epochs": phase, "final_decompression_epochs": fd,
                "final_compression_epochs": fc, "decompression_sparsity": dsp, "sparsity_ramp_start": ramp,
                "phases": phases}


class ACDC(MaskedMethod):
    """AC/DC (and AC/DC++ through ``conf/method/acdcpp.yaml``)."""

    name = "acdc"
    settings_class = ACDCSettings

    def __init__(self, cfg: Any, model: nn.Module, epochs: int, steps_per_epoch: int, **context: Any):
        super().__init__(cfg, model, epochs, steps_per_epoch, **context)
        s = self.settings
        # the phase plan is a pure function of the settings; the method keeps it as a list
        self.phases = list(s.phases)
        self.n_compressions = sum(p.stage == "compression" for p in self.phases)
        self.decompression_sparsity = s.decompression_sparsity
        self.ramp_start = s.sparsity_ramp_start
        # None when the plan has no final decompression phase (App. C's sparse fraction 1)
        finals = [p for p in self.phases if p.stage == "decompression" and p.final]
        self.final_decompression = finals[0] if finals else None
        self.pending_decompression_mask = False  # the step after a sparse decompression starts
        self.dense_result: dict[str, Any] | None = None
        self.artefacts: dict[str, dict[str, Any]] = {}  # handed to the trainer by take_artefacts

    # ------------------------------------------------------------------ schedule
    def phase_at(self, epoch: int) -> Phase:
        for p in self.phases:
            if p.start <= epoch < p.end:
                return p
        raise IndexError(f"epoch {epoch} is outside the {self.epochs}-epoch AC/DC plan")

    def compression_sparsity(self, index: int) -> float:
        """The sparsity of the ``index``-th compression phase (linear ramp when configured)."""
        if self.ramp_start is None or self.n_compressions == 1:
            return self.target_sparsity
        t = index / (self.n_compressions - 1)
        return self.ramp_start + (self.target_sparsity - self.ramp_start) * t

    def schedule(self, epoch: int) -> dict[str, Any]:
        p = self.phase_at(epoch)
        if p.stage == "compression":
            return {"phase": "sparse", "target_sparsity": self.compression_sparsity(p.index),
                    "stage": "compression"}
        target = self.decompression_sparsity if p.stage == "decompression" else 0.0
        return {"phase": "dense", "target_sparsity": target, "stage": p.stage}

    def is_decompression(self, epoch: int) -> bool:
        return self.phase_at(epoch).stage == "decompression"

    def training_steps(self, epoch: int) -> list[Steps]:
        """Compression: sparse at the phase's sparsity (forward and backward). Warm-up and
        decompression: fully dense; with ``decompression_sparsity`` the phase's first step is
        dense and the rest sparse at that sparsity."""
        p, spe = self.phase_at(epoch), self.steps_per_epoch
        if p.stage == "compression":
            return [Steps(spe, self.densities_at(self.compression_sparsity(p.index)))]
        if p.stage == "warmup" or self.decompression_sparsity <= 0:
            return [Steps(spe)]
        sparse = Steps(spe - (p.start == epoch), self.densities_at(self.decompression_sparsity))
        return [Steps(1), sparse] if p.start == epoch else [sparse]

    # ------------------------------------------------------------------ hooks
    def on_epoch_start(self, epoch: int) -> None:
        p = self.phase_at(epoch)
        if p.start != epoch:
            return
        if p.stage == "compression":
            self.prune(self.compression_sparsity(p.index))
        elif p.stage == "decompression":
            self.decompress()
            self.pending_decompression_mask = self.decompression_sparsity > 0

    def after_optimizer_step(self, step: int) -> None:
        super().after_optimizer_step(step)
        if self.pending_decompression_mask:
            self.pending_decompression_mask = False
            self.prune(self.decompression_sparsity)

    def on_epoch_end(self, epoch: int, evaluate) -> dict[str, Any]:
        row = super().on_epoch_end(epoch, evaluate)
        if self.final_decompression is not None and epoch == self.final_decompression.end - 1:
            self._keep_dense_model(epoch, row["sparsity"], evaluate)
        return row

    def _keep_dense_model(self, epoch: int, sparsity: float, evaluate) -> None:
        """The co-trained dense model: evaluated at the end of the final decompression phase
        and handed to the trainer as ``checkpoints/dense_final.pt`` (a copy of the weights:
        the file holds them as they are now, whenever the trainer writes it)."""
        metrics = dict(evaluate())
        self.dense_result = {"epoch": epoch, **metrics, "sparsity": sparsity, "checkpoint": DENSE_FINAL}
        model = self.model.state_dict()  # torch's OrderedDict (with _metadata) kept; tensors copied
        for key, value in model.items():
            model[key] = value.detach().clone()
        self.artefacts[DENSE_FINAL] = {"epoch": epoch, "model": model, "metrics": self.dense_result}

    def take_artefacts(self) -> dict[str, dict[str, Any]]:
        artefacts, self.artefacts = self.artefacts, {}
        return artefacts

    def on_train_end(self) -> dict[str, Any]:
        return {**super().on_train_end(), "dense": self.dense_result}

    def summary_line(self, summary: dict[str, Any]) -> str | None:
        """The pair's dense half: "dense model (epoch 7) val_top1=0.8788"."""
        dense = summary.get("dense")
        if not isinstance(dense, dict) or dense.get("val_top1") is None:
            return None
        return f"dense model (epoch {dense.get('epoch')}) val_top1={dense['val_top1']:.4f}"

    def describe(self) -> dict[str, Any]:
        phases = [{"stage": p.stage, "start": p.start, "end": p.end, "final": p.final} for p in self.phases]
        return {**super().describe(), "phases": phases}

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "pending_decompression_mask": self.pending_decompression_mask,
                "dense_result": self.dense_result}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.pending_decompression_mask = bool(state["pending_decompression_mask"])
        self.dense_result = state["dense_result"]
