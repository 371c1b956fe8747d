"""AST-GC from the command line: per-sub-net metrics, summary, plain sub-net checkpoints, resume."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import ROOT, read_jsonl, run_cli, trained_run

ARGS = ["dataset=digits", "model=resnet20", "model.width=0.25", "method=ast",
        "method.gradient_correction=true", "method.subnet_sparsities=[0.9,0.95,0.98]", "epochs=3"]
ENV = {"OMP_NUM_THREADS": "1"}  # tiny model on a shared machine: one thread is much faster
KEYS = ("0.9", "0.95", "0.98")


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> Path:
    return trained_run(tmp_path_factory.mktemp("ast") / "run", *ARGS)


def test_three_epoch_run_writes_per_subnet_metrics_and_summary(full_run):
    rows = read_jsonl(full_run / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    for r in rows:
        assert set(r["subnets"]) == set(KEYS)
        for key in KEYS:
            sub = r["subnets"][key]
            assert {"val_top1", "val_top5", "val_loss", "val_entropy", "sparsity", "mask_iou"} <= set(sub)
            assert 0 <= sub["val_top1"] <= sub["val_top5"] <= 1
            assert 0 <= sub["val_entropy"] <= math.log(10) + 1e-6
        assert 0 <= r["negative_inner_product_fraction"] <= 1
        assert r["val_top1"] == r["subnets"]["0.9"]["val_top1"]  # the row's own metrics: sub-net 0's
    assert rows[0]["subnets"]["0.9"]["mask_iou"] is None and rows[1]["subnets"]["0.98"]["mask_iou"] > 0
    sparsities = [rows[-1]["subnets"][k]["sparsity"] for k in KEYS]
    assert sparsities == sorted(sparsities)

    summary = json.loads((full_run / "summary.json").read_text())
    assert summary["status"] == "finished"
    subnets = summary["subnets"]
    assert [s["target_sparsity"] for s in subnets] == [0.9, 0.95, 0.98]
    for s in subnets:
        assert abs(s["sparsity"] - s["target_sparsity"]) <= 0.01
        assert s["val_top1"] == rows[-1]["subnets"][str(s["target_sparsity"])]["val_top1"]
        assert 0 < s["inference_flops_fraction"] < 1
    assert subnets[0]["inference_flops_fraction"] > subnets[1]["inference_flops_fraction"] > \
        subnets[2]["inference_flops_fraction"]
    # training FLOPs from the schedule: each sub-net's iterations, adding up to the run's
    parts = summary["training_flops_parts"]
    assert parts["0.9"] > parts["0.95"] > parts["0.98"] > 0
    assert math.isclose(sum(parts.values()), summary["training_flops"])
    assert 0 < summary["training_flops_fraction"] < 1
    assert summary["training_flops"] == rows[-1]["training_flops"]


def test_subnet_checkpoints_load_into_the_plain_model(full_run):
    from hydra import compose, initialize_config_dir

    from acdc_bench.config import register_resolvers
    from acdc_bench.models import create_model

    register_resolvers()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=ARGS)
    summary = json.loads((full_run / "summary.json").read_text())
    for entry in summary["subnets"]:
        saved = torch.load(full_run / entry["checkpoint"], weights_only=False)
        model = create_model(cfg.model, 10, 1)
        model.load_state_dict(saved["model"], strict=True)
        weights = [m.weight for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        zeros = sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)
        assert zeros == pytest.approx(entry["sparsity"])


def test_killed_run_resumes_to_the_same_metrics(full_run, tmp_path):
    part = tmp_path / "part"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **ENV}
    proc = subprocess.Popen([sys.executable, "-m", "acdc_bench", *ARGS, f"hydra.run.dir={part}"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    metrics, deadline = part / "metrics.jsonl", time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and len(read_jsonl(metrics)) >= 1:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 1 <= len(read_jsonl(metrics)) < 3, "the kill should land mid-run"
    out = run_cli(*ARGS, f"hydra.run.dir={part}", env=ENV)
    assert out.returncode == 0, out.stderr
    assert "resuming" in out.stderr
    strip = lambda rows: [{k: v for k, v in r.items() if k != "epoch_time_s"} for r in rows]  # noqa: E731
    assert strip(read_jsonl(part / "metrics.jsonl")) == strip(read_jsonl(full_run / "metrics.jsonl"))


def test_summary_task_describes_every_subnet():
    out = run_cli("task=summary", *ARGS[:-1], "epochs=160", env=ENV)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert [s["target_sparsity"] for s in info["subnets"]] == [0.9, 0.95, 0.98]
    assert info["final_prune_epoch"] == 110 and info["prunable_sparsity"] == pytest.approx(0.9, abs=1e-3)
    assert info["schedule"][110]["subnet_target_sparsity"] == {"0.9": 0.9, "0.95": 0.95, "0.98": 0.98}


def test_two_gloo_ranks_agree_on_every_subnet_mask(tmp_path):
    """Under DDP the inactive sub-nets' BatchNorms get no gradient (find_unused_parameters)
    and every rank must draw and update the same masks."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "WANDB_MODE": "offline", **ENV}
    env.pop("HYDRA_FULL_ERROR", None)
    out = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "-m", "acdc_bench", *ARGS[:-1], "epochs=2", f"hydra.run.dir={tmp_path}"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["status"] == "finished"
    rows = read_jsonl(tmp_path / "metrics.jsonl")
    assert all(r["mask_checksums"][0] == r["mask_checksums"][1] for r in rows)
    assert sum(r["mask_checks"] for r in rows) > 10  # every mask update was compared across ranks
    assert all(abs(s["sparsity"] - s["target_sparsity"]) <= 0.01 for s in summary["subnets"])
