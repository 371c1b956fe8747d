"""Published numbers and statements of the analyses' artefacts (issue 12): paper 001 Table 3,
Figs. 8-10, Tables C.2, D.3, E.4; paper 000's agreement and memorization (Sec. 1, only
statements: its introduction gives no numbers); paper 002 Figs. 4, 6, 7 (plotted only: no
cells). Units as the papers print them (% for accuracies and channel shares).

A loss barrier above zero (``above``), one metric of an entry above another and per-phase
comparisons of one run (``exceeds``) and a trend over one run's segments (``entry_trend``) are
checked by ``claims.py``; statements no checker can test carry ``check="none"``: the report
lists them as not testable, and our numbers sit beside them.
"""

from __future__ import annotations

from typing import Any

from acdc_bench.reports.published_types import Cell, Claim, Published, _acc

_T3 = "001 Table 3"
_L1, _L2, _L4 = ("@channels:layers/layer1.0.conv2", "@channels:layers/layer2.1.conv2",
                 "@channels:layers/layer4.2.conv2")


def _channels(s: float, mult: int, l1: float, l2: float, l4: float, avg: float) -> Cell:
    return Cell(where={"sparsity": s, "epoch_multiplier": mult},
                values={_L1: l1, _L2: l2, _L4: l4, "channel_sparsity": avg}, source=_T3,
                label=f"AC/DC++ {s:.0%} {100 * mult} epochs")


def _trend(metric: str, along: str, direction: int, where: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"metric": metric, "along": along, "direction": direction}
    return {**out, "where": where} if where else out


TABLE3 = Published(
    artefact="Paper 001, Table 3: fraction of zero output channels (ResNet-50 layers and all conv layers)",
    setup="ResNet-50 / ImageNet-1k, AC/DC++ with global magnitude pruning, 100 and 1000 epochs; 'avg' is the "
          "zero channels of all conv layers over all their channels.",
    cells=(_channels(0.80, 1, 0, 0, 0, 1.07), _channels(0.80, 10, 18.75, 0, 35.35, 4.91),
           _channels(0.90, 1, 4.69, 1.56, 0.78, 3.58), _channels(0.90, 10, 31.25, 19.53, 61.91, 10.68),
           _channels(0.95, 1, 0, 7.03, 22.85, 8.8), _channels(0.95, 10, 26.56, 22.66, 80.27, 16.76),
           _channels(0.98, 1, 7.81, 12.5, 75.59, 23.65), _channels(0.98, 10, 48.44, 37.5, 96.68, 27.93)),
    claims=(Claim("Channel sparsity rises with the sparsity target", "001 Sec. 3.6", "monotone",
                  _trend("channel_sparsity", "sparsity", 1)),
            Claim("Channel sparsity rises with training length", "001 Sec. 3.6", "monotone",
                  _trend("channel_sparsity", "epoch_multiplier", 1))),
    notes=("The CPU twin lists its own ResNet-20's layers (layer1.0/layer2.1/layer3.2.conv2): the paper's "
           "layer cells have no twin counterpart.",))
FIG8 = Published(
    artefact="Paper 001, Figure 8: sparsity during decompression phases vs weight decay (95%, 100 epochs)",
    setup="As Table 4; the per-phase values are only plotted (the text: ~10% at 1e-6/1e-5, ~24% at 1e-4, "
          "50-60% at 1e-3 in the last phases).",
    claims=(Claim("The share of zero weights during decompression rises with weight decay", "001 Sec. 3.7",
                  "monotone", _trend("last_zero_fraction_decompressed", "optim.weight_decay", 1)),))
_SHARP = "@sharpness:eigenvalue"
FIG9 = Published(
    artefact="Paper 001, Figure 9: sharpness (top Hessian eigenvalue) of the final models vs epochs",
    setup="As Figure 3 (AC/DC, GMP, RigL at 80/90/95%, 100-1000 epochs) plus dense; only plotted.",
    claims=tuple(Claim(f"{m.upper()}: sharpness rises with the length of training", "001 Sec. 3.8",
                       "monotone", _trend(_SHARP, "epoch_multiplier", 1, {"method.name": m}))
                 for m in ("acdc", "gmp", "rigl"))
    + (Claim("Sharpness decreases as sparsity rises (sparse methods)", "001 Sec. 3.8", "monotone",
             _trend(_SHARP, "sparsity", -1, {"method.name": ["acdc", "gmp", "rigl"]})),
       Claim("Sparse models are flatter than dense ones (AC/DC vs dense)", "001 Sec. 3.8", "pairwise",
             {"metric": _SHARP, "by": "method.name", "a": "dense", "b": "acdc"})))
_BARRIER = "@interpolation:barrier/train_loss"
FIG10 = Published(
    artefact="Paper 001, Figure 10: loss interpolation through the checkpoints of the 95% 1000-epoch "
             "AC/DC run",
    setup="Checkpoints at epochs 99, 199, ..., 999, 10 pieces per segment; only plotted.",
    claims=(Claim("A loss barrier separates consecutive checkpoints (our barrier: the highest loss on a "
                  "segment above its higher end; > 0 on every segment)", "001 Sec. 3.8", "above",
                  {"metric": _BARRIER, "threshold": 0.0, "per_entry": True}),
            Claim("The barrier's height rises with the number of epochs", "001 Sec. 3.8", "entry_trend",
                  {"metric": _BARRIER, "direction": 1})))
_C2 = "001 Table C.2"
_CD = ("method.compression_phase_epochs", "method.decompression_phase_epochs")
TABLEC2 = Published(
    artefact="Paper 001, Table C.2: the sparse fraction of each AC/DC cycle (95%, 1000 epochs)",
    setup="ResNet-50 / ImageNet-1k. Fraction 0 = the dense model, 1 = pruned once after the warm-up and "
          "trained with the mask fixed (our reading of the table's numbers; its sentence says the reverse).",
    cells=(_acc({"method.name": "dense"}, 79.0, _C2, "fraction 0 (dense)"),
           _acc({"method.name": "acdc", _CD[0]: 2, _CD[1]: 8}, 77.2, _C2, "fraction 0.2"),
           _acc({"method.name": "acdc", _CD[0]: 5, _CD[1]: 5}, 77.5, _C2, "fraction 0.5"),
           _acc({"method.name": "acdc", _CD[0]: 8, _CD[1]: 2}, 77.3, _C2, "fraction 0.8"),
           _acc({"method.name": "acdc", _CD[0]: 1, _CD[1]: 0}, 75.0, _C2, "fraction 1 (fixed mask)")),
    claims=(Claim("Equal time sparse and dense (fraction 0.5) is the best AC/DC fraction", _C2, "best_among",
                  {"metric": "val_top1", "by": _CD[0], "expect": 5, "where": {"method.name": "acdc"},
                   "ignore": [_CD[1]]}),))
_D3 = "001 Table D.3"
TABLED3 = Published(
    artefact="Paper 001, Table D.3: AC/DC phase length (95%, 1000 epochs)",
    setup="ResNet-50 / ImageNet-1k, phases of 1, 5, 10, 50 epochs (the table's header says 'sparse training "
          "fraction'; the text and values are phase lengths).",
    cells=tuple(_acc({"method.phase_epochs": p}, v, _D3, f"{p}-epoch phases")
                for p, v in ((1, 77.0), (5, 77.5), (10, 77.2), (50, 75.9))),
    claims=(Claim("5-epoch phases are close to the best (the best of 1/5/10/50)", _D3, "best_among",
                  {"metric": "val_top1", "by": "method.phase_epochs", "expect": 5}),))
_E4 = "001 Table E.4"
TABLEE4 = Published(
    artefact="Paper 001, Table E.4: half-width dense ResNet-50 vs 95% sparse ResNet-50 (1000 epochs)",
    setup="ResNet-50x0.5 dense vs ResNet-50 95% AC/DC++; the paper's FLOPs column is empty.",
    cells=(_acc({"method.name": "dense", "model.width": 0.5}, 69.8, _E4, "ResNet-50x0.5 dense"),
           _acc({"method.name": "acdc", "sparsity": 0.95}, 77.5, _E4, "ResNet-50 95%")),
    claims=(Claim("The sparse full model beats the half-width dense one", "001 App. E", "pairwise",
                  {"metric": "val_top1", "by": "method.name", "a": "acdc", "b": "dense",
                   "ignore": ["model.width", "sparsity"]}),))
AGREE000 = Published(
    artefact="Paper 000, Sec. 1: sample-level agreement of co-trained vs post-training-pruned pairs",
    setup="The introduction states the finding without numbers or setting.",
    claims=(Claim("Co-trained sparse/dense pairs agree on more samples than a dense model and its "
                  "post-training-pruned copy (co_trained/agreement > post_training/agreement)",
                  "000 Sec. 1", "exceeds",
                  {"a": "@agreement:co_trained/agreement", "b": "@agreement:post_training/agreement",
                   "by": "method.name", "a_at": "acdc", "b_at": "dense"}),))
MEM000 = Published(
    artefact="Paper 000, Sec. 1 and Fig. 2b: memorization of corrupted labels in dense and sparse phases",
    setup="The introduction states the finding without numbers or setting.",
    claims=(Claim("In sparse phases the corrupted samples are classified as their true class more often, in "
                  "dense phases as their corrupted label (mem_true / mem_corrupted by phase)",
                  "000 Sec. 1", "exceeds",  # per seed: the mean over the phase's epochs
                  {"pairs": [{"a": "mem_true", "b": "mem_corrupted", "rows": {"stage": "compression"}},
                             {"a": "mem_corrupted", "b": "mem_true", "rows": {"stage": "decompression"}}]}),))
AST_FIG4 = Published(
    artefact="Paper 002, Figure 4: negative vs positive inner products of consecutive sub-nets' gradients",
    setup="Wide ResNet-32 / CIFAR-10; only plotted.",
    claims=(Claim("A share of negative inner products remains throughout training", "002 Sec. 3.1", "above",
                  {"metric": "negative_inner_product_fraction", "threshold": 0.0, "rows": {},
                   "reduce": "min"}),))
AST_FIG6 = Published(
    artefact="Paper 002, Figure 6: layer-wise sparsity and connection dissimilarity of two ND sub-nets",
    setup="ResNet-32 / CIFAR-10; only plotted.",
    claims=(Claim("The sub-nets' connections differ more than their sparsities (XOR share > sparsity gap; "
                  "per run the mean over layers of XOR share − |sparsity gap| in points, "
                  "analysis=subnet_dissimilarity: 0 exactly when one sub-net's mask contains the other's)",
                  "002 Sec. 3.3", "above",
                  {"metric": "@subnet_dissimilarity:margin", "threshold": 0.0, "where": {"subnet": 0.9}}),))
AST_FIG7 = Published(
    artefact="Paper 002, Figure 7: the 98% sub-net's accuracy with the default and an extended Δτ",
    setup="ResNet-32 / CIFAR-10; only plotted.",
    claims=(Claim("An extended adjustment period stabilises the 98% sub-net early in training (our measure: "
                  "the mean |change| of its top-1 between consecutive epochs of the first half of training, "
                  "the high-LR part the paper points at, falls as Δτ grows)", "002 Sec. 3.4", "monotone",
                  _trend("early_val_top1_change", "method.adjustment_period", -1, {"subnet": 0.98})),))

ANALYSIS_PUBLISHED: dict[str, Published] = {
    "table3_channels": TABLE3, "fig8_decompression_wd": FIG8, "fig9_sharpness": FIG9,
    "fig10_interpolation": FIG10, "tableC2_sparse_fraction": TABLEC2, "tableD3_phase_length": TABLED3,
    "tableE4_small_dense": TABLEE4, "agree000": AGREE000, "mem000": MEM000,
    "ast_fig4_inner_products": AST_FIG4, "ast_fig6_subnet_layers": AST_FIG6, "ast_fig7_adjustment": AST_FIG7,
}
