"""An English text corpus every machine has offline, and the twin tasks built from it.

The corpus is CPython's own reference text: ``pydoc_data.topics`` (the language reference's
topics that ``help()`` shows, shipped with every CPython, no download, no Debian package):
about 2,000 clean sentences and 35,000 words after :func:`sentences` drops code, tables and
fragments. Its exact content follows the Python version (3.11 here), which the tokenised
cache's key includes.

Sentences are split once into train and validation by ``split_seed`` (a fixed fraction),
and everything is built from that split, so masked-LM pre-training never sees a validation
sentence. The CPU twins of paper 001 Sec. 4 use two tasks in the shape of GLUE's small ones:

- ``order`` (single sentence, like CoLA: Matthews correlation and accuracy): is the sentence
  as written (1), or were two of its words swapped (0)? Half of the sentences are corrupted.
- ``next`` (sentence pair, like MRPC: F1 and accuracy): does the second sentence follow the
  first in the same topic (1), or is it a sentence from another topic (0)? Half are negatives.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

import torch

CORPUS_ID = f"pydoc_data.topics@python{sys.version_info.major}.{sys.version_info.minor}"
_WORD = re.compile(r"[A-Za-z][a-z]*[,.;:!?]?")


def sentences() -> list[tuple[int, str]]:
    """(topic index, sentence) in corpus order: prose sentences of 5 to 40 words, at least 85%
    of them plain words (which drops code, tables, grammar rules and signatures)."""
    from pydoc_data.topics import topics

    out = []
    for t, key in enumerate(sorted(topics)):
        for para in re.split(r"\n\s*\n", topics[key]):
            flat = " ".join(para.split())
            for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", flat):
                words = s.split()
                plain = sum(bool(_WORD.fullmatch(w)) for w in words)
                if 5 <= len(words) <= 40 and plain >= 0.85 * len(words):
                    out.append((t, s))
    return out


@dataclass(frozen=True)
class Example:
    text_a: str
    text_b: str | None
    label: int


BLOCK = 8  # sentences are split in runs of this many, so that most keep their next sentence


def split_indices(n: int, split_seed: int, val_fraction: float) -> tuple[list[int], list[int]]:
    """Sentence indices of the train and validation splits (sorted), fixed by ``split_seed``:
    runs of :data:`BLOCK` consecutive sentences go to one split or the other."""
    blocks = -(-n // BLOCK)
    order = torch.randperm(blocks, generator=torch.Generator().manual_seed(int(split_seed))).tolist()
    val = set(order[: round(blocks * val_fraction)])
    train_idx = [i for i in range(n) if i // BLOCK not in val]
    return train_idx, [i for i in range(n) if i // BLOCK in val]


def _swap_two(words: list[str], g: torch.Generator) -> list[str]:
    """The sentence with two different words at distinct positions swapped."""
    out = list(words)
    for _ in range(20):
        i, j = sorted(torch.randperm(len(words), generator=g)[:2].tolist())
        if out[i].lower() != out[j].lower():
            out[i], out[j] = out[j], out[i]
            return out
    out[0], out[-1] = out[-1], out[0]
    return out


def order_task(sents: list[tuple[int, str]], idx: list[int], seed: int) -> list[Example]:
    """``order``: every sentence of ``idx`` once, as written (1) or with two words swapped (0)."""
    g = torch.Generator().manual_seed(int(seed))
    out = []
    for i in idx:
        words = sents[i][1].split()
        keep = bool(torch.rand((), generator=g) < 0.5)
        out.append(Example(" ".join(words if keep else _swap_two(words, g)), None, int(keep)))
    return out


def next_task(sents: list[tuple[int, str]], idx: list[int], seed: int) -> list[Example]:
    """``next``: for each sentence of ``idx`` followed by one of its topic in the same split, the
    pair (sentence, next) labelled 1 or (sentence, a sentence of another topic) labelled 0."""
    g = torch.Generator().manual_seed(int(seed))
    members = set(idx)
    out = []
    for i in idx:
        if i + 1 not in members or sents[i + 1][0] != sents[i][0]:
            continue
        if bool(torch.rand((), generator=g) < 0.5):
            out.append(Example(sents[i][1], sents[i + 1][1], 1))
            continue
        while True:
            j = idx[int(torch.randint(len(idx), (), generator=g))]
            if sents[j][0] != sents[i][0]:
                break
        out.append(Example(sents[i][1], sents[j][1], 0))
    return out


def mlm_task(sents: list[tuple[int, str]], idx: list[int], seed: int) -> list[Example]:
    """``mlm``: the sentences themselves (labels come from masking, in the loader)."""
    return [Example(sents[i][1], None, -1) for i in idx]


TASKS = {"order": order_task, "next": next_task, "mlm": mlm_task}


def examples(task: str, split_seed: int, val_fraction: float) -> dict[str, list[Example]]:
    """The ``task``'s train and validation examples."""
    sents = sentences()
    train, val = split_indices(len(sents), split_seed, val_fraction)
    build = TASKS[task]
    return {"train": build(sents, train, split_seed + 1), "val": build(sents, val, split_seed + 2)}


def vocabulary_text(split_seed: int, val_fraction: float) -> list[str]:
    """The training sentences (the corpus vocabulary is built from them alone)."""
    sents = sentences()
    return [sents[i][1] for i in split_indices(len(sents), split_seed, val_fraction)[0]]
