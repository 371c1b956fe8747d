"""Tokenisers and tokenisation once, cached beside the run.

``model.tokenizer=corpus`` (bert_tiny) is a BERT word-piece vocabulary built here from the
offline corpus' training sentences: the special tokens, every character seen (alone and as a
``##`` continuation, so no word is ever out of vocabulary) and the most frequent words, up
to ``model.vocab_size`` entries (padded with ``[unusedN]``), written as ``vocab.txt`` and read
by ``BertTokenizerFast``. Any other value is a Hugging Face tokenizer name or folder
(``AutoTokenizer``; offline errors as for models).

:func:`encode` pads every example to ``dataset.max_length`` and stores the tensors in one
file per split under ``dataset.cache_dir``, keyed by everything that shapes them: a second
run (or a resumed one) reads them instead of tokenising again.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from acdc_bench.errors import ConfigError

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def corpus_vocabulary(texts: Sequence[str], size: int) -> list[str]:
    """A word-piece vocabulary of exactly ``size`` entries from ``texts`` (lower-cased)."""
    words = collections.Counter(w for t in texts for w in re.findall(r"\w+|[^\w\s]", t.lower()))
    chars = sorted({c for w in words for c in w})
    vocab = list(SPECIALS) + chars + [f"##{c}" for c in chars]
    if len(vocab) > size:
        raise ConfigError("model.vocab_size", size, f"at least {len(vocab)} (special tokens and the "
                          "corpus' characters)")
    taken = set(vocab)
    for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) == size:
            break
        if w not in taken:
            vocab.append(w)
            taken.add(w)
    vocab += [f"[unused{i}]" for i in range(size - len(vocab))]
    return vocab


def build_tokenizer(name: str, vocab_size: int | None, corpus_texts: Sequence[str] | None,
                    folder: Path) -> Any:
    """The tokenizer ``name`` (``corpus``: built from ``corpus_texts`` into ``folder``)."""
    import transformers

    if name == "corpus":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"vocab_{vocab_size}.txt"
        if not path.is_file():
            _atomic_write(path, "\n".join(corpus_vocabulary(corpus_texts or [], int(vocab_size))) + "\n")
        vocab = {token: i for i, token in enumerate(path.read_text().splitlines())}
        return transformers.BertTokenizerFast(vocab=vocab, do_lower_case=True)
    try:
        from acdc_bench.models.hf import hub_offline

        return transformers.AutoTokenizer.from_pretrained(name, trust_remote_code=False,
                                                          local_files_only=hub_offline())
    except (OSError, ValueError):
        raise ConfigError("model.tokenizer", name, "a tokenizer in the local Hugging Face cache or a folder; "
                          "fetch it once with network access: python -c \"from transformers import "
                          f"AutoTokenizer; AutoTokenizer.from_pretrained('{name}')\"") from None


def _atomic_write(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as tmp:
        tmp.write(text)
    os.replace(tmp.name, path)


def cache_key(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def encode(tokenizer: Any, text_a: Sequence[str], text_b: Sequence[str] | None, max_length: int) -> dict[str,
                                                                                                       Tensor]:
    """``input_ids``, ``attention_mask``, ``token_type_ids`` (int64, ``N x max_length``)."""
    enc = tokenizer(list(text_a), None if text_b is None else list(text_b), truncation=True,
                    max_length=max_length, padding="max_length", return_tensors="pt",
                    return_token_type_ids=True)
    return {k: enc[k].long() for k in ("input_ids", "attention_mask", "token_type_ids")}


def cached(path: Path, make: Any) -> dict[str, Tensor]:
    """``make()`` once: later calls read the tensors it returned from ``path``."""
    if path.is_file():
        return torch.load(path, map_location="cpu", weights_only=True)
    out = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as tmp:
        torch.save(out, tmp)
    os.replace(tmp.name, path)
    return out
