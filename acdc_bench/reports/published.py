"""The papers' numbers, typed in from the texts in ``shared/papers`` (001: Kuznedelev et al. 2023,
AC/DC++; 002: Yang et al. 2022, AST). Every cell cites its table or figure.

A ``Cell`` locates a published number by config coordinates (the same dotted keys as the run
configs: ``method.name``, ``sparsity``, ``epoch_multiplier``, ...; ``subnet`` is an AST
sub-net's target sparsity) and gives it in the paper's units (top-1 in %, parameters in
millions). Figures whose values are only plotted contribute no cells -- reading numbers off a
plot would be inventing them -- but their statements in the text become ``Claim``s, which
``claims.py`` checks against our runs.
"""

from __future__ import annotations

from typing import Any

# the record types live in published_types (shared with published_analyses); re-exported here
from acdc_bench.reports.published_analyses import ANALYSIS_PUBLISHED
from acdc_bench.reports.published_ast import AST_TABLE4, AST_TABLE5
from acdc_bench.reports.published_cost import COST_PUBLISHED
from acdc_bench.reports.published_text import TEXT_PUBLISHED
from acdc_bench.reports.published_types import Cell, Claim, Published, _acc

__all__ = ["PUBLISHED", "Cell", "Claim", "Published"]


# ----------------------------------------------------------------------------- paper 001
_T1 = "001 Table 1"
TABLE1 = Published(
    artefact="Paper 001, Table 1: AC/DC++ on ResNet-50 / ImageNet-1k",
    setup="ResNet-50, ImageNet-1k, FFCV recipe (Appendix A); Table 1 reports for each sparsity the best of "
          "the 1x/2.5x/5x/10x runs, placed here at the budget it names.",
    cells=(
        _acc({"distribution.name": "global", "sparsity": 0.90, "epoch_multiplier": 5}, 78.49, _T1,
             "AC/DC++ 5x", params_nonzero=2.60, inference_flops_fraction=0.20),
        _acc({"distribution.name": "global", "sparsity": 0.95, "epoch_multiplier": 10}, 77.27, _T1,
             "AC/DC++ 10x", params_nonzero=1.33, inference_flops_fraction=0.13),
        _acc({"distribution.name": "global", "sparsity": 0.98, "epoch_multiplier": 10}, 74.06, _T1,
             "AC/DC++ 10x", params_nonzero=0.51),
        _acc({"distribution.name": "fld", "sparsity": 0.90, "epoch_multiplier": 5}, 78.6, _T1,
             "AC/DC++ FLD 5x", params_nonzero=4.45, inference_flops_fraction=0.22),
        _acc({"distribution.name": "fld", "sparsity": 0.95, "epoch_multiplier": 10}, 77.7, _T1,
             "AC/DC++ FLD 10x", params_nonzero=3.28, inference_flops_fraction=0.14),
        _acc({"distribution.name": "fld", "sparsity": 0.98, "epoch_multiplier": 10}, 76.6, _T1,
             "AC/DC++ FLD 10x", params_nonzero=2.58, inference_flops_fraction=0.09),
        _acc({"distribution.name": "fld", "sparsity": 0.99, "epoch_multiplier": 10}, 72.7, _T1,
             "AC/DC++ FLD 10x", params_nonzero=2.34, inference_flops_fraction=0.06),
    ),
    claims=(
        Claim("FLD (first and last layer dense) beats global pruning of all layers at every sparsity and "
              "budget", "001 Table 1", "pairwise",
              {"metric": "val_top1", "by": "distribution.name", "a": "fld", "b": "global"}),
        Claim("At 95% and above, accuracy still rises from 5x to 10x (the best budget is the longest)",
              "001 Table 1, Sec. 3.3.2", "best_column",
              {"metric": "val_top1", "expected": [[{"sparsity": 0.95}, "max"], [{"sparsity": 0.98}, "max"],
                                                   [{"sparsity": 0.99}, "max"]]}),
    ),
    notes=("The AC/DC++ dense baseline of Table 1 is 78.78% top-1; Table 1's Δ column is the absolute "
           "difference S − D in points.",),
)

_F3 = "001 Fig. 3 / Sec. 3.3.1"
FIG3 = Published(
    artefact="Paper 001, Figure 3 (and Figure 4): AC/DC vs GMP vs RigL, top-1 and train loss vs epochs",
    setup="ResNet-50, ImageNet-1k, FFCV recipe; all conv and linear layers pruned; 100/250/500/1000 epochs "
          "(1x/2.5x/5x/10x). Figure 3's points are only plotted; the two cells below are the same runs' "
          "numbers as Table 1 prints them (AC/DC++ = AC/DC with extended training, global, all layers).",
    cells=(
        _acc({"method.name": "acdc", "sparsity": 0.90, "epoch_multiplier": 5}, 78.49,
             "001 Table 1 (AC/DC++ 5x, global)", "AC/DC 500 ep"),
        _acc({"method.name": "acdc", "sparsity": 0.95, "epoch_multiplier": 10}, 77.27,
             "001 Table 1 (AC/DC++ 10x, global)", "AC/DC 1000 ep"),
    ),
    claims=(
        Claim("AC/DC reaches the highest validation accuracy of the three methods at every sparsity and "
              "budget", _F3, "best_among", {"metric": "val_top1", "by": "method.name", "expect": "acdc"}),
        Claim("AC/DC reaches the lowest training loss of the three methods (Fig. 4)",
              "001 Fig. 4 / Sec. 3.3.1", "best_among",
              {"metric": "train_loss", "by": "method.name", "expect": "acdc", "lower": True}),
        Claim("At low sparsity (80%) RigL is slightly better than GMP", _F3, "pairwise",
              {"metric": "val_top1", "by": "method.name", "a": "rigl", "b": "gmp",
               "where": {"sparsity": 0.8}}),
        Claim("At higher sparsity (90%, 95%) GMP is better than RigL", _F3, "pairwise",
              {"metric": "val_top1", "by": "method.name", "a": "gmp", "b": "rigl",
               "where": {"sparsity": [0.9, 0.95]}}),
        Claim("Except AC/DC at 80% and 90%, accuracy keeps improving with the training budget", _F3,
              "monotone", {"metric": "val_top1", "along": "epoch_multiplier", "direction": 1,
                           "exclude": [{"method.name": "acdc", "sparsity": 0.8},
                                       {"method.name": "acdc", "sparsity": 0.9}]}),
        Claim("AC/DC at 80% and 90% saturates: 10x adds at most 0.2 points over 5x", _F3, "saturates",
              {"metric": "val_top1", "along": "epoch_multiplier", "tolerance": 0.2,
               "where": {"method.name": "acdc", "sparsity": [0.8, 0.9]}}),
        Claim("Train loss falls with the training budget for every method and sparsity (Fig. 4)",
              "001 Fig. 4", "monotone",
              {"metric": "train_loss", "along": "epoch_multiplier", "direction": -1}),
    ),
)

FIG1 = Published(
    artefact="Paper 001, Figure 1: dense and AC/DC ResNet-50 trained for different numbers of epochs",
    setup="ResNet-50, ImageNet-1k, no label smoothing, no progressive resizing, first and last layer dense. "
          "The figure's points are only plotted; the text (Sec. 3.2.1) states the best budgets.",
    claims=(
        Claim("The best budget grows with sparsity: dense 88 epochs, 80% and 90% 250 epochs, 95% and 98% at "
              "least 500 (the longest tried)", "001 Sec. 3.2.1", "best_column",
              {"metric": "val_top1", "expected": [[{"sparsity": 0.0}, 88], [{"sparsity": 0.8}, 250],
                                                  [{"sparsity": 0.9}, 250], [{"sparsity": 0.95}, "max"],
                                                  [{"sparsity": 0.98}, "max"]],
               "budgets": [50, 88, 100, 250, 500]}),
        Claim("Train loss falls as the number of epochs grows, at every sparsity", "001 Sec. 3.2.1",
              "monotone", {"metric": "train_loss", "along": "epochs", "direction": -1}),
        Claim("Validation entropy falls as the number of epochs grows, at every sparsity", "001 Sec. 3.2.1",
              "monotone", {"metric": "val_entropy", "along": "epochs", "direction": -1}),
        Claim("At a fixed budget, train loss rises with sparsity", "001 Fig. 1", "monotone",
              {"metric": "train_loss", "along": "sparsity", "direction": 1}),
        Claim("80% sparse models slightly exceed dense accuracy", "001 Sec. 3.2.1", "pairwise",
              {"metric": "val_top1", "by": "sparsity", "a": 0.8, "b": 0.0, "best_over": "epochs"}),
    ),
)

FIG2 = Published(
    artefact="Paper 001, Figure 2: dense and AC/DC ResNet-18 on CelebA for 5-200 epochs",
    setup="ResNet-18, CelebA (40 binary attributes), AC/DC with the compression sparsity ramping from 90% to "
          "the target. Only plotted; the text (Sec. 3.2.2) states best budgets and the best models' loss and "
          "uncertainty.",
    claims=(
        Claim("Best budgets: dense 25 epochs, 95% and 99% sparse 150 epochs", "001 Sec. 3.2.2", "best_column",
              {"metric": "val_mean_attr_acc",
               "expected": [[{"sparsity": 0.0}, 25], [{"sparsity": 0.95}, 150], [{"sparsity": 0.99}, 150]],
               "budgets": [15, 25, 50, 100, 150, 200]}),
        Claim("Train loss and the share of uncertain predictions fall with longer training", "001 Sec. 3.2.2",
              "monotone", {"metric": "val_uncertain_fraction", "along": "epochs", "direction": -1}),
        Claim("At a fixed length, train loss rises with sparsity", "001 Sec. 3.2.2", "monotone",
              {"metric": "train_loss", "along": "sparsity", "direction": 1}),
        Claim("The best model of each sparsity has train loss about 0.17 and about 24% uncertain predictions "
              "(26% at 99.5%)", "001 Sec. 3.2.2"),
    ),
)

TABLE2 = Published(
    artefact="Paper 001, Table 2: AC/DC++ MobileNet-V1 / ImageNet-1k, 1000 epochs",
    setup="MobileNet-V1, ImageNet-1k, weight decay 3e-5, LR 1.024; input conv, depthwise convs and head "
          "dense.",
    cells=(
        _acc({"method.name": "dense"}, 72.74, "001 Table 2", "Dense (D)"),
        _acc({"method.name": "acdc", "sparsity": 0.75}, 72.49, "001 Table 2", "AC/DC++ 75%"),
        _acc({"method.name": "acdc", "sparsity": 0.90}, 70.80, "001 Table 2", "AC/DC++ 90%"),
    ),
    claims=(
        Claim("The dense model beats AC/DC++ at 90% (72.74 vs 70.80)", "001 Table 2", "pairwise",
              {"metric": "val_top1", "by": "sparsity", "a": 0.0, "b": 0.9, "ignore": ["method.name"]}),
        Claim("AC/DC++ at 75% beats AC/DC++ at 90% (72.49 vs 70.80)", "001 Table 2", "pairwise",
              {"metric": "val_top1", "by": "sparsity", "a": 0.75, "b": 0.9}),
    ),
    notes=("The table's 'relative drop' column is the absolute difference P − D (-0.25, -1.94).",),
)

TABLE4 = Published(
    artefact="Paper 001, Table 4 and Figure 8: AC/DC++ 95%, 100 epochs, weight decay 1e-6 to 1e-3",
    setup="ResNet-50, ImageNet-1k, 95% compression sparsity, 100 epochs.",
    cells=(
        _acc({"optim.weight_decay": 1e-6}, 70.52, "001 Table 4"),
        _acc({"optim.weight_decay": 1e-5}, 73.54, "001 Table 4"),
        _acc({"optim.weight_decay": 1e-4}, 74.90, "001 Table 4"),
        _acc({"optim.weight_decay": 1e-3}, 68.57, "001 Table 4"),
        Cell({"optim.weight_decay": 1e-3}, {"last_zero_fraction_decompressed": 60.0},
             "001 Sec. 3.7 on Fig. 8 (text, approximate)"),
        Cell({"optim.weight_decay": 1e-4}, {"last_zero_fraction_decompressed": 24.0},
             "001 Sec. 3.7 on Fig. 8 (text, approximate)"),
        Cell({"optim.weight_decay": 1e-5}, {"last_zero_fraction_decompressed": 10.0},
             "001 Sec. 3.7 on Fig. 8 (text, approximate)"),
        Cell({"optim.weight_decay": 1e-6}, {"last_zero_fraction_decompressed": 10.0},
             "001 Sec. 3.7 on Fig. 8 (text, approximate)"),
    ),
    claims=(
        Claim("1e-4 (the standard value) gives the best accuracy", "001 Table 4", "best_among",
              {"metric": "val_top1", "by": "optim.weight_decay", "expect": 1e-4}),
        Claim("The share of zero weights during decompression grows with weight decay (Fig. 8)",
              "001 Sec. 3.7", "monotone",
              {"metric": "last_zero_fraction_decompressed", "along": "optim.weight_decay", "direction": 1}),
    ),
)

TABLE5 = Published(
    artefact="Paper 001, Table 5: AC/DC 95%, 100 epochs, with a sparsity imposed during decompression",
    setup="ResNet-50, ImageNet-1k, 95% target sparsity, 100 epochs.",
    cells=tuple(_acc({"method.decompression_sparsity": d}, v, "001 Table 5")
                for d, v in ((0.0, 74.82), (0.5, 75.09), (0.6, 74.81), (0.7, 74.83), (0.8, 74.38))),
    claims=(
        Claim("Accuracy is almost unaffected up to 80% decompression sparsity (all within 0.75 points)",
              "001 Sec. 3.7", "spread", {"metric": "val_top1", "tolerance": 0.75}),
    ),
)

FIG7 = Published(
    artefact="Paper 001, Figure 7: mask IoU between consecutive checkpoints, 1000-epoch runs",
    setup="ResNet-50, ImageNet-1k, 95% and 98% sparsity, 1000 epochs, IoU of masks 10 epochs apart "
          "(epochs 109, 119, ..., 999). Only plotted.",
    claims=(
        Claim("AC/DC explores masks much more than GMP and RigL: its IoU between checkpoints is the lowest",
              "001 Sec. 3.5", "best_among",
              {"metric": "mean_mask_iou", "by": "method.name", "expect": "acdc", "lower": True}),
    ),
)

# ----------------------------------------------------------------------------- paper 002
_A2 = "002 Table 2"
_AST2 = []
for _ds, _rows in {
    "cifar10": {(False, 0.0): ((93.51, .06), (93.44, .08), (92.44, .04)),
                (False, 0.9): ((92.32, .06), (92.19, .11), (91.34, .04)),
                (True, 0.0): ((93.88, .19), (93.70, .28), (92.69, .09)),
                (True, 0.9): ((92.90, .13), (92.88, .10), (91.97, .18))},
    "cifar100": {(False, 0.0): ((73.12, .10), (72.39, .14), (68.06, .21)),
                 (False, 0.9): ((69.82, .12), (69.22, .07), (66.37, .15)),
                 (True, 0.0): ((73.41, .04), (72.57, .15), (68.42, .15)),
                 (True, 0.9): ((70.11, .39), (70.01, .54), (67.15, .31))},
}.items():
    for (_gc, _si), _vals in _rows.items():
        for _target, (_v, _s) in zip((0.9, 0.95, 0.98), _vals, strict=True):
            _AST2.append(_acc({"dataset.name": _ds, "method.gradient_correction": _gc,
                               "method.initial_sparsity": _si, "subnet": _target}, _v, _A2,
                              f"AST{'+GC' if _gc else ''} (s_i={_si:.0%})", std=_s))

AST_TABLE2 = Published(
    artefact="Paper 002, Table 2: AST and AST-GC on wide ResNet-32, CIFAR-10/100",
    setup="WRN-32 (32/64/128 channels), 160 epochs, cosine LR from 0.1, three sub-nets 90/95/98%, "
          "mean ± std of 3 runs.",
    cells=tuple(_AST2),
    claims=(
        Claim("Gradient correction improves every sub-net", _A2, "pairwise",
              {"metric": "val_top1", "by": "method.gradient_correction", "a": True, "b": False}),
        Claim("A dense start (s_i = 0) beats a 90% sparse start", _A2, "pairwise",
              {"metric": "val_top1", "by": "method.initial_sparsity", "a": 0.0, "b": 0.9}),
    ),
    notes=("Dense WRN-32: 94.88 (CIFAR-10), 74.94 (CIFAR-100).",),
)

AST_TABLE1 = Published(
    artefact="Paper 002, Table 1: sub-net relations, completely subset (CS) vs non-disjoint (ND)",
    setup="WRN-32, CIFAR-10, sub-nets at 70/95/98% as the table's header states, mean ± std of 3 runs.",
    cells=tuple(_acc({"method.relation": rel, "subnet": t}, v, "002 Table 1", rel.upper(), std=s)
                for rel, vals in (("cs", ((93.69, .12), (93.43, .03), (92.49, .17))),
                                  ("nd", ((94.47, .10), (93.78, .09), (92.76, .21))))
                for t, (v, s) in zip((0.7, 0.95, 0.98), vals, strict=True)),
    claims=(
        Claim("ND beats CS at every sub-net", "002 Table 1 / Observation 1", "pairwise",
              {"metric": "val_top1", "by": "method.relation", "a": "nd", "b": "cs"}),
    ),
    notes=("Dense WRN-32 on CIFAR-10: 94.88.",),
)

AST_TABLE3 = Published(
    artefact="Paper 002, Table 3: AST on ResNet-50 / ImageNet, sub-nets 80% and 90%",
    setup="ResNet-50, ImageNet, 100 epochs plus 5 warm-up epochs, adjustment period 400.",
    # training cost (x e18 FLOPs) of each sub-net: the FLOPs of the iterations that trained it
    # (0.59 + 0.41 = one run; ours: summary.json's training_flops_parts, from the schedule)
    cells=tuple(_acc({"method.gradient_correction": gc, "method.initial_sparsity": si, "subnet": t}, v,
                     "002 Table 3", f"AST{'+GC' if gc else ''} (s_i={si:.0%})", training_flops=cost)
                for gc, si, vals, costs in ((False, 0.5, (72.6, 72.3), (0.59, 0.41)),
                                            (True, 0.5, (73.2, 73.1), (0.59, 0.41)),
                                            (True, 0.8, (72.6, 72.5), (0.37, 0.13)))
                for t, v, cost in zip((0.8, 0.9), vals, costs, strict=True)),
    claims=(
        Claim("With s_i = 50%, gradient correction adds 0.6 and 0.8 points", "002 Sec. 4.2", "pairwise",
              {"metric": "val_top1", "by": "method.gradient_correction", "a": True, "b": False,
               "where": {"method.initial_sparsity": 0.5}}),
    ),
    notes=("Dense ResNet-50: 76.8.",
           "Training cost (x e18 FLOPs) of the individually trained RigL in the same table: 0.74 (80%), "
           "0.39 (90%). Ours are counted as RigL counts them (acdc_bench/metrics/training_flops.py) at "
           "this sweep's model, data and resolution, so a CPU twin's are orders of magnitude smaller."),
)

# ----------------------------------------------------------------------------- issue 16
# The claims suite (conf/experiment/claims/): the papers' headline statements at the largest
# CPU scale, each checked on 3 seeds; the statements are the papers' (sources as above).
CLAIMS_METHODS = Published(
    artefact="Claims suite: AC/DC vs GMP vs RigL, full Fashion-MNIST, 5 and 10 epochs, 3 seeds",
    setup="resnet20_lite, full Fashion-MNIST at 28x28, 234 steps per epoch, 1-epoch AC/DC phases.",
    claims=(FIG3.claims[0], FIG3.claims[1], FIG3.claims[3],
            Claim("Sparse models are under-trained: top-1 rises with the budget for every method and "
                  "sparsity", "001 Sec. 3.2", "monotone",
                  {"metric": "val_top1", "along": "epochs", "direction": 1}),
            Claim("... and more so at higher sparsity: the gain from 5 to 10 epochs is larger at 95% than at "
                  "90%, for every method", "001 Sec. 3.2, Fig. 1", "gain_grows",
                  {"metric": "val_top1", "along": "epochs", "by": "sparsity", "low": 0.9, "high": 0.95}),
            Claim("AC/DC explores masks more: the lowest mean IoU of masks at the ends of consecutive "
                  "compression phases", "001 Sec. 3.5, Fig. 7", "best_among",
                  {"metric": "mean_mask_iou", "by": "method.name", "expect": "acdc", "lower": True,
                   "where": {"epochs": 10}}),
            Claim("Sparser models have higher validation entropy (90% -> 95%)", "001 Sec. 3.2.1, Fig. 1",
                  "monotone", {"metric": "val_entropy", "along": "sparsity", "direction": 1})),
)
CLAIMS_WEIGHT_DECAY = Published(
    artefact="Claims suite: zeros during decompression vs weight decay (AC/DC 95%, 5 epochs, 3 seeds)",
    setup="resnet20_lite, full Fashion-MNIST at 28x28, one 234-step decompression phase.",
    claims=(TABLE4.claims[1],),
)
CLAIMS_AST = Published(
    artefact="Claims suite: AST-GC vs AST and ND vs CS (sub-nets 90/95/98%, 5 epochs, 3 seeds)",
    setup="resnet20_lite, full Fashion-MNIST at 28x28, global with the first layer dense, dense start.",
    claims=(AST_TABLE2.claims[0], AST_TABLE1.claims[0]),
)

# Paper 001 Fig. 5 plots Table 1's rows as accuracy change from each paper's own dense model vs
# inference FLOPs (fraction of dense); the compared methods' points as Table 1 prints them.
_T1F = "001 Table 1 (Fig. 5)"
FIG5 = Published(
    artefact="Paper 001, Figure 5: accuracy change from dense vs inference FLOPs",
    setup="ResNet-50, ImageNet-1k; each method against its own dense baseline (AC/DC++: 78.78).",
    cells=tuple(Cell({"published_method": name, "sparsity": sp},
                     {"acc_change": d, "inference_flops_fraction": f}, _T1F, label=name)
                for name, sp, d, f in (
                    ("AC/DC++ 5x", 0.90, -0.29, 0.20), ("AC/DC++ FLD 5x", 0.90, -0.18, 0.22),
                    ("AC/DC++ 10x", 0.95, -1.48, 0.13), ("AC/DC++ FLD 10x", 0.95, -1.08, 0.14),
                    ("AC/DC++ FLD 10x", 0.98, -2.28, 0.09), ("AC/DC++ FLD 10x", 0.99, -6.08, 0.06),
                    ("RigL ERK 5x", 0.90, -0.38, 0.24), ("RigL ERK 5x", 0.95, -2.17, 0.12),
                    ("RigL ERK 5x", 0.99, -15.94, 0.05), ("RigL ERK 10x", 0.99, -12.91, 0.05),
                    ("Powerprop + Top-KAST ERK 3x", 0.90, 0.36, 0.24),
                    ("GraNet 2.5x", 0.90, -0.4, 0.20), ("ST-3", 0.90, -1.82, 0.24),
                    ("ST-3", 0.95, -2.64, 0.13),
                    ("ST-3", 0.98, -6.64, 0.07), ("ST-3", 0.99, -13.22, 0.04))),
    # one dense baseline for all our methods: the ordering of accuracy changes is that of top-1
    claims=(Claim("AC/DC loses the least accuracy from its dense model at the highest sparsity",
                  "001 Sec. 3.3.2", "best_among",
                  {"metric": "val_top1", "by": "method.name", "expect": "acdc",
                   "where": {"sparsity": 0.98}}),),
)
FIG6 = Published(
    artefact="Paper 001, Figure 6: AC/DC accuracy vs sparsity for global, uniform and block-4 masks",
    setup="ResNet-50, ImageNet-1k; only plotted.",
    claims=(Claim("Global sparsity is more accurate than uniform at the same sparsity",
                  "001 Sec. 3.4, Fig. 6", "pairwise",
                  {"metric": "val_top1", "by": "distribution.name", "a": "global", "b": "uniform"}),
            Claim("Global unstructured sparsity is more accurate than block-4", "001 Fig. 6",
                  "pairwise",
                  {"metric": "val_top1", "by": "distribution.name", "a": "global", "b": "block4"})),
)

# ----------------------------------------------------------------------------- 001 App. F / G
_F5, _G2 = "001 Table F.5 / App. F", "001 Fig. G.2 / App. G"


def _aie(mode: str, method: str, mult: int, v: float) -> Cell:
    label = f"{mode}, {'dense' if method == 'dense' else '95%'} {mult}x"
    return Cell({"transfer.mode": mode, "method.name": method, "epoch_multiplier": mult}, {"aie": v},
                "001 Table F.5", label)


def _trend(metric: str, method: str, direction: int) -> dict[str, Any]:
    return {"metric": metric, "along": "epoch_multiplier", "direction": direction,
            "where": {"method.name": method}}


def _flat(metric: str) -> dict[str, Any]:
    return {"metric": metric, "along": "epoch_multiplier", "tolerance": 1.0,
            "where": {"method.name": "dense"}}


_DENSE_FLAT = Claim("Dense models do not gain from extended training (mean downstream accuracy rises by at "
                    "most 1 point from 1x to 10x; Table F.5: AIE +0.026 linear, 0.000 full)", _F5,
                    "saturates", _flat("transfer_mean_accuracy"))
TABLEF5 = Published(
    artefact="Paper 001, Table F.5: Average Increase in Error over the 100-epoch dense model, 12 tasks",
    setup="ResNet-50 on ImageNet (dense and 95% AC/DC++, 100 and 1000 epochs); linear and full fine-tuning "
          "with the recipe of [33]; AIE (Eq. 5) against the 100-epoch dense model (its row is '-').",
    cells=(_aie("linear", "dense", 10, 0.026), _aie("linear", "acdc", 1, -0.123),
           _aie("linear", "acdc", 10, -0.182), _aie("full", "dense", 10, 0.000),
           _aie("full", "acdc", 1, 0.112), _aie("full", "acdc", 10, 0.062)),
    claims=(Claim("Extended training lowers the 95% sparse model's AIE (linear and full fine-tuning)", _F5,
                  "monotone", _trend("aie", "acdc", -1)), _DENSE_FLAT))
FIGF1 = Published(
    artefact="Paper 001, Figure F.1: linear and full transfer accuracy per downstream dataset",
    setup="As Table F.5; the per-dataset accuracies are only plotted (no cells).",
    claims=(Claim("Extended training raises the 95% sparse model's mean downstream accuracy",
                  "001 Fig. F.1 / App. F", "monotone", _trend("transfer_mean_accuracy", "acdc", 1)),
            _DENSE_FLAT))
FIGG2 = Published(
    artefact="Paper 001, Figure G.2: ImageNet-C severity-1 top-1 per corruption (19)",
    setup="ResNet-50 dense 100/1000 epochs, 95% AC/DC++ 100/250/1000 epochs; ImageNet-C at severity 1; "
          "only plotted (no cells).",
    claims=(Claim("Robustness of the 95% sparse model rises with training (mean over the 19 corruptions)",
                  _G2, "monotone", _trend("corruption_mean_top1", "acdc", 1)),
            Claim("Dense models' robustness does not rise with training (at most 1 point, 1x to 10x)", _G2,
                  "saturates", _flat("corruption_mean_top1")),
            Claim("Dense models outperform sparse ones on corrupted data", _G2, "pairwise",
                  {"metric": "corruption_mean_top1", "by": "method.name", "a": "dense", "b": "acdc"})))


PUBLISHED: dict[str, Published] = {
    "fig1_undertraining": FIG1,
    "fig2_celeba": FIG2,
    "fig3_methods": FIG3,
    "table1_rn50": TABLE1,
    "table2_mobilenet": TABLE2,
    "table4_weight_decay": TABLE4,
    "table5_decompression": TABLE5,
    "fig7_mask_iou": FIG7,
    "ast_table1_relations": AST_TABLE1,
    "ast_table2_cifar": AST_TABLE2,
    "ast_table3_imagenet": AST_TABLE3,
    "ast_table4_nm": AST_TABLE4,
    "ast_table5_subnets": AST_TABLE5,
    "claims_methods": CLAIMS_METHODS,
    "claims_weight_decay": CLAIMS_WEIGHT_DECAY,
    "claims_ast": CLAIMS_AST,
    "fig5_flops": FIG5,
    "fig6_distributions": FIG6,
    "tableF5_transfer": TABLEF5,
    "figF1_transfer": FIGF1,
    "figG2_corruptions": FIGG2,
}
PUBLISHED.update(ANALYSIS_PUBLISHED)  # the analyses' artefacts (published_analyses.py)
PUBLISHED.update(TEXT_PUBLISHED)  # BERT sparse transfer, Sec. 4 (published_text.py)
PUBLISHED.update(COST_PUBLISHED)  # issue 23: measured costs (published_cost.py)
