"""task=speedup from the command line (issue 23): fresh weights with magnitude masks, a trained run's
final model (run_dir=), what reports read from both, and the cost000 CPU twin end to end. Torch
engines only (DeepSparse lives in its own environment); no timing is asserted, only structure,
consistency and the verdict machinery."""

from __future__ import annotations

import json
import math

from conftest import run_cli, trained_run

from acdc_bench.reports.sweep import read_job
from acdc_bench.reports.tables import run_value

QUICK = ["task=speedup", "inference=cpu", "inference.engines=[torch_dense,torch_csr]",
         "inference.batch_sizes=[1,4]", "inference.warmup=1", "inference.repeats=6", "inference.threads=1"]
ENV = {"OMP_NUM_THREADS": "1"}


def _check_results(result: dict, engines: list[str]) -> None:
    rows = result["results"]
    assert [(r["engine"], r["batch"]) for r in rows] == [(e, b) for e in engines for b in (1, 4)]
    for r in rows:
        assert r["threads"] == 1 and r["dense"]["repeats"] == r["sparse"]["repeats"] == 6
        assert r["dense"]["min_ms"] <= r["dense"]["median_ms"] <= r["dense"]["max_ms"]
        assert r["speedup_low"] <= r["speedup"] <= r["speedup_high"]
        assert math.isclose(r["bound_share"], r["speedup"] / r["flops_bound"])
        assert math.isclose(r["dense"]["throughput"], r["batch"] / (r["dense"]["median_ms"] / 1e3))
    bounds = {r["engine"]: r["flops_bound"] for r in rows}
    assert bounds["torch_dense"] == 1.0 and bounds["torch_csr"] > 1.0  # the classifier runs as CSR


def test_fresh_weights_write_speedup_and_summary_with_a_table(tmp_path):
    out = run_cli(*QUICK, "sparsity=0.8", f"hydra.run.dir={tmp_path}", env=ENV)
    assert out.returncode == 0, out.stderr
    assert "not on trained values" in out.stderr  # says what it measured
    header = out.stdout.splitlines()[0]
    assert header.split()[:3] == ["engine", "batch", "thr"] and "speed-up [95%]" in header
    result = json.loads((tmp_path / "speedup.json").read_text())
    assert math.isclose(result["sparsity"], 0.8, abs_tol=1e-3)
    _check_results(result, ["torch_dense", "torch_csr"])
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["task"] == "speedup" and summary["speedup_torch_csr_b4"] == result["results"][3]["speedup"]
    assert 0 < summary["inference_flops_fraction"] < 1  # from task=summary, as its training FLOPs when given


def test_a_trained_runs_final_model_and_the_report_column(tmp_path):
    run = trained_run(tmp_path / "run", "dataset=digits", "model=resnet20", "model.width=0.25", "method=rigl",
                      "sparsity=0.9", "epochs=2", "trainer.progress=false")
    before = (run / "summary.json").read_text()
    out = run_cli(*QUICK, f"run_dir={run}", f"hydra.run.dir={tmp_path / 'h'}", env=ENV)
    assert out.returncode == 0, out.stderr
    result = json.loads((run / "speedup.json").read_text())
    assert result["source"].startswith("run ") and math.isclose(result["sparsity"], 0.9, abs_tol=0.01)
    _check_results(result, ["torch_dense", "torch_csr"])
    assert (run / "summary.json").read_text() == before  # the training summary is left alone
    # paper 001 Fig. 5's speed-up column: a report reads RUN/speedup.json beside the run's summary
    job = read_job(run, ())
    assert run_value(job, "speedup_torch_csr_b1") == result["results"][2]["speedup"]
    assert run_value(job, "flops_bound_torch_csr") == result["results"][2]["flops_bound"]


def test_cost000_cpu_twin_sweep_and_report(tmp_path):
    sweep, results = tmp_path / "sweep", tmp_path / "results"
    out = run_cli("-m", "experiment=cost000_cpu", f"hydra.sweep.dir={sweep}", "inference.batch_sizes=[1]",
                  env=ENV)
    assert out.returncode == 0, out.stderr[-2000:]
    summaries = [json.loads(p.read_text()) for p in sorted(sweep.glob("*/summary.json"))]
    assert len(summaries) == 9 and {s["method"] for s in summaries} == {"acdc", "gmp", "rigl"}
    assert all(s["speedup_torch_csr_b1_low"] <= s["speedup_torch_csr_b1"] for s in summaries)
    rep = run_cli("task=report", f"sweep_dir={sweep}", f"results_dir={results}",
                  f"hydra.run.dir={tmp_path / 'r'}")
    assert rep.returncode == 0, rep.stderr
    table = (results / "cost000_cpu" / "table.md").read_text()
    assert "45-65%" in table and "run faster than dense on a CPU" in table
    assert "speed-up over dense torch_csr_b1" in table
