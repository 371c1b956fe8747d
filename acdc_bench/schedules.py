"""Recipe schedules as pure functions of epoch or step.

Pure schedules make resume exact (nothing to restore but the counter) and make the
recipe testable against the numbers the papers state (AC/DC++ Appendix A, the FFCV
ImageNet recipe).
"""

from __future__ import annotations

import numpy as np


def lr_at_step(
    step: int,
    steps_per_epoch: int,
    epochs: int,
    peak_lr: float,
    peak_epoch: float,
    start_fraction: float = 1e-4,
) -> float:
    """Linear warm-up to ``peak_lr`` at ``peak_epoch``, then linear decay to 0 at the end.

    As in the FFCV ImageNet recipe the schedule is a function of the fractional epoch
    ``step / steps_per_epoch``; it starts at ``start_fraction * peak_lr`` and reaches 0
    when training ends, so the last step uses ``peak_lr / ((epochs - peak_epoch) * steps_per_epoch)``.
    """
    t = step / steps_per_epoch
    peak_epoch = min(peak_epoch, epochs)
    xs = [0.0, peak_epoch, float(epochs)]
    ys = [start_fraction * peak_lr, peak_lr, 0.0]
    if peak_epoch <= 0:
        xs, ys = [0.0, float(epochs)], [peak_lr, 0.0]
    return float(np.interp(t, xs, ys))


def resolution_at_epoch(
    epoch: int,
    epochs: int,
    min_res: int,
    max_res: int,
    start_ramp: float,
    end_ramp: float,
    multiple: int = 32,
) -> int:
    """Training resolution for progressive resizing.

    ``start_ramp`` and ``end_ramp`` are fractions of ``epochs``. Before the ramp the
    resolution is ``min_res``, from ``end_ramp`` on it is ``max_res``, in between a linear
    ramp rounded to a multiple of ``multiple`` (FFCV). With ``start_ramp == end_ramp == 0.8``
    this is the AC/DC++ step: ``min_res`` for the first 80% of epochs, ``max_res`` after.
    """
    if min_res == max_res:
        return int(min_res)
    start, end = start_ramp * epochs, end_ramp * epochs
    if epoch < start:
        return int(min_res)
    if epoch >= end:
        return int(max_res)
    res = np.interp(epoch, [start, end], [min_res, max_res])
    return int(np.round(res / multiple)) * multiple
