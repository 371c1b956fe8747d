"""Transfer learning (paper 001 App. F): AIE (Eq. 5) by hand, linear fine-tuning leaves the
backbone bit-identical, full fine-tuning keeps a sparse model's exact mask, a missing
downstream root is one line, and task=transfer end to end on a tiny run."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from conftest import ACDC_4, run_cli
from torch import nn

from acdc_bench.models.cifar_resnet import CifarResNet
from acdc_bench.sparsity.masks import prunable_layers
from acdc_bench.transfer import finetune as FT
from acdc_bench.transfer.aie import average_increase_in_error
from acdc_bench.transfer.settings import TransferSettings

ENV = {"OMP_NUM_THREADS": "1"}
RECIPE = TransferSettings(
    mode="full",
    upstream="x",
    upstream_sweep=None,
    match=(),
    baseline={},
    baseline_run=None,
    tasks=("digits",),
    roots={},
    epochs=2,
    batch_size=8,
    lr=0.05,
    momentum=0.9,
    weight_decay=5e-4,
    lr_step_epochs=1,
    lr_gamma=0.1,
    eval_batch_size=16,
    num_workers=0,
    device="cpu",
)


def test_aie_by_hand():
    # errors: model 0.1 and 0.5, baseline 0.2 and 0.4 -> (0.1-0.2)/0.2 = -0.5, (0.5-0.4)/0.4 = +0.25
    assert average_increase_in_error({"a": 0.9, "b": 0.5}, {"a": 0.8, "b": 0.6}) == pytest.approx(-0.125)
    assert average_increase_in_error({"a": 0.8}, {"a": 0.8, "b": 0.6}) == 0.0  # only shared tasks
    scores = FT.scores(torch.tensor([0, 0, 0, 1]), torch.tensor([0, 0, 0, 0 + 1]), 2)
    assert scores["top1"] == 1.0 and scores["mean_class"] == 1.0
    scores = FT.scores(torch.tensor([0, 0, 0, 0]), torch.tensor([0, 0, 0, 1]), 2)
    assert scores["top1"] == 0.75 and scores["mean_class"] == 0.5  # Table F.6's mean per-class accuracy


def _model() -> nn.Module:
    torch.manual_seed(0)
    return CifarResNet(20, 10, 1, 0.25, 1).eval()


def _data(n: int = 32, classes: int = 3) -> list[tuple[torch.Tensor, int]]:
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8)
    return [(x[i], i % classes) for i in range(n)]


def test_linear_fine_tuning_leaves_the_backbone_bit_identical():
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("fc.")}
    name = FT.head_name(model)
    assert name == "fc"
    FT.replace_head(model, name, nn.Identity())
    data = FT.loader(FT.Prepared(_data(), 8, 1), 16, False, 0, 0)
    norm = lambda x: (x - 0.3) / 0.4  # noqa: E731
    feats, labels = FT.extract(model, data, norm, torch.device("cpu"))
    head = FT.train_linear(feats, labels, 3, RECIPE, 0.05, 0)
    assert head.weight.shape == (3, feats.shape[1])
    after = model.state_dict()
    assert set(after) == set(before)
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BN statistics


def test_full_fine_tuning_keeps_exactly_the_sparsity():
    model = _model()
    masks = {}
    for layer in prunable_layers(model):  # 90% of each weight masked at random, weights zeroed
        m = torch.rand(layer.shape, generator=torch.Generator().manual_seed(layer.numel)) > 0.9
        masks[f"{layer.name}.weight"] = m
        with torch.no_grad():
            layer.weight.mul_(m)
    name = FT.head_name(model)
    FT.replace_head(model, name, nn.Linear(model.fc.in_features, 3))
    fixed = FT.fixed_masks(model, masks, name)
    assert fixed is not None and len(fixed.weights) == len(masks) - 1  # the new head is dense
    data = FT.loader(FT.Prepared(_data(), 8, 1), 8, True, 0, 0)
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    FT.train_full(model, fixed, data, lambda x: x, RECIPE, 0.05, torch.device("cpu"))
    for layer in prunable_layers(model):
        if layer.name == name:
            continue
        m = masks[f"{layer.name}.weight"]
        assert torch.count_nonzero(layer.weight[~m]) == 0  # pruned weights exactly zero
        assert not torch.equal(layer.weight[m], start[f"{layer.name}.weight"][m])  # kept ones trained
    assert not torch.equal(model.fc.weight, start["fc.weight"])


def test_missing_downstream_root_is_one_line(tmp_path):
    out = run_cli(
        "task=transfer",
        "transfer=linear",
        "transfer.upstream=/nonexistent",
        "transfer.tasks=[digits,cifar10]",
        "transfer.roots.cifar10=/nonexistent/cifar",
        f"hydra.run.dir={tmp_path / 'a'}",  # not runs/ in the checkout
        env=ENV,
    )
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "transfer.roots.cifar10='/nonexistent/cifar'" in out.stderr and "cifar-10-batches-py" in out.stderr
    out = run_cli("task=transfer", f"hydra.run.dir={tmp_path / 'b'}", env=ENV)  # no transfer=linear|full
    assert (
        out.returncode == 2 and out.stderr.count("\n") == 1 and "transfer=None is not allowed" in out.stderr
    )


def test_transfer_task_end_to_end(shared_run, tmp_path):
    tiny = ["dataset=digits", "model=resnet20", "model.width=0.25", "epochs=4", "trainer.progress=false"]
    out = run_cli(*tiny, "method=dense", f"hydra.run.dir={tmp_path / 'dense'}", env=ENV)
    assert out.returncode == 0, out.stderr
    # the upstream AC/DC run is tests/test_methods_cli.py's; the transfer writes into a copy of it
    shutil.copytree(shared_run(*tiny, *ACDC_4)[0], tmp_path / "acdc")
    args = [
        "task=transfer",
        "transfer=full",
        f"transfer.upstream={tmp_path / 'acdc'}",
        f"transfer.baseline_run={tmp_path / 'dense'}",
        "transfer.tasks=[digits]",
        "transfer.epochs=1",
        "transfer.num_workers=0",
    ]
    out = run_cli(*args, f"hydra.run.dir={tmp_path / 'job'}", env=ENV)
    assert out.returncode == 0, out.stderr
    summary = json.loads((tmp_path / "job" / "summary.json").read_text())
    mine, base = summary["tasks"]["digits"], summary["baseline_tasks"]["digits"]
    assert summary["final"]["aie"] == pytest.approx(
        ((1 - mine["accuracy"]) - (1 - base["accuracy"])) / (1 - base["accuracy"])
    )
    assert mine["train_images"] + mine["test_images"] == 1797
    assert mine["backbone_sparsity"] > 0.85  # the 90% sparse model stays sparse (the new classifier is dense)
    cached = json.loads((tmp_path / "acdc" / "transfer" / "full.json").read_text())
    assert cached["tasks"]["digits"]["scores"] == mine  # kept in the upstream run, reused by later jobs
