"""Paper 002 (Yang et al. 2022, AST): sub-net relations (Table 1), AST and AST-GC on CIFAR
(Table 2) and ImageNet (Table 3), N:M sub-nets (Table 4, accuracy and inference time) and 2 to 5
sub-nets (Table 5), and the statements of Figs. 4, 6 and 7 (plotted only: no cells). Typed in from
``shared/papers/002``; the statements quote the paper's sentence, and a bound the paper does not
give ("negligible", "marginally") is ours and says so."""

from __future__ import annotations

from acdc_bench.artefacts.checks import Above, CostRatio, GainGrows, LosesAtMost, Monotone, Pairwise
from acdc_bench.artefacts.spec import ANALYZED, SPEEDUP, SWEEP, Artefact, Cell, Claim, acc

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
            _AST2.append(acc({"dataset.name": _ds, "method.gradient_correction": _gc,
                               "method.initial_sparsity": _si, "subnet": _target}, _v, _A2,
                              f"AST{'+GC' if _gc else ''} (s_i={_si:.0%})", std=_s))

AST_TABLE2 = Artefact(
    name="ast_table2_cifar", target="ast-table2", paper="002", label="Table 2", kind=SWEEP,
    title="Paper 002, Table 2: AST and AST-GC on wide ResNet-32, CIFAR-10/100",
    setup="WRN-32 (32/64/128 channels), 160 epochs, cosine LR from 0.1, three sub-nets 90/95/98%, "
          "mean ± std of 3 runs.",
    cells=tuple(_AST2),
    claims=(
        Claim("Gradient correction improves every sub-net", _A2,
              Pairwise(metric="val_top1", by="method.gradient_correction", a=True, b=False)),
        Claim("A dense start (s_i = 0) beats a 90% sparse start", _A2,
              Pairwise(metric="val_top1", by="method.initial_sparsity", a=0.0, b=0.9)),
    ),
    notes=("Dense WRN-32: 94.88 (CIFAR-10), 74.94 (CIFAR-100).",),
)

AST_TABLE1 = Artefact(
    name="ast_table1_relations", target="ast-table1", paper="002", label="Table 1", kind=SWEEP,
    title="Paper 002, Table 1: sub-net relations, completely subset (CS) vs non-disjoint (ND)",
    setup="WRN-32, CIFAR-10, sub-nets at 70/95/98% as the table's header states, mean ± std of 3 runs.",
    cells=tuple(acc({"method.relation": rel, "subnet": t}, v, "002 Table 1", rel.upper(), std=s)
                for rel, vals in (("cs", ((93.69, .12), (93.43, .03), (92.49, .17))),
                                  ("nd", ((94.47, .10), (93.78, .09), (92.76, .21))))
                for t, (v, s) in zip((0.7, 0.95, 0.98), vals, strict=True)),
    claims=(
        Claim("ND beats CS at every sub-net", "002 Table 1 / Observation 1",
              Pairwise(metric="val_top1", by="method.relation", a="nd", b="cs")),
    ),
    notes=("Dense WRN-32 on CIFAR-10: 94.88.",),
)

AST_TABLE3 = Artefact(
    name="ast_table3_imagenet", target="ast-table3", paper="002", label="Table 3", kind=SWEEP,
    title="Paper 002, Table 3: AST on ResNet-50 / ImageNet, sub-nets 80% and 90%",
    setup="ResNet-50, ImageNet, 100 epochs plus 5 warm-up epochs, adjustment period 400.",
    # training cost (x e18 FLOPs) of each sub-net: the FLOPs of the iterations that trained it
    # (0.59 + 0.41 = one run; ours: summary.json's training_flops_parts, from the schedule)
    cells=tuple(acc({"method.gradient_correction": gc, "method.initial_sparsity": si, "subnet": t}, v,
                     "002 Table 3", f"AST{'+GC' if gc else ''} (s_i={si:.0%})", training_flops=cost)
                for gc, si, vals, costs in ((False, 0.5, (72.6, 72.3), (0.59, 0.41)),
                                            (True, 0.5, (73.2, 73.1), (0.59, 0.41)),
                                            (True, 0.8, (72.6, 72.5), (0.37, 0.13)))
                for t, v, cost in zip((0.8, 0.9), vals, costs, strict=True)),
    claims=(
        Claim("With s_i = 50%, gradient correction adds 0.6 and 0.8 points", "002 Sec. 4.2",
              Pairwise(metric="val_top1", by="method.gradient_correction", a=True, b=False,
                       where={"method.initial_sparsity": 0.5})),
    ),
    notes=("Dense ResNet-50: 76.8.",
           "Training cost (x e18 FLOPs) of the individually trained RigL in the same table: 0.74 (80%), "
           "0.39 (90%). Ours are counted as RigL counts them (acdc_bench/metrics/training_flops.py) at "
           "this sweep's model, data and resolution, so a CPU twin's are orders of magnitude smaller."),
)


_NM = ((0.5, "2:4"), (0.75, "3:4"), (0.875, "7:8"), (0.9375, "15:16"))
AST_TABLE4 = Artefact(
    name="ast_table4_nm", target="ast-table4", paper="002", label="Table 4", kind=SWEEP,
    title="Paper 002, Table 4: AST-GC with N:M sub-nets (2:4, 3:4, 7:8, 15:16 zeros per group)",
    setup="ResNet-18, CIFAR-10; the paper's N:M counts zeros, acdc-bench's nonzeros (2:4, 1:4, 1:8, 1:16); "
          "the individually trained row is SR-STE [27] (ours: AST with that one N:M sub-net, n_subnets 1).",
    cells=tuple(acc({"n_subnets": 4, "subnet": t}, v, "002 Table 4", f"AST+GC {label}")
                for (t, label), v in zip(_NM, (94.63, 94.26, 94.31, 93.79), strict=True))
    + tuple(acc({"n_subnets": 1, "subnet": t}, v, "002 Table 4", f"SR-STE {label}")
            for (t, label), v in zip(_NM, (94.89, 94.47, 94.25, 93.92), strict=True)),
    claims=(
        Claim("\"Compared to the individually trained dense model, the proposed AST scheme achieving up to "
              "2.3x inference speed up on GPU with 4x less training efforts and negligible accuracy loss\": "
              "each N:M sub-net of the 4-sub-net run loses at most 1 point of top-1 against its pattern "
              "trained alone (Table 4: at most 0.26 against SR-STE; the bound is ours)",
              "002 Sec. 4.3, Table 4",
              LosesAtMost(metric="val_top1", by="n_subnets", a=4, b=1, tolerance=1.0)),
        Claim("... \"with 4x less training efforts\": the four individual runs together cost 4 ± 1 times "
              "the AST run's training FLOPs (Table 4: 2.33e16 against 5.91e15, 3.95x; runs of equal "
              "iterations, so the ratio of their training FLOPs as fractions of dense)",
              "002 Sec. 4.3, Table 4",
              CostRatio(metric="training_flops_fraction", by="n_subnets", a=4, b=1, expect=4.0,
                        tolerance=1.0)),
    ),
    notes=("Dense ResNet-18: 95.07.",),
)

_T5 = {2: {0.7: 94.88, 0.98: 94.76},
       3: {0.7: 94.75, 0.95: 94.67, 0.98: 94.26},
       4: {0.7: 94.79, 0.8: 94.81, 0.95: 94.63, 0.98: 94.22},
       5: {0.7: 94.81, 0.8: 94.73, 0.9: 94.85, 0.95: 94.47, 0.98: 94.18}}
AST_TABLE5 = Artefact(
    name="ast_table5_subnets", target="ast-table5", paper="002", label="Table 5", kind=SWEEP,
    title="Paper 002, Table 5: AST with 2 to 5 sub-nets, ResNet-18 / CIFAR-10, 160 epochs",
    setup="ResNet-18, CIFAR-10, 160 epochs.",
    cells=tuple(acc({"n_subnets": n, "subnet": t}, v, "002 Table 5") for n, row in _T5.items()
                for t, v in row.items()),
    claims=(
        Claim("\"training more sub-nets with AST reduces the total training effort with the cost of the "
              "marginally degraded accuracy, especially in the high sparsity models (e.g., 98% "
              "sparsity)\": each sub-net's top-1 falls as sub-nets are added", "002 Sec. 4.4, Table 5",
              Monotone(metric="val_top1", along="n_subnets", direction=-1)),
        Claim("... marginally: from 2 to 5 sub-nets each sub-net loses at most 1 point (Table 5: 0.07 at "
              "70%, 0.58 at 98%; the bound is ours)", "002 Sec. 4.4, Table 5",
              LosesAtMost(metric="val_top1", by="n_subnets", a=5, b=2, tolerance=1.0)),
        Claim("... especially at 98%: the loss from 2 to 5 sub-nets is larger at 98% than at 70% "
              "(Table 5: 0.58 against 0.07)", "002 Sec. 4.4, Table 5",
              GainGrows(metric="val_top1", along="n_subnets", by="subnet", low=0.7, high=0.98, direction=-1)),
        Claim("\"Given the tradeoffs between accuracy and total training cost, training three sub-nets have "
              "the best overall performance.\" A judgement weighing accuracy against a cost Table 5 gives "
              "no number for: no numeric check", "002 Sec. 4.4"),
    ),
    notes=("Individually trained: 95.11 (70%), 94.94 (80%), 94.93 (90%), 94.88 (95%), 94.50 (98%).",),
)

# 002 Table 4: inference time per 10K CIFAR-10 images on an NVIDIA 3090 (FP32, NVIDIA ASP), dense
# 1.40 s; 2:4 1.01, 3:4 0.67, 7:8 0.66, 15:16 0.63 s (zeros per group), as speed-ups over dense.
_T4 = "002 Table 4 (3090 GPU, FP32)"
_T4_TIMES = {(2, 4): 1.01, (1, 4): 0.67, (1, 8): 0.66, (1, 16): 0.63}
AST_TABLE4_SPEED = Artefact(
    name="ast_table4_speed", target="ast-table4-speed", paper="002", label="Table 4 (time)", kind=SPEEDUP,
    twin=False,
    title="Paper 002, Table 4: inference time of the N:M sub-nets (as speed-up over dense)",
    setup=("ResNet-18 / CIFAR-10; the paper times 10K images on an NVIDIA 3090 GPU (FP32): 1.40 s dense. "
           "Ours: the same N:M masks (acdc-bench counts nonzeros: 2:4, 1:4, 1:8, 1:16) on the engines at "
           "hand: DeepSparse on the CPU, batch 64 (inference=cuda: 2:4 kernels, which skip at most half)."),
    cells=tuple(Cell({"distribution.n": n, "distribution.m": m}, {"speedup_deepsparse_b64": 1.40 / t}, _T4,
                     label=f"{m - n}:{m} (paper's zeros:group)") for (n, m), t in _T4_TIMES.items()),
    notes=("The paper's numbers are GPU times with its own kernels; they are set beside ours for the shape "
           "of the curve (gains flatten beyond 2:4 on sparse tensor cores), not as the same measurement.",),
)


AST_FIG4 = Artefact(
    name="ast_fig4_inner_products", target="ast-fig4", paper="002", label="Fig. 4", kind=SWEEP,
    title="Paper 002, Figure 4: negative vs positive inner products of consecutive sub-nets' gradients",
    setup="Wide ResNet-32 / CIFAR-10; only plotted.",
    claims=(Claim("A share of negative inner products remains throughout training", "002 Sec. 3.1",
                  Above(metric="negative_inner_product_fraction", threshold=0.0, rows={}, reduce="min")),))
AST_FIG6 = Artefact(
    name="ast_fig6_subnet_layers", target="ast-fig6", paper="002", label="Fig. 6", kind=ANALYZED,
    title="Paper 002, Figure 6: layer-wise sparsity and connection dissimilarity of two ND sub-nets",
    setup="ResNet-32 / CIFAR-10; only plotted.",
    claims=(Claim("The sub-nets' connections differ more than their sparsities (XOR share > sparsity gap; "
                  "per run the mean over layers of XOR share − |sparsity gap| in points, "
                  "analysis=subnet_dissimilarity: 0 exactly when one sub-net's mask contains the other's)",
                  "002 Sec. 3.3",
                  Above(metric="@subnet_dissimilarity:margin", threshold=0.0, where={"subnet": 0.9})),))
AST_FIG7 = Artefact(
    name="ast_fig7_adjustment", target="ast-fig7", paper="002", label="Fig. 7", kind=SWEEP,
    title="Paper 002, Figure 7: the 98% sub-net's accuracy with the default and an extended Δτ",
    setup="ResNet-32 / CIFAR-10; only plotted.",
    claims=(Claim("An extended adjustment period stabilises the 98% sub-net early in training (our measure: "
                  "the mean |change| of its top-1 between consecutive epochs of the first half of training, "
                  "the high-LR part the paper points at, falls as Δτ grows)", "002 Sec. 3.4",
                  Monotone(metric="early_val_top1_change", along="method.adjustment_period", direction=-1,
                           where={"subnet": 0.98})),))


ARTEFACTS = (AST_TABLE1, AST_TABLE2, AST_TABLE3, AST_TABLE4, AST_TABLE5, AST_TABLE4_SPEED, AST_FIG4, AST_FIG6,
             AST_FIG7)
