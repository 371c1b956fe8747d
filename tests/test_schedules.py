"""The recipe's schedules against the numbers AC/DC++ Appendix A (the FFCV recipe) states."""

import math

import pytest

from acdc_bench.schedules import lr_at_step, resolution_at_epoch


def imagenet_lr(step, spe=1251, epochs=100):
    return lr_at_step(step, spe, epochs, peak_lr=0.5, peak_epoch=2)


def test_lr_peaks_at_epoch_two_and_decays_linearly_to_zero():
    spe = 1251  # ImageNet at batch 1024
    assert imagenet_lr(0) == pytest.approx(0.5e-4)
    assert imagenet_lr(spe) == pytest.approx((0.5e-4 + 0.5) / 2)  # halfway through the warm-up
    assert imagenet_lr(2 * spe) == pytest.approx(0.5)
    # halfway through the decay (epoch 51 of 100) the LR is half the peak
    assert imagenet_lr(51 * spe) == pytest.approx(0.25)
    last = imagenet_lr(100 * spe - 1)
    assert 0 < last < 1e-5
    assert imagenet_lr(100 * spe) == 0.0


def test_lr_is_computed_per_step_not_per_epoch():
    spe = 100
    a, b = lr_at_step(500, spe, 10, 1.0, 2), lr_at_step(501, spe, 10, 1.0, 2)
    assert b < a
    assert a - b == pytest.approx(1.0 / (8 * spe))


def test_lr_warmup_is_monotone_and_decay_is_monotone():
    lrs = [lr_at_step(s, 10, 20, 0.5, 2) for s in range(200)]
    peak = lrs.index(max(lrs))
    assert peak == 20
    assert all(x < y for x, y in zip(lrs[:peak], lrs[1 : peak + 1], strict=True))
    assert all(x > y for x, y in zip(lrs[peak:], lrs[peak + 1 :], strict=False))


def test_resolution_step_160_then_192_at_80_percent():
    res = [resolution_at_epoch(e, 100, 160, 192, 0.8, 0.8) for e in range(100)]
    assert res[:80] == [160] * 80
    assert res[80:] == [192] * 20
    # 1000 epochs (AC/DC++ 10x): the switch scales with the schedule
    res = [resolution_at_epoch(e, 1000, 160, 192, 0.8, 0.8) for e in range(1000)]
    assert res.index(192) == 800


def test_resolution_linear_ramp_rounds_to_multiples_of_32():
    res = [resolution_at_epoch(e, 88, 160, 256, 0.1, 0.9) for e in range(88)]
    assert res[0] == 160 and res[-1] == 256
    assert all(r % 32 == 0 for r in res)
    assert res == sorted(res)
    assert {160, 192, 224, 256} <= set(res)
    mid = resolution_at_epoch(44, 88, 160, 256, 0.1, 0.9)
    assert mid == 32 * round((160 + 96 * (44 - 8.8) / (79.2 - 8.8)) / 32)


def test_fixed_resolution_when_min_equals_max():
    assert {resolution_at_epoch(e, 10, 28, 28, 0.8, 0.8) for e in range(10)} == {28}


@pytest.mark.parametrize("epochs", [1, 3, 8])
def test_short_schedules_stay_finite(epochs):
    lrs = [lr_at_step(s, 5, epochs, 0.2, 1) for s in range(5 * epochs)]
    assert all(math.isfinite(x) and x >= 0 for x in lrs)
    assert max(lrs) <= 0.2
