"""Verdicts with uncertainty: the intervals on hand-made numbers, the verdict of one comparison and
of a statement, seed aggregation (never across configs, never one seed twice), and ``SEEDS=N``.

Student-t quantiles below are the printed tables' (t(0.975, 2) = 4.303, t(0.975, 4) = 2.776).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess

import pytest
from conftest import ROOT
from test_reports import FIG3_LAYOUT, _cfg, _done, _write_sweep

from acdc_bench.artefacts import PUBLISHED, Claim
from acdc_bench.artefacts.checks import BestAmong, GainGrows, Pairwise
from acdc_bench.reports import claims, dispatch, load_report
from acdc_bench.reports.stats import Interval, contrast_interval, mean_interval, t_quantile, welch_interval
from acdc_bench.reports.verdicts import (
    AT_MOST,
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    UNCHECKED,
    WITHIN,
    Comparison,
    combine,
    judge,
)


# ----------------------------------------------------------------------------- intervals
def test_t_quantiles_match_the_printed_table():
    assert t_quantile(1) == pytest.approx(12.706, abs=1e-3)
    assert t_quantile(2) == pytest.approx(4.303, abs=1e-3)
    assert t_quantile(4) == pytest.approx(2.776, abs=1e-3)
    assert t_quantile(1e9) == pytest.approx(1.960, abs=1e-3)


def test_mean_interval_by_hand():
    ci = mean_interval([1.0, 2.0, 3.0])  # mean 2, s 1: 2 ± 4.303 / sqrt(3)
    assert ci.estimate == 2.0
    assert (ci.low, ci.high) == (pytest.approx(2 - 4.303 / math.sqrt(3), abs=1e-3),
                                 pytest.approx(2 + 4.303 / math.sqrt(3), abs=1e-3))
    one = mean_interval([0.7])  # one seed: the value, no interval
    assert one.estimate == 0.7 and (one.low, one.high) == (-math.inf, math.inf) and not one.bounded
    assert math.isnan(mean_interval([]).estimate)
    same = mean_interval([0.5, 0.5, 0.5])  # no spread: the degenerate interval
    assert (same.low, same.high) == (0.5, 0.5)


def test_welch_interval_by_hand():
    # a: mean 12, var 4 (n 3); b: mean 2, var 2 (n 2): se² = 4/3 + 2/2 = 7/3,
    # df = (7/3)² / ((4/3)²/2 + 1²/1) = 49/17, t(0.975, 49/17) = 3.2572
    d = welch_interval([10.0, 12.0, 14.0], [1.0, 3.0])
    half = 3.2572 * math.sqrt(7 / 3)
    assert d.estimate == 10.0
    assert (d.low, d.high) == (pytest.approx(10 - half, abs=1e-3), pytest.approx(10 + half, abs=1e-3))
    # equal samples: a tie, df 4
    tie = welch_interval([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert tie.estimate == 0.0 and tie.high == pytest.approx(2.776 * math.sqrt(2 / 3), abs=1e-3)
    assert tie.low == -tie.high


def test_welch_with_one_seed_or_no_spread():
    one = welch_interval([91.0], [10.0, 11.0, 12.0])  # 80 points apart, but one seed on a side
    assert one.estimate == 80.0 and not one.bounded
    assert welch_interval([1.0, 1.0], [0.0, 0.0]) == Interval(1.0, 1.0, 1.0)
    assert welch_interval([1.0, 1.0], [1.0, 1.0]) == Interval(0.0, 0.0, 0.0)
    assert math.isnan(welch_interval([], [1.0]).estimate)


# ----------------------------------------------------------------------------- verdicts
def _cmp(low: float, high: float, sign: int = 1, kind: str = "order", tol: float = 0.0,
         seeds: tuple[int, int] = (3, 3)) -> Comparison:
    return Comparison("a − b", Interval((low + high) / 2, low, high), seeds, kind, sign, tol)


def test_an_ordering_holds_fails_or_is_inconclusive():
    assert _cmp(0.5, 1.5).verdict == HOLDS
    assert _cmp(-1.5, -0.5).verdict == FAILS
    assert _cmp(-0.5, 1.0).verdict == INCONCLUSIVE
    assert _cmp(0.0, 1.0).verdict == INCONCLUSIVE  # zero on the edge: not excluded
    assert _cmp(0.0, 0.0).verdict == INCONCLUSIVE  # a tie without spread
    assert _cmp(-1.5, -0.5, sign=-1).verdict == HOLDS  # "lower is better": a − b < 0 claimed
    assert _cmp(0.5, 1.5, sign=-1).verdict == FAILS
    one_seed = Comparison("a − b", welch_interval([99.0], [1.0, 2.0]), (1, 2))
    assert one_seed.verdict == INCONCLUSIVE and "no interval: 1 seed" in one_seed.text()


def test_bounds_stated_by_the_paper():
    assert _cmp(-0.1, 0.2, kind=AT_MOST, tol=0.2).verdict == HOLDS  # "adds at most 0.2"
    assert _cmp(0.3, 0.9, kind=AT_MOST, tol=0.2).verdict == FAILS
    assert _cmp(0.1, 0.9, kind=AT_MOST, tol=0.2).verdict == INCONCLUSIVE
    assert _cmp(-0.5, 0.7, kind=WITHIN, tol=0.75).verdict == HOLDS  # "all within 0.75"
    assert _cmp(0.8, 1.2, kind=WITHIN, tol=0.75).verdict == FAILS
    assert _cmp(-1.2, -0.8, kind=WITHIN, tol=0.75).verdict == FAILS
    assert _cmp(0.5, 1.2, kind=WITHIN, tol=0.75).verdict == INCONCLUSIVE


def test_a_statement_combines_its_comparisons():
    assert combine([]) == UNCHECKED
    assert combine([HOLDS, HOLDS]) == HOLDS
    assert combine([HOLDS, INCONCLUSIVE]) == INCONCLUSIVE
    assert combine([HOLDS, INCONCLUSIVE, FAILS]) == FAILS  # universal statements: one failure suffices
    weak, strong = _cmp(0.1, 2.0), _cmp(3.0, 4.0)
    v = judge([strong, weak], "steps")
    assert v.verdict == HOLDS and v.detail == "2 of 2 steps hold" and v.shown is weak  # the weakest shown
    v = judge([strong, _cmp(-1.0, 1.0), _cmp(-3.0, -2.0, seeds=(2, 5))], "steps")
    assert v.verdict == FAILS and v.shown is not None and v.shown.diff.high == -2.0
    assert v.detail.startswith("1 of 3 steps hold; fails: a − b: -2.50 [-3.00, -2.00]; inconclusive: ")
    assert v.seeds == "2-5"
    assert judge([], "steps").verdict == UNCHECKED and judge([], "steps").difference == "-"


# ----------------------------------------------------------------------------- seeds and configs
def test_seeds_of_one_config_are_averaged_different_configs_never(tmp_path):
    """Two learning rates land in one table cell (acdc, 80%, 1x): each stays its own config, with
    its own two seeds, in the entries and in every comparison a verdict rests on."""
    jobs = []
    for lr, base in ((0.5, 0.80), (0.1, 0.60)):
        for k, jitter in enumerate((-0.001, 0.001)):
            jobs.append((["method=acdc", f"optim.lr={lr}", f"seed={k}"], _cfg("acdc", 0.8, 1, k, lr=lr),
                         _done(base + jitter)))
    for k, jitter in enumerate((-0.001, 0.001)):
        jobs.append((["method=gmp", f"seed={k}"], _cfg("gmp", 0.8, 1, k), _done(0.70 + jitter)))
    rep = load_report(_write_sweep(tmp_path / "s", jobs, report=FIG3_LAYOUT))
    acdc = {e.coords["optim.lr"]: e for e in rep.entries if e.coords["method.name"] == "acdc"}
    assert acdc[0.5].stat("val_top1")[::2] == (pytest.approx(80.0), 2)
    assert acdc[0.1].stat("val_top1")[::2] == (pytest.approx(60.0), 2)
    claim = Claim("", "", Pairwise(metric="val_top1", by="method.name", a="acdc", b="gmp"))
    v = dispatch.check(claim, rep.entries, "epoch_multiplier")
    # gmp ran with lr 0.5 only: the lr-0.5 acdc config is its one comparison, seeds 2 and 2
    [c] = v.comparisons
    assert c.seeds == (2, 2) and c.diff.estimate == pytest.approx(10.0) and "lr=0.5" in c.label
    assert v.verdict == HOLDS and v.seeds == "2"


def test_a_seed_run_twice_is_not_a_second_sample(tmp_path):
    """A sweep first run with its one default seed (no ``seed=`` override), then with ``SEEDS=2``
    into the same directory: seed 0 is on disk twice and must not count as two seeds."""
    jobs = [(["method=gmp"], _cfg("gmp", 0.8, 1, 0), _done(0.70)),  # the earlier sweep's job
            (["method=gmp", "seed=0"], _cfg("gmp", 0.8, 1, 0), _done(0.70)),
            (["method=gmp", "seed=1"], _cfg("gmp", 0.8, 1, 1), _done(0.72))]
    rep = load_report(_write_sweep(tmp_path / "s", jobs, report=FIG3_LAYOUT))
    counts = sorted(e.stat("val_top1")[2] for e in rep.entries)
    assert counts == [1, 2]
    for e in rep.entries:
        seeds = [r.seed for r in e.group.finished]
        assert len(seeds) == len(set(seeds))


# ----------------------------------------------------------------------------- SEEDS=N in the Makefile
def _make_overrides(*args: str) -> list[str]:
    """The overrides ``make -n`` would pass to ``acdc-bench -m`` (printed, nothing run)."""
    out = subprocess.run(["make", "-n", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    cmd = out.replace("\\\n", " ")
    start = cmd.index("acdc-bench -m") + len("acdc-bench -m")
    return cmd[start:cmd.index(";", start)].split()


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_seeds_2_runs_two_seeds_of_every_twin_config():
    from hydra import compose, initialize_config_dir
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    from acdc_bench.config import register_resolvers, validate

    overrides = _make_overrides("fig3", "SCALE=cpu", "SEEDS=2")
    assert "experiment=fig3_methods_cpu" in overrides and "seed=0,1" in overrides
    assert "seed=0,1" not in " ".join(_make_overrides("fig3", "SCALE=cpu"))  # unset: the config's seeds
    register_resolvers()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        fixed = [str(o.input_line) for o in OverridesParser.create().parse_overrides(overrides)
                 if not o.is_sweep_override()]
        head = compose("config", overrides=fixed, return_hydra_config=True)
        params = OmegaConf.to_container(head.hydra.sweeper.params) or {}
        args = [f"{k}={v}" for k, v in params.items()] + overrides  # the command line wins, as in Hydra
        points = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(args), None)[0]
        by_config: dict[tuple, list[str]] = {}
        for point in points:
            rest = tuple(sorted(o for o in point if not o.startswith("seed=")))
            by_config.setdefault(rest, []).extend(o for o in point if o.startswith("seed="))
        assert len(by_config) > 1 and all(sorted(s) == ["seed=0", "seed=1"] for s in by_config.values())
        for point in points[:2]:  # compose (no training): each seed's config is valid
            cfg = compose("config", overrides=list(point))
            validate(cfg)
            assert cfg.seed in (0, 1) and cfg.report.name == "fig3_methods_cpu"


# ----------------------------------------------------------------------------- one config's own values
def _own_sweep(tmp_path, per_seed: list[dict], rows: list[list[dict]] | None = None,
               analysis: list[dict] | None = None, method: str = "acdc"):
    """One config (acdc, 90%), one job per seed: ``per_seed[k]`` its final values, ``rows[k]`` its
    per-epoch rows, ``analysis[k]`` its ``analysis/interpolation.json`` entries."""
    jobs = [([f"seed={k}"], _cfg(method, 0.9, 1, k), {"status": "finished", "final": {"val_top1": 0.5, **v}})
            for k, v in enumerate(per_seed)]
    sweep = _write_sweep(tmp_path / "s", jobs, report={"name": "mini", "rows": ["method.name"]})
    for k, job in enumerate(sorted(d for d in sweep.iterdir() if d.is_dir())):
        if rows is not None:
            (job / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[k]))
        if analysis is not None:
            (job / "analysis").mkdir()
            (job / "analysis" / "interpolation.json").write_text(
                json.dumps({"analysis": "interpolation", "settings": {}, "entries": analysis[k]}))
    return load_report(sweep).entries


def _verdict(entries, check: str, **args):
    return dispatch.check(Claim("", "", dispatch.BY_NAME[check](**args)), entries, None)


@pytest.mark.parametrize("values, want", [
    ([0.3, 0.31, 0.29], HOLDS),  # clearly above 0.2: 0.3 ± 4.303 · 0.01 / sqrt(3)
    ([0.1, 0.11, 0.09], FAILS),  # clearly below
    ([0.3], INCONCLUSIVE),  # one seed: no interval
    ([0.2, 0.2, 0.2], INCONCLUSIVE),  # exactly at the threshold without spread: a tie
    ([0.1, 0.3, 0.25], INCONCLUSIVE),  # the threshold inside the interval
])
def test_above_a_threshold_is_a_one_sample_interval(tmp_path, values, want):
    es = _own_sweep(tmp_path, [{"barrier": v} for v in values])
    v = _verdict(es, "above", metric="barrier", threshold=0.2)
    assert v.verdict == want
    [c] = v.comparisons
    assert c.diff.estimate == pytest.approx(sum(values) / len(values) - 0.2)
    if len(values) == 3 and want != INCONCLUSIVE:
        half = 4.303 * 0.01 / math.sqrt(3)
        assert c.diff.high - c.diff.estimate == pytest.approx(half, abs=1e-4)
    assert _verdict(es, "above", metric="barrier", threshold=0.2, direction=-1).verdict == {
        HOLDS: FAILS, FAILS: HOLDS}.get(want, INCONCLUSIVE)
    assert _verdict(es, "above", metric="not_logged").verdict == UNCHECKED


def test_a_exceeds_b_is_paired_by_seed(tmp_path):
    # seeds differ a lot (1, 2, 3) but A is B + 0.1 (±0.01) in every seed: Welch could not tell,
    # the per-seed difference can
    es = _own_sweep(tmp_path, [{"a": b + d, "b": b} for b, d in ((1.0, 0.09), (2.0, 0.1), (3.0, 0.11))])
    v = _verdict(es, "exceeds", a="a", b="b")
    [c] = v.comparisons
    assert v.verdict == HOLDS and c.diff.estimate == pytest.approx(0.1) and c.seeds == (3, 3)
    assert c.diff.high - 0.1 == pytest.approx(4.303 * 0.01 / math.sqrt(3), abs=1e-4)
    assert welch_interval([1.09, 2.1, 3.11], [1.0, 2.0, 3.0]).low < 0  # the unpaired interval straddles 0
    assert _verdict(es, "exceeds", a="b", b="a").verdict == FAILS


def test_a_exceeds_b_ties_and_one_seed_are_inconclusive(tmp_path):
    tie = _own_sweep(tmp_path / "tie", [{"a": x, "b": x} for x in (1.0, 2.0, 3.0)])
    assert _verdict(tie, "exceeds", a="a", b="b").verdict == INCONCLUSIVE
    one = _own_sweep(tmp_path / "one", [{"a": 5.0, "b": 1.0}])
    v = _verdict(one, "exceeds", a="a", b="b")
    assert v.verdict == INCONCLUSIVE and "no interval: 1 seed" in v.difference


def test_per_phase_values_of_one_run(tmp_path):
    """mem000's statement: in compression phases mem_true > mem_corrupted, in decompression the reverse
    (per seed, the mean over the phase's epochs; warm-up rows are in neither)."""
    def rows(k: float) -> list[dict]:
        return [{"epoch": 0, "stage": "warmup", "mem_true": 0.9, "mem_corrupted": 0.0},
                {"epoch": 1, "stage": "compression", "mem_true": 0.6 + k, "mem_corrupted": 0.3},
                {"epoch": 2, "stage": "decompression", "mem_true": 0.3, "mem_corrupted": 0.5 + k},
                {"epoch": 3, "stage": "compression", "mem_true": 0.5 + k, "mem_corrupted": 0.4}]
    es = _own_sweep(tmp_path, [{}] * 3, rows=[rows(k) for k in (0.0, 0.01, 0.02)])
    claim = PUBLISHED["mem000"].claims[0]
    v = dispatch.check(claim, es, None)
    assert v.verdict == HOLDS and len(v.comparisons) == 2
    sparse = next(c for c in v.comparisons if "compression" in c.label and "decomp" not in c.label)
    assert sparse.diff.estimate == pytest.approx(0.55 + 0.01 - 0.35)  # mean over epochs 1 and 3, seeds
    flipped = _own_sweep(tmp_path / "f", [{}] * 3, rows=[[{**r, "stage": {"compression": "decompression",
                         "decompression": "compression"}.get(r["stage"], r["stage"])} for r in rows(k)]
                         for k in (0.0, 0.01, 0.02)])
    assert dispatch.check(claim, flipped, None).verdict == FAILS


def test_barrier_per_segment_and_its_trend(tmp_path):
    def seg(b1: float, b2: float) -> dict:
        return {"segment_19_29": {"barrier": {"train_loss": b2}},
                "segment_9_19": {"barrier": {"train_loss": b1}}}
    es = _own_sweep(tmp_path, [{}] * 3, analysis=[seg(0.1 + j, 0.3 + j) for j in (0.0, 0.01, 0.02)])
    above, trend = PUBLISHED["fig10_interpolation"].claims
    v = dispatch.check(above, es, None)
    assert v.verdict == HOLDS and [c.label.split(", ")[-1] for c in v.comparisons] == [
        "segment_9_19 − 0", "segment_19_29 − 0"]  # in time order, not the file's
    t = dispatch.check(trend, es, None)
    [c] = t.comparisons
    assert t.verdict == HOLDS and c.diff.estimate == pytest.approx(0.2) and c.label.startswith(
        "segment_19_29 − segment_9_19")
    flat = _own_sweep(tmp_path / "flat", [{}] * 3, analysis=[seg(0.0, 0.0)] * 3)
    assert dispatch.check(above, flat, None).verdict == INCONCLUSIVE  # a zero barrier: a tie
    assert dispatch.check(trend, flat, None).verdict == INCONCLUSIVE


def test_a_of_one_config_exceeds_b_of_another(tmp_path):
    """agree000: the AC/DC run's co-trained agreement against the dense run's post-training one."""
    jobs = []
    for k in range(3):
        jobs.append((["method=acdc", f"seed={k}"], _cfg("acdc", 0.9, 1, k),
                     {"status": "finished", "final": {"val_top1": 0.7}}))
        jobs.append((["method=dense", f"seed={k}"], _cfg("dense", 0.9, 1, k),
                     {"status": "finished", "final": {"val_top1": 0.7}}))
    sweep = _write_sweep(tmp_path / "s", jobs, report={"name": "mini", "rows": ["sparsity"],
                                                       "column": "method.name"})
    for i, job in enumerate(sorted(d for d in sweep.iterdir() if d.is_dir())):
        j = (-0.002, 0.0, 0.002)[i // 2]
        entry = ({"co_trained": {"agreement": 0.95 + j}} if "acdc" in job.name
                 else {"post_training": {"agreement": 0.90 + j}})
        (job / "analysis").mkdir()
        (job / "analysis" / "agreement.json").write_text(json.dumps({"entries": {"final": entry}}))
    es = load_report(sweep).entries
    v = dispatch.check(PUBLISHED["agree000"].claims[0], es, "method.name")
    [c] = v.comparisons
    assert v.verdict == HOLDS and c.diff.estimate == pytest.approx(5.0) and c.seeds == (3, 3)


def test_pairwise_ignores_the_coordinates_the_sides_differ_in_by_design(tmp_path):
    """Table E.4: a sparse full model against a dense one at another width and sparsity. Without
    ``ignore`` no context holds both sides; with it, the two configs are compared."""
    jobs = []
    for k, (a, b) in enumerate(((0.80, 0.70), (0.81, 0.71), (0.79, 0.69))):
        jobs.append((["method=acdc", "sparsity=0.95", f"seed={k}"], _cfg("acdc", 0.95, 1, k), _done(a)))
        jobs.append((["method=dense", "sparsity=0.0", f"seed={k}"], _cfg("dense", 0.0, 1, k), _done(b)))
    layout = {"name": "e4", "rows": ["method.name", "sparsity"]}
    entries = load_report(_write_sweep(tmp_path / "s", jobs, report=layout)).entries
    args = {"metric": "val_top1", "by": "method.name", "a": "acdc", "b": "dense"}
    assert dispatch.check(Claim("", "", Pairwise(**args)), entries, None).verdict == UNCHECKED
    v = dispatch.check(Claim("", "", Pairwise(**{**args, "ignore": ["sparsity"]})), entries, None)
    assert v.verdict == HOLDS and v.comparisons[0].diff.estimate == pytest.approx(10.0)


def test_best_among_ignores_a_coordinate_that_moves_with_the_compared_one(tmp_path):
    """Table C.2: the compression length and the decompression length change together; without
    ``ignore`` every config is alone in its context and nothing is compared."""
    jobs = []
    for k in range(3):
        for comp, dec, top1 in ((2, 8, 0.70), (5, 5, 0.80), (8, 2, 0.75)):
            cfg = {**_cfg("acdc", 0.95, 1, k), "method": {"name": "acdc", "compression_phase_epochs": comp,
                                                          "decompression_phase_epochs": dec}}
            over = [f"method.compression_phase_epochs={comp}", f"method.decompression_phase_epochs={dec}",
                    f"seed={k}"]
            jobs.append((over, cfg, _done(top1 + 0.001 * k)))
    layout = {"name": "c2", "rows": ["method.compression_phase_epochs", "method.decompression_phase_epochs"]}
    entries = load_report(_write_sweep(tmp_path / "s", jobs, report=layout)).entries
    args = {"metric": "val_top1", "by": "method.compression_phase_epochs", "expect": 5}
    assert dispatch.check(Claim("", "", BestAmong(**args)), entries, None).verdict == UNCHECKED
    v = dispatch.check(Claim("", "", BestAmong(**{**args, "ignore": ["method.decompression_phase_epochs"]})),
                     entries, None)
    assert v.verdict == HOLDS and len(v.comparisons) == 2


def test_contrast_interval_by_hand_and_welch_as_its_two_term_case():
    # (H1 - H0) - (L1 - L0): means 14, 10, 5, 4 -> 3; variances 4, 1, 1, 4 (n 3 each):
    # se² = (4 + 1 + 1 + 4) / 3 = 10/3, df = (10/3)² / ((16 + 1 + 1 + 16) / 9 / 2) = 100/17
    h1, h0, l1, l0 = [12.0, 14.0, 16.0], [9.0, 10.0, 11.0], [4.0, 5.0, 6.0], [2.0, 4.0, 6.0]
    d = contrast_interval([(1.0, h1), (-1.0, h0), (-1.0, l1), (1.0, l0)])
    half = t_quantile(100 / 17) * math.sqrt(10 / 3)
    assert d.estimate == 3.0 and t_quantile(100 / 17) == pytest.approx(2.4588, abs=1e-3)  # 6 df: 2.447
    assert (d.low, d.high) == (pytest.approx(3 - half), pytest.approx(3 + half))
    # two terms are Welch's interval, bit for bit; one seed anywhere: no interval
    a, b = [10.0, 12.0, 14.0], [1.0, 3.0]
    assert contrast_interval([(1.0, a), (-1.0, b)]) == welch_interval(a, b)
    assert not contrast_interval([(1.0, h1), (-1.0, [9.0]), (-1.0, l1), (1.0, l0)]).bounded
    assert math.isnan(contrast_interval([(1.0, h1), (-1.0, [])]).estimate)


def test_gain_grows_compares_the_budget_gain_between_sparsities(tmp_path):
    """'More so at higher sparsity': the 5 -> 10 epoch gain at 95% minus the gain at 90%, per method."""
    def runs(method, sparsity, epochs, top1):
        return [([f"method={method}", f"sparsity={sparsity}", f"epochs={epochs}", f"seed={k}"],
                 {**_cfg(method, sparsity, 1, k), "epochs": epochs}, _done(top1 + (-0.002, 0.0, 0.002)[k]))
                for k in range(3)]

    # gmp: +1 at 90%, +4 at 95% (grows by 3); rigl: +2 at both (a tie)
    jobs = (runs("gmp", 0.9, 5, 0.80) + runs("gmp", 0.9, 10, 0.81) + runs("gmp", 0.95, 5, 0.70)
            + runs("gmp", 0.95, 10, 0.74) + runs("rigl", 0.9, 5, 0.80) + runs("rigl", 0.9, 10, 0.82)
            + runs("rigl", 0.95, 5, 0.70) + runs("rigl", 0.95, 10, 0.72))
    layout = {**FIG3_LAYOUT, "column": "epochs"}
    rep = load_report(_write_sweep(tmp_path / "s", jobs, report=layout))
    claim = Claim("", "", GainGrows(metric="val_top1", along="epochs", by="sparsity", low=0.9, high=0.95))
    v = dispatch.check(claim, rep.entries, "epochs")
    by_method = {c.label.split("method=")[1]: c for c in v.comparisons}
    assert by_method["gmp"].diff.estimate == pytest.approx(3.0) and by_method["gmp"].verdict == claims.HOLDS
    assert by_method["rigl"].diff.estimate == pytest.approx(0.0, abs=1e-9)
    assert by_method["rigl"].verdict == claims.INCONCLUSIVE and v.verdict == claims.INCONCLUSIVE
    assert by_method["gmp"].label == "(epochs 10 − 5) at 95% − at 90% at method=gmp"
    assert v.seeds == "3"
