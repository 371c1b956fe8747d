"""The guard on the committed reports: every CPU twin's fingerprint (its first sweep point's
first steps at three epochs, acdc_bench/fingerprint.py), recomputed and compared exactly with
``results/<twin>/fingerprint.json``.

A failure here means the training code now makes other numbers than the ones the committed
reports were made with: remake the reports (docs/reproducibility.md), then ``make
fingerprints``; or, when the change is meant not to move the reports' numbers and does,
find out why before touching a fingerprint."""

from __future__ import annotations

import json

import pytest

from acdc_bench import fingerprint as fp

TWINS = fp.twins()


def test_every_twin_has_a_fingerprint():
    assert len(TWINS) >= 30
    missing = [t for t in TWINS if not fp.path(t).is_file()]
    assert not missing, f"no fingerprint for {missing}: run `make fingerprints`"


@pytest.mark.parametrize("twin", TWINS)
def test_fingerprint_matches_the_committed_one(twin):
    saved = json.loads(fp.path(twin).read_text())
    now = fp.compute(twin)
    assert len(now["losses"]) == len(fp.stretches(fp.first_point(now["experiment"]).epochs)) * fp.STEPS
    diffs = fp.compare(saved, now)
    assert not diffs, (f"{twin}: the training code no longer makes the committed report's numbers "
                       f"({'; '.join(diffs)}): remake the report, then `make fingerprints`")


def test_a_change_of_the_numbers_is_caught(monkeypatch):
    """The same twin with another learning rate (as a code change of the recipe would give) differs."""
    twin = "fig3_methods_cpu"
    saved = json.loads(fp.path(twin).read_text())
    first_point = fp.first_point

    def other_lr(experiment):
        cfg = first_point(experiment)
        cfg.optim.lr = float(cfg.optim.lr) * 1.01
        return cfg

    monkeypatch.setattr(fp, "first_point", other_lr)
    now = fp.compute(twin)
    assert [d.split(":")[0] for d in fp.compare(saved, now)] == ["losses", "weights_abs_sum"]
    assert now["losses"][0] == saved["losses"][0]  # the first loss is taken before any step
