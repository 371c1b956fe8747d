"""Dead-unit tracking (issue 16): the share of zero weights whose dense gradient is zero, the
channels cut off from the loss, the channels whose BatchNorm-scaled output is constant; taken
at an epoch's last step without changing a single number of training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import read_jsonl, run_cli
from test_methods_schedules import build
from torch import nn

from acdc_bench.sparsity.masked import WeightStats
from acdc_bench.sparsity.masks import prunable_layers
from acdc_bench.trainer.step import train_step


class TwoConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 3, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(3)
        self.fc = nn.Linear(3, 5)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return self.fc(x.mean((2, 3)))


def dead_model() -> TwoConv:
    """conv1 channel 0 all zero with BN shift -1 (emits relu(-1) = 0: dead, no gradient back);
    conv1 channel 1 scaled to nothing (gamma 0, shift 0: emits 0); conv2 reads channel 0 through
    27 zero weights (input always 0: zero gradient); one zero in conv2 and one in the classifier
    sit on live paths (their gradient is not zero)."""
    torch.manual_seed(0)
    m = TwoConv()
    with torch.no_grad():
        m.conv1.weight[0] = 0
        m.bn1.bias[0] = -1.0
        m.bn1.weight[1] = 0.0
        m.conv2.weight[:, 0] = 0
        m.conv2.weight[0, 2, 0, 0] = 0
        m.fc.weight[0, 0] = 0
    return m


def backward(model: nn.Module) -> None:
    torch.manual_seed(1)
    x, y = torch.randn(16, 1, 6, 6), torch.randint(0, 5, (16,))
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()


def stats_of(model: nn.Module, steps_per_epoch: int | None = 2) -> WeightStats:
    return WeightStats(model, prunable_layers(model), 1, 6, 1, 0, steps_per_epoch)


def test_a_hand_made_dead_channel_gives_the_expected_shares():
    model = dead_model()
    stats = stats_of(model)
    backward(model)
    stats.sample_gradients(step=0)  # not the epoch's last step (2 per epoch): nothing taken
    assert stats.grad_sample is None
    stats.sample_gradients(step=1)
    row = stats.epoch_row(epoch=0)
    # 38 zero weights: 9 (conv1 ch 0) + 27 (conv2 reading ch 0) dead, 2 live
    assert row["zero_grad_share"] == pytest.approx(36 / 38)
    # channels whose gradient is zero everywhere: conv1 ch 0 and ch 1 (gamma 0), of 4 + 3
    assert row["zero_grad_channel_share"] == pytest.approx(2 / 7)
    # constant BN output: ch 0 (all weights zero) and ch 1 (gamma 0); only ch 0 is all-zero
    assert row["dead_channel_share"] == pytest.approx(2 / 7)
    assert row["channel_sparsity"] == pytest.approx(1 / 7)
    assert row["sparsity"] == pytest.approx(38 / (36 + 108 + 15))
    # the sample belongs to one epoch: the next row without a new sample says "not sampled"
    again = stats.epoch_row(epoch=1)
    assert again["zero_grad_share"] is None and again["zero_grad_channel_share"] is None


def test_the_gradient_sample_survives_a_checkpoint_and_dense_stats_have_no_gradient_keys():
    model = dead_model()
    stats = stats_of(model)
    backward(model)
    stats.sample_gradients(step=3)
    restored = stats_of(model)
    restored.load_state_dict(json.loads(json.dumps(stats.state_dict(), default=list)))
    assert restored.epoch_row(epoch=0)["zero_grad_share"] == pytest.approx(36 / 38)
    assert set(stats_of(model, None).epoch_row(epoch=0)) == {
        "sparsity", "mask_iou", "zero_fraction_decompressed", "channel_sparsity", "dead_channel_share"}


def _train(sample: bool) -> list[torch.Tensor]:
    _, model, method = build("method=gmp", "sparsity=0.9", "method.start_epoch=0",
                             "method.prune_every_epochs=1", epochs=4, steps_per_epoch=3)
    if not sample:
        method.stats.steps_per_epoch = None
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    method.on_train_start(opt)
    torch.manual_seed(2)
    data = [(torch.randn(8, 1, 8, 8), torch.randint(0, 10, (8,))) for _ in range(3)]
    rows = []
    for epoch in range(2):
        method.on_epoch_start(epoch)
        for i, (x, y) in enumerate(data):
            train_step(model, x, y, step=epoch * 3 + i, optimizer=opt, method=method,
                       loss_fn=lambda lg, t: (F.cross_entropy(lg, t),) * 2)
        rows.append(method.on_epoch_end(epoch, dict))
    if sample:  # a pruned model at 90%: its zero weights and their gradients were sampled
        assert all(0 <= r["zero_grad_share"] <= 1 for r in rows[1:])
    return [p.detach().clone() for p in model.parameters()] + [torch.tensor([r["sparsity"] for r in rows])]


def test_sampling_changes_no_number_of_training():
    for a, b in zip(_train(True), _train(False), strict=True):
        assert torch.equal(a, b)


def test_a_masked_run_logs_and_prints_the_dead_unit_metrics(tmp_path: Path):
    out = run_cli("dataset=digits", "model=resnet20", "model.width=0.25", "epochs=3", "method=gmp",
                  "method.start_epoch=0", "method.prune_every_epochs=1", f"hydra.run.dir={tmp_path}")
    assert out.returncode == 0, out.stderr
    rows = read_jsonl(tmp_path / "metrics.jsonl")
    assert all(r["zero_grad_share"] is not None and 0 <= r["dead_channel_share"] <= 1 for r in rows[1:])
    header = next(ln for ln in out.stdout.splitlines() if ln.strip())
    assert "zero_grad_share" in header.split()
