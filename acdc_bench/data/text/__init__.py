"""Text data sets: GLUE through ``datasets`` and the offline twin tasks from CPython's own
reference text, tokenised once (cached beside the run) and served by :class:`TextLoader`.

``build_text(ds, cfg, device, rank, world_size)`` is the dataset registry's ``build`` for
``dataset=glue`` and ``dataset=pydoc``; :class:`TextSettings` reads the text fields of
``cfg.dataset`` once (defaults in ``conf/dataset/glue.yaml`` and ``pydoc.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError

SOURCES = ("glue", "pydoc")
VOCAB_SPLIT = (0, 0.2)  # the corpus vocabulary: training sentences of split_seed 0, val_fraction 0.2


@dataclass(frozen=True)
class TextSettings:
    """The text fields of ``cfg.dataset`` and the tokenizer of ``cfg.model``."""

    source: str
    task: str
    max_length: int
    cache_dir: str
    mlm_probability: float | None  # masked-LM tasks: the share of tokens masked (BERT: 0.15)
    hub_name: str | None  # glue
    path: str | None  # glue: a save_to_disk folder instead of the Hub / cache
    split_seed: int | None  # pydoc
    val_fraction: float | None  # pydoc
    tokenizer: str
    vocab_size: int | None

    @classmethod
    def read(cls, cfg: Any) -> TextSettings:
        from acdc_bench.data.text.corpus import TASKS
        from acdc_bench.data.text.glue import GLUE_TASKS

        source = V.choice(cfg, "dataset.name", list(SOURCES))
        tasks = list(GLUE_TASKS) if source == "glue" else list(TASKS)
        task = V.choice(cfg, "dataset.task", tasks)
        glue, pydoc = source == "glue", source == "pydoc"
        mlm = V.get(cfg, "dataset.objective") == "mlm"
        if mlm and glue:
            raise ConfigError("dataset.objective", "mlm", "text or classification for GLUE tasks")
        tokenizer = V.string(cfg, "model.tokenizer", "corpus or a Hugging Face tokenizer name or folder")
        return cls(
            source=source, task=task,
            max_length=V.integer(cfg, "dataset.max_length", low=8),
            cache_dir=_cache_dir(V.string(cfg, "dataset.cache_dir", "a folder for the tokenised splits",
                                          nullable=True)),
            mlm_probability=(float(V.number(cfg, "dataset.mlm_probability", 0, 1, low_open=True))
                             if mlm else None),
            hub_name=V.string(cfg, "dataset.hub_name", "a Hugging Face data set name") if glue else None,
            path=V.string(cfg, "dataset.path", "a save_to_disk folder", nullable=True) if glue else None,
            split_seed=V.integer(cfg, "dataset.split_seed", low=0) if pydoc else None,
            val_fraction=float(V.number(cfg, "dataset.val_fraction", 0, 1, low_open=True)) if pydoc else None,
            tokenizer=tokenizer,
            vocab_size=V.integer(cfg, "model.vocab_size") if tokenizer == "corpus" else None,
        )


def _cache_dir(value: str | None) -> str:
    """``dataset.cache_dir``, or (null) ``tokenized/`` in the run directory: beside the run."""
    if value is not None:
        return value
    from hydra.core.hydra_config import HydraConfig

    run_dir = HydraConfig.get().runtime.output_dir if HydraConfig.initialized() else "."
    return str(Path(run_dir) / "tokenized")


def _splits(ts: TextSettings) -> dict[str, tuple[list[str], list[str] | None, list[float], list[int]]]:
    """Per split: (texts, second texts, labels, groups), before tokenisation."""
    if ts.source == "glue":
        from acdc_bench.data.text.glue import GLUE_TASKS, glue_split, load_glue

        data = load_glue(ts.task, ts.hub_name, ts.path)
        a, b, y = glue_split(data, ts.task, "train")
        out = {"train": (a, b, y, [0] * len(y))}
        va: list[str] = []
        vb: list[str] | None = None if b is None else []
        vy: list[float] = []
        vg: list[int] = []
        for group, split in enumerate(GLUE_TASKS[ts.task][2]):
            sa, sb, sy = glue_split(data, ts.task, split)
            va += sa
            vy += sy
            vg += [group] * len(sy)
            if vb is not None:
                vb += sb
        out["val"] = (va, vb, vy, vg)
        return out
    from acdc_bench.data.text.corpus import examples

    out = {}
    for split, exs in examples(ts.task, ts.split_seed, ts.val_fraction).items():
        pair = exs and exs[0].text_b is not None
        out[split] = ([e.text_a for e in exs], [e.text_b for e in exs] if pair else None,
                      [float(e.label) for e in exs], [0] * len(exs))
    return out


def _labels(y: list[float], groups: list[int], regression: bool) -> Tensor:
    labels = torch.tensor(y, dtype=torch.float32 if regression else torch.long)
    if any(groups) and not regression:
        return torch.stack([labels, torch.tensor(groups, dtype=torch.long)], 1)
    return labels


def _subset(n: int, keep: int | None, seed: int, field: str) -> Tensor:
    if keep is None:
        return torch.arange(n)
    if not 0 < keep <= n:
        raise ConfigError(field, keep, f"null or an integer in [1, {n}] (the split's size)")
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:keep].sort().values


def build_text(ds: Any, cfg: Any, device: torch.device, rank: int, world_size: int) -> Any:
    """The text loaders of ``cfg.dataset`` as a :class:`~acdc_bench.data.DataBundle`."""
    from acdc_bench.data import DataBundle
    from acdc_bench.data.text import corpus, tokens
    from acdc_bench.data.text.loader import Masking, TextLoader

    ts = TextSettings.read(cfg)
    cache = Path(ts.cache_dir)
    corpus_texts = corpus.vocabulary_text(*VOCAB_SPLIT) if ts.tokenizer == "corpus" else None
    tok = tokens.build_tokenizer(ts.tokenizer, ts.vocab_size, corpus_texts, cache)
    if len(tok) > (ts.vocab_size or len(tok)):
        raise ConfigError("model.vocab_size", ts.vocab_size, f"at least the tokenizer's {len(tok)} tokens")
    raw = None
    regression = ds.num_classes == 1
    masking = None
    if ts.mlm_probability is not None:
        masking = Masking(ts.mlm_probability, tok.mask_token_id, tuple(tok.all_special_ids), len(tok))
    loaders = {}
    for split in ("train", "val"):
        key = tokens.cache_key({"source": ts.source, "task": ts.task, "split": split,
                                "max_length": ts.max_length,
                                "tokenizer": ts.tokenizer, "vocab": ts.vocab_size, "hub": ts.hub_name,
                                "path": ts.path, "seed": ts.split_seed, "val_fraction": ts.val_fraction,
                                "corpus": corpus.task_id(ts.task) if ts.source == "pydoc" else None})

        def make(split: str = split) -> dict[str, Tensor]:
            nonlocal raw
            raw = raw or _splits(ts)
            a, b, y, g = raw[split]
            if not y:
                raise ConfigError("dataset.task", ts.task, f"a task with {split} examples (found none)")
            return {**tokens.encode(tok, a, b, ts.max_length), "labels": _labels(y, g, regression)}

        data = tokens.cached(cache / f"{ts.source}_{ts.task}_{split}_{key}.pt", make)
        keep = _subset(len(data["labels"]), ds.train_subset if split == "train" else ds.val_subset,
                       ts.split_seed or 0, f"dataset.{split}_subset")
        labels = data["labels"][keep]
        if not regression and ts.mlm_probability is None:
            top = int(labels[..., 0].max() if labels.dim() == 2 else labels.max())
            if top >= ds.num_classes:
                raise ConfigError("dataset.num_classes", ds.num_classes, f"more than the largest label {top}")
        tensors = {k: data[k][keep] for k in ("input_ids", "attention_mask", "token_type_ids")}
        if masking is not None:
            labels = torch.zeros(len(keep), dtype=torch.long)  # replaced per batch by the masked tokens
        train = split == "train"
        batch = ds.batch_size // world_size if train else ds.per_rank(ds.eval_batch_size, world_size)
        loaders[split] = TextLoader(tensors, labels, batch, train=train, device=device, seed=int(cfg.seed),
                                    rank=rank, world_size=world_size, masking=masking)
    train, val = loaders["train"], loaders["val"]
    if len(train) == 0:
        raise ConfigError("dataset.batch_size", ds.batch_size,
                          f"at most the training set size {train.num_samples}")
    return DataBundle(train, val, ds.num_classes, 1, train.num_samples, val.num_samples)
