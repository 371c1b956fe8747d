"""Recipes (acdc_bench/recipes): the FFCV recipe is the old loop's schedule bit for bit; the transfer
recipes' LR schedules, unfreezing plans and early stopping are pure functions with the paper's shape."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from acdc_bench.errors import ConfigError
from acdc_bench.recipes import build_recipe
from acdc_bench.recipes.base import EarlyStopping
from acdc_bench.recipes.transfer import unfreezing_plan
from acdc_bench.schedules import lr_at_step

transformers = pytest.importorskip("transformers")


def _cfg(name: str, **more) -> OmegaConf:
    base = {"optim": {"lr": 2e-4, "weight_decay": 0.01, "lr_peak_epoch": 2, "lr_start_fraction": 1e-4,
                      "momentum": 0.9, "nesterov": False},
            "recipe": {"name": name, "betas": [0.9, 0.999], "eps": 1e-8, "warmup_epochs": 0,
                       "embeddings": "final", "final_epochs": 1,
                       "early_stopping": {"metric": None, "mode": "max", "patience": None}}}
    return OmegaConf.merge(OmegaConf.create(base), OmegaConf.create(more))


def _bert(blocks: int):
    from acdc_bench.models.hf import TextModel

    cfg = transformers.BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=blocks,
                                  num_attention_heads=2, intermediate_size=32, max_position_embeddings=32)
    torch.manual_seed(0)
    return TextModel(transformers.AutoModelForSequenceClassification.from_config(cfg))


def test_ffcv_recipe_is_the_loops_former_sgd_and_lr_at_step():
    model = torch.nn.Linear(4, 3)
    r = build_recipe(_cfg("ffcv"), model, epochs=5, steps_per_epoch=7)
    assert [r.lr(s) for s in range(35)] == [lr_at_step(s, 7, 5, 2e-4, 2, 1e-4) for s in range(35)]
    opt = r.optimizer()
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["momentum"] == 0.9
    assert [g["weight_decay"] for g in opt.param_groups] == [0.01, 0.0]  # weights decay, biases do not
    assert r.summary([{"epoch": 0, "val_top1": 0.5}]) == {}  # no early stopping: summary.json unchanged


@pytest.mark.parametrize("blocks", [12, 2])
def test_unfreezing_plan_back_to_front_then_everything(blocks):
    assert [unfreezing_plan(e, blocks) for e in range(blocks + 2)] == [*range(blocks + 1), blocks]
    model = _bert(blocks)
    r = build_recipe(_cfg("gradual_unfreezing"), model, epochs=blocks + 2, steps_per_epoch=4)
    groups = model.transfer_groups()
    head_and_norms = sum(p.numel() for p in model.parameters()) - sum(
        p.numel() for p in groups.embeddings) - sum(w.numel() for ws in groups.blocks for w in ws)
    plan = [r.plan(e) for e in range(blocks + 2)]
    assert [p["unfrozen_blocks"] for p in plan] == [*range(blocks + 1), blocks]
    assert [p["embeddings_trainable"] for p in plan] == [False] * (blocks + 1) + [True]
    assert plan[0]["trainable_params"] == head_and_norms
    assert plan[-1]["trainable_params"] == sum(p.numel() for p in model.parameters())
    for e in range(1, blocks + 1):  # epoch e: the last e blocks' linear weights, nothing before them
        r.on_epoch_start(e)
        trainable = [all(w.requires_grad for w in ws) for ws in groups.blocks]
        assert trainable == [False] * (blocks - e) + [True] * e
        assert not any(p.requires_grad for p in groups.embeddings)
        assert plan[e]["trainable_params"] == head_and_norms + sum(
            w.numel() for ws in groups.blocks[blocks - e:] for w in ws)


def test_gradual_unfreezing_lr_decays_to_zero_in_each_epoch_and_rewinds():
    r = build_recipe(_cfg("gradual_unfreezing"), _bert(2), epochs=4, steps_per_epoch=5)
    lrs = [r.lr(s) for s in range(20)]
    for e in range(4):
        epoch = lrs[5 * e: 5 * e + 5]
        assert epoch[0] == 2e-4  # rewound at every epoch start, no warm-up
        assert epoch == sorted(epoch, reverse=True) and epoch[-1] == pytest.approx(2e-4 / 5)
    assert [p["lr_start"] for p in map(r.plan, range(4))] == [2e-4] * 4
    assert [p["lr_end"] for p in map(r.plan, range(4))] == [0.0] * 4
    assert isinstance(r.optimizer(), torch.optim.AdamW)


def test_dense_transfer_decays_linearly_over_the_whole_run():
    r = build_recipe(_cfg("dense_transfer"), _bert(2), epochs=3, steps_per_epoch=4)
    assert [r.lr(s) for s in range(12)] == pytest.approx([2e-4 * (12 - s) / 12 for s in range(12)])
    assert r.plan(2)["lr_end"] == 0.0
    warm = build_recipe(_cfg("dense_transfer", recipe={"warmup_epochs": 1}), _bert(2), epochs=3,
                        steps_per_epoch=4)
    assert [warm.lr(s) for s in (0, 2, 4, 8)] == pytest.approx([0, 1e-4, 2e-4, 1e-4])


def test_gradual_unfreezing_needs_transformer_blocks():
    with pytest.raises(ConfigError, match="recipe.name='gradual_unfreezing'"):
        build_recipe(_cfg("gradual_unfreezing"), torch.nn.Linear(3, 2), epochs=3, steps_per_epoch=1)


def test_early_stopping_best_epoch_and_patience():
    rows = [{"epoch": i, "val_f1": v} for i, v in enumerate([0.5, 0.7, 0.6, 0.65, 0.69])]
    es = EarlyStopping("val_f1", "max", 2)
    assert es.best_index(rows) == 1
    assert [es.should_stop(rows[:n]) for n in range(1, 6)] == [False, False, False, True, True]
    assert not EarlyStopping("val_f1", "max", None).should_stop(rows)
    assert EarlyStopping("val_loss", "min", None).best_index([{"val_loss": 2}, {"val_loss": 1}]) == 1
    with pytest.raises(ConfigError, match="recipe.early_stopping.metric='val_mcc'"):
        EarlyStopping("val_mcc", "max", None).best_index(rows)
    r = build_recipe(_cfg("dense_transfer", recipe={"early_stopping": {"metric": "val_f1", "patience": 2}}),
                     _bert(2), epochs=8, steps_per_epoch=1)
    s = r.summary(rows[:4])
    assert s["best"]["val_f1"] == 0.7 and s["best_metric"] == 0.7
    assert s["early_stopping"]["best_epoch"] == 1 and s["early_stopping"]["stopped_after_epoch"] == 3
