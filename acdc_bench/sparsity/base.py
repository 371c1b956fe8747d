"""The interface every sparse-training method implements.

The trainer calls these hooks and never asks which method it runs. A method owns its
masks and schedule; everything it needs to resume lives in ``state_dict``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from acdc_bench import validation as V
from acdc_bench.metrics.training_flops import Steps
from acdc_bench.sparsity.fused_sgd import GradientMasks, read_masks


class SparsityMethod:
    """Base class: dense training (every hook is a no-op).

    Hook order within one training step (``acdc_bench.trainer.step.train_step``)::

        before_forward(step) -> forward/backward -> (AMP: unscale) -> note_overflow(flag)
        -> after_backward(step)
        -> optimizer.step(): the mask of gradient_masks() applied inside it
        -> after_optimizer_step(step)

    ``after_backward`` sees the dense gradients (RigL's grow scores, the dead-unit sample)
    and leaves them in place: a method decides masks, the optimizer owns the update. At the
    optimizer step every parameter that got a gradient still has it, dense, so gradient
    clipping or an EMA placed between ``after_backward`` and the step reads them; the masks
    come in inside the step (:class:`~acdc_bench.sparsity.fused_sgd.MaskedSGD`, the recipe's
    SGD, folds them into its compiled loop; any other optimizer gets the masks' own pass as a
    step pre-hook, :func:`~acdc_bench.sparsity.fused_sgd.read_masks`), and after it the
    gradients are unspecified. The one exception is an engine that owns its weights' update:
    AST's sub-net engine steps its prunable weights itself in ``after_backward`` (SGD merged
    with its sub-net passes, :mod:`acdc_bench.sparsity.methods.ast.engine`) and leaves their
    gradients None, so the optimizer's step skips them.

    ``step`` is the global step (0-based, counted over the whole run), ``epoch`` 0-based.
    """

    name = "dense"

    def __init__(self, cfg: Any, model: nn.Module, epochs: int, steps_per_epoch: int, **context: Any):
        self.cfg = cfg
        self.model = model
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.context = context
        self.optimizer: torch.optim.Optimizer | None = None

    def input_size(self) -> tuple[int, int]:
        """(input channels, evaluation resolution) the method's FLOPs are counted at: the data
        settings' as the builder passes them (:mod:`acdc_bench.trainer.build`); a method built
        by hand, as the tests build one, reads them checked from the config."""
        c, r = self.context.get("in_chans"), self.context.get("eval_res")
        return (int(V.integer(self.cfg, "dataset.in_chans") if c is None else c),
                int(V.integer(self.cfg, "dataset.eval_res") if r is None else r))

    _mask_hook: RemovableHandle | None = None  # the mask pass on an optimizer other than MaskedSGD

    # True when some parameters get no gradient at some steps (DDP must then look for them).
    ddp_find_unused_parameters: bool = False

    @classmethod
    def prepare_model(cls, cfg: Any, model: nn.Module) -> nn.Module:
        """The model the method trains, made from the plain one before the optimizer sees its
        parameters (AST swaps in per-sub-net BatchNorms). Called by every caller that builds
        an optimizer or summarises the model; the default changes nothing."""
        return model

    @classmethod
    def check_config(cls, cfg: Any, epochs: int) -> None:
        """Raise ``ConfigError`` for method settings that cannot work (e.g. phases that do
        not fit into ``epochs``). Called before any data is read or model built."""

    # --- masks (sparse methods override) ------------------------------------------
    mask_version: int = 0  # incremented by a method whenever its masks change

    def mask_checksum(self) -> int | None:
        """A fingerprint of all masks, equal on every DDP rank when their masks agree."""
        return None

    # --- schedule -------------------------------------------------------------------
    def schedule(self, epoch: int) -> dict[str, Any]:
        """The method's plan for ``epoch``: at least ``phase`` and ``target_sparsity``.

        A pure function of the epoch; ``task=summary`` prints it for every epoch.
        """
        return {"phase": "dense", "target_sparsity": 0.0}

    def training_steps(self, epoch: int) -> list[Steps]:
        """The steps of ``epoch`` grouped by what they cost (forward density per layer, dense
        weight gradient or not): what :mod:`acdc_bench.metrics.training_flops` counts. A pure
        function of the schedule; densities that a magnitude threshold decides are judged
        from the weights when first asked (the trainer and ``task=summary`` ask before
        training, so they are the initial weights'). The default: every step dense."""
        return [Steps(self.steps_per_epoch)]

    def gradient_masks(self) -> GradientMasks | None:
        """The bool masks the optimizer step applies to the gradients now (read at every step,
        by reference), or None: no mask this step (dense training, a dense phase)."""
        return None

    # --- training hooks -------------------------------------------------------------
    def on_train_start(self, optimizer: torch.optim.Optimizer) -> None:
        """Training starts (or resumes) with ``optimizer``: its step applies
        :meth:`gradient_masks` from now on (any earlier optimizer's hook is removed)."""
        if self._mask_hook is not None:
            self._mask_hook.remove()
        self.optimizer = optimizer
        self._mask_hook = read_masks(optimizer, self.gradient_masks)

    def on_epoch_start(self, epoch: int) -> None:
        pass

    def before_forward(self, step: int) -> None:
        pass

    # --- mixed precision -------------------------------------------------------------
    # This step's overflow flag (a 0-dim device tensor, non-zero: the loss scaler skips the
    # optimizer's step), set by ``note_overflow`` before ``after_backward``; None: no loss scaling.
    overflow: torch.Tensor | None = None

    def note_overflow(self, flag: torch.Tensor | None) -> None:
        """The scaler found inf/NaN gradients (``flag`` non-zero) or not; called every step
        after the gradients are unscaled. A method that keeps something made of the gradients
        (regrowth scores, a remembered gradient) must not keep an overflowed one."""
        self.overflow = flag

    def step_skipped(self) -> bool:
        """Whether the loss scaler skips this step. Reads one number back from the device:
        call it only where the method waits for the device anyway (a mask update)."""
        return self.overflow is not None and bool(self.overflow)

    def after_backward(self, step: int) -> None:
        pass

    def after_optimizer_step(self, step: int) -> None:
        pass

    def on_epoch_end(self, epoch: int, evaluate: Callable[[], dict[str, float]]) -> dict[str, Any]:
        """Metrics the method adds to this epoch's row of ``metrics.jsonl``.

        ``evaluate()`` returns the evaluation metrics of the model as it is now, so a
        method can evaluate variants of it (sub-nets, the dense model) in its own contexts.
        """
        return {}

    def on_train_end(self) -> dict[str, Any]:
        """Entries the method adds to ``summary.json``."""
        return {}

    # --- what the method hands back (the trainer writes and prints it) --------------
    def take_artefacts(self) -> dict[str, dict[str, Any]]:
        """Files the method produced since the last call: path relative to the run directory
        -> the state to save (tensors and plain Python types only: every checkpoint loads
        with ``torch.load(weights_only=True)``). AC/DC's co-trained dense model, AST's
        sub-nets. The trainer calls this after every ``on_epoch_end`` and after
        ``on_train_end`` and writes the files atomically (rank 0); a method never writes."""
        return {}

    def summary_line(self, summary: dict[str, Any]) -> str | None:
        """The method's own part of the console's last line (e.g. AC/DC's dense model), from
        the finished ``summary.json`` content; None: nothing to add."""
        return None

    def describe(self) -> dict[str, Any]:
        """What ``task=summary`` reports besides the schedule (masks, FLOPs, ...)."""
        return {}

    def preview_masks(self) -> list[torch.Tensor] | None:
        """The masks of the prunable weights (``acdc_bench.sparsity.masks.prunable_layers``
        order) that training would end with, judged from the current, initial weights:
        ``task=summary`` reports their densities and FLOPs. None: no masks (dense)."""
        return None

    # --- checkpoints ----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass
