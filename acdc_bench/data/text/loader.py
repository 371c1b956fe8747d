"""The text loader: tokenised examples held in memory, batches of dicts on the device.

It implements the :class:`~acdc_bench.data.loader.Loader` protocol like the image loaders
(order from :class:`~acdc_bench.data.loader.RankShare`, a pure function of ``(seed, epoch)``;
``skip`` for mid-epoch resume), so the trainer's loop is the same for images and text.
A batch is ``({"input_ids", "attention_mask", "token_type_ids"}, labels)``, cut to its longest
example (padding every batch to ``max_length`` would waste most of a short-sentence batch).

Masked-LM batches (``mlm_probability``) mask as BERT does: each real token is chosen with
that probability; a chosen token becomes ``[MASK]`` (80%), a random token (10%) or stays
(10%), and only chosen tokens have labels (-100 elsewhere). The draws come from a generator
seeded by ``(seed, epoch)`` (training) or fixed (evaluation: every evaluation masks the same
tokens) and are drawn for skipped batches too, so a resumed epoch masks as the original did.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from acdc_bench.data.loader import IndexedLoader, RankShare, epoch_generator, to_device

IGNORE = -100


@dataclass(frozen=True)
class Masking:
    probability: float
    mask_id: int
    special_ids: tuple[int, ...]  # never masked ([CLS], [SEP], [PAD], ...)
    vocab_size: int


class TextLoader(IndexedLoader):
    def __init__(self, tensors: dict[str, Tensor], labels: Tensor, batch_size: int, *, train: bool,
                 device: torch.device | str = "cpu", seed: int = 0, rank: int = 0, world_size: int = 1,
                 masking: Masking | None = None):
        self.tensors, self.labels = tensors, labels
        self.share = RankShare(int(batch_size), train, seed, rank, world_size)
        self.batch_size, self.train = int(batch_size), train
        self.device = torch.device(device)
        self.masking = masking
        self.resolution = int(tensors["input_ids"].shape[1])  # the sequence length (protocol bookkeeping)

    @property
    def num_samples(self) -> int:
        return len(self.labels)

    def _generator(self) -> torch.Generator:
        if self.train:
            return epoch_generator(self.share.seed, self.epoch, salt=1 + self.share.rank)
        return epoch_generator(self.share.seed, 0, salt=10_007 + self.share.rank)

    def __iter__(self) -> Iterator[tuple[dict[str, Tensor], Tensor]]:
        idx = self.indices()
        gen = self._generator() if self.masking is not None else None
        start = self._take_skip()
        for b in range(len(self)):
            sel = idx[b * self.batch_size: (b + 1) * self.batch_size]
            draws = self._draw(len(sel), gen) if gen is not None else None
            if b < start:
                continue
            batch = {k: v[sel] for k, v in self.tensors.items()}
            length = max(int(batch["attention_mask"].sum(1).max()), 1)
            batch = {k: v[:, :length] for k, v in batch.items()}
            labels = self.labels[sel]
            if draws is not None:
                batch["input_ids"], labels = self._mask(batch["input_ids"], batch["attention_mask"],
                                                        [d[:, :length] for d in draws])
            yield ({k: to_device(v, self.device) for k, v in batch.items()}, to_device(labels, self.device))

    def _draw(self, n: int, gen: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        shape = (n, self.tensors["input_ids"].shape[1])
        m = self.masking
        return (torch.rand(shape, generator=gen), torch.rand(shape, generator=gen),
                torch.randint(len(m.special_ids), m.vocab_size, shape, generator=gen))

    def _mask(self, ids: Tensor, attention: Tensor, draws: list[Tensor]) -> tuple[Tensor, Tensor]:
        chosen_p, how, random_ids = draws
        m = self.masking
        real = attention.bool() & ~torch.isin(ids, torch.tensor(m.special_ids))
        chosen = real & (chosen_p < m.probability)
        labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
        ids = ids.clone()
        ids[chosen & (how < 0.8)] = m.mask_id
        swap = chosen & (how >= 0.8) & (how < 0.9)
        ids[swap] = random_ids[swap]
        return ids, labels
