"""Paper 001 (Kuznedelev et al. 2023, AC/DC++), Sec. 3.2-3.5: training length, the methods
compared, ResNet-50 and MobileNet on ImageNet, weight decay and decompression sparsity, mask
exploration, accuracy against FLOPs and sparsity distributions. Typed in from
``shared/papers/001``; every cell and statement cites its table, figure or section."""

from __future__ import annotations

from acdc_bench.artefacts.checks import BestAmong, BestColumn, Monotone, Pairwise, Saturates, Spread
from acdc_bench.artefacts.spec import SWEEP, Artefact, Cell, Claim, acc

_T1 = "001 Table 1"
TABLE1 = Artefact(
    name="table1_rn50", target="table1", paper="001", label="Table 1", kind=SWEEP,
    title="Paper 001, Table 1: AC/DC++ on ResNet-50 / ImageNet-1k",
    setup="ResNet-50, ImageNet-1k, FFCV recipe (Appendix A); Table 1 reports for each sparsity the best of "
          "the 1x/2.5x/5x/10x runs, placed here at the budget it names.",
    cells=(
        acc({"distribution.name": "global", "sparsity": 0.90, "epoch_multiplier": 5}, 78.49, _T1,
             "AC/DC++ 5x", params_nonzero=2.60, inference_flops_fraction=0.20),
        acc({"distribution.name": "global", "sparsity": 0.95, "epoch_multiplier": 10}, 77.27, _T1,
             "AC/DC++ 10x", params_nonzero=1.33, inference_flops_fraction=0.13),
        acc({"distribution.name": "global", "sparsity": 0.98, "epoch_multiplier": 10}, 74.06, _T1,
             "AC/DC++ 10x", params_nonzero=0.51),
        acc({"distribution.name": "fld", "sparsity": 0.90, "epoch_multiplier": 5}, 78.6, _T1,
             "AC/DC++ FLD 5x", params_nonzero=4.45, inference_flops_fraction=0.22),
        acc({"distribution.name": "fld", "sparsity": 0.95, "epoch_multiplier": 10}, 77.7, _T1,
             "AC/DC++ FLD 10x", params_nonzero=3.28, inference_flops_fraction=0.14),
        acc({"distribution.name": "fld", "sparsity": 0.98, "epoch_multiplier": 10}, 76.6, _T1,
             "AC/DC++ FLD 10x", params_nonzero=2.58, inference_flops_fraction=0.09),
        acc({"distribution.name": "fld", "sparsity": 0.99, "epoch_multiplier": 10}, 72.7, _T1,
             "AC/DC++ FLD 10x", params_nonzero=2.34, inference_flops_fraction=0.06),
    ),
    claims=(
        Claim("FLD (first and last layer dense) beats global pruning of all layers at every sparsity and "
              "budget", "001 Table 1",
              Pairwise(metric="val_top1", by="distribution.name", a="fld", b="global")),
        Claim("At 95% and above, accuracy still rises from 5x to 10x (the best budget is the longest)",
              "001 Table 1, Sec. 3.3.2",
              BestColumn(metric="val_top1",
                         expected=[[{"sparsity": 0.95}, "max"], [{"sparsity": 0.98}, "max"],
                                   [{"sparsity": 0.99}, "max"]])),
    ),
    notes=("The AC/DC++ dense baseline of Table 1 is 78.78% top-1; Table 1's Δ column is the absolute "
           "difference S − D in points.",),
)

_F3 = "001 Fig. 3 / Sec. 3.3.1"
FIG3 = Artefact(
    name="fig3_methods", target="fig3", paper="001", label="Fig. 3", kind=SWEEP,
    title="Paper 001, Figure 3 (and Figure 4): AC/DC vs GMP vs RigL, top-1 and train loss vs epochs",
    setup="ResNet-50, ImageNet-1k, FFCV recipe; all conv and linear layers pruned; 100/250/500/1000 epochs "
          "(1x/2.5x/5x/10x). Figure 3's points are only plotted; the two cells below are the same runs' "
          "numbers as Table 1 prints them (AC/DC++ = AC/DC with extended training, global, all layers).",
    cells=(
        acc({"method.name": "acdc", "sparsity": 0.90, "epoch_multiplier": 5}, 78.49,
             "001 Table 1 (AC/DC++ 5x, global)", "AC/DC 500 ep"),
        acc({"method.name": "acdc", "sparsity": 0.95, "epoch_multiplier": 10}, 77.27,
             "001 Table 1 (AC/DC++ 10x, global)", "AC/DC 1000 ep"),
    ),
    claims=(
        Claim("AC/DC reaches the highest validation accuracy of the three methods at every sparsity and "
              "budget", _F3, BestAmong(metric="val_top1", by="method.name", expect="acdc")),
        Claim("AC/DC reaches the lowest training loss of the three methods (Fig. 4)",
              "001 Fig. 4 / Sec. 3.3.1",
              BestAmong(metric="train_loss", by="method.name", expect="acdc", lower=True)),
        Claim("At low sparsity (80%) RigL is slightly better than GMP", _F3,
              Pairwise(metric="val_top1", by="method.name", a="rigl", b="gmp", where={"sparsity": 0.8})),
        Claim("At higher sparsity (90%, 95%) GMP is better than RigL", _F3,
              Pairwise(metric="val_top1", by="method.name", a="gmp", b="rigl",
                       where={"sparsity": [0.9, 0.95]})),
        Claim("Except AC/DC at 80% and 90%, accuracy keeps improving with the training budget", _F3,
              Monotone(metric="val_top1", along="epoch_multiplier", direction=1,
                       exclude=[{"method.name": "acdc", "sparsity": 0.8},
                                {"method.name": "acdc", "sparsity": 0.9}])),
        Claim("AC/DC at 80% and 90% saturates: 10x adds at most 0.2 points over 5x", _F3,
              Saturates(metric="val_top1", along="epoch_multiplier", tolerance=0.2,
                        where={"method.name": "acdc", "sparsity": [0.8, 0.9]})),
        Claim("Train loss falls with the training budget for every method and sparsity (Fig. 4)",
              "001 Fig. 4", Monotone(metric="train_loss", along="epoch_multiplier", direction=-1)),
    ),
)

FIG1 = Artefact(
    name="fig1_undertraining", target="fig1", paper="001", label="Fig. 1", kind=SWEEP,
    title="Paper 001, Figure 1: dense and AC/DC ResNet-50 trained for different numbers of epochs",
    setup="ResNet-50, ImageNet-1k, no label smoothing, no progressive resizing, first and last layer dense. "
          "The figure's points are only plotted; the text (Sec. 3.2.1) states the best budgets.",
    claims=(
        Claim("The best budget grows with sparsity: dense 88 epochs, 80% and 90% 250 epochs, 95% and 98% at "
              "least 500 (the longest tried)", "001 Sec. 3.2.1",
              BestColumn(metric="val_top1",
                         expected=[[{"sparsity": 0.0}, 88], [{"sparsity": 0.8}, 250],
                                   [{"sparsity": 0.9}, 250], [{"sparsity": 0.95}, "max"],
                                   [{"sparsity": 0.98}, "max"]],
                         budgets=[50, 88, 100, 250, 500])),
        Claim("Train loss falls as the number of epochs grows, at every sparsity", "001 Sec. 3.2.1",
              Monotone(metric="train_loss", along="epochs", direction=-1)),
        Claim("Validation entropy falls as the number of epochs grows, at every sparsity", "001 Sec. 3.2.1",
              Monotone(metric="val_entropy", along="epochs", direction=-1)),
        Claim("At a fixed budget, train loss rises with sparsity", "001 Fig. 1",
              Monotone(metric="train_loss", along="sparsity", direction=1)),
        Claim("80% sparse models slightly exceed dense accuracy", "001 Sec. 3.2.1",
              Pairwise(metric="val_top1", by="sparsity", a=0.8, b=0.0, best_over="epochs")),
    ),
)

FIG2 = Artefact(
    name="fig2_celeba", target="fig2", paper="001", label="Fig. 2", kind=SWEEP,
    title="Paper 001, Figure 2: dense and AC/DC ResNet-18 on CelebA for 5-200 epochs",
    setup="ResNet-18, CelebA (40 binary attributes), AC/DC with the compression sparsity ramping from 90% to "
          "the target. Only plotted; the text (Sec. 3.2.2) states best budgets and the best models' loss and "
          "uncertainty.",
    claims=(
        Claim("Best budgets: dense 25 epochs, 95% and 99% sparse 150 epochs", "001 Sec. 3.2.2",
              BestColumn(metric="val_mean_attr_acc",
                         expected=[[{"sparsity": 0.0}, 25], [{"sparsity": 0.95}, 150],
                                   [{"sparsity": 0.99}, 150]],
                         budgets=[15, 25, 50, 100, 150, 200])),
        Claim("Train loss and the share of uncertain predictions fall with longer training", "001 Sec. 3.2.2",
              Monotone(metric="val_uncertain_fraction", along="epochs", direction=-1)),
        Claim("At a fixed length, train loss rises with sparsity", "001 Sec. 3.2.2",
              Monotone(metric="train_loss", along="sparsity", direction=1)),
        Claim("The best model of each sparsity has train loss about 0.17 and about 24% uncertain predictions "
              "(26% at 99.5%)", "001 Sec. 3.2.2"),
    ),
)

TABLE2 = Artefact(
    name="table2_mobilenet", target="table2", paper="001", label="Table 2", kind=SWEEP,
    title="Paper 001, Table 2: AC/DC++ MobileNet-V1 / ImageNet-1k, 1000 epochs",
    setup="MobileNet-V1, ImageNet-1k, weight decay 3e-5, LR 1.024; input conv, depthwise convs and head "
          "dense.",
    cells=(
        acc({"method.name": "dense"}, 72.74, "001 Table 2", "Dense (D)"),
        acc({"method.name": "acdc", "sparsity": 0.75}, 72.49, "001 Table 2", "AC/DC++ 75%"),
        acc({"method.name": "acdc", "sparsity": 0.90}, 70.80, "001 Table 2", "AC/DC++ 90%"),
    ),
    claims=(
        Claim("The dense model beats AC/DC++ at 90% (72.74 vs 70.80)", "001 Table 2",
              Pairwise(metric="val_top1", by="sparsity", a=0.0, b=0.9, ignore=["method.name"])),
        Claim("AC/DC++ at 75% beats AC/DC++ at 90% (72.49 vs 70.80)", "001 Table 2",
              Pairwise(metric="val_top1", by="sparsity", a=0.75, b=0.9)),
    ),
    notes=("The table's 'relative drop' column is the absolute difference P − D (-0.25, -1.94).",),
)

TABLE4 = Artefact(
    name="table4_weight_decay", target="table4", paper="001", label="Table 4", kind=SWEEP,
    title="Paper 001, Table 4 and Figure 8: AC/DC++ 95%, 100 epochs, weight decay 1e-6 to 1e-3",
    setup="ResNet-50, ImageNet-1k, 95% compression sparsity, 100 epochs.",
    cells=(
        acc({"optim.weight_decay": 1e-6}, 70.52, "001 Table 4"),
        acc({"optim.weight_decay": 1e-5}, 73.54, "001 Table 4"),
        acc({"optim.weight_decay": 1e-4}, 74.90, "001 Table 4"),
        acc({"optim.weight_decay": 1e-3}, 68.57, "001 Table 4"),
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
        Claim("1e-4 (the standard value) gives the best accuracy", "001 Table 4",
              BestAmong(metric="val_top1", by="optim.weight_decay", expect=1e-4)),
        Claim("The share of zero weights during decompression grows with weight decay (Fig. 8)",
              "001 Sec. 3.7",
              Monotone(metric="last_zero_fraction_decompressed", along="optim.weight_decay", direction=1)),
    ),
)

TABLE5 = Artefact(
    name="table5_decompression", target="table5", paper="001", label="Table 5", kind=SWEEP,
    title="Paper 001, Table 5: AC/DC 95%, 100 epochs, with a sparsity imposed during decompression",
    setup="ResNet-50, ImageNet-1k, 95% target sparsity, 100 epochs.",
    cells=tuple(acc({"method.decompression_sparsity": d}, v, "001 Table 5")
                for d, v in ((0.0, 74.82), (0.5, 75.09), (0.6, 74.81), (0.7, 74.83), (0.8, 74.38))),
    claims=(
        Claim("Accuracy is almost unaffected up to 80% decompression sparsity (all within 0.75 points)",
              "001 Sec. 3.7", Spread(metric="val_top1", tolerance=0.75)),
    ),
)

FIG7 = Artefact(
    name="fig7_mask_iou", target="fig7", paper="001", label="Fig. 7", kind=SWEEP,
    title="Paper 001, Figure 7: mask IoU between consecutive checkpoints, 1000-epoch runs",
    setup="ResNet-50, ImageNet-1k, 95% and 98% sparsity, 1000 epochs, IoU of masks 10 epochs apart "
          "(epochs 109, 119, ..., 999). Only plotted.",
    claims=(
        Claim("AC/DC explores masks much more than GMP and RigL: its IoU between checkpoints is the lowest",
              "001 Sec. 3.5", BestAmong(metric="mean_mask_iou", by="method.name", expect="acdc", lower=True)),
    ),
)



# Paper 001 Fig. 5 plots Table 1's rows as accuracy change from each paper's own dense model vs
# inference FLOPs (fraction of dense); the compared methods' points as Table 1 prints them.
_T1F = "001 Table 1 (Fig. 5)"
FIG5 = Artefact(
    name="fig5_flops", target="fig5", paper="001", label="Fig. 5", kind=SWEEP,
    title="Paper 001, Figure 5: accuracy change from dense vs inference FLOPs",
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
                  "001 Sec. 3.3.2",
                  BestAmong(metric="val_top1", by="method.name", expect="acdc", where={"sparsity": 0.98})),),
)
FIG6 = Artefact(
    name="fig6_distributions", target="fig6", paper="001", label="Fig. 6", kind=SWEEP,
    title="Paper 001, Figure 6: AC/DC accuracy vs sparsity for global, uniform and block-4 masks",
    setup="ResNet-50, ImageNet-1k; only plotted.",
    claims=(Claim("Global sparsity is more accurate than uniform at the same sparsity",
                  "001 Sec. 3.4, Fig. 6",
                  Pairwise(metric="val_top1", by="distribution.name", a="global", b="uniform")),
            Claim("Global unstructured sparsity is more accurate than block-4", "001 Fig. 6",
                  Pairwise(metric="val_top1", by="distribution.name", a="global", b="block4"))),
)


ARTEFACTS = (FIG1, FIG2, FIG3, FIG5, FIG6, FIG7, TABLE1, TABLE2, TABLE4, TABLE5)
