"""The paper artefacts' specs (acdc_bench/artefacts/, issue 22): typed checks that hold exactly
their checker's parameters; the Makefile's targets, the catalogue (``acdc-bench task=artefacts``),
the tests' artefact list and the experiment configs agree with the specs."""

from __future__ import annotations

import dataclasses
import inspect
import re
import subprocess

import pytest
from conftest import ROOT, task_stdout
from test_experiments import PAPER

from acdc_bench.artefacts import ARTEFACTS, PUBLISHED, by_experiment, by_target, paper_artefacts
from acdc_bench.artefacts.checks import Pairwise
from acdc_bench.artefacts.makefile import MK_PATH, REGENERATE, makefile_text
from acdc_bench.artefacts.spec import ANALYZED, BERT, BEYOND, SPEEDUP, SUITE, SWEEP
from acdc_bench.artefacts.suites import SCALE_STUDY
from acdc_bench.errors import ConfigError
from acdc_bench.reports import dispatch
from acdc_bench.reports.catalogue import verdict_counts


@pytest.mark.parametrize("record", list(dispatch.CHECKERS), ids=lambda c: c.__name__)
def test_each_check_record_holds_exactly_its_checkers_parameters(record):
    params = {n: p for n, p in inspect.signature(dispatch.CHECKERS[record]).parameters.items()
              if n not in ("es", "column") and p.kind is not inspect.Parameter.VAR_KEYWORD}
    fields = {f.name: f for f in dataclasses.fields(record)}
    assert list(fields) == list(params)
    for name, p in params.items():
        default = fields[name].default
        assert (default is dataclasses.MISSING) == (p.default is inspect.Parameter.empty), name
        if p.default is not inspect.Parameter.empty:
            assert default == p.default, name


def test_a_misspelt_or_missing_check_field_fails_when_the_spec_is_written():
    with pytest.raises(TypeError, match="wher"):
        Pairwise(metric="val_top1", by="method.name", a="acdc", b="gmp", wher={"sparsity": 0.9})
    with pytest.raises(TypeError, match="'b'"):
        Pairwise(metric="val_top1", by="method.name", a="acdc")  # type: ignore[call-arg]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Pairwise(metric="val_top1", by="method.name", a="acdc", b="gmp").a = "rigl"  # type: ignore[misc]


def test_a_twins_metric_aliases_replace_only_metric_fields():
    check = Pairwise(metric="val_mean_attr_acc", by="method.name", a="val_mean_attr_acc", b="gmp")
    args = dispatch.arguments(check, {"val_mean_attr_acc": "val_top1"})
    assert args["metric"] == "val_top1" and args["a"] == "val_mean_attr_acc"  # a is a method's name here
    mem = PUBLISHED["mem000"].claims[0].check
    pairs = dispatch.arguments(mem, {"mem_true": "x"})["pairs"]
    assert [(p["a"], p["b"]) for p in pairs] == [("x", "mem_corrupted"), ("mem_corrupted", "x")]


def test_specs_have_unique_names_and_targets_and_lookups_find_them():
    assert len({a.name for a in ARTEFACTS}) == len(ARTEFACTS) == len(PUBLISHED)
    assert by_target("ast-table1").config == "ast_table1_relations"
    assert by_experiment("fig3_methods_cpu") is by_experiment("fig3_methods") is by_target("fig3")
    assert by_experiment("no_such_experiment") is None
    assert {a.kind for a in ARTEFACTS} == {SWEEP, ANALYZED, BEYOND, SPEEDUP, BERT, SUITE}
    # the claims suite states a paper artefact's statement by taking it from that spec, not a copy
    assert PUBLISHED["claims_methods"].claims[0] is by_target("fig3").claims[0]


def test_every_spec_has_its_experiment_config_and_twin():
    experiments = ROOT / "conf" / "experiment"
    for a in ARTEFACTS:
        for config in a.configs:
            assert (experiments / f"{config}.yaml").is_file(), (a.name, config)
        if not a.twin:  # no twin means none: SCALE=cpu of the target has no config to run
            assert not (experiments / f"{a.config}_cpu.yaml").is_file(), a.name


def test_committed_make_fragment_is_the_one_the_specs_generate():
    assert (ROOT / MK_PATH).read_text() == makefile_text(ARTEFACTS), f"{MK_PATH} is stale: {REGENERATE}"
    assert task_stdout("task=artefacts", "format=make") == makefile_text(ARTEFACTS)


def _make_database() -> tuple[dict[str, str], set[str]]:
    """The Makefile's variables and rule targets, as ``make -pn`` reads them (nothing is run)."""
    out = subprocess.run(["make", "-pnR", "-f", "Makefile", "list"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60).stdout
    variables = dict(re.findall(r"^([A-Za-z_][\w-]*) :?= (.*)$", out, flags=re.M))
    rules = set(re.findall(r"^([\w.-]+):(?!=)", out, flags=re.M))
    return variables, rules


def test_make_targets_the_catalogue_and_the_tests_agree_with_the_specs():
    variables, rules = _make_database()
    arts = paper_artefacts()

    def targets(*kinds: str) -> set[str]:
        return {a.target for a in arts if a.kind in kinds}

    for a in arts:
        assert variables[f"EXP_{a.target}"] == a.config, a.target
        assert {a.target, f"report-{a.target}"} <= rules, a.target
    assert set(variables["PAPER_TARGETS"].split()) == targets(SWEEP, ANALYZED, SPEEDUP)
    assert set(variables["ANALYZED"].split()) == targets(ANALYZED)
    assert set(variables["SPEEDUP_TARGETS"].split()) == targets(SPEEDUP)
    assert set(variables["BEYOND_TARGETS"].split()) == targets(BEYOND)
    assert set(variables["BERT_TARGETS"].split()) == targets(BERT)
    listed = [line.split()[0] for line in task_stdout("task=artefacts").splitlines()[1:]]
    assert listed == [a.target or f"({a.kind})" for a in ARTEFACTS]
    paper_targets = variables["PAPER_TARGETS"].split()
    assert sorted(PAPER) == sorted(a.config for a in arts if a.twin and a.target in paper_targets)
    # the scale study's parts: its spec's reports, the Makefile's list, and its part YAMLs
    parts = [r.split("/")[-1] for r in SCALE_STUDY.reports]
    assert variables["SCALE_STUDY_PARTS"].split() == parts
    yamls = {p.stem for p in (ROOT / "conf" / "experiment" / "scale_study").glob("*.yaml")} - {"base"}
    assert sorted(parts) == sorted(yamls)


def test_catalogue_counts_the_committed_reports_verdicts():
    out = task_stdout("task=artefacts")
    line = next(ln for ln in out.splitlines() if ln.startswith("cost000 "))
    # results/cost000/table.md (committed): both of paper 000's cost claims fail
    assert line.split()[1:3] == ["000", "Sec."] and "cost000 (twin cost000_cpu)" in line
    assert line.endswith("cost000: holds 0, fails 2, inconclusive 0, not checked 0")
    fig3 = next(ln for ln in out.splitlines() if ln.startswith("fig3 "))
    assert fig3.endswith("fig3_methods_cpu: holds 1, fails 3, inconclusive 3, not checked 0")
    speed = next(ln for ln in out.splitlines() if ln.startswith("ast-table4-speed "))
    assert speed.endswith("no report")
    # the scale study's row counts each part's own verdict (results/scale_study/<part>/table.md)
    scale = next(ln for ln in out.splitlines() if "scale_study/base" in ln)
    assert "scale_study/width: holds 0, fails 1, inconclusive 0, not checked 0" in scale
    assert "scale_study/width_wide: holds 0, fails 0, inconclusive 1, not checked 0" in scale


def test_catalogue_reads_escaped_pipes_bold_verdicts_and_older_reports(tmp_path):
    new = tmp_path / "new.md"
    new.write_text("# T\n\n## Verdicts\n\nnote\n\n| statement | verdict | difference [95% CI] | seeds |\n"
                   "|---|---|---|---|\n| a \\| b holds | **holds** | +1 | 3 |\n| c | fails | -1 | 3 |\n"
                   "| d | not checked |  |  |\n\n## The paper's statements, checked on our runs\n\n"
                   "| statement | source | on our runs | detail |\n|---|---|---|---|\n"
                   "| x | y | holds | z |\n")
    assert verdict_counts(new) == {"holds": 1, "fails": 1, "not checked": 1}
    old = tmp_path / "old.md"  # before the Verdicts section: the statements table's column
    old.write_text("# T\n\n## The paper's statements, checked on our runs\n\n"
                   "| statement | source | on our runs | detail |\n|---|---|---|---|\n"
                   "| x | y | inconclusive | z |\n| x2 | y | inconclusive | z |\n")
    assert verdict_counts(old) == {"inconclusive": 2}
    assert verdict_counts(tmp_path / "missing.md") is None
    out = task_stdout("task=artefacts", f"results_dir={tmp_path / 'empty'}")
    assert all(ln.endswith("no report") for ln in out.splitlines()[1:])


def test_an_unknown_format_is_one_line_naming_the_field():
    with pytest.raises(ConfigError, match=r"format='yaml' is not allowed; expected catalogue or make"):
        task_stdout("task=artefacts", "format=yaml")


def test_a_report_finds_its_spec_from_the_experiment_name_when_the_yaml_names_none(tmp_path):
    from acdc_bench.reports.layout import read_layout

    def published(master: dict) -> str | None:
        return read_layout(master, [], tmp_path, None).published

    assert published({"report.name": "fig3_methods_cpu"}) == "fig3_methods"  # the twin: its paper's spec
    assert published({"report.name": "fig3_methods"}) == "fig3_methods"
    assert published({"report.name": "fig3_methods_cpu", "report.published": "claims_ast"}) == "claims_ast"
    assert published({"report.name": "scale_study/width"}) is None
