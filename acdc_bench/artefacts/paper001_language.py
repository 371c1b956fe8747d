"""Paper 001 (AC/DC++) Sec. 4: sparse transfer of BERT on GLUE, Tables 6 and 7, Figures 11 and 12,
typed in from ``shared/papers/001``; each cell cites its table. Metrics are GLUE's dev-set scores
x 100 at the early-stopping epoch (``best_val_*``: summary.json's ``best`` row). Also the upstream
sweep of the CPU twins (``bert_pretrain_cpu``: no paper artefact, no statement).

Table 7's Prune OFA [79] and oBERT [43] rows are other papers' results, reproduced there: they
sit on no sweep point of ours (``where`` names a ``row`` key no run has) and are shown beside ours.
"""

from __future__ import annotations

from typing import Any

from acdc_bench.artefacts.checks import Monotone, Pairwise
from acdc_bench.artefacts.spec import BERT, SUITE, Artefact, Cell, Claim

TASKS = ("rte", "qnli", "mrpc", "sst2", "cola", "stsb", "mnli", "qqp")
# Table 6's metric per task (MRPC: accuracy there; Table 7 adds F1)
T6_METRIC = {"rte": "best_val_accuracy", "qnli": "best_val_accuracy", "mrpc": "best_val_accuracy",
             "sst2": "best_val_accuracy", "cola": "best_val_matthews", "stsb": "best_val_pearson",
             "mnli": "best_val_accuracy", "qqp": "best_val_accuracy"}
_T6 = "001 Table 6"
_T6_ROWS = {  # label: (sparsity, values in TASKS order)
    "Dense BERT-base (baseline)": (0.0, (66.1, 91.3, 85.5, 93.0, 56.8, 88.9, 84.6, 91.5)),
    "Dense-transfer recipe": (0.9, (52.4, 88.9, 82.8, 91.2, 42.5, 87.1, 82.2, 90.0)),
    "Extended dense-transfer recipe (8 ep)": (0.9, (55.2, 88.7, 85.6, 91.4, 47.2, 87.6, 81.6, 90.3)),
    "Full sweep of rescaled recipes": (0.9, (57.0, 89.3, 84.1, 92.0, 48.5, 88.0, 82.2, 90.4)),
}
T6_BEST_LENGTH = {"rte": 5, "qnli": 2, "mrpc": 5, "sst2": 2, "cola": 7, "stsb": 4, "mnli": 3, "qqp": 5}
_T6_EPOCHS = {"Dense BERT-base (baseline)": None, "Dense-transfer recipe": 3,
              "Extended dense-transfer recipe (8 ep)": 8, "Full sweep of rescaled recipes": None}


def _t6_cells() -> tuple[Cell, ...]:
    cells = []
    for label, (sparsity, values) in _T6_ROWS.items():
        for task, v in zip(TASKS, values, strict=True):
            epochs = _T6_EPOCHS[label] or (T6_BEST_LENGTH[task] if sparsity else 3)
            where: dict[str, Any] = {"dataset.task": task, "sparsity": sparsity, "epochs": epochs}
            cells.append(Cell(where, {T6_METRIC[task]: v}, _T6, label=label))
    return tuple(cells)


_UNDERTRAINED = Claim(
    "Under the dense-transfer recipe, sparse models trail the dense model (Sec. 4.1: up to 14 points on RTE "
    "and CoLA).", "001 Sec. 4.1, Table 6",
    Pairwise(metric="best_metric", by="sparsity", a=0.0, b=0.9, where={"epochs": 3}))
_TRAIN_LOSS = Claim(
    "Extending the recipe drives the training loss towards zero (the over-fitting regime).",
    "001 Sec. 4.2", Monotone(metric="train_loss", along="epochs", direction=-1, where={"sparsity": 0.9}))
_OVERFIT = Claim(
    "... while validation quality falls: past the best length the final epoch's validation loss rises with "
    "the recipe's length.", "001 Sec. 4.2",
    Monotone(metric="val_loss", along="epochs", direction=1, where={"sparsity": 0.9, "epochs": [5, 6, 7, 8]}))

TABLE6 = Artefact(
    name="table6_bert_rescaled", target="table6", paper="001", label="Table 6", kind=BERT,
    title="Paper 001, Table 6: 90% sparse BERT-base, dense-transfer recipe and its rescalings, GLUE dev",
    setup="oBERT's 90% sparse upstream BERT-base [43], dense-transfer recipe (linear LR decay) rescaled to "
          "1..8 epochs, early stopping; the full-sweep row sits at the paper's best length per task.",
    cells=_t6_cells(), claims=(_UNDERTRAINED, _TRAIN_LOSS, _OVERFIT),
    notes=("Best recipe length (Table 6): " + ", ".join(f"{t} {n} ep" for t, n in T6_BEST_LENGTH.items()),))

_T7 = "001 Table 7"
# row -> task -> {metric: value}; N/A cells are left out
_T7_ROWS: dict[str, dict[str, dict[str, float]]] = {
    "Dense BERT-base": {"rte": {"acc": 66.1}, "qnli": {"acc": 91.3}, "mrpc": {"f1": 89.8, "acc": 85.5},
                        "sst2": {"acc": 93.0}, "cola": {"mcc": 56.8}, "stsb": {"pear": 88.9, "spear": 88.5},
                        "mnli": {"acc": 84.6, "mm": 83.4}, "qqp": {"acc": 91.5, "f1": 88.5}},
    "Prune OFA [79]": {"qnli": {"acc": 89.1}, "sst2": {"acc": 90.9}, "mnli": {"acc": 81.5, "mm": 82.4},
                       "qqp": {"acc": 90.9, "f1": 87.6}},
    "oBERT [43]": {"rte": {"acc": 57.0}, "qnli": {"acc": 89.3}, "mrpc": {"f1": 89.3, "acc": 85.6},
                   "sst2": {"acc": 92.0}, "cola": {"mcc": 48.5}, "stsb": {"pear": 88.0, "spear": 87.6},
                   "mnli": {"acc": 82.2, "mm": 82.5}, "qqp": {"acc": 90.4, "f1": 87.1}},
    "This work (gradual unfreezing)": {
        "rte": {"acc": 60.1}, "qnli": {"acc": 90.5}, "mrpc": {"f1": 89.7, "acc": 85.2}, "sst2": {"acc": 91.8},
        "cola": {"mcc": 51.4}, "stsb": {"pear": 87.2, "spear": 87.1}, "mnli": {"acc": 83.7, "mm": 83.8},
        "qqp": {"acc": 90.9, "f1": 87.6}},
}
_T7_NAMES = {"acc": "best_val_accuracy", "f1": "best_val_f1", "mcc": "best_val_matthews",
             "pear": "best_val_pearson", "spear": "best_val_spearman", "mm": "best_val_accuracy_mm"}


def _t7_cells() -> tuple[Cell, ...]:
    cells = []
    for label, tasks in _T7_ROWS.items():
        for task, values in tasks.items():
            where: dict[str, Any] = {"dataset.task": task}
            if label.startswith("This work"):
                where["recipe.name"] = "gradual_unfreezing"
            else:
                where["row"] = label  # another paper's number: no sweep point of ours
            cells.append(Cell(where, {_T7_NAMES[k]: v for k, v in values.items()}, _T7, label=label))
    return tuple(cells)


TABLE7 = Artefact(
    name="table7_bert_transfer", target="table7", paper="001", label="Table 7", kind=BERT,
    title="Paper 001, Table 7: sparse transfer with gradual unfreezing vs Prune OFA and oBERT, GLUE dev",
    setup="90% sparse upstream BERT-base; gradual unfreezing, LR rewound each epoch; grid LR "
          "{1e-4, 2e-4, 3e-4} x dropout {0.05, 0.1}; the paper reports the mean of the two best runs "
          "per task.",
    cells=_t7_cells(),
    claims=(Claim(
        "\"our approach outperforms highly competitive results by Prune OFA in all, and oBERT in eight out "
        "of twelve datasets\": gradual unfreezing beats oBERT's recipe (the rescaled dense-transfer sweep) "
        "on every task. Checked where a sweep has a dense-transfer arm (this artefact's CPU twin, the "
        "fig11/fig12 twins), each recipe at its best LR; Prune OFA (distillation from a dense teacher) is "
        "not implemented", "001 Sec. 4.3, Table 7",
        Pairwise(metric="best_metric", by="recipe.name", a="gradual_unfreezing", b="dense_transfer",
                 best_over="optim.lr")),),
    notes=("Prune OFA and oBERT rows are those papers' results as Table 7 quotes them.",))

_GU_VS_RESCALED = Claim(
    "Gradual unfreezing matches or beats the rescaled dense-transfer recipe (Sec. 4.3: better than oBERT "
    "in 8 of 12 GLUE metrics, with a 6-point grid instead of 24).", "001 Sec. 4.3, Table 7",
    Pairwise(metric="best_metric", by="recipe.name", a="gradual_unfreezing", b="dense_transfer",
             best_over="optim.lr"))  # each recipe at its best LR when the sweep has several (the CPU twins)


def _figure(n: int, name: str, task: str, metric: str) -> Artefact:
    return Artefact(
        name=name, target=f"fig{n}", paper="001", label=f"Fig. {n}", kind=BERT,
        title=f"Paper 001, Figure {n}: evaluation loss and {metric} per epoch on {task}, ours vs oBERT",
        setup="90% sparse BERT-base; gradual unfreezing vs the rescaled dense-transfer recipe; curves only "
              "(no numbers are read off the plot).",
        claims=(_GU_VS_RESCALED,))


BERT_PRETRAIN_CPU = Artefact(
    name="bert_pretrain_cpu", target=None, paper="001", label="Sec. 4 (upstream)", kind=SUITE, twin=False,
    title="Upstream models of the BERT CPU twins (not a paper artefact)",
    setup="bert_tiny pre-trained with masked-LM on CPython's pydoc_data.topics, dense and GMP to 90%.")

ARTEFACTS = (TABLE6, TABLE7, _figure(11, "fig11_bert_mrpc", "MRPC", "F1"),
             _figure(12, "fig12_bert_cola", "CoLA", "Matthews correlation"), BERT_PRETRAIN_CPU)
