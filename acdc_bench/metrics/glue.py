"""The GLUE metrics of paper 001 Table H.7, as pure functions of all predictions of a split.

Accuracy, F1 of the positive class, Matthews correlation, Pearson and Spearman correlation,
computed with scikit-learn and SciPy (``evaluate`` would fetch its metric code from the Hub
at run time). Each takes predictions and labels as 1-D numpy arrays and returns a float;
:data:`METRICS` names them as the configs do (``dataset.metrics``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(pred == labels)) if len(labels) else float("nan")


def f1(pred: np.ndarray, labels: np.ndarray) -> float:
    """F1 of class 1 (MRPC's "paraphrase", QQP's "duplicate"), as GLUE reports it."""
    from sklearn.metrics import f1_score

    return float(f1_score(labels, pred, pos_label=1, average="binary", zero_division=0.0))


def matthews(pred: np.ndarray, labels: np.ndarray) -> float:
    """Matthews correlation coefficient (CoLA); 0 when a class is never predicted."""
    from sklearn.metrics import matthews_corrcoef

    return float(matthews_corrcoef(labels, pred))


def _correlation(fn: Callable, pred: np.ndarray, labels: np.ndarray) -> float:
    if len(labels) < 2 or np.all(pred == pred[0]) or np.all(labels == labels[0]):
        return 0.0  # a constant prediction correlates with nothing (SciPy would return nan)
    return float(fn(pred, labels)[0])


def pearson(pred: np.ndarray, labels: np.ndarray) -> float:
    from scipy.stats import pearsonr

    return _correlation(pearsonr, pred, labels)


def spearman(pred: np.ndarray, labels: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return _correlation(spearmanr, pred, labels)


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": accuracy, "f1": f1, "matthews": matthews, "pearson": pearson, "spearman": spearman,
}
REGRESSION_METRICS = ("pearson", "spearman")
