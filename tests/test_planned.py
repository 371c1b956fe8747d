"""Realized sparsity of a suite part whose runs are on another machine (issue 24.4): planned from
each config's masks (task=summary, in this process), or read from a table that keeps it (AST's
sub-nets); spliced into the committed report in place of its old section."""

from __future__ import annotations

import pytest
from conftest import ROOT

from acdc_bench.reports import planned


def test_a_parts_configs_are_its_sweep_without_the_seed():
    points = planned.points("scale_study/distribution")
    assert len(points) == 9 and all(len(p) == 2 for p in points)
    assert ("+experiment/scale_study/arm=acdc", "distribution=fld") in points
    assert not any(o.startswith("seed=") for p in points for o in p)


def test_the_plan_flags_the_distributions_that_keep_layers_dense():
    checked, rows = planned.planned_rows("scale_study/distribution")
    assert checked == 9
    flagged = {r[0]: r for r in rows}
    # fld and uniform keep conv1 and fc dense: 94.5% and 94.4% of the prunable weights, for every method
    assert set(flagged) == {f"arm={m}, distribution={d}" for m in ("acdc", "gmp", "rigl")
                            for d in ("fld", "uniform")}
    assert flagged["arm=acdc, distribution=fld"][1:] == [
        "95%", "94.5%", "the fld distribution keeps conv1, fc dense"]
    assert flagged["arm=gmp, distribution=uniform"][2] == "94.4%"


def _report(folder, realized: str = "") -> None:
    folder.mkdir()
    (folder / "table.md").write_text("# x\n\n## Verdicts\n\ntext\n" + realized
                                     + "\n## Missing and failed runs\n\nNone.\n")


def test_a_table_that_keeps_sub_net_sparsity_is_read_and_the_section_replaced(tmp_path):
    folder = tmp_path / "ast"
    _report(folder, "\n## Realized sparsity\n\nold text\n")
    rows = ["method.relation,subnet,metric,ours_mean,ours_std", "nd,0.9,val_top1,80,1",
            "nd,0.9,sparsity,89.9,0.01", "nd,0.95,sparsity,93.1,0.01"]  # in %, as tables keep it
    (folder / "table.csv").write_text("\n".join(rows) + "\n")
    planned.restate(folder, "claims/cpu_full_ast")
    planned.restate(folder, "claims/cpu_full_ast")  # again: one section, not two
    text = (folder / "table.md").read_text()
    assert text.count("## Realized sparsity") == 1 and "old text" not in text
    assert "1 of 2 configs are more than 0.5 points from their target (measured" in text
    assert "| method.relation=nd, sub-net 95% | 95% | 93.1% | not known (the runs are elsewhere) |" in text
    assert text.index("## Realized sparsity") < text.index("## Missing and failed runs")


def test_the_command_names_a_folder_without_a_report_in_one_line(tmp_path, capsys):
    assert planned.main([str(tmp_path), "scale_study/width"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"folder={str(tmp_path)!r}" in err[0] and "with its table.md" in err[0]
    _report(tmp_path / "p")
    (tmp_path / "p" / "table.csv").write_text("metric,ours_mean\n")
    with pytest.raises(SystemExit):  # argparse: a missing argument
        planned.main([str(tmp_path / "p")])
    assert planned.main([str(tmp_path / "p"), "scale_study/nowhere"]) == 2
    assert "scale_study/nowhere" in capsys.readouterr().err


def test_every_committed_report_opens_with_a_verdict_and_has_a_realized_sparsity_section():
    """Issue 24's "every table.md opens with a verdict" and "every report flags a run off its target",
    on what is committed: the first section is the verdicts, holding a statement/verdict table with
    at least one verdict (holds, fails, inconclusive, not checked); a realized-sparsity section."""
    from acdc_bench.reports.catalogue import ORDER, verdict_counts

    tables = sorted((ROOT / "results").glob("*/**/table.md"))
    assert len(tables) >= 46
    for table in tables:
        text = table.read_text()
        assert text.split("\n## ", 2)[1].startswith("Verdicts\n"), table
        counts = verdict_counts(table)
        assert counts and set(counts) <= set(ORDER) and sum(counts.values()) >= 1, (table, counts)
        assert "## Realized sparsity" in text, table
