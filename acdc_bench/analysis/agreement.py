"""Sample-level agreement (paper 000 Sec. 1): do co-trained sparse/dense pairs classify the
same validation samples alike more often than a dense model and its post-training-pruned copy?

*Agreement* is the share of evaluation samples on which two models predict the same class
(right or wrong). The analysis reads two kinds of runs:

- an AC/DC run (``method=acdc``): the co-trained pair, its final sparse model
  (``checkpoints/last.pt``) and the dense model at the end of the final decompression phase
  (``checkpoints/dense_final.pt``) -> ``co_trained``;
- a dense run (``method=dense``): the post-training pair, the final dense model and its copy
  pruned once by magnitude to ``sparsity`` with the run's ``distribution`` (the sparsity
  layer's ``MaskedMethod.prune``), fine-tuned with the mask fixed (one gradient mask pass
  per step, the trainer's ``train_step``) -> ``post_training``.

On an AC/DC run the same one-shot baseline is also built from its own dense model
(``oneshot_from_cotrained_dense``, a control): with the default budget it is nearly AC/DC's own
final compression phase, so it agrees with the co-trained sparse model almost everywhere;
the paper's comparison is co_trained (AC/DC run) vs post_training (dense run), at the same
sparsity (``make agree000`` sweeps both).

Fine-tuning budget (the paper's introduction does not state one): ``finetune_epochs: null``
is AC/DC's final compression phase (``method.final_compression_epochs`` of an AC/DC run, the
dataset recipe's ``dataset.acdc.final_compression_epochs`` for a dense run): the sparse model
of both pairs then trains as long after leaving the dense model. Fine-tuning replays the
run's last that many epochs (their learning rates, resolution and augmented data order).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from acdc_bench import validation as V
from acdc_bench.analysis.base import Analysis, AnalysisSettings
from acdc_bench.errors import ConfigError

if TYPE_CHECKING:
    from acdc_bench.data.datasets import DataSettings

DENSE_FINAL = "checkpoints/dense_final.pt"  # written by AC/DC (sparsity/methods/acdc.py DENSE_FINAL)


@dataclass(frozen=True)
class AgreementSettings(AnalysisSettings):
    finetune_epochs: int | None  # None: the run's final compression phase length
    samples: int | None  # the first this many evaluation samples (None: all)
    seed: int  # fine-tuning's data order and augmentation

    @classmethod
    def fields(cls, cfg: Any) -> dict[str, Any]:
        return {**super().fields(cfg),
                "finetune_epochs": V.integer(cfg, "analysis.finetune_epochs", low=0, nullable=True),
                "samples": V.integer(cfg, "analysis.samples", nullable=True),
                "seed": V.integer(cfg, "analysis.seed", low=0)}


@torch.no_grad()
def predictions(model: nn.Module, batches: list[tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor]:
    """Predicted classes and labels over ``batches`` (model in eval mode)."""
    model.eval()
    preds, labels = [], []
    for x, y in batches:
        preds.append(model(x).argmax(dim=1).cpu())
        labels.append(y.cpu())
    return torch.cat(preds), torch.cat(labels)


def agreement(a: Tensor, b: Tensor) -> float:
    """The share of samples on which two prediction vectors agree."""
    return float((a == b).double().mean())


def _pair(pa: Tensor, pb: Tensor, y: Tensor) -> dict[str, float]:
    """Agreement overall, and on the samples the first model classifies right / wrong."""
    right = pa == y
    both = {"agreement": agreement(pa, pb), "top1_a": float(right.double().mean()),
            "top1_b": float((pb == y).double().mean())}
    both["agreement_where_a_right"] = agreement(pa[right], pb[right]) if right.any() else None
    both["agreement_where_a_wrong"] = agreement(pa[~right], pb[~right]) if (~right).any() else None
    return both


class _OneShot:
    """The post-training pruning baseline: prune once, fine-tune with the mask fixed."""

    def __init__(self, cfg: Any, data: DataSettings, model: nn.Module, epochs: int, device: torch.device,
                 seed: int):
        from omegaconf import OmegaConf

        from acdc_bench.data import build_data
        from acdc_bench.objectives import build_objective
        from acdc_bench.recipes import build_recipe
        from acdc_bench.sparsity.masked import MaskedMethod
        from acdc_bench.trainer.build import build_method

        if float(cfg.sparsity) <= 0:
            raise ConfigError("sparsity", cfg.sparsity, "the sparsity to prune the dense run to, in (0, 1) "
                              "(train the dense run with sparsity=<target>: dense training ignores it)")
        if "momentum_reset" not in cfg.method:  # a dense run: its optimizer starts fresh here anyway
            cfg = OmegaConf.merge(cfg, {"method": {"momentum_reset": "none"}})
        torch.manual_seed(seed)
        self.cfg, self.model, self.epochs, self.device = cfg, model, epochs, device
        self.settings = data
        self.data = build_data(cfg, device, settings=data)  # the training split as training read it
        self.steps = len(self.data.train)
        self.recipe = build_recipe(cfg, model, epochs, self.steps)
        self.optimizer = self.recipe.optimizer()
        self.objective = build_objective(cfg)
        # the plain mask toolkit: the run's sparsity, distribution and momentum settings
        self.method = build_method(cfg, data, model, epochs, self.steps, device=device, cls=MaskedMethod)
        self.method.on_train_start(self.optimizer)
        self.method.prune(self.method.target_sparsity)

    def finetune(self, first_epoch: int) -> None:
        """Train epochs ``first_epoch .. epochs-1`` of the run's schedule (LR, resolution,
        data order), the masks fixed."""
        from acdc_bench.trainer.step import train_step

        for epoch in range(first_epoch, self.epochs):
            self.recipe.on_epoch_start(epoch)
            self.data.train.set_epoch(epoch, self.settings.train_res(epoch, self.epochs))
            self.model.train()
            for i, (x, y) in enumerate(self.data.train):
                step = epoch * self.steps + i
                train_step(self.model, x, y, step=step, optimizer=self.optimizer, method=self.method,
                           loss_fn=self.objective.loss, lr=self.recipe.lr(step))
        self.model.eval()

    def sparsity(self) -> float:
        weights = self.method.masks.weights
        return 1.0 - sum(int(torch.count_nonzero(w)) for w in weights) / sum(w.numel() for w in weights)


class Agreement(Analysis):
    """``analysis=agreement``: one entry (``final``) per AC/DC run."""

    name = "agreement"
    settings_class = AgreementSettings

    def entries(self, run_dir: Path) -> list[str]:
        from acdc_bench.analysis.runs import run_config

        dense = run_config(run_dir).method.name == "dense"
        if not dense and not (Path(run_dir) / DENSE_FINAL).exists():
            raise ConfigError("run_dir", str(run_dir),
                              f"a finished AC/DC run (holding {DENSE_FINAL}) or a dense run "
                              "for analysis=agreement")
        if self.settings.epochs is not None:
            raise ConfigError("analysis.epochs", list(self.settings.epochs),
                              "null for analysis=agreement (it compares the run's final pair)")
        return ["final"]

    def compute(self, run_dir: Path, entry: str) -> dict[str, Any]:
        import copy

        from acdc_bench import checkpoint as ckpt_io
        from acdc_bench.analysis.runs import load_run
        from acdc_bench.analysis.sharpness import first_samples

        s = self.settings
        run = load_run(run_dir, None, self.device())
        cfg, epochs = run.cfg, int(run.cfg.epochs)
        data = run.data(s.batch_size)
        val = list(data.val) if s.samples is None else first_samples(data.val, s.samples)
        co_trained = cfg.method.name != "dense"
        if co_trained:
            dense_state = ckpt_io.read(Path(run_dir) / DENSE_FINAL)
            dense = copy.deepcopy(run.model)
            dense.load_state_dict(dense_state["model"])
            dense.eval()
            budget, dense_epoch = int(cfg.method.final_compression_epochs), int(dense_state["epoch"])
        else:
            budget = int(V.integer(cfg, "dataset.acdc.final_compression_epochs"))  # the AC/DC twin's budget
            dense, dense_epoch = run.model, run.epoch
        finetune = budget if s.finetune_epochs is None else s.finetune_epochs
        if finetune > epochs:
            raise ConfigError("analysis.finetune_epochs", finetune, f"at most the run's epochs ({epochs})")
        p_dense, y = predictions(dense, val)
        pruned = copy.deepcopy(dense)
        baseline = _OneShot(cfg, run.settings, pruned, epochs, run.device, s.seed)
        p_oneshot, _ = predictions(pruned, val)
        baseline.finetune(epochs - finetune)
        p_tuned, _ = predictions(pruned, val)
        kind = "co_trained" if co_trained else "post_training"
        out: dict[str, Any] = {"samples": int(y.numel()), "dense_epoch": dense_epoch,
                               "finetune_epochs": finetune, "kind": kind}
        # a = the dense model, b = the sparse one
        oneshot = {**_pair(p_dense, p_tuned, y), "before_finetune": _pair(p_dense, p_oneshot, y),
                   "sparsity": baseline.sparsity()}
        if co_trained:
            p_sparse, _ = predictions(run.model, val)
            weights = [p for n, p in run.model.named_parameters() if n in run.masks]
            nonzero = sum(int(torch.count_nonzero(w)) for w in weights)
            out["co_trained"] = {**_pair(p_dense, p_sparse, y),
                                 "sparsity": 1.0 - nonzero / sum(w.numel() for w in weights)}
            out["oneshot_from_cotrained_dense"] = oneshot
            out["sparse_models_agree"] = agreement(p_sparse, p_tuned)
        else:
            out["post_training"] = oneshot
        return out
