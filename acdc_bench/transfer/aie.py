"""Average Increase in Error (paper 001 App. F, Eq. 5, after its reference [33]).

For each downstream task t, the model's error and the baseline's (error = 1 - the task's
accuracy metric, top-1 or mean per-class), the increase relative to the baseline's error;
AIE is their mean over the tasks. Negative: less error than the baseline on average.
Normalising by the baseline's error weighs a task near 100% accuracy (Pets) like one near
50% (Aircraft).
"""

from __future__ import annotations

from collections.abc import Mapping


def increase_in_error(model_acc: float, baseline_acc: float) -> float:
    """``(Err_model - Err_baseline) / Err_baseline`` for one task (accuracies as fractions)."""
    base_err = 1.0 - float(baseline_acc)
    if base_err <= 0:
        raise ValueError("the baseline has no error on this task: the relative increase is undefined")
    return ((1.0 - float(model_acc)) - base_err) / base_err


def average_increase_in_error(model: Mapping[str, float], baseline: Mapping[str, float]) -> float:
    """Eq. 5 over the tasks both have (accuracies by task name, as fractions)."""
    tasks = [t for t in model if t in baseline]
    if not tasks:
        raise ValueError("no downstream task shared by the model and the baseline")
    return sum(increase_in_error(model[t], baseline[t]) for t in tasks) / len(tasks)
