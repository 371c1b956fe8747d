"""Sparse transfer of language models (paper 001 Sec. 4): GLUE metrics against hand values, the
fixed mask under AdamW with weight decay, frozen parameters under gradual unfreezing, the offline
errors, and bert_tiny runs from the CLI (encoder sparsity kept, metrics per epoch, exact resume)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from conftest import kill_after_rows, read_jsonl, run_cli, task_stdout
from omegaconf import OmegaConf

from acdc_bench.errors import ConfigError
from acdc_bench.metrics.glue import accuracy, f1, matthews, pearson, spearman
from acdc_bench.objectives import TextTask

transformers = pytest.importorskip("transformers")


# ----------------------------------------------------------------------------- metrics
def test_glue_metrics_against_hand_computed_values():
    pred = np.array([1, 1, 0, 1, 0, 0, 1, 0])
    gold = np.array([1, 0, 0, 1, 1, 0, 1, 0])  # tp 3, fp 1, fn 1, tn 3
    assert accuracy(pred, gold) == 6 / 8
    assert f1(pred, gold) == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    assert matthews(pred, gold) == pytest.approx((3 * 3 - 1 * 1) / math.sqrt(4 * 4 * 4 * 4))
    x, y = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 5.0])
    # Pearson: cov / (sd sd) with means 2.5 and 2.75
    dx, dy = x - 2.5, y - 2.75
    assert pearson(x, y) == pytest.approx((dx * dy).sum() / math.sqrt((dx**2).sum() * (dy**2).sum()))
    assert spearman(x, y) == pytest.approx(1 - 6 * (0 + 1 + 1 + 0) / (4 * (16 - 1)))  # ranks 1,3,2,4
    assert matthews(np.zeros(4), np.array([0, 1, 0, 1])) == 0.0 and pearson(np.ones(3), x[:3]) == 0.0


def test_text_objective_keeps_all_predictions_and_splits_mnli_groups():
    task = TextTask(["accuracy"], regression=False)
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [2.0, 0.0, 0.0]])
    labels = torch.tensor([[0, 0], [1, 0], [0, 1], [1, 1]])  # (label, group): matched 2/2, mismatched 0/2
    sums = [float(s) for s in task.eval_sums(logits[:2], labels[:2]) + task.eval_sums(logits[2:], labels[2:])]
    out = task.finalize(sums, 4)
    assert out["val_accuracy"] == 1.0 and out["val_accuracy_mm"] == 0.0 and out["val_top1"] == 0.5
    ce = torch.nn.functional.cross_entropy(logits, labels[:, 0], reduction="sum").item()
    assert out["val_loss"] == pytest.approx(ce / 4)
    assert task._kept == []  # finalize forgets them: the next evaluation starts empty
    reg = TextTask(["pearson", "spearman"], regression=True)
    reg.eval_sums(torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([1.0, 2.0, 4.0]))
    out = reg.finalize([0.0], 3)
    assert out["val_spearman"] == pytest.approx(1.0) and "val_top1" not in out


# ----------------------------------------------------------------------------- models
def _tiny(blocks: int = 2, labels: int = 2):
    from acdc_bench.models.hf import TextModel

    cfg = transformers.BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=blocks,
                                  num_attention_heads=2, intermediate_size=32, max_position_embeddings=32,
                                  num_labels=labels)
    torch.manual_seed(0)
    return TextModel(transformers.AutoModelForSequenceClassification.from_config(cfg))


def _batch(n: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 64, (n, 12), generator=g)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}, torch.randint(0, 2, (n,), generator=g)


def _ce(logits, labels):
    ce = torch.nn.functional.cross_entropy(logits, labels)
    return ce, ce


def _cfg(**more):
    base = {"sparsity": 0.9, "dataset": {"eval_res": 12, "in_chans": 1},
            "distribution": {"name": "global", "keep_dense": []},
            "method": {"name": "fixed_mask", "mask_from": "auto", "momentum_reset": "none",
                       "mask_iou_every": 1, "mask_iou_start": 0},
            "optim": {"lr": 1e-2, "weight_decay": 0.1, "lr_peak_epoch": 0, "lr_start_fraction": 1.0,
                      "momentum": 0.9, "nesterov": False},
            "recipe": {"name": "gradual_unfreezing", "betas": [0.9, 0.999], "eps": 1e-8,
                       "embeddings": "final", "final_epochs": 1,
                       "early_stopping": {"metric": None, "mode": "max", "patience": None}}}
    return OmegaConf.merge(OmegaConf.create(base), OmegaConf.create(more))


@pytest.mark.parametrize("amsgrad", [False, True])
def test_masked_weights_and_their_adam_moments_stay_exactly_zero_under_adamw_with_weight_decay(amsgrad):
    from acdc_bench.sparsity.methods.fixed_mask import FixedMask
    from acdc_bench.trainer import train_step

    model = _tiny()
    method = FixedMask(_cfg(), model, epochs=1, steps_per_epoch=10)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1, amsgrad=amsgrad)
    method.on_train_start(opt)
    assert method.mask_from == "magnitude" and method.encoder_sparsity() == pytest.approx(0.9, abs=1e-3)
    before = method.encoder_sparsity()
    for step in range(10):
        x, y = _batch(seed=step)
        train_step(model, x, y, step=step, optimizer=opt, method=method, loss_fn=_ce)
    for i in method.encoder:
        w, keep = method.masks.weights[i], method.masks.masks[i]
        assert torch.count_nonzero(w[~keep]) == 0
        for buf in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            if buf in opt.state[w]:
                assert torch.count_nonzero(opt.state[w][buf][~keep]) == 0
        assert torch.count_nonzero(w[keep]) == keep.sum()  # the kept weights did train
    assert method.encoder_sparsity() == before
    end = method.on_train_end()
    assert end["encoder_sparsity_before"] == 0.0 and end["encoder_sparsity_after"] == before


def test_upstream_zeros_are_the_mask_when_the_encoder_is_already_sparse():
    from acdc_bench.sparsity.methods.fixed_mask import FixedMask

    model = _tiny()
    with torch.no_grad():
        for ws in model.transfer_groups().blocks:
            for w in ws:
                w[torch.rand(w.shape) < 0.95] = 0.0
    zeros = [(w == 0).clone() for ws in model.transfer_groups().blocks for w in ws]
    method = FixedMask(_cfg(), model, epochs=1, steps_per_epoch=1)
    method.on_train_start(torch.optim.AdamW(model.parameters()))
    assert method.mask_from == "upstream" and method.sparsity_before > 0.9
    masks = [method.masks.masks[i] for i in method.encoder]
    assert all(torch.equal(~m, z) for m, z in zip(masks, zeros, strict=True))


def test_frozen_parameters_are_bit_identical_after_an_epoch_in_which_they_are_frozen():
    from acdc_bench.recipes import build_recipe
    from acdc_bench.sparsity.methods.fixed_mask import FixedMask
    from acdc_bench.trainer import train_step

    model = _tiny(blocks=2)
    method = FixedMask(_cfg(), model, epochs=4, steps_per_epoch=5)
    recipe = build_recipe(_cfg(), model, epochs=4, steps_per_epoch=5)
    opt = recipe.optimizer()
    method.on_train_start(opt)
    groups = model.transfer_groups()
    for epoch in range(2):  # epoch 0: no block; epoch 1: block 1 (the last) only
        recipe.on_epoch_start(epoch)
        frozen = [p.detach().clone() for p in (*groups.embeddings, *groups.blocks[0])]
        last = [w.detach().clone() for w in groups.blocks[1]]
        head = model.hf.classifier.weight.detach().clone()
        for i in range(5):
            step = epoch * 5 + i
            x, y = _batch(seed=step)
            train_step(model, x, y, step=step, optimizer=opt, method=method, lr=recipe.lr(step), loss_fn=_ce)
        now = [p.detach() for p in (*groups.embeddings, *groups.blocks[0])]
        assert all(torch.equal(a, b) for a, b in zip(frozen, now, strict=True))
        assert not torch.equal(head, model.hf.classifier.weight)
        changed = not all(torch.equal(a, b) for a, b in zip(last, groups.blocks[1], strict=True))
        assert changed == (epoch == 1)


# ----------------------------------------------------------------------------- offline
def test_missing_model_and_glue_task_are_one_line_errors_offline(monkeypatch, tmp_path):
    from acdc_bench.data.text.glue import load_glue
    from acdc_bench.models.hf import HFModelSettings

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    cfg = OmegaConf.create({"model": {"name": "bert_base", "pretrained": "acdc-bench-test/no-such-bert",
                                      "tokenizer": "x", "head": "sequence", "blocks": 12, "dropout": None}})
    with pytest.raises(ConfigError) as err:
        HFModelSettings.read(cfg).create(2)
    msg = str(err.value)
    assert "\n" not in msg and "acdc-bench-test/no-such-bert" in msg and "from_pretrained(" in msg
    with pytest.raises(ConfigError) as err:
        load_glue("rte", "acdc-bench-test/no-such-glue", None)
    msg = str(err.value)
    assert "\n" not in msg and "load_dataset('acdc-bench-test/no-such-glue', 'rte')" in msg


def test_glue_from_a_local_save_to_disk_folder(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = {"sentence1": ["a cat sat", "dogs run", "it rains", "the sun"] * 4,
            "sentence2": ["a cat is sitting", "cats sleep", "it is raining", "night"] * 4,
            "label": [1, 0, 1, 0] * 4}
    splits = {"train": datasets.Dataset.from_dict(rows), "validation": datasets.Dataset.from_dict(rows)}
    datasets.DatasetDict(splits).save_to_disk(str(tmp_path / "mrpc"))
    out = run_cli("model=bert_tiny", "dataset=glue", "dataset.task=mrpc", f"dataset.path={tmp_path / 'mrpc'}",
                  "recipe=dense_transfer", "epochs=1", "dataset.batch_size=4", "model.hidden_size=32",
                  "model.intermediate_size=64", f"hydra.run.dir={tmp_path / 'run'}",
                  env={"OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    row = read_jsonl(tmp_path / "run" / "metrics.jsonl")[0]
    assert {"val_f1", "val_accuracy", "val_loss", "encoder_sparsity"} <= set(row)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["early_stopping"]["metric"] == "val_f1" and summary["best_metric"] == row["val_f1"]


def test_corpus_tokenizer_knows_every_word_of_the_corpus(tmp_path):
    from acdc_bench.data.text import VOCAB_SPLIT, corpus
    from acdc_bench.data.text.tokens import build_tokenizer

    texts = corpus.vocabulary_text(*VOCAB_SPLIT)
    tok = build_tokenizer("corpus", 512, texts, tmp_path)
    assert len(tok) == 512 and tok.mask_token_id == 4
    ids = tok(texts[:50])["input_ids"]
    assert all(tok.unk_token_id not in row for row in ids)  # rare words split into known pieces
    assert tok.convert_ids_to_tokens(tok("the object")["input_ids"]) == ["[CLS]", "the", "object", "[SEP]"]


def test_offline_tasks_hold_every_sentence_once_per_label():
    """order: the sentence (1) then its words shuffled but the last (0); para: the sentence with a
    copy cut by one run of a third of its words (1), then with another sentence of its topic cut
    the same way (0). Balanced, every sentence of its split (validation: those the training split does
    not repeat word for word), and the construction in the cache key."""
    from acdc_bench.data.text import corpus

    sents = corpus.sentences()
    topics: dict[str, set[int]] = {}  # pydoc's topics repeat some sentences word for word
    for t, s in sents:
        topics.setdefault(s, set()).add(t)
    order, para = corpus.examples("order", 0, 0.2), corpus.examples("para", 0, 0.2)
    train, val = corpus.split_indices(len(sents), 0, 0.2)
    seen = {sents[i][1] for i in train}
    held_out = [i for i in val if sents[i][1] not in seen]
    assert 0.6 * len(val) < len(held_out) < len(val)  # pydoc repeats some sentences in other topics
    assert len(corpus.examples("mlm", 0, 0.2)["val"]) == len(val)  # the upstream models' split, as it was
    for split, idx in (("train", train), ("val", held_out)):
        kept, shuffled = order[split][0::2], order[split][1::2]
        assert [e.text_a for e in kept] == [sents[i][1] for i in idx]  # every sentence of the split, once
        assert {e.label for e in kept} == {1} and {e.label for e in shuffled} == {0}
        for k, s in zip(kept, shuffled, strict=True):
            kw, sw = k.text_a.split(), s.text_a.split()
            assert sorted(kw) == sorted(sw) and kw[-1] == sw[-1] and kw != sw and s.text_b is None
        pos, neg = para[split][0::2], para[split][1::2]
        assert [e.text_a for e in pos] == [e.text_a for e in neg] == [e.text_a for e in kept]
        assert {e.label for e in pos} == {1} and {e.label for e in neg} == {0}
        for p in pos:
            a, b = p.text_a.split(), p.text_b.split()
            cut = len(a) // 3
            assert len(b) == len(a) - cut and any(a[:i] + a[i + cut:] == b for i in range(len(b) + 1))
        full = {" ".join(w[: i] + w[i + len(w) // 3:]): s for s in topics for w in [s.split()]
                for i in range(len(w) - len(w) // 3 + 1)}
        assert all(full[n.text_b] != n.text_a for n in neg)  # never a copy, even of a repeated sentence
        texts: dict[int, set[str]] = {}
        for i in idx:
            texts.setdefault(sents[i][0], set()).add(sents[i][1])
        alone = sum(texts[sents[i][0]] == {sents[i][1]} for i in idx)  # these draw from any topic
        assert sum(bool(topics[full[n.text_b]] & topics[n.text_a]) for n in neg) >= len(neg) - alone
    assert len({corpus.task_id(t) for t in corpus.TASKS}) == len(corpus.TASKS)
    assert all(f"@v{corpus.VERSIONS[t]}" in corpus.task_id(t) for t in corpus.TASKS)


# ----------------------------------------------------------------------------- CLI
TINY = ["model=bert_tiny", "dataset=pydoc", "dataset.task=para", "recipe=gradual_unfreezing", "sparsity=0.9",
        "model.hidden_size=32", "model.intermediate_size=64", "model.vocab_size=512", "dataset.max_length=32",
        "dataset.train_subset=256", "dataset.val_subset=128"]


def test_gradual_unfreezing_from_the_cli_keeps_encoder_sparsity_and_resumes_exactly(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    env = {"OMP_NUM_THREADS": "1"}
    out = run_cli(*TINY, f"hydra.run.dir={full}", env=env)
    assert out.returncode == 0, out.stderr
    rows = read_jsonl(full / "metrics.jsonl")
    assert [r["unfrozen_blocks"] for r in rows] == [0, 1, 2, 2]  # 1 + 2 blocks + 1 final epoch
    assert all(r["encoder_sparsity"] == rows[0]["encoder_sparsity"] for r in rows)
    assert abs(rows[0]["encoder_sparsity"] - 0.9) < 1e-4
    assert all({"val_f1", "val_accuracy", "val_loss", "train_loss"} <= set(r) for r in rows)
    summary = json.loads((full / "summary.json").read_text())
    assert summary["encoder_sparsity_after"] == rows[0]["encoder_sparsity"]
    assert summary["encoder_sparsity_before"] == 0.0 and summary["mask_from"] == "magnitude"
    # the same thread count as the runs it is compared with
    kill_after_rows([*TINY, f"hydra.run.dir={part}"], part / "metrics.jsonl", 1, env=env)
    assert 1 <= len(read_jsonl(part / "metrics.jsonl")) < 4, "the kill should land mid-run"
    out = run_cli(*TINY, f"hydra.run.dir={part}", env=env)
    assert out.returncode == 0, out.stderr
    strip = lambda rs: [{k: v for k, v in r.items() if k != "epoch_time_s"} for r in rs]  # noqa: E731
    assert strip(read_jsonl(full / "metrics.jsonl")) == strip(read_jsonl(part / "metrics.jsonl"))


def test_summary_prints_the_unfreezing_plan():
    s = json.loads(task_stdout("task=summary", *TINY))
    assert s["recipe"] == "gradual_unfreezing" and s["epochs"] == 4
    assert [{k: p[k] for k in ("epoch", "unfrozen_blocks", "lr_start", "lr_end")} for p in s["plan"]] == [
        {"epoch": e, "unfrozen_blocks": min(e, 2), "lr_start": 1e-4, "lr_end": 0.0} for e in range(4)]
    counts = [p["trainable_params"] for p in s["plan"]]
    assert counts[0] < counts[1] < counts[2] < counts[3]
