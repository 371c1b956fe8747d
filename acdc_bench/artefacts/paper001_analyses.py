"""Paper 001 (AC/DC++), what the models are beyond their top-1: zero channels (Table 3, Sec. 3.6),
decompression zeros against weight decay (Fig. 8, Sec. 3.7), sharpness and loss interpolation
(Figs. 9-10, Sec. 3.8), the appendices' ablations (Tables C.2, D.3, E.4), and transfer and
robustness (Sec. 3.9: App. F's Table F.5 and Fig. F.1, App. G's Fig. G.2). Units as the paper
prints them (% for accuracies and channel shares).

A loss barrier above zero (``Above``) and a trend over one run's segments (``EntryTrend``) are
checked by ``reports/claims.py`` like every other statement."""

from __future__ import annotations

from acdc_bench.artefacts.checks import Above, BestAmong, EntryTrend, Monotone, Pairwise, Saturates
from acdc_bench.artefacts.spec import ANALYZED, BEYOND, SHARPNESS, SWEEP, Artefact, Cell, Claim, acc

_T3 = "001 Table 3"
_L1, _L2, _L4 = ("@channels:layers/layer1.0.conv2", "@channels:layers/layer2.1.conv2",
                 "@channels:layers/layer4.2.conv2")


def _channels(s: float, mult: int, l1: float, l2: float, l4: float, avg: float) -> Cell:
    return Cell(where={"sparsity": s, "epoch_multiplier": mult},
                values={_L1: l1, _L2: l2, _L4: l4, "channel_sparsity": avg}, source=_T3,
                label=f"AC/DC++ {s:.0%} {100 * mult} epochs")



TABLE3 = Artefact(
    name="table3_channels", target="table3", paper="001", label="Table 3", kind=ANALYZED,
    title="Paper 001, Table 3: fraction of zero output channels (ResNet-50 layers and all conv layers)",
    setup="ResNet-50 / ImageNet-1k, AC/DC++ with global magnitude pruning, 100 and 1000 epochs; 'avg' is the "
          "zero channels of all conv layers over all their channels.",
    cells=(_channels(0.80, 1, 0, 0, 0, 1.07), _channels(0.80, 10, 18.75, 0, 35.35, 4.91),
           _channels(0.90, 1, 4.69, 1.56, 0.78, 3.58), _channels(0.90, 10, 31.25, 19.53, 61.91, 10.68),
           _channels(0.95, 1, 0, 7.03, 22.85, 8.8), _channels(0.95, 10, 26.56, 22.66, 80.27, 16.76),
           _channels(0.98, 1, 7.81, 12.5, 75.59, 23.65), _channels(0.98, 10, 48.44, 37.5, 96.68, 27.93)),
    claims=(Claim("Channel sparsity rises with the sparsity target", "001 Sec. 3.6",
                  Monotone(metric="channel_sparsity", along="sparsity", direction=1)),
            Claim("Channel sparsity rises with training length", "001 Sec. 3.6",
                  Monotone(metric="channel_sparsity", along="epoch_multiplier", direction=1))),
    notes=("The CPU twin lists its own ResNet-20's layers (layer1.0/layer2.1/layer3.2.conv2): the paper's "
           "layer cells have no twin counterpart.",))
FIG8 = Artefact(
    name="fig8_decompression_wd", target="fig8", paper="001", label="Fig. 8", kind=SWEEP,
    title="Paper 001, Figure 8: sparsity during decompression phases vs weight decay (95%, 100 epochs)",
    setup="As Table 4; the per-phase values are only plotted (the text: ~10% at 1e-6/1e-5, ~24% at 1e-4, "
          "50-60% at 1e-3 in the last phases).",
    claims=(Claim("The share of zero weights during decompression rises with weight decay", "001 Sec. 3.7",
                  Monotone(metric="last_zero_fraction_decompressed", along="optim.weight_decay",
                           direction=1)),))
FIG9 = Artefact(
    name="fig9_sharpness", target="fig9", paper="001", label="Fig. 9", kind=ANALYZED,
    title="Paper 001, Figure 9: sharpness (top Hessian eigenvalue) of the final models vs epochs",
    setup="As Figure 3 (AC/DC, GMP, RigL at 80/90/95%, 100-1000 epochs) plus dense; only plotted.",
    claims=tuple(Claim(f"{m.upper()}: sharpness rises with the length of training", "001 Sec. 3.8",
                       Monotone(metric=SHARPNESS, along="epoch_multiplier", direction=1,
                                where={"method.name": m}))
                 for m in ("acdc", "gmp", "rigl"))
    + (Claim("Sharpness decreases as sparsity rises (sparse methods)", "001 Sec. 3.8",
             Monotone(metric=SHARPNESS, along="sparsity", direction=-1,
                      where={"method.name": ["acdc", "gmp", "rigl"]})),
       Claim("Sparse models are flatter than dense ones (AC/DC vs dense)", "001 Sec. 3.8",
             Pairwise(metric=SHARPNESS, by="method.name", a="dense", b="acdc"))))
_BARRIER = "@interpolation:barrier/train_loss"
FIG10 = Artefact(
    name="fig10_interpolation", target="fig10", paper="001", label="Fig. 10", kind=ANALYZED,
    title="Paper 001, Figure 10: loss interpolation through the checkpoints of the 95% 1000-epoch "
             "AC/DC run",
    setup="Checkpoints at epochs 99, 199, ..., 999, 10 pieces per segment; only plotted.",
    claims=(Claim("A loss barrier separates consecutive checkpoints (our barrier: the highest loss on a "
                  "segment above its higher end; > 0 on every segment)", "001 Sec. 3.8",
                  Above(metric=_BARRIER, threshold=0.0, per_entry=True)),
            Claim("The barrier's height rises with the number of epochs", "001 Sec. 3.8",
                  EntryTrend(metric=_BARRIER, direction=1))))
_C2 = "001 Table C.2"
_CD = ("method.compression_phase_epochs", "method.decompression_phase_epochs")
TABLEC2 = Artefact(
    name="tableC2_sparse_fraction", target="tableC2", paper="001", label="Table C.2", kind=SWEEP,
    title="Paper 001, Table C.2: the sparse fraction of each AC/DC cycle (95%, 1000 epochs)",
    setup="ResNet-50 / ImageNet-1k. Fraction 0 = the dense model, 1 = pruned once after the warm-up and "
          "trained with the mask fixed (our reading of the table's numbers; its sentence says the reverse).",
    cells=(acc({"method.name": "dense"}, 79.0, _C2, "fraction 0 (dense)"),
           acc({"method.name": "acdc", _CD[0]: 2, _CD[1]: 8}, 77.2, _C2, "fraction 0.2"),
           acc({"method.name": "acdc", _CD[0]: 5, _CD[1]: 5}, 77.5, _C2, "fraction 0.5"),
           acc({"method.name": "acdc", _CD[0]: 8, _CD[1]: 2}, 77.3, _C2, "fraction 0.8"),
           acc({"method.name": "acdc", _CD[0]: 1, _CD[1]: 0}, 75.0, _C2, "fraction 1 (fixed mask)")),
    claims=(Claim("Equal time sparse and dense (fraction 0.5) is the best AC/DC fraction", _C2,
                  BestAmong(metric="val_top1", by=_CD[0], expect=5, where={"method.name": "acdc"},
                            ignore=[_CD[1]])),))
_D3 = "001 Table D.3"
TABLED3 = Artefact(
    name="tableD3_phase_length", target="tableD3", paper="001", label="Table D.3", kind=SWEEP,
    title="Paper 001, Table D.3: AC/DC phase length (95%, 1000 epochs)",
    setup="ResNet-50 / ImageNet-1k, phases of 1, 5, 10, 50 epochs (the table's header says 'sparse training "
          "fraction'; the text and values are phase lengths).",
    cells=tuple(acc({"method.phase_epochs": p}, v, _D3, f"{p}-epoch phases")
                for p, v in ((1, 77.0), (5, 77.5), (10, 77.2), (50, 75.9))),
    claims=(Claim("5-epoch phases are close to the best (the best of 1/5/10/50)", _D3,
                  BestAmong(metric="val_top1", by="method.phase_epochs", expect=5)),))
_E4 = "001 Table E.4"
TABLEE4 = Artefact(
    name="tableE4_small_dense", target="tableE4", paper="001", label="Table E.4", kind=SWEEP,
    title="Paper 001, Table E.4: half-width dense ResNet-50 vs 95% sparse ResNet-50 (1000 epochs)",
    setup="ResNet-50x0.5 dense vs ResNet-50 95% AC/DC++; the paper's FLOPs column is empty.",
    cells=(acc({"method.name": "dense", "model.width": 0.5}, 69.8, _E4, "ResNet-50x0.5 dense"),
           acc({"method.name": "acdc", "sparsity": 0.95}, 77.5, _E4, "ResNet-50 95%")),
    claims=(Claim("The sparse full model beats the half-width dense one", "001 App. E",
                  Pairwise(metric="val_top1", by="method.name", a="acdc", b="dense",
                           ignore=["model.width", "sparsity"])),))


# ----------------------------------------------------------------------------- 001 App. F / G
_F5, _G2 = "001 Table F.5 / App. F", "001 Fig. G.2 / App. G"


def _aie(mode: str, method: str, mult: int, v: float) -> Cell:
    label = f"{mode}, {'dense' if method == 'dense' else '95%'} {mult}x"
    return Cell({"transfer.mode": mode, "method.name": method, "epoch_multiplier": mult}, {"aie": v},
                "001 Table F.5", label)


def _with_budget(metric: str, method: str, direction: int) -> Monotone:
    """``metric`` of ``method``'s runs rises (falls) with the training budget."""
    return Monotone(metric=metric, along="epoch_multiplier", direction=direction,
                    where={"method.name": method})


def _flat(metric: str) -> Saturates:
    """Dense models gain at most 1 point from the last budget step."""
    return Saturates(metric=metric, along="epoch_multiplier", tolerance=1.0, where={"method.name": "dense"})


_DENSE_FLAT = Claim("Dense models do not gain from extended training (mean downstream accuracy rises by at "
                    "most 1 point from 1x to 10x; Table F.5: AIE +0.026 linear, 0.000 full)", _F5,
                    _flat("transfer_mean_accuracy"))
TABLEF5 = Artefact(
    name="tableF5_transfer", target="tableF5", paper="001", label="Table F.5", kind=BEYOND, upstream="figG2",
    title="Paper 001, Table F.5: Average Increase in Error over the 100-epoch dense model, 12 tasks",
    setup="ResNet-50 on ImageNet (dense and 95% AC/DC++, 100 and 1000 epochs); linear and full fine-tuning "
          "with the recipe of [33]; AIE (Eq. 5) against the 100-epoch dense model (its row is '-').",
    cells=(_aie("linear", "dense", 10, 0.026), _aie("linear", "acdc", 1, -0.123),
           _aie("linear", "acdc", 10, -0.182), _aie("full", "dense", 10, 0.000),
           _aie("full", "acdc", 1, 0.112), _aie("full", "acdc", 10, 0.062)),
    claims=(Claim("Extended training lowers the 95% sparse model's AIE (linear and full fine-tuning)", _F5,
                  _with_budget("aie", "acdc", -1)), _DENSE_FLAT))
FIGF1 = Artefact(
    name="figF1_transfer", target="figF1", paper="001", label="Fig. F.1", kind=BEYOND, upstream="figG2",
    title="Paper 001, Figure F.1: linear and full transfer accuracy per downstream dataset",
    setup="As Table F.5; the per-dataset accuracies are only plotted (no cells).",
    claims=(Claim("Extended training raises the 95% sparse model's mean downstream accuracy",
                  "001 Fig. F.1 / App. F", _with_budget("transfer_mean_accuracy", "acdc", 1)),
            _DENSE_FLAT))
FIGG2 = Artefact(
    name="figG2_corruptions", target="figG2", paper="001", label="Fig. G.2", kind=BEYOND,
    title="Paper 001, Figure G.2: ImageNet-C severity-1 top-1 per corruption (19)",
    setup="ResNet-50 dense 100/1000 epochs, 95% AC/DC++ 100/250/1000 epochs; ImageNet-C at severity 1; "
          "only plotted (no cells).",
    claims=(Claim("Robustness of the 95% sparse model rises with training (mean over the 19 corruptions)",
                  _G2, _with_budget("corruption_mean_top1", "acdc", 1)),
            Claim("Dense models' robustness does not rise with training (at most 1 point, 1x to 10x)", _G2,
                  _flat("corruption_mean_top1")),
            Claim("Dense models outperform sparse ones on corrupted data", _G2,
                  Pairwise(metric="corruption_mean_top1", by="method.name", a="dense", b="acdc"))))


ARTEFACTS = (TABLE3, FIG8, FIG9, FIG10, TABLEC2, TABLED3, TABLEE4, FIGG2, TABLEF5, FIGF1)
