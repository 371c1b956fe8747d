"""Provenance: the training-code version a run records, the resume guard across versions, the
report's provenance section and remake command, and the comparison behind ``make verify-results``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import run_cli
from test_reports import _done, _write_sweep

from acdc_bench import checkpoint as ckpt
from acdc_bench import provenance
from acdc_bench.reports import make_report
from acdc_bench.reports import provenance as report_provenance
from acdc_bench.reports.verify import compare_reports, result_lines

TINY = ["dataset=digits", "method=dense", "model=resnet20", "model.width=0.25", "epochs=1",
        "trainer.progress=false"]
ENV = {"OMP_NUM_THREADS": "1"}


# ----------------------------------------------------------------------------- the code version
def test_code_version_ignores_docstrings_comments_and_formatting_but_not_code(tmp_path):
    def version(source: str) -> str:
        root = tmp_path / str(len(list(tmp_path.iterdir())))
        (root / "reports").mkdir(parents=True)
        (root / "step.py").write_text(source)
        (root / "reports" / "table.py").write_text(f"X = {len(source)}\n")  # not training code
        provenance.code_version.cache_clear()
        return provenance.code_version(root)

    base = version('"""Doc."""\ndef f(x):\n    return x * 2\n')
    assert version('"""Other doc."""\n# a comment\ndef f(x):\n    """Why."""\n    return (x*2)\n') == base
    assert version('"""Doc."""\ndef f(x):\n    return x * 3\n') != base
    provenance.code_version.cache_clear()
    files = {p.relative_to(provenance.PACKAGE).as_posix() for p in provenance.training_files()}
    assert "trainer/loop.py" in files and "sparsity/masked.py" in files and "analysis/runs.py" in files
    assert not any(f.startswith("reports/") for f in files) and "tasks/report.py" not in files


# ----------------------------------------------------------------------------- the resume guard
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("prov") / "run"
    out = run_cli(*TINY, f"hydra.run.dir={run}", env=ENV)
    assert out.returncode == 0, out.stderr
    return run


def _as_if_trained_by(run: Path, version: str) -> None:
    path = run / "checkpoints" / ckpt.LAST
    state = ckpt.load(path)
    state["code_versions"] = [version]
    (run / "checkpoints" / ckpt.PREV).unlink(missing_ok=True)
    path.unlink()
    ckpt.save_rotating(state, run / "checkpoints")


def test_a_run_records_its_training_code(finished_run):
    summary = json.loads((finished_run / "summary.json").read_text())
    assert summary["code_versions"] == [summary["code_version"]] == [provenance.code_version()]
    assert summary["git_commits"][-1] == summary["git_commit"]
    assert summary["torch_version"] and summary["torch_threads"] == 1
    assert ckpt.load(finished_run / "checkpoints" / ckpt.LAST)["code_versions"] == summary["code_versions"]


def test_resuming_a_run_of_other_training_code_refuses_unless_allowed(finished_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    _as_if_trained_by(run, "0123456789abcdef")
    before = (run / "summary.json").read_text()
    out = run_cli(*TINY, f"hydra.run.dir={run}", env=ENV)  # finished: would be skipped, and mix versions
    assert out.returncode == 2 and "Traceback" not in out.stderr
    line = out.stderr.strip().splitlines()[-1]
    assert "trained by training code 0123456789abcdef" in line
    assert "checkpoint.resume_code_change=allow" in line
    assert (run / "summary.json").read_text() == before
    out = run_cli(*TINY, f"hydra.run.dir={run}", "checkpoint.resume_code_change=allow", env=ENV)
    assert out.returncode == 0, out.stderr
    assert "warning:" in out.stderr and "mixes versions" in out.stderr
    kept = json.loads((run / "summary.json").read_text())
    assert kept["code_versions"] == ["0123456789abcdef"]  # skipped: trained by the old code alone
    longer = [o for o in TINY if o != "epochs=1"] + ["epochs=2"]  # one more epoch: now trained by both
    out = run_cli(*longer, f"hydra.run.dir={run}", "checkpoint.resume_code_change=allow", env=ENV)
    assert out.returncode == 0, out.stderr
    both = json.loads((run / "summary.json").read_text())
    assert both["code_versions"] == ["0123456789abcdef", provenance.code_version()]


def test_resume_code_change_takes_refuse_or_allow(tmp_path):
    out = run_cli(*TINY, "checkpoint.resume_code_change=maybe", f"hydra.run.dir={tmp_path / 'r'}", env=ENV)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "checkpoint.resume_code_change='maybe' is not allowed; expected one of ['refuse', 'allow']" \
        in out.stderr.strip().splitlines()[-1]


# ----------------------------------------------------------------------------- the report
def _summary(top1: float, version: str = "v1", commit: str = "c1" * 20, chash: str = "h") -> dict:
    return {**_done(top1), "code_versions": [version], "code_version": version, "git_commits": [commit],
            "git_commit": commit, "config_hash": chash, "torch_version": "2.x", "torch_threads": 1,
            "device": "cpu"}


def _twin_sweep(root: Path, tops: tuple[float, float], versions: tuple[str, str] = ("v1", "v1")) -> Path:
    layout = {"name": "ast_table1_relations_cpu", "rows": ["optim.lr"], "metric": "val_top1"}
    cfg = {"optim": {"lr": 0.1}, "method": {"name": "dense"}}
    jobs = [(["experiment=ast_table1_relations_cpu", f"seed={s}"], {**cfg, "seed": s},
             _summary(tops[s], versions[s], chash=f"hash{s}")) for s in (0, 1)]
    return _write_sweep(root, jobs, report=layout,
                        sweep={"task": ["experiment=ast_table1_relations_cpu", "seed=0,1"]})


def test_report_carries_its_provenance_and_remake_command(tmp_path):
    md = (make_report(_twin_sweep(tmp_path / "a", (0.5, 0.6)), tmp_path / "r") / "table.md").read_text()
    assert report_provenance.MIXED not in md
    section = md[md.index(report_provenance.HEADING):]
    assert "`make ast-table1 SCALE=cpu SEEDS=2`" in section
    assert "`v1` (2 runs) (one version)" in section and "`c1c1c1c1c1c1` (2 runs)" in section
    assert "2 distinct over 2 finished runs" in section and "| hash1 | v1 |" in section
    mixed = make_report(_twin_sweep(tmp_path / "b", (0.5, 0.6), ("v1", "v2")), tmp_path / "r2")
    top = (mixed / "table.md").read_text().splitlines()[2]
    assert top.startswith(report_provenance.MIXED) and "2 training-code versions" in top


@pytest.mark.parametrize(("name", "overrides", "command"), [
    ("agree000_cpu", ["experiment=agree000_cpu", "seed=0,1,2"], "make agree000 SCALE=cpu SEEDS=3"),
    ("ast_fig6_subnet_layers_cpu", ["experiment=ast_fig6_subnet_layers_cpu"], "make ast-fig6 SCALE=cpu"),
    ("fig3_methods", ["experiment=fig3_methods", "hydra/launcher=slurm", "seed=1,2"],
     'make fig3 SWEEP_ARGS="seed=1,2"'),
    ("claims_cpu_full/methods", [], "make claims SCALE=cpu-full"),
    ("scale_study/width", [], "make scale-study"),
    ("my_sweep", ["method=gmp"], "acdc-bench -m experiment=my_sweep method=gmp"),
])
def test_remake_command_from_the_makefile_and_the_sweep(name, overrides, command):
    assert report_provenance.remake_command(name, overrides) == command


# ----------------------------------------------------------------------------- verify-results
def test_verify_compares_numbers_not_provenance(tmp_path, monkeypatch):
    def report(folder: str, tops: tuple[float, float], versions: tuple[str, str] = ("v1", "v1")) -> Path:
        """A report made as make does it: multirun/ and results/ relative to the checkout."""
        (tmp_path / folder).mkdir()
        monkeypatch.chdir(tmp_path / folder)
        return tmp_path / folder / make_report(_twin_sweep(Path("multirun/s"), tops, versions), "results")

    committed = report("a", (0.5, 0.6))
    same = report("b", (0.5, 0.6), ("v9", "v8"))
    assert (committed / "table.md").read_text() != (same / "table.md").read_text()  # provenance differs
    assert compare_reports(committed, same) == []
    other = report("c", (0.5, 0.61), ("v1", "v2"))
    diffs = compare_reports(committed, other)  # a mixed-version warning on top does not shift the lines
    wanted = "ours_mean: '55' committed, '55.5' remade"
    assert any(d.startswith("table.csv row") and "val_top1" in d and wanted in d for d in diffs)
    md = [d for d in diffs if d.startswith("table.md")]
    assert len(md) == 1 and "55.00 ± 7.07" in md[0] and "55.50 ± 7.78" in md[0]


def test_result_lines_leave_out_provenance_and_times():
    text = "# T\n\n**Mixed training code.** x 1\n\n## Verdicts\nok 1.5\n## Provenance\n- `make a SEEDS=3`\n" \
           "## Parts\n| a | 3 min 2 s | wall 5 |\n| b | 7 |\n"
    assert result_lines(text) == ["# T", "## Verdicts", "ok 1.5", "## Parts", "| b | 7 |"]
