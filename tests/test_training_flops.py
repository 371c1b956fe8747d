"""Training FLOPs from the schedule (RigL's count), hand-computed for a two-layer model under
dense, AC/DC, GMP and RigL; task=summary's fields, ImageNet without data, and a run's rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import ROOT, read_jsonl, run_cli
from hydra import compose, initialize_config_dir
from torch import nn

from acdc_bench.config import register_resolvers
from acdc_bench.metrics.training_flops import Steps, run_training_flops, step_flops, training_flops
from acdc_bench.sparsity.masks import prunable_layers
from acdc_bench.sparsity.methods import method_class

# A 3x3 conv (1 -> 4 channels, padding 1) on a 4x4 image: 64 outputs x 9 = 576 multiply-adds;
# then a linear layer 64 -> 2: 128. Dense forward f_D = 2 x (576 + 128) = 1408 FLOPs per image.
CONV, LINEAR = 576, 128
F_DENSE = 2 * (CONV + LINEAR)
BATCH, SPE = 2, 4  # images per step, steps per epoch
# Uniform with no dense layer: every layer at the target sparsity exactly.
TINY_MODEL = ["model=resnet20", "model.width=0.25"]
UNIFORM = ["distribution=uniform", "distribution.keep_dense=[]", "sparsity=0.5"]


def two_layer_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.Flatten(), nn.Linear(64, 2))


def f_sparse(d_conv: float, d_linear: float) -> float:
    return 2 * (CONV * d_conv + LINEAR * d_linear)


def count(*overrides: str, epochs: int):
    register_resolvers()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=["dataset=digits", *overrides])
    model = two_layer_model()
    method = method_class(cfg.method.name)(cfg, model, epochs, SPE, run_dir=None, is_main=True,
                                           device=torch.device("cpu"), eval_res=4)
    cost = run_training_flops(model, prunable_layers(model), epochs, method.training_steps, lambda e: 4, 1,
                              BATCH)
    return method, cost


def test_step_flops_is_rigls_count():
    macs = [CONV, LINEAR]
    assert step_flops(macs, Steps(1)) == 3 * F_DENSE
    assert step_flops(macs, Steps(1, (0.5, 0.25))) == 3 * f_sparse(0.5, 0.25)
    # an update step: sparse forward and input gradient, dense weight gradient
    assert step_flops(macs, Steps(1, (0.5, 0.25), dense_gradient=True)) == 2 * f_sparse(0.5, 0.25) + F_DENSE
    cost = training_flops([[Steps(3)], [Steps(2, (0.5, 0.5)), Steps(1, (0.5, 0.5), True, "a")]],
                          [macs, [2 * CONV, LINEAR]], 5)
    first = 3 * 5 * 3 * F_DENSE
    dense_second = 3 * 5 * 3 * 2 * (2 * CONV + LINEAR)
    f_s2 = 2 * (2 * CONV * 0.5 + LINEAR * 0.5)
    second = 5 * (2 * 3 * f_s2 + 2 * f_s2 + 2 * (2 * CONV + LINEAR))
    assert cost.row(0) == {"training_flops": first, "training_flops_fraction": 1.0}
    assert cost.row(1)["training_flops"] == pytest.approx(first + second)
    assert cost.row(1)["training_flops_fraction"] == pytest.approx((first + second) / (first + dense_second))
    update_part = 5 * (2 * f_s2 + 2 * (2 * CONV + LINEAR))
    assert cost.summary(1)["training_flops_parts"] == {"a": pytest.approx(update_part)}


def test_dense_training_flops():
    _, cost = count("method=dense", epochs=3)
    assert cost.row(2) == {"training_flops": 3 * SPE * BATCH * 3 * F_DENSE, "training_flops_fraction": 1.0}


def test_acdc_dense_phases_are_dense_and_compression_sparse():
    # dense 0 (warm-up), sparse 1, dense 2 (final decompression), sparse 3
    _, cost = count("method=acdc", *UNIFORM, "method.warmup_epochs=1", "method.phase_epochs=1",
                    "method.final_decompression_epochs=1", "method.final_compression_epochs=1", epochs=4)
    dense, sparse = 3 * F_DENSE, 3 * f_sparse(0.5, 0.5)
    assert cost.flops == tuple(SPE * BATCH * f for f in (dense, sparse, dense, sparse))
    assert cost.row(3)["training_flops_fraction"] == pytest.approx(0.75)
    assert cost.row(1)["training_flops"] == SPE * BATCH * (dense + sparse)


def test_acdc_sparse_decompression_has_one_dense_step():
    _, cost = count("method=acdc", *UNIFORM, "method.warmup_epochs=1", "method.phase_epochs=1",
                    "method.final_decompression_epochs=1", "method.final_compression_epochs=1",
                    "method.decompression_sparsity=0.25", epochs=4)
    # conv 36 weights -> 27 kept (0.75), linear 128 -> 96 (0.75)
    assert cost.flops[2] == BATCH * (3 * F_DENSE + (SPE - 1) * 3 * f_sparse(0.75, 0.75))


def test_gmp_counts_each_epoch_at_its_sparsity():
    # n = 3 increments (prune every epoch up to 75% of 4): s = 0.5 (1 - (1 - j/3)^3), j = 0..3
    method, cost = count("method=gmp", *UNIFORM, "method.prune_every_epochs=1", epochs=4)
    expected = []
    for j in range(4):
        s = 0.5 * (1 - (1 - j / 3) ** 3)
        assert method.sparsity_at(j) == pytest.approx(s)
        d_conv, d_linear = (36 - round(s * 36)) / 36, (128 - round(s * 128)) / 128
        expected.append(SPE * BATCH * 3 * f_sparse(d_conv, d_linear))
    assert expected[0] == SPE * BATCH * 3 * F_DENSE  # dense before the first pruning
    assert cost.flops == pytest.approx(tuple(expected))


def test_rigl_update_steps_need_the_dense_gradient():
    # T_end = 0.75 x 8 steps = 6, an update every 2 steps: steps 2 and 4, one in each epoch
    method, cost = count("method=rigl", *UNIFORM, "method.update_interval=2", epochs=2)
    assert [t for t in range(8) if method.is_update_step(t)] == [2, 4]
    sparse, update = 3 * f_sparse(0.5, 0.5), 2 * f_sparse(0.5, 0.5) + F_DENSE
    assert cost.flops == (BATCH * (3 * sparse + update), BATCH * (3 * sparse + update))
    fraction = (6 * sparse + 2 * update) / (8 * 3 * F_DENSE)
    assert cost.row(1)["training_flops_fraction"] == pytest.approx(fraction)


@pytest.mark.parametrize("interval", [1, 3, 4, 7])
def test_rigl_update_counts_match_its_update_steps(interval):
    method, _ = count("method=rigl", *UNIFORM, f"method.update_interval={interval}", epochs=5)
    for e in range(5):
        steps = method.training_steps(e)
        expected = sum(method.is_update_step(t) for t in range(e * SPE, (e + 1) * SPE))
        assert sum(s.count for s in steps if s.dense_gradient) == expected
        assert sum(s.count for s in steps) == SPE


def test_ast_parts_are_its_subnets_and_add_up():
    method, cost = count("method=ast", "method.subnet_sparsities=[0.5,0.75]", "distribution=uniform",
                         "distribution.keep_dense=[]", "method.update_interval=2", epochs=4)
    summary = cost.summary(3)
    parts = summary["training_flops_parts"]
    assert set(parts) == {"0.5", "0.75"}
    assert sum(parts.values()) == pytest.approx(summary["training_flops"])
    assert parts["0.75"] < parts["0.5"] < 0.5 * 4 * SPE * BATCH * 3 * F_DENSE  # sparse halves of the run
    updates = sum(method.is_update_step(t) for t in range(4 * SPE))
    planned = sum(s.count for e in range(4) for s in method.training_steps(e) if s.dense_gradient)
    assert updates and planned == updates


def summary_json(*overrides: str) -> dict:
    out = run_cli("task=summary", *overrides, env={"OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_imagenet_summary_reads_no_data_and_answers_paper_000():
    s = summary_json("model=resnet50", "dataset=imagenet", "method=acdc", "sparsity=0.9")  # no data here
    assert s["steps_per_epoch"] == 1281167 // 1024
    # paper 000: AC/DC "usually reduces training FLOPs to 45-65% of the dense baseline"
    assert 0.45 <= s["training_flops_fraction"] <= 0.65
    assert s["schedule"][9]["training_flops_fraction"] == 1.0  # the dense warm-up
    assert s["schedule"][-1]["training_flops"] == s["training_flops"]
    assert 1e17 < s["training_flops"] < 3.2e18  # below dense ResNet-50 at 224 px (3 x 8.2 GFLOPs x 128M)


def test_a_runs_rows_and_summary_carry_the_schedules_count(tmp_path: Path):
    args = ["dataset=synthetic", "model=resnet20", "model.width=0.25", "method=rigl", "epochs=2",
            "method.update_interval=5"]
    planned = summary_json(*args)
    run = tmp_path / "run"
    out = run_cli(*args, f"hydra.run.dir={run}", env={"OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    rows = read_jsonl(run / "metrics.jsonl")
    summary = json.loads((run / "summary.json").read_text())
    for row, plan in zip(rows, planned["schedule"], strict=True):
        assert row["training_flops"] == pytest.approx(plan["training_flops"])
        assert row["training_flops_fraction"] == pytest.approx(plan["training_flops_fraction"])
    assert summary["training_flops"] == pytest.approx(planned["training_flops"])
    assert 0 < summary["training_flops_fraction"] < 1


def test_training_cost_of_a_config_for_other_tasks():
    from acdc_bench.tasks.summary import training_cost

    register_resolvers()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        synthetic = compose(config_name="config",
                            overrides=["dataset=synthetic", *TINY_MODEL, "method=gmp", "epochs=8"])
        digits = compose(config_name="config", overrides=["dataset=digits", *TINY_MODEL])
    cost = training_cost(synthetic)
    assert cost is not None and 0 < cost["training_flops_fraction"] < 1 and cost["training_flops"] > 0
    assert training_cost(digits) is None  # no training set size stated: unknown steps per epoch
