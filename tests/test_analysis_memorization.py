"""Label corruption (dataset.corrupt_labels) and AC/DC's split phases (paper 001 App. C)."""

from __future__ import annotations

import json

import pytest
import torch
from omegaconf import OmegaConf

from acdc_bench.data import build_data
from acdc_bench.data.corruption import corrupt
from acdc_bench.data.datasets import DataSettings
from acdc_bench.errors import ConfigError
from acdc_bench.sparsity.methods.acdc import acdc_phases, resolve_warmup


def test_corrupted_set_is_seeded_and_never_the_true_label():
    labels = torch.randint(0, 10, (5000,), generator=torch.Generator().manual_seed(1))
    new, idx, true = corrupt(labels, 0.05, 10, seed=3)
    again, idx2, _ = corrupt(labels, 0.05, 10, seed=3)
    other, idx3, _ = corrupt(labels, 0.05, 10, seed=4)
    assert len(idx) == 250 and torch.equal(idx, idx2) and torch.equal(new, again)
    assert not torch.equal(idx, idx3)
    assert torch.equal(true, labels[idx]) and bool((new[idx] != labels[idx]).all())
    untouched = torch.ones(len(labels), dtype=torch.bool)
    untouched[idx] = False
    assert torch.equal(new[untouched], labels[untouched]) and bool((new < 10).all())


def _digits(corrupt_labels: float | None):
    from conftest import ROOT
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["dataset=digits"])
    OmegaConf.set_struct(cfg, False)  # as +dataset.corrupt_labels=... on the command line
    if corrupt_labels is not None:
        cfg.dataset.corrupt_labels = corrupt_labels
    return cfg


def test_build_data_corrupts_training_labels_only_and_records_them():
    plain = build_data(_digits(None), torch.device("cpu"), in_order=True)
    bad = build_data(_digits(0.1), torch.device("cpu"), in_order=True)
    assert plain.probes == () and plain.artefacts == {}
    record = json.loads(bad.artefacts["corrupted_labels.json"])
    idx = torch.tensor(record["indices"])
    a, b = plain.train.labels, bad.train.labels
    assert len(idx) == round(0.1 * len(a)) and torch.equal(a[idx], torch.tensor(record["true"]))
    assert bool((b[idx] != a[idx]).all()) and int((a != b).sum()) == len(idx)
    assert torch.equal(plain.val.labels, bad.val.labels)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    shares = bad.probes[0].measure(model)
    assert set(shares) == {"mem_corrupted", "mem_true", "mem_other"}
    assert sum(shares.values()) == pytest.approx(1.0)


def test_corrupt_labels_needs_an_in_memory_classification_set():
    cfg = OmegaConf.merge(_digits(0.05), {"dataset": {"loader": "torchvision"}})
    assert DataSettings.read(cfg).corrupt_labels == 0.05
    with pytest.raises(ConfigError, match="dataset.corrupt_labels=1.5"):
        DataSettings.read(_digits(1.5))


def test_split_phases_keep_the_equal_plan_and_fill_the_run():
    assert acdc_phases(100, 10, 5, 10, 15) == acdc_phases(100, 10, 5, 10, 15, 5, 5)
    for c, d in ((2, 8), (8, 2)):
        w = resolve_warmup(50, None, 5, 2, 3, c, d)
        plan = acdc_phases(50, w, 5, 2, 3, c, d)
        assert [p.end for p in plan[:-1]] == [p.start for p in plan[1:]] and plan[-1].end == 50
        middle = [p for p in plan if not p.final and p.stage != "warmup"]
        assert {p.end - p.start for p in middle if p.stage == "compression"} == {c}
        assert {p.end - p.start for p in middle if p.stage == "decompression"} == {d}
    once = acdc_phases(50, 5, 5, 0, 0, 1, 0)  # sparse fraction 1: prune after warm-up, never dense again
    assert [p.stage for p in once] == ["warmup"] + ["compression"] * 45
