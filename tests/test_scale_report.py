"""The scale study's report (issue 24): parts read from a committed table.csv when their runs are
not here, the base configuration in every factor, and the weighted trend against log2(width)."""

from __future__ import annotations

import math
import re
import subprocess

import pytest
from test_reports import _write_sweep

from acdc_bench.reports import suite
from acdc_bench.reports.scale_data import STUDY_KEYS, Config, Moments, study_coords
from acdc_bench.reports.scale_points import factor_points, study_points
from acdc_bench.reports.scale_width import width_fits, width_paragraph
from acdc_bench.reports.stats import contrast_interval, contrast_moments, t_quantile
from acdc_bench.reports.trend import weighted_trend


# ----------------------------------------------------------------------------- the trend fit
def test_weighted_trend_on_a_line_gives_its_slope_and_the_errors_own_interval():
    # y = 1 + 2x exactly, se 1: s² = 0 is not credited, so the half-width is t(2) · sqrt(1 / Sxx), Sxx = 5
    t = weighted_trend([0, 1, 2, 3], [1, 3, 5, 7], [1, 1, 1, 1])
    assert t.slope.estimate == pytest.approx(2.0) and t.intercept == pytest.approx(1.0)
    half = t_quantile(2) * math.sqrt(1 / 5)
    assert half == pytest.approx(1.9242, abs=1e-4)
    assert (t.slope.low, t.slope.high) == pytest.approx((2 - half, 2 + half))
    assert t.points == 4 and t.dispersion == pytest.approx(0.0)


def test_weighted_trend_widens_by_the_scatter_and_weighs_by_the_errors():
    # (0, 0), (1, 2), (2, 1), se 1: slope 0.5, residuals -0.5, 1, -0.5, s² = 1.5 / 1, Sxx = 2
    t = weighted_trend([0, 1, 2], [0, 2, 1], [1, 1, 1])
    assert t.slope.estimate == pytest.approx(0.5) and t.dispersion == pytest.approx(1.5)
    assert t.slope.high - 0.5 == pytest.approx(t_quantile(1) * math.sqrt(1.5 / 2))
    assert t.slope.high - 0.5 == pytest.approx(11.004, abs=1e-3)
    # a far-off point with a huge error barely moves the line; one without an error is left out
    t = weighted_trend([0, 1, 2, 3, 4], [0, 2, 4, 100, -50], [1, 1, 1, 1e6, math.inf])
    assert t.slope.estimate == pytest.approx(2.0, abs=1e-6) and t.points == 4
    two = weighted_trend([0, 1], [0, 3], [1, 1])
    assert two.slope.estimate == pytest.approx(3.0) and not two.slope.bounded
    assert weighted_trend([1, 1, 1], [0, 1, 2], [1, 1, 1]) is None  # one distinct x
    assert weighted_trend([0], [0], [1]) is None


def test_contrast_from_moments_is_the_interval_from_the_values():
    a, b = [80.1, 79.7, 80.6], [82.0, 82.3, 81.8, 82.1]
    m = [(sum(x) / len(x), sum((v - sum(x) / len(x)) ** 2 for v in x) / (len(x) - 1), len(x)) for x in (a, b)]
    want = contrast_interval([(1.0, a), (-1.0, b)])
    got = contrast_moments([(1.0, *m[0]), (-1.0, *m[1])])
    assert (got.estimate, got.low, got.high) == pytest.approx((want.estimate, want.low, want.high))
    assert not contrast_moments([(1.0, 80.0, math.nan, 1), (-1.0, *m[1])]).bounded


# ----------------------------------------------------------------------------- the base in every factor
def _config(part: str, method: str, top1: float, dead: float = 0.1, sd: float = 0.5, **coords) -> Config:
    given = {k.replace("__", "."): v for k, v in coords.items()}
    return Config(part, study_coords(method, given, part, True),
                  {"val_top1": Moments(top1, sd * sd, 3), "zero_grad_share": Moments(dead, 0.0004, 3)})


def _pool() -> list[Config]:
    pool = []
    for e, (a, g, r) in {6: (83.0, 85.0, 83.5), 8: (82.7, 85.4, 84.0), 16: (83.9, 86.5, 85.6)}.items():
        pool += [_config("length", "acdc", a, 0.3, epochs=e), _config("length", "gmp", g, epochs=e),
                 _config("length", "rigl", r, epochs=e)]
    pool += [_config("weight_decay", m, v, optim__weight_decay=1e-4)
             for m, v in (("acdc", 83.8), ("gmp", 85.1), ("rigl", 84.0))]
    pool += [_config("distribution", m, v, distribution__name=d)
             for d, vals in (("erk", (84.5, 85.0, 84.05)), ("uniform", (81.4, 84.0, 83.9)))
             for m, v in zip(("acdc", "gmp", "rigl"), vals, strict=True)]
    # width: AC/DC − GMP = -2.7 + 1.0 · log2(width / 0.5) from 0.5 up (0.5 is the base, -2.7), -60 at 0.25
    pool += [_config("width", "acdc", 20.0, 0.9, model__width=0.25),
             _config("width", "gmp", 80.0, model__width=0.25),
             _config("width", "rigl", 79.0, model__width=0.25)]
    for w, k in ((1, 1), (2, 2)):
        pool += [_config("width_wide", "acdc", 90.0 - 2.7 + k, 0.3 - 0.1 * k, model__width=w),
                 _config("width_wide", "gmp", 90.0, model__width=w),
                 _config("width_wide", "rigl", 89.0, model__width=w),
                 _config("width_erk", "acdc", 91.0, model__width=w, distribution__name="erk"),
                 _config("width_erk", "gmp", 90.5, model__width=w, distribution__name="erk")]
    return pool


def test_every_factor_shows_the_base_point_from_the_length_sweep():
    pool = _pool()
    parts = ["length", "weight_decay", "distribution", "width", "width_wide", "width_erk"]
    points = study_points(pool, parts)
    base = [p for p in points if p.base]
    assert {p.factor for p in base} == {"length", "weight_decay", "width", "distribution"}
    for p in base:  # the length sweep's 8-epoch AC/DC against its GMP (global) and RigL (ERK)
        assert p.diff.estimate == pytest.approx({"gmp": 82.7 - 85.4, "rigl": 82.7 - 84.0}[p.vs])
        assert p.parts == "length" and p.dead.mean == pytest.approx(0.3)
    wd = [(p.label, p.vs) for p in points if p.factor == "weight_decay"]
    assert wd == [("0.0001", "gmp"), ("0.0001", "rigl"), ("0.0005", "gmp"), ("0.0005", "rigl")]
    dist = {(p.label, p.vs): p for p in points if p.factor == "distribution"}
    assert set(dist) == {(d, v) for d in ("erk", "global", "uniform") for v in ("gmp", "rigl")}
    assert dist["global", "rigl"].base and not dist["erk", "rigl"].base
    # the length part's 8-epoch configs are not a point of a factor none of whose parts is given
    assert {p.factor for p in study_points(pool, ["length"])} == {"length"}


def test_the_width_panel_gathers_three_parts_and_keeps_erk_apart():
    points = [p for p in study_points(_pool(), ["width", "width_wide", "width_erk", "length", "distribution"])
              if p.factor == "width"]
    glob = [(p.label, p.vs) for p in points if p.series == "global"]
    assert [lbl for lbl, vs in glob if vs == "gmp"] == ["0.25", "0.5", "1", "2"]
    erk = {(p.label, p.vs): p for p in points if p.series == "erk"}
    assert set(erk) == {(f"{w}, ERK", v) for w in ("0.5", "1", "2") for v in ("gmp", "rigl")}
    assert erk["0.5, ERK", "gmp"].parts == "distribution"
    # AC/DC ERK at width 1 against RigL at width 1: width_wide's (RigL's base is ERK)
    assert erk["1, ERK", "rigl"].parts == "width_erk + width_wide"
    assert erk["1, ERK", "rigl"].diff.estimate == pytest.approx(91.0 - 89.0)
    assert erk["1, ERK", "gmp"].diff.estimate == pytest.approx(91.0 - 90.5)
    assert [p.base for p in points if p.vs == "gmp" and p.series == "global"] == [False, True, False, False]


def test_the_width_trend_leaves_out_the_collapse_and_finds_the_known_slope():
    points = study_points(_pool(), ["width", "width_wide", "width_erk", "length", "distribution"])
    fits = {(f.series, f.quantity): f for f in width_fits(points)}
    gmp = fits["global", "gmp"]
    assert gmp.xs == [0.5, 1, 2]  # 0.25 left out
    assert gmp.trend.slope.estimate == pytest.approx(1.0) and gmp.trend.dispersion == pytest.approx(0.0)
    se = math.sqrt(2 * 0.25 / 3)  # two configs of sd 0.5, 3 seeds each; Sxx = 2 / se²
    assert gmp.trend.slope.high - 1.0 == pytest.approx(t_quantile(1) * se / math.sqrt(2))
    assert gmp.with_all.slope.estimate > 10  # with the collapse the slope is the collapse's
    dead = fits["global", "dead"]
    assert dead.ys == pytest.approx([0.3, 0.2, 0.1]) and dead.trend.slope.estimate == pytest.approx(-0.1)
    text = width_paragraph(list(fits.values()), points)
    assert "Left out: width 0.25, where AC/DC − GMP is -60.0 points" in text
    assert "AC/DC − GMP (papers' distributions (AC/DC, GMP global; RigL ERK)): -2.70 at width 0.5, " \
           "-0.70 at 2; slope +1.00 [" in text
    assert "interval signs by width 0.25 −, 0.5 −, 1 −, 2 0: the sign does not change" in text


def test_a_factor_of_acdc_alone_compares_with_its_parts_baselines_at_its_own_length():
    pool = [_config("phase", "acdc", 76.0, method__phase_epochs=p) for p in (1, 2)]
    pool += [_config("phase", "gmp", 85.8), _config("phase", "rigl", 85.0)]
    from acdc_bench.reports.scale_points import FACTORS

    phase = next(f for f in FACTORS if f.name == "phase")
    points = factor_points(phase, pool)
    assert [(p.label, p.vs, p.base) for p in points] == [
        ("1", "gmp", True), ("1", "rigl", True), ("2", "gmp", False), ("2", "rigl", False)]
    assert all(c.coords["epochs"] == 10 for c in pool)  # a committed phase table: its 10 epochs


# ----------------------------------------------------------------------------- the table.csv fallback
def test_a_part_without_runs_is_read_from_its_committed_table_with_the_commit(tmp_path):
    top1 = {("acdc", 6): 0.80, ("gmp", 6): 0.82, ("rigl", 6): 0.79,
            ("acdc", 8): 0.81, ("gmp", 8): 0.835, ("rigl", 8): 0.83}
    jitter = (-0.002, 0.0, 0.003)
    jobs = [([f"method={m}", f"epochs={e}", f"seed={k}"],
             {"method": {"name": m}, "epochs": e, "seed": k, "sparsity": 0.95,
              "trainer": {"progress": False}},
             {"status": "finished", "elapsed_s": 10.0,
              "final": {"val_top1": v + jitter[k],
                        "zero_grad_share": 0.25 + jitter[k] if m == "acdc" else 0.0}})
            for (m, e), v in top1.items() for k in range(3)]
    layout = {"name": "scale_study/length", "rows": ["method.name", "epochs"], "metric": "val_top1",
              "metrics": ["val_top1", "zero_grad_share"]}
    sweep = _write_sweep(tmp_path / "multirun" / "length", jobs, report=layout)
    out = tmp_path / "results" / "scale_study"
    assert suite.main(["scale", str(out), str(sweep)]) == 0
    from_runs = (out / "README.md").read_text()
    assert "- `length`: its runs (" in from_runs
    # the part's own report opens with its verdict (AC/DC trails GMP by 2 points at both lengths)
    part_md = (out / "length" / "table.md").read_text()
    verdicts = part_md.split("## Verdicts", 1)[1].split("\nExperiment `", 1)[0]
    assert "| fails | AC/DC − GMP at epochs=" in verdicts
    assert "1 of 4 comparisons hold" in verdicts  # AC/DC − RigL at 6 epochs: +1
    assert "| [length](length/table.md) | **fails** | AC/DC − GMP at epochs=" in from_runs
    assert "Our setup: epochs {6, 8} (swept)" in part_md  # from the runs, not the sweep's base config

    def rows(text: str) -> list[list[float]]:  # the differences with their intervals and dead shares
        cells = [ln.split("|") for ln in text.splitlines() if ln.startswith("| length |") and "AC/DC" in ln]
        return [[float(v) for v in re.findall(r"[-+]?\d+\.\d+", c[4] + " " + c[7])] for c in cells]

    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "results"], check=True)
    subprocess.run([*git, "commit", "-qm", "tables"], check=True)
    commit = subprocess.run([*git, "log", "-1", "--format=%h"], capture_output=True, text=True,
                            check=True).stdout.strip()
    missing = tmp_path / "elsewhere" / "length"  # the runs are not on this machine
    assert suite.main(["scale", str(out), str(missing)]) == 0
    from_table = (out / "README.md").read_text()
    # the same differences to the README's two decimals (the table keeps six significant digits)
    assert len(rows(from_runs)) == 4 and all(len(r) == 4 for r in rows(from_runs))
    assert rows(from_table) == [pytest.approx(r, abs=0.011) for r in rows(from_runs)]
    assert f"- `length`: its runs are not on the machine that wrote this README; read from `table.csv` " \
           f"as committed in {commit}" in from_table
    assert "| -2.50 [" in from_table and "(base) | AC/DC − GMP |" in from_table
    # the wall time comes from the README as committed; a part found nowhere is named
    assert "| length | 18 |" in from_table
    assert suite.main(["scale", str(out), str(missing), str(tmp_path / "nowhere" / "width_erk")]) == 0
    assert "- `width_erk`: neither runs nor a committed table: left out" in (out / "README.md").read_text()
    # written again from the table: the same report, one verdict section (not a second one), its
    # realized sparsity now planned from the part's configs (the runs being elsewhere)
    again = (out / "length" / "table.md").read_text()

    def without_realized(text: str) -> str:
        head, rest = text.split("\n## Realized sparsity", 1)
        return head + rest[rest.index("\n## Missing"):]

    assert without_realized(again) == without_realized(part_md)
    assert again.count("## Verdicts") == 1 and again.count("## Realized sparsity") == 1
    assert "All 9 configs with a sparsity target are within 0.5 points of it (planned:" in again


def test_a_part_read_from_its_table_states_what_it_sweeps_and_its_own_verdict(tmp_path):
    from acdc_bench.reports.planned import restate_setup
    from acdc_bench.reports.scale_verdicts import part_comparisons, splice_verdicts

    part = tmp_path / "width"
    part.mkdir()
    (part / "table.csv").write_text(
        "method.name,model.width,metric,ours_mean\n"
        + "".join(f"{m},{w},val_top1,80\n" for m in ("acdc", "gmp") for w in ("0.25", "0.75")))
    (part / "table.md").write_text(
        "# scale_study/width\n\n## Verdicts\n\nA part of the suite.\n\nExperiment `scale_study/width`: "
        "6 runs.\n\nOur setup: 8 epochs, dataset fashion_mnist, width 0.5, weight decay 0.0005, "
        "1x epochs 10.\n\n## Grid\n")
    restate_setup(part / "table.md", part / "table.csv")
    splice_verdicts(part / "table.md", ["| statement | verdict |", "| x | fails |"])
    splice_verdicts(part / "table.md", ["| statement | verdict |", "| y | holds |"])  # replaces, not adds
    assert (part / "table.md").read_text() == (
        "# scale_study/width\n\n## Verdicts\n\n| statement | verdict |\n| y | holds |\n\nExperiment "
        "`scale_study/width`: 6 runs.\n\nOur setup: 8 epochs, dataset fashion_mnist, width {0.25, 0.75} "
        "(swept), weight decay 0.0005, 1x epochs 10.\n\n## Grid\n")
    # a part's verdict takes its own AC/DC configs in its own factor's panel: the base (length's
    # 8 epochs) is judged once, in the length part, though every panel shows it
    points = study_points(_pool(), ["length", "weight_decay", "distribution", "width", "width_wide"])
    assert [c.label for c in part_comparisons(points, "width")] == [
        "AC/DC − GMP at model.width=0.25", "AC/DC − RIGL at model.width=0.25"]
    length = [c.label for c in part_comparisons(points, "length")]
    assert length == [f"AC/DC − {vs} at epochs={e}" for e in (6, 8, 16) for vs in ("GMP", "RIGL")]
    assert [c.label for c in part_comparisons(points, "width_wide")][:2] == [
        "AC/DC − GMP at model.width=1", "AC/DC − RIGL at model.width=1"]


def test_study_coords_fill_the_base_and_drop_acdc_settings_for_the_baselines():
    assert study_coords("rigl", {"epochs": 16}, "length", True) == {
        "method.name": "rigl", "epochs": 16, "model.width": 0.5, "optim.weight_decay": 5e-4,
        "distribution.name": "erk", "method.phase_epochs": None, "method.momentum_reset": None,
        "method.final_compression_epochs": None}
    acdc = study_coords("acdc", {"method.momentum_reset": "none"}, "acdc_settings", True)
    assert acdc["method.momentum_reset"] == "none" and acdc["method.final_compression_epochs"] == 2
    assert set(acdc) == {"method.name", *STUDY_KEYS}
    assert study_coords("gmp", {}, "phase", True)["epochs"] == 10
    assert study_coords("gmp", {}, "phase", False)["epochs"] == 8  # runs carry their own epochs
