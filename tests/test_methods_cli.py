"""Every sparse method from the command line: short digits runs, summaries, errors, resume."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import ACDC_4, cli_error, kill_after_rows, read_jsonl, run_cli, task_stdout

TINY = ["dataset=digits", "model=resnet20", "model.width=0.25", "epochs=3"]
# Phases of one epoch so that 3 epochs hold compression, decompression, compression.
SHORT_ACDC = ["method.warmup_epochs=0", "method.phase_epochs=1", "method.final_decompression_epochs=1",
              "method.final_compression_epochs=1"]
METHOD_RUNS = {
    "acdc": ["method=acdc", *SHORT_ACDC],
    "acdcpp": ["method=acdcpp", "distribution=fld", *SHORT_ACDC],
    "gmp": ["method=gmp", "method.prune_every_epochs=1"],
    "rigl": ["method=rigl", "distribution=erk"],
}
SPARSE_KEYS = {"phase", "target_sparsity", "sparsity", "mask_iou", "zero_fraction_decompressed",
               "channel_sparsity"}


@pytest.fixture(scope="module")
def method_runs(tmp_path_factory) -> dict:
    """``name -> (run directory, output)`` of the runs below, two at a time, one torch thread
    each (2 cores)."""
    from concurrent.futures import ThreadPoolExecutor

    root = tmp_path_factory.mktemp("methods")
    with ThreadPoolExecutor(2) as pool:
        outs = pool.map(lambda n: run_cli(*TINY, *METHOD_RUNS[n], f"hydra.run.dir={root / n}",
                                          env={"OMP_NUM_THREADS": "1"}), METHOD_RUNS)
        return {n: (root / n, out) for n, out in zip(METHOD_RUNS, outs, strict=True)}


@pytest.mark.parametrize("name", list(METHOD_RUNS))
def test_three_epoch_digits_run_of_each_method(method_runs, name):
    tmp_path, out = method_runs[name]
    assert out.returncode == 0, out.stderr
    rows = read_jsonl(tmp_path / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    for r in rows:
        assert SPARSE_KEYS <= set(r)
        assert r["phase"] in ("dense", "sparse") and 0 <= r["channel_sparsity"] <= 1
    assert rows[0]["mask_iou"] is None and all(0 <= r["mask_iou"] <= 1 for r in rows[1:])
    summary = json.loads((tmp_path / "summary.json").read_text())
    final = summary["final"]
    assert final["phase"] == "sparse" and final["sparsity"] >= 0.85  # 90% of the pruned layers
    assert 0 < summary["inference_flops_fraction"] < 0.5 and summary["dense_flops"] > 0
    assert summary["params_nonzero"] < 0.5 * summary["params_total"]
    layers = summary["layers"]
    assert layers[0]["name"] == "conv1" and layers[-1]["name"] == "fc"
    assert all(0 <= layer["density"] <= 1 and layer["shape"] for layer in layers)
    if name in ("acdc", "acdcpp"):
        assert [r["phase"] for r in rows] == ["sparse", "dense", "sparse"]
        assert rows[1]["zero_fraction_decompressed"] == rows[1]["sparsity"] < 0.5
        assert rows[0]["zero_fraction_decompressed"] is None
        dense = summary["dense"]
        assert dense["epoch"] == 1 and dense["val_top1"] == rows[1]["val_top1"]
        assert dense["checkpoint"] == "checkpoints/dense_final.pt"
        saved = torch.load(tmp_path / "checkpoints" / "dense_final.pt", weights_only=False)
        assert saved["epoch"] == 1 and "fc.weight" in saved["model"]
        # the console's last line gives both models of the pair
        last = out.stderr.strip().splitlines()[-1]
        assert f"val_top1={final['val_top1']:.4f}, sparsity={final['sparsity']:.4f}" in last
        assert f"dense model (epoch 1) val_top1={dense['val_top1']:.4f}" in last
    if name == "acdcpp":
        assert layers[0]["density"] == 1.0 and layers[-1]["density"] == 1.0  # FLD
    if name == "gmp":
        assert [r["phase"] for r in rows] == ["dense", "sparse", "sparse"]
        assert rows[1]["target_sparsity"] < rows[2]["target_sparsity"] == pytest.approx(0.9)
    if name == "rigl":
        assert all(r["sparsity"] == pytest.approx(0.9, abs=0.01) for r in rows)
        assert rows[1]["mask_iou"] < 1.0  # the first update moved connections


def test_summary_task_resnet50_imagenet_erk_without_data():
    out = run_cli("task=summary", "model=resnet50", "dataset=imagenet", "distribution=erk", "sparsity=0.9")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    s = json.loads(lines[0])
    keys = {"dense_flops", "inference_flops_fraction", "params_total", "params_nonzero", "layers", "schedule"}
    assert keys <= set(s)
    assert s["dense_flops"] == pytest.approx(8.2e9, rel=0.01)  # RigL's dense ResNet-50
    assert s["inference_flops_fraction"] == pytest.approx(0.24, abs=0.01)  # RigL ERK 90%: 0.24
    assert s["params_total"] == 25_557_032
    assert all(0 < layer["density"] <= 1 for layer in s["layers"]) and len(s["layers"]) == 54
    assert len(s["schedule"]) == 100 and {"epoch", "phase", "target_sparsity"} <= set(s["schedule"][0])
    macs = [layer["macs"] for layer in s["layers"]]
    kept = sum(m * layer["density"] for m, layer in zip(macs, s["layers"], strict=True))
    assert s["inference_flops_fraction"] == pytest.approx(kept / sum(macs))
    assert s["steps_per_epoch"] == 1_281_167 // 1024  # the trainer drops the last partial batch


def test_summary_steps_per_epoch_follow_the_batch_and_subset():
    s = json.loads(task_stdout("task=summary", "dataset=fashion_mnist", "method=rigl",
                               "dataset.batch_size=100", "+dataset.train_subset=1000", "epochs=4"))
    assert s["steps_per_epoch"] == 10
    # RigL's drop fraction at an epoch's first step: alpha/2 (1 + cos(pi t / T_end)), T_end = 75% of 40 steps
    t = 10
    assert s["schedule"][1]["drop_fraction"] == pytest.approx(0.15 * (1 + math.cos(math.pi * t / 30)))


def test_a_schedule_that_does_not_fit_is_a_one_line_error_naming_the_field():
    """In this process (the real command's surface for this check: tests/test_cli.py)."""
    status, err = cli_error("dataset=digits", "method=acdc", "epochs=30", "method.warmup_epochs=3",
                            "method.phase_epochs=5", "method.final_decompression_epochs=10",
                            "method.final_compression_epochs=15")
    assert status == 2
    first = err.strip().splitlines()[0]
    assert "method.phase_epochs" in first and "Traceback" not in err


def test_acdc_resumed_run_matches_an_uninterrupted_one(shared_run, tmp_path):
    # dense 0, sparse 1, dense 2 (its model is dense_final.pt), sparse 3
    args = ["dataset=digits", "model=resnet20", "model.width=0.25", "epochs=4", "trainer.progress=false",
            *ACDC_4]
    full = shared_run(*args)[0]  # one torch thread, as the interrupted run here; tests/test_transfer.py's too
    part = tmp_path / "part"
    one_thread = {"OMP_NUM_THREADS": "1"}
    kill_after_rows([*args, f"hydra.run.dir={part}"], part / "metrics.jsonl", 1, env=one_thread)
    assert 1 <= len(read_jsonl(part / "metrics.jsonl")) < 4, "the kill should land mid-run"
    out = run_cli(*args, f"hydra.run.dir={part}", env=one_thread)
    assert out.returncode == 0, out.stderr
    strip = lambda rows: [{k: v for k, v in r.items() if k != "epoch_time_s"} for r in rows]  # noqa: E731
    assert strip(read_jsonl(full / "metrics.jsonl")) == strip(read_jsonl(part / "metrics.jsonl"))
    a, b = (json.loads((d / "summary.json").read_text()) for d in (full, part))
    assert a["dense"] == b["dense"] and a["layers"] == b["layers"]


def _plan(epochs: int, warmup: int, phase: int, final_dense: int, final_sparse: int) -> list[tuple]:
    out = [("warmup", 0, warmup)] if warmup else []
    middle = epochs - warmup - final_dense - final_sparse
    for k, start in enumerate(range(warmup, warmup + middle, phase)):
        out.append(("compression" if k % 2 == 0 else "decompression", start, start + phase))
    end = warmup + middle
    return out + [("decompression", end, end + final_dense), ("compression", end + final_dense, epochs)]


@pytest.mark.parametrize("args,epochs,plan", [
    (["dataset=imagenet"], 100, (10, 5, 10, 15)),  # the authors' ImageNet config
    (["dataset=cifar100"], 200, (10, 20, 20, 30)),  # the authors' CIFAR-100 config
    ([], 10, (1, 1, 2, 2)),  # the default run (make run): Fashion-MNIST's short plan
])
def test_summary_prints_the_dataset_recipes_acdc_plan_without_method_overrides(args, epochs, plan):
    s = json.loads(task_stdout("task=summary", *args))
    assert s["epochs"] == epochs
    assert [(p["stage"], p["start"], p["end"]) for p in s["phases"]] == _plan(epochs, *plan)
