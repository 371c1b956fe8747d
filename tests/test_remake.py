"""`make remake-results` (acdc_bench/reports/remake.py): which reports it would remake, and how it
keeps one training-code version per sweep folder without deleting run folders."""

from __future__ import annotations

import pytest

from acdc_bench.provenance import code_version
from acdc_bench.reports import remake
from acdc_bench.reports.verify import ROOT


def test_a_committed_reports_training_code_versions_are_read_from_its_provenance():
    versions, mixed = remake.report_versions(ROOT / "results" / "ast_table1_relations_cpu")
    assert len(versions) == 1 and all(len(v) == 16 for v in versions) and not mixed
    assert remake.report_versions(ROOT / "results" / "no_such_report") == (set(), False)


def test_a_report_of_this_training_code_is_current(tmp_path):
    v, head = code_version(), "# t\n\n## Provenance\n\n- Training code (x): "
    (tmp_path / "table.md").write_text(f"{head}`{v}` (3 runs) (one version).\n")
    assert remake.is_current(tmp_path, v)
    (tmp_path / "table.md").write_text(f"{head}`{v}` (3 runs), `0123` (1 run)\n")
    assert not remake.is_current(tmp_path, v)


def test_start_clean_moves_a_foreign_sweep_aside_and_resumes_its_own(tmp_path):
    sweep = tmp_path / "multirun" / "x_cpu"
    (sweep / "0_seed=0").mkdir(parents=True)
    (sweep / "0_seed=0" / "summary.json").write_text("{}")
    remake.start_clean(sweep, "abc", log=lambda *_: None)
    aside = tmp_path / "multirun" / "x_cpu.before-abc"
    assert (aside / "0_seed=0" / "summary.json").is_file()  # kept, never deleted
    assert sorted(p.name for p in sweep.iterdir()) == [".remake-abc"]
    (sweep / "1_seed=1").mkdir()  # a run of this remake, interrupted
    remake.start_clean(sweep, "abc", log=lambda *_: None)
    assert (sweep / "1_seed=1").is_dir()  # resumed, not moved
    remake.start_clean(sweep, "def", log=lambda *_: None)  # the code changed again
    assert (tmp_path / "multirun" / "x_cpu.before-def" / "1_seed=1").is_dir()


def test_dry_run_lists_the_reports_remake_command_and_bad_targets_fail(capsys):
    assert remake.main(["ast-table1", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "ast-table1: would run `make ast-table1 SCALE=cpu SEEDS=3`" in out or "already; skipped" in out
    with pytest.raises(SystemExit, match="TARGETS=nope is not allowed; expected some of: .*ast-table1"):
        remake.main(["nope", "--dry-run"])


def test_every_committed_twin_report_names_one_training_code_and_its_remake_command():
    """Issue 25's state, kept: each twin's table.md has its provenance, from runs of one
    training-code version, the same for every twin (a partial remake after a code change fails
    here until the rest is remade), and the command that remakes it from a fresh clone."""
    twins = remake.twin_targets()
    assert len(twins) >= 34
    versions = {}
    for target, folder in twins.items():
        found, mixed = remake.report_versions(ROOT / "results" / folder)
        assert len(found) == 1 and not mixed, f"{folder}: training code {sorted(found)}, mixed={mixed}"
        versions[folder] = found.pop()
        text = (ROOT / "results" / folder / "table.md").read_text()
        assert f"Remake from a fresh clone: `make {target} SCALE=cpu" in text, folder
    assert len(set(versions.values())) == 1, versions
