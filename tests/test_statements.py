"""Issue 24: the statements attached to AST Tables 4 and 5 and paper 001 Table 7, the checks they
use (``loses_at_most``, ``gain_grows`` with a direction) and the realized-sparsity flags."""

from __future__ import annotations

import pytest

from acdc_bench.artefacts import PUBLISHED, Claim
from acdc_bench.artefacts.checks import CostRatio, GainGrows, LosesAtMost
from acdc_bench.reports import claims, dispatch, realized
from acdc_bench.reports.sweep import FINISHED, Group, Run
from acdc_bench.reports.tables import Entry


def _entry(coords: dict, top1: list[float], subnet: float | None = None) -> Entry:
    runs = [Run((), config={"seed": i}, status=FINISHED) for i in range(len(top1))]
    return Entry(coords, Group(str(coords), {}, runs), subnet, {"val_top1": top1})


def test_the_three_reports_carry_statements_with_numeric_checks():
    for name in ("ast_table4_nm", "ast_table5_subnets", "table7_bert_transfer"):
        checks = [c.check for c in PUBLISHED[name].claims]
        assert checks and any(type(c) in dispatch.CHECKERS for c in checks), name
        assert all(c.text.startswith(('"', "...")) for c in PUBLISHED[name].claims), name  # quoted


def test_loses_at_most_holds_fails_and_stays_open_by_the_interval():
    claim = Claim("", "", LosesAtMost(metric="val_top1", by="n_subnets", a=4, b=1, tolerance=1.0))
    alone = _entry({"n_subnets": 1, "subnet": 0.5}, [0.800, 0.801, 0.799], 0.5)
    close = _entry({"n_subnets": 4, "subnet": 0.5}, [0.798, 0.799, 0.797], 0.5)  # 0.2 points behind
    far = _entry({"n_subnets": 4, "subnet": 0.5}, [0.760, 0.761, 0.759], 0.5)  # 4 points behind
    noisy = _entry({"n_subnets": 4, "subnet": 0.5}, [0.80, 0.75, 0.82], 0.5)
    assert dispatch.check(claim, [alone, close], "subnet").verdict == claims.HOLDS
    assert dispatch.check(claim, [alone, far], "subnet").verdict == claims.FAILS
    assert dispatch.check(claim, [alone, noisy], "subnet").verdict == claims.INCONCLUSIVE
    v = dispatch.check(claim, [alone, far], "subnet")
    assert v.comparisons[0].diff.estimate == pytest.approx(4.0, abs=1e-6)  # b − a, in points


def test_gain_grows_with_direction_minus_one_wants_the_larger_loss_at_high():
    args = {"metric": "val_top1", "along": "n_subnets", "by": "subnet", "low": 0.7, "high": 0.98}
    es = [_entry({"n_subnets": 2, "subnet": 0.7}, [0.750, 0.751, 0.749], 0.7),
          _entry({"n_subnets": 5, "subnet": 0.7}, [0.740, 0.741, 0.739], 0.7),  # loses 1 point at 70%
          _entry({"n_subnets": 2, "subnet": 0.98}, [0.700, 0.701, 0.699], 0.98),
          _entry({"n_subnets": 5, "subnet": 0.98}, [0.650, 0.651, 0.649], 0.98)]  # loses 5 at 98%
    down = dispatch.check(Claim("", "", GainGrows(**{**args, "direction": -1})), es, "subnet")
    up = dispatch.check(Claim("", "", GainGrows(**args)), es, "subnet")
    assert down.verdict == claims.HOLDS and up.verdict == claims.FAILS


def _ast_run(target: float, sparsity: float, pattern: str, densities: list[float]) -> Run:
    sub = {"target_sparsity": target, "pattern": pattern, "sparsity": sparsity, "layer_densities": densities}
    layers = [{"name": "a", "shape": [16, 8, 3, 3]}, {"name": "b", "shape": [16, 16, 3, 3]}]
    return Run((), config={"method.name": "ast", "distribution.keep_dense": ["first"]}, status=FINISHED,
               summary={"subnets": [sub], "layers": layers})


def test_realized_sparsity_far_from_its_target_is_flagged_with_the_nm_reason():
    runs = [_ast_run(0.9375, 0.871, "1:16", [1.0, 0.0625]) for _ in range(2)]
    e = Entry({"subnet": 0.9375}, Group("g", {}, runs), 0.9375, {})
    ok = Entry({"subnet": 0.5}, Group("h", {}, [_ast_run(0.5, 0.499, "2:4", [0.5, 0.5])]), 0.5, {})
    found, checked = realized.flags([e, ok])
    assert checked == 2 and len(found) == 1
    assert found[0].realized == [0.871, 0.871] and found[0].target == 0.9375
    assert "does not divide by 16" in found[0].why and "(a)" in found[0].why  # layer a: 8 inputs
    text = "\n".join(realized.section([e, ok]))
    assert "## Realized sparsity" in text and "87.1%" in text and "93.75%" in text


def test_realized_sparsity_of_a_masked_method_and_an_unexplained_gap():
    def run(sparsity: float) -> Run:
        return Run((), config={"method.name": "gmp", "sparsity": 0.9}, status=FINISHED,
                   summary={"final": {"sparsity": sparsity}})

    good = Entry({"sparsity": 0.9}, Group("a", {}, [run(0.899)]), None, {})
    bad = Entry({"sparsity": 0.9}, Group("b", {}, [run(0.85)]), None, {})
    found, checked = realized.flags([good, bad])
    assert checked == 2 and len(found) == 1 and found[0].why.startswith("unexplained")
    plain = Run((), config={"method.name": "dense", "sparsity": 0.9}, status=FINISHED,
                summary={"final": {"sparsity": 0.0}})
    dense = Entry({}, Group("c", {}, [plain]), None, {})
    assert realized.flags([dense]) == ([], 0)
    assert "No config of this sweep has a sparsity target" in "\n".join(realized.section([dense]))


def test_a_run_sparser_than_its_target_is_explained_by_its_checkpointed_mask(tmp_path):
    """The mask the run ended with (packed in its last checkpoint) is at the target: the extra zeros
    are kept weights that are exactly zero (fig6's block4 runs)."""
    import numpy as np
    import torch

    mask = np.ones(80, dtype=bool)
    mask[:72] = False  # 90% pruned
    (tmp_path / "checkpoints").mkdir()
    masks = {"packed": torch.from_numpy(np.packbits(mask)), "total": 80, "version": 3}
    torch.save({"method": {"masks": masks}}, tmp_path / "checkpoints" / "last.pt")

    def run(job_dir) -> Run:
        return Run((), config={"method.name": "acdc", "sparsity": 0.9}, job_dir=job_dir, status=FINISHED,
                   summary={"final": {"sparsity": 0.9125, "zero_grad_share": 0.99}})

    found, _ = realized.flags([Entry({"sparsity": 0.9}, Group("a", {}, [run(tmp_path)]), None, {})])
    assert found[0].why == (
        "its mask is at 90.0%, the target; the other 1.2 points are weights the mask keeps that are exactly "
        "zero: dead units, zeroed by an earlier compression and never moved off zero since (0.99 of its "
        "pruned weights have a zero gradient)")
    assert realized.mask_sparsity(run(tmp_path)) == pytest.approx(0.9)
    # no checkpoint (runs pruned of their checkpoints): said so, not guessed
    found, _ = realized.flags([Entry({"sparsity": 0.9}, Group("b", {}, [run(tmp_path / "gone")]), None, {})])
    assert found[0].why == "unexplained: sparser than its target"


def test_cost_ratio_adds_up_the_individual_runs_against_the_joint_one():
    def group(n: int, subnets: list[float], flops: float) -> list[Entry]:
        subs = [{"target_sparsity": t, "training_flops_fraction": flops} for t in subnets]
        runs = [Run((), config={"seed": s}, status=FINISHED, summary={"subnets": subs}) for s in range(3)]
        g = Group(str(subnets), {}, runs)
        return [Entry({"n_subnets": n, "subnet": t}, g, t, {}) for t in subnets]

    es = group(4, [0.5, 0.75], 0.4) + group(1, [0.5], 0.6) + group(1, [0.75], 0.4)
    args = {"metric": "training_flops_fraction", "by": "n_subnets", "a": 4, "b": 1, "tolerance": 0.5}
    near = dispatch.check(Claim("", "", CostRatio(**{**args, "expect": 2.5})), es, "subnet")
    assert near.verdict == claims.HOLDS  # (0.6 + 0.4) / 0.4 = 2.5, the joint run counted once
    assert near.comparisons[0].diff.estimate == pytest.approx(0.0)
    far = dispatch.check(Claim("", "", CostRatio(**{**args, "expect": 4.0})), es, "subnet")
    assert far.verdict == claims.FAILS
