"""The claims suite and the scale study compose (issue 16): every sweep point of every part is a
valid config at the stated scale, with 3 seeds, 234-step AC/DC phases and a known report."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml
from test_methods_schedules import compose_cfg

from acdc_bench.artefacts import PUBLISHED
from acdc_bench.sparsity.methods import method_class

ROOT = Path(__file__).resolve().parent.parent
PARTS = [f"claims/cpu_full_{p}" for p in ("methods", "weight_decay", "ast")] + [
    f"scale_study/{p}" for p in ("length", "phase", "weight_decay", "acdc_settings", "width", "distribution")]


def sweep_points(experiment: str) -> list[list[str]]:
    """The sweep's points as override lists (the experiment file's hydra.sweeper.params)."""
    params = yaml.safe_load((ROOT / "conf/experiment" / f"{experiment}.yaml").read_text())
    params = params["hydra"]["sweeper"]["params"]
    keys = list(params)
    values = [str(params[k]).split(",") for k in keys]
    return [[f"{k}={v}" for k, v in zip(keys, combo, strict=True)] for combo in itertools.product(*values)]


@pytest.mark.parametrize("experiment", PARTS)
def test_every_point_composes_at_full_fashion_mnist_with_three_seeds(experiment):
    points = sweep_points(experiment)
    assert {p[-1] for p in points} == {"seed=0", "seed=1", "seed=2"}
    seen = set()
    for point in points:
        if point[-1] != "seed=0":
            continue
        cfg = compose_cfg(f"experiment={experiment}", *point)
        assert cfg.dataset.name == "fashion_mnist" and cfg.dataset.get("train_subset") is None
        assert 60000 // int(cfg.dataset.batch_size) == 234
        cls = method_class(cfg.method.name)
        cls.check_config(cfg, int(cfg.epochs))
        settings = cls.settings_class.read(cfg, int(cfg.epochs)) if hasattr(cls, "settings_class") else None
        for phase in getattr(settings, "phases", ()):  # AC/DC: phases of whole 234-step epochs
            if phase.stage == "compression" and not phase.final:
                assert phase.end - phase.start == int(cfg.method.phase_epochs) >= 1
                assert phase.start >= 1  # a dense warm-up first
        seen.add(cfg.method.name)
        assert str(cfg.report.name).startswith(("claims_cpu_full/", "scale_study/"))
        published = cfg.report.get("published")
        assert published is None or published in PUBLISHED
    assert seen <= {"acdc", "gmp", "rigl", "ast"}


def test_the_methods_part_compares_all_three_methods_at_two_budgets_and_sparsities():
    points = sweep_points("claims/cpu_full_methods")
    assert len(points) == 3 * 2 * 2 * 3
    cfg = compose_cfg("experiment=claims/cpu_full_methods", "+experiment/claims/arm=acdc", "epochs=10")
    plan = method_class("acdc").settings_class.read(cfg, 10).phases
    # masks compared at the ends of consecutive compression phases (epochs 2, 4, 6), as Fig. 7 does
    ends = [p.end - 1 for p in plan if p.stage == "compression" and not p.final]
    assert ends == [2, 4, 6]
    assert (cfg.method.mask_iou_start, cfg.method.mask_iou_every) == (2, 2)


def test_scale_study_readme_gives_each_difference_its_interval_and_keeps_the_conclusions(tmp_path):
    """The scale study's README from a hand-made sweep of one factor: AC/DC − GMP and AC/DC − RigL
    per value, with Welch intervals over 3 seeds, the sign flip named, the plot drawn, and the
    hand-written conclusions.md carried over when the README is written again."""
    from test_reports import _write_sweep

    from acdc_bench.reports import suite

    top1 = {("acdc", 6): 0.80, ("gmp", 6): 0.82, ("rigl", 6): 0.79,
            ("acdc", 16): 0.86, ("gmp", 16): 0.83, ("rigl", 16): 0.86}
    jitter = (-0.002, 0.0, 0.002)
    jobs = [([f"method={m}", f"epochs={e}", f"seed={k}"],
             {"method": {"name": m}, "epochs": e, "seed": k, "sparsity": 0.95,
              "trainer": {"progress": False}},
             {"status": "finished", "elapsed_s": 10.0,
              "final": {"val_top1": v + jitter[k], "zero_grad_share": 0.25 if m == "acdc" else 0.0}})
            for (m, e), v in top1.items() for k in range(3)]
    layout = {"name": "scale_study/length", "rows": ["method.name", "epochs"], "metric": "val_top1",
              "metrics": ["val_top1", "zero_grad_share"]}
    sweep = _write_sweep(tmp_path / "multirun" / "length", jobs, report=layout)
    out = tmp_path / "results" / "scale_study"
    assert suite.main(["scale", str(out), str(sweep)]) == 0
    text = (out / "README.md").read_text()
    rows = {ln.split("|")[2].strip() + " " + ln.split("|")[3].strip(): ln for ln in text.splitlines()
            if ln.startswith("| length |")}
    # 80.0 − 82.0, seeds ±0.2 on both sides: Welch, SE = 0.163, t(0.975, 4) = 2.776: ±0.45
    assert "| -2.00 [-2.45, -1.55] | − | 3/3 | 0.25 |" in rows["epochs: 6 AC/DC − GMP"]
    assert "| +3.00 [+2.55, +3.45] | + | 3/3 | 0.25 |" in rows["epochs: 16 AC/DC − GMP"]
    assert "| 0 |" in rows["epochs: 16 AC/DC − RIGL"]  # 86 vs 86: no difference
    assert "`length` (epochs): AC/DC − GMP changes sign: 6 −, 16 +" in text
    assert "not written yet: conclusions.md" in text and (out / "differences.png").stat().st_size > 0
    (out / "conclusions.md").write_text("AC/DC overtakes GMP from 16 epochs on.\n")
    assert suite.main(["scale", str(out), str(sweep)]) == 0
    text = (out / "README.md").read_text()
    assert "## The five-minute read\n\nAC/DC overtakes GMP from 16 epochs on.\n" in text
    assert "not written yet" not in text


def test_claims_readme_keeps_parts_whose_runs_are_elsewhere(tmp_path):
    """`make report-claims` on a machine without the suite's runs: each part's rows come from its
    committed report (the source from its spec), its times from the committed README; nothing lost."""
    import shutil

    from conftest import ROOT

    from acdc_bench.reports import suite

    out = tmp_path / "claims_cpu_full"
    shutil.copytree(ROOT / "results" / "claims_cpu_full", out)
    before = (out / "README.md").read_text()
    parts = [str(tmp_path / "nowhere" / p) for p in ("methods", "weight_decay", "ast")]
    assert suite.main(["claims", str(out), *parts]) == 0
    after = (out / "README.md").read_text()

    def table(text: str, header: str) -> list[str]:
        lines = text.split(header, 1)[1].splitlines()
        return [ln for ln in lines[:20] if ln.startswith("| ")]

    verdicts = table(after, "| statement | source | part |")
    assert verdicts == table(before, "| statement | source | part |") and len(verdicts) == 10
    assert "| AC/DC reaches the highest validation accuracy of the three methods at every sparsity and " \
           "budget | 001 Fig. 3 / Sec. 3.3.1 | methods | **fails** |" in after
    assert "| [methods](methods/table.md) | 36 | 52 min 4 s | 100 min 47 s |" in after
    assert "runs are not on the machine that wrote this README: methods, weight_decay, ast" in after
    assert "## What the verdicts say" in after  # the hand-written conclusions are kept
