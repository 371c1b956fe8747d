"""Paper 002's sub-net analyses: Fig. 6's per-layer XOR of two AST sub-nets' masks
(analysis=subnet_dissimilarity, checked against masks decoded by hand from last.pt) and
Fig. 7's early-training variability of a sub-net's accuracy (a report metric)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_cli, trained_run

from acdc_bench import checkpoint as ckpt

ARGS = ["dataset=digits", "model=resnet20", "model.width=0.25", "method=ast", "method.relation=nd",
        "method.subnet_sparsities=[0.5,0.9]", "epochs=2", "trainer.progress=false"]
ENV = {"OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def ast_run(tmp_path_factory) -> Path:
    return trained_run(tmp_path_factory.mktemp("ast") / "run", *ARGS)


def _hand_masks(run: Path, order: list[str], numels: list[int]) -> list[dict[str, np.ndarray]]:
    """Each sub-net's masks straight from last.pt's packed bits (layers back to back, in order)."""
    state = ckpt.load(run / "checkpoints" / "last.pt")
    out = []
    for saved in state["method"]["masks"]:
        bits = np.unpackbits(saved["packed"].numpy()).astype(bool)
        offsets = np.cumsum([0, *numels])
        out.append({n: bits[offsets[i]:offsets[i + 1]] for i, n in enumerate(order)})
    return out


def test_subnet_dissimilarity_is_the_xor_of_the_saved_masks(ast_run):
    out = run_cli("task=analyze", "analysis=subnet_dissimilarity", f"run_dir={ast_run}", env=ENV)
    assert out.returncode == 0, out.stderr
    res = json.loads((ast_run / "analysis" / "subnet_dissimilarity.json").read_text())["entries"]["final"]
    assert res["subnets"] == [0.5, 0.9]
    order, layers = res["order"], res["layers"]
    a, b = _hand_masks(ast_run, order, [layers[n]["weights"] for n in order])
    for n in order:
        got = layers[n]
        assert got["xor_share"] == (a[n] ^ b[n]).sum() / a[n].size
        assert got["sparsity_a"] == pytest.approx(1 - a[n].mean())
        assert got["sparsity_b"] == pytest.approx(1 - b[n].mean())
        assert got["sparsity_gap"] == pytest.approx(got["sparsity_b"] - got["sparsity_a"])
        assert abs(got["sparsity_gap"]) <= got["xor_share"] + 1e-12 <= 1 + 1e-12  # |a^b| >= ||a| - |b||
    total = sum(layers[n]["weights"] for n in order)
    dense_share = {k: sum(m[n].sum() for n in order) / total for k, m in (("0.5", a), ("0.9", b))}
    subnets = json.loads((ast_run / "summary.json").read_text())["subnets"]
    summary = {str(s["target_sparsity"]): s for s in subnets}
    for key, share in dense_share.items():  # the masks are the sub-nets': their weights lie inside them
        assert 1 - share == pytest.approx(float(key), abs=0.02)
        saved = torch.load(ast_run / summary[key]["checkpoint"], weights_only=False)["model"]
        mask = a if key == "0.5" else b
        assert all(not (saved[n].flatten().numpy() != 0)[~mask[n]].any() for n in order)
    xor = np.mean([layers[n]["xor_share"] for n in order])
    gap = np.mean([abs(layers[n]["sparsity_gap"]) for n in order])
    assert res["margin"] == pytest.approx(xor - gap) and res["margin"] > 0  # ND: not nested


def test_subnet_dissimilarity_errors_are_one_line(ast_run):
    out = run_cli("task=analyze", "analysis=subnet_dissimilarity", f"run_dir={ast_run}",
                  "analysis.epochs=[1]", env=ENV)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "analysis.epochs" in out.stderr
    out = run_cli("task=analyze", "analysis=subnet_dissimilarity", f"run_dir={ast_run}",
                  "analysis.subnets=[0.5,0.95]", env=ENV)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "analysis.subnets" in out.stderr


def test_early_change_is_the_mean_step_of_the_first_half():
    from acdc_bench.reports.sweep import FINISHED, Run
    from acdc_bench.reports.tables import run_value

    accs = [0.2, 0.5, 0.3, 0.6, 0.7, 0.9]  # epochs 0..5 of 6: the first half is epochs 0..3
    rows = [{"epoch": e, "val_top1": 0.0, "subnets": {"0.5": {"val_top1": 0.0}, "0.98": {"val_top1": a}}}
            for e, a in enumerate(accs)]
    run = Run(("seed=0",), status=FINISHED, rows=rows)
    assert run_value(run, "early_val_top1_change", 0.98) == pytest.approx((0.3 + 0.2 + 0.3) / 3)
    assert run_value(run, "early_val_top1_change", 0.5) == 0.0
    assert run_value(run, "early_val_top1_change") == 0.0  # no sub-net: the row's own top-1


def test_a_subnets_training_flops_fraction_is_the_whole_runs():
    """AST's sub-nets are trained by one run: each sub-net's training-FLOPs fraction is the run's
    (summary.json keeps it once, beside training_flops_parts), which Table 4's cost statement needs."""
    from acdc_bench.reports.sweep import FINISHED, Run
    from acdc_bench.reports.tables import run_value

    summary = {"training_flops_fraction": 0.42, "training_flops_parts": {"0.5": 8.0, "0.75": 6.0},
               "subnets": [{"target_sparsity": 0.5, "val_top1": 0.8},
                           {"target_sparsity": 0.75, "val_top1": 0.7}]}
    run = Run(("seed=0",), status=FINISHED, summary=summary)
    fraction = "training_flops_fraction"
    assert run_value(run, fraction, 0.5) == run_value(run, fraction, 0.75) == 0.42
    assert run_value(run, "training_flops", 0.75) == 6.0 and run_value(run, "val_top1", 0.75) == 0.7
    assert run_value(run, "val_loss", 0.75) is None
