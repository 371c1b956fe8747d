"""``make verify-sample``: one configuration of a suite part rerun (all seeds) and compared with the
committed table, row by row."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from acdc_bench import provenance
from acdc_bench.reports.sample import (
    HEADING,
    SampleError,
    choose_point,
    compare_rows,
    sample,
    sweep_params,
    with_section,
)

PARAMS = {"+experiment/scale_study/arm": ["acdc", "gmp", "rigl"], "model.width": ["0.25", "0.75"],
          "seed": ["0", "1", "2"]}
TINY_SUITE = """# @package _global_
defaults:
  - override /dataset: digits
  - override /method: dense
  - override /model: resnet20
  - _self_
model:
  width: 0.25
epochs: 1
trainer:
  progress: false
report:
  name: tiny_suite
  rows: [optim.lr]
hydra:
  sweeper:
    params:
      optim.lr: 0.1,0.05
      seed: 0,1
"""


def test_the_point_is_the_first_value_of_each_parameter_unless_chosen_and_every_seed():
    assert choose_point(PARAMS, {}) == {"+experiment/scale_study/arm": "acdc", "model.width": "0.25",
                                        "seed": "0,1,2"}
    assert choose_point(PARAMS, {"model.width": "0.75", "+experiment/scale_study/arm": "rigl"}) == {
        "+experiment/scale_study/arm": "rigl", "model.width": "0.75", "seed": "0,1,2"}
    with pytest.raises(SampleError, match=r"^POINT model.depth=3: model.depth is not a sweep parameter"):
        choose_point(PARAMS, {"model.depth": "3"})
    with pytest.raises(SampleError, match=r"POINT model.width=1: not among the part's values 0.25,0.75"):
        choose_point(PARAMS, {"model.width": "1"})
    with pytest.raises(SampleError, match="every seed"):
        choose_point(PARAMS, {"seed": "1"})


def test_the_suites_sweep_parameters_are_read_from_the_yaml():
    import yaml
    doc = yaml.safe_load((ROOT / "conf/experiment/scale_study/width.yaml").read_text())
    assert sweep_params(doc) == PARAMS


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_compare_rows_checks_the_remade_subset_cell_by_cell(tmp_path):
    def row(lr, metric, mean):
        return {"optim.lr": lr, "metric": metric, "ours_mean": mean, "seeds_finished": "2"}
    committed = _write(tmp_path / "c.csv", [row("0.1", "val_top1", "50"), row("0.1", "epoch_time_s", "3"),
                                            row("0.05", "val_top1", "60")])
    same = _write(tmp_path / "same.csv", [row("0.05", "val_top1", "60"), row("0.05", "epoch_time_s", "9")])
    assert compare_rows(committed, same) == (1, [])
    n, diffs = compare_rows(committed, _write(tmp_path / "moved.csv", [row("0.05", "val_top1", "60.1")]))
    assert n == 1 and diffs == ["table.csv (0.05,val_top1) ours_mean: '60' committed, '60.1' remade"]
    n, diffs = compare_rows(committed, _write(tmp_path / "new.csv", [row("0.2", "val_top1", "60")]))
    assert n == 0 and diffs == ["table.csv (0.2,val_top1): not in the committed table"]
    missing = compare_rows(committed, tmp_path / "missing.csv")
    assert missing == (0, ["table.csv: the rerun made no row to compare"])


def test_a_sample_of_a_suite_part_reruns_one_config_and_matches_its_committed_rows(tmp_path):
    """A tiny suite part (its YAML in a config folder of its own, found through hydra.searchpath):
    the whole sweep and its report as the suite makes them, then one learning rate rerun in a
    scratch checkout by the sample, whose rows equal the committed ones; a moved cell is found."""
    conf = tmp_path / "conf"
    (conf / "experiment").mkdir(parents=True)
    (conf / "experiment" / "tiny_suite.yaml").write_text(TINY_SUITE)
    (tmp_path / "suite").mkdir()
    search = f"hydra.searchpath=[file://{conf}]"
    env = {"OMP_NUM_THREADS": "1"}
    done = run_cli("-m", "experiment=tiny_suite", search, cwd=tmp_path / "suite", env=env)
    assert done.returncode == 0, done.stderr[-500:]
    done = run_cli("task=report", "sweep_dir=multirun/tiny_suite", search, cwd=tmp_path / "suite", env=env)
    assert done.returncode == 0, done.stderr[-500:]
    committed = tmp_path / "suite" / "results" / "tiny_suite" / "table.csv"
    rows = list(csv.DictReader(committed.open()))
    assert {r["optim.lr"] for r in rows} == {"0.1", "0.05"}

    lines: list[str] = []
    status = sample("tiny_suite", {"optim.lr": "0.05"}, tmp_path / "scratch", jobs=1, config_dirs=[conf],
                    committed=committed, log=lines.append)
    assert status == 0, lines
    assert lines[0].startswith("tiny_suite: optim.lr=0.05 seed=0,1 in ")
    remade = tmp_path / "scratch" / "results" / "tiny_suite" / "table.csv"
    remade_rows = list(csv.DictReader(remade.open()))
    assert {r["optim.lr"] for r in remade_rows} == {"0.05"}
    assert {r["seeds_finished"] for r in remade_rows} == {"2"}
    assert "same numbers (3 rows" in lines[1]
    tsv = tmp_path / "suite" / "results" / "sample_reruns.tsv"
    log = list(csv.DictReader(tsv.open(), delimiter="\t"))
    assert [(r["part"], r["point"], r["rows_compared"], r["result"], r["training_code"]) for r in log] == [
        ("tiny_suite", "optim.lr=0.05 seed=0,1", "3", "same", provenance.code_version())]

    moved = [dict(r, ours_mean="1.5") if r["optim.lr"] == "0.05" and r["metric"] == "val_top1" else r
             for r in rows]
    n, diffs = compare_rows(_write(tmp_path / "moved.csv", moved), remade)
    assert n == 3 and len(diffs) == 1
    assert diffs[0].startswith("table.csv (0.05,val_top1) ours_mean: '1.5' committed")


def test_the_readme_section_is_replaced_in_place_or_put_before_the_wall_times():
    new = [HEADING, "", "| a | 1 |", ""]
    text = "# S\n\nx\n\n## Wall time\n\n| p | 1 |\n"
    once = with_section(text, new)
    assert once == "# S\n\nx\n\n## Sample reruns\n\n| a | 1 |\n\n## Wall time\n\n| p | 1 |\n"
    assert with_section(once, [HEADING, "", "| b | 2 |", ""]) == once.replace("| a | 1 |", "| b | 2 |")
    assert with_section("# S\n", new) == "# S\n\n## Sample reruns\n\n| a | 1 |\n"
    assert with_section(text, []) == text


def test_the_cli_names_a_bad_part_and_a_bad_point_in_one_line():
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "acdc_bench.reports.sample", *args], cwd=ROOT,
                              capture_output=True, text=True)
    out = cli("scale_study/nope")
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        "sample: PART='scale_study/nope': no conf/experiment/scale_study/nope.yaml; expected a suite part "
        "such as scale_study/width or claims/cpu_full_weight_decay"]
    out = cli("scale_study/width", "--point", "model.width=3")
    assert out.returncode == 2 and out.stderr.strip() == (
        "sample: POINT model.width=3: not among the part's values 0.25,0.75")
