"""An English text corpus every machine has offline, and the twin tasks built from it.

The corpus is CPython's own reference text: ``pydoc_data.topics`` (the language reference's
topics that ``help()`` shows, shipped with every CPython, no download, no Debian package):
about 2,000 clean sentences and 35,000 words after :func:`sentences` drops code, tables and
fragments. Its exact content follows the Python version (3.11 here), which the tokenised
cache's key includes.

Sentences are split once into train and validation by ``split_seed`` (a fixed fraction),
and everything is built from that split, so masked-LM pre-training never sees a validation
sentence, except the quarter of them that pydoc's topics repeat word for word elsewhere (the
twin tasks below leave those out of validation). The CPU twins of paper 001 Sec. 4 use two
tasks in the shape of GLUE's small ones, each built from every sentence of a split twice, once
per label, so that the two classes are exactly balanced and a model cannot pass by remembering
which sentence had which label (with one example a sentence, bert_tiny drove the training loss
down while validation stayed at chance):

- ``order`` (single sentence, like CoLA: Matthews correlation and accuracy): the sentence as
  written (1), or its words shuffled (0). The last word stays in place, so that the final full
  stop gives nothing away: only the order of the words tells the two apart.
- ``para`` (sentence pair, like MRPC, the paraphrase corpus: F1 and accuracy): the sentence
  and a shortened copy of it (a run of a third of its words cut out; 1), or the sentence and
  another sentence of the same topic, shortened the same way (0). The relation is lexical, as
  much of MRPC's is: the negative shares the topic's words, the positive nearly all of them.
  (A first pair task, ``next``, asked whether the second sentence follows the first in its topic:
  bert_tiny stayed near chance on it.)

Bump :data:`VERSIONS` whenever a task's construction changes: it is part of the tokenised
cache's key, so a run never reads examples built the old way.
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


BLOCK = 8  # sentences go to a split in runs of this many (fixed: the upstream models depend on it)
VERSIONS = {"order": 2, "para": 1, "mlm": 1}  # bump when a task's examples change (cache key; HELD_OUT too)


def split_indices(n: int, split_seed: int, val_fraction: float) -> tuple[list[int], list[int]]:
    """Sentence indices of the train and validation splits (sorted), fixed by ``split_seed``:
    runs of :data:`BLOCK` consecutive sentences go to one split or the other."""
    blocks = -(-n // BLOCK)
    order = torch.randperm(blocks, generator=torch.Generator().manual_seed(int(split_seed))).tolist()
    val = set(order[: round(blocks * val_fraction)])
    train_idx = [i for i in range(n) if i // BLOCK not in val]
    return train_idx, [i for i in range(n) if i // BLOCK in val]


def _shuffled(words: list[str], g: torch.Generator) -> list[str]:
    """The words but the last in a random order that differs from the sentence's (20 draws)."""
    head, lower = words[:-1], [w.lower() for w in words[:-1]]
    out = head
    for _ in range(20):
        perm = torch.randperm(len(head), generator=g).tolist()
        out = [head[p] for p in perm]
        if [w.lower() for w in out] != lower:
            break
    return out + words[-1:]


def _shortened(words: list[str], g: torch.Generator) -> list[str]:
    """The words with a run of a third of them (at least one) cut out at a random place."""
    k = max(1, len(words) // 3)
    start = int(torch.randint(len(words) - k + 1, (), generator=g))
    return words[:start] + words[start + k:]


def order_task(sents: list[tuple[int, str]], idx: list[int], seed: int) -> list[Example]:
    """``order``: every sentence of ``idx`` as written (1) and with its words shuffled (0)."""
    g = torch.Generator().manual_seed(int(seed))
    out = []
    for i in idx:
        words = sents[i][1].split()
        out.append(Example(" ".join(words), None, 1))
        out.append(Example(" ".join(_shuffled(words, g)), None, 0))
    return out


def para_task(sents: list[tuple[int, str]], idx: list[int], seed: int) -> list[Example]:
    """``para``: every sentence of ``idx`` with a shortened copy of itself (1) and with a
    shortened other sentence of its topic in ``idx`` (0; of any topic if it has none)."""
    g = torch.Generator().manual_seed(int(seed))
    by_topic: dict[int, list[int]] = {}
    for i in idx:
        by_topic.setdefault(sents[i][0], []).append(i)
    out = []
    for i in idx:
        text = sents[i][1]
        out.append(Example(text, " ".join(_shortened(text.split(), g)), 1))
        others = ([j for j in by_topic[sents[i][0]] if sents[j][1] != text]  # not a repeat of itself
                  or [j for j in idx if sents[j][1] != text])
        j = others[int(torch.randint(len(others), (), generator=g))]
        out.append(Example(text, " ".join(_shortened(sents[j][1].split(), g)), 0))
    return out


def mlm_task(sents: list[tuple[int, str]], idx: list[int], seed: int) -> list[Example]:
    """``mlm``: the sentences themselves (labels come from masking, in the loader)."""
    return [Example(sents[i][1], None, -1) for i in idx]


TASKS = {"order": order_task, "para": para_task, "mlm": mlm_task}
HELD_OUT = ("order", "para")  # not mlm: its validation split is the upstream models' (kept as they were)


def task_id(task: str) -> str:
    """What the tokenised cache's key holds of the corpus and the task's construction."""
    return f"{CORPUS_ID}/{task}@v{VERSIONS[task]}"


def examples(task: str, split_seed: int, val_fraction: float) -> dict[str, list[Example]]:
    """The ``task``'s train and validation examples. The tasks of :data:`HELD_OUT` leave out of
    validation the sentences that the training split holds word for word (pydoc's topics repeat
    about a quarter of the validation sentences elsewhere): a model must not pass by remembering."""
    sents = sentences()
    train, val = split_indices(len(sents), split_seed, val_fraction)
    if task in HELD_OUT:
        seen = {sents[i][1] for i in train}
        val = [i for i in val if sents[i][1] not in seen]
    build = TASKS[task]
    return {"train": build(sents, train, split_seed + 1), "val": build(sents, val, split_seed + 2)}


def vocabulary_text(split_seed: int, val_fraction: float) -> list[str]:
    """The training sentences (the corpus vocabulary is built from them alone)."""
    sents = sentences()
    return [sents[i][1] for i in split_indices(len(sents), split_seed, val_fraction)[0]]
