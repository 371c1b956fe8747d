"""BERT through Hugging Face ``transformers``: ``model=bert_base`` (any
``AutoModelForSequenceClassification`` name or local folder in ``model.pretrained``) and
``model=bert_tiny`` (a small ``BertConfig``, randomly initialised: no download).

The models are the only ones acdc-bench loads weights into, because sparse *transfer*
starts from a pre-trained (sparse) upstream model (paper 001 Sec. 4). ``model.pretrained``
is a Hub name or folder (``from_pretrained``, never ``trust_remote_code``; with
``HF_HUB_OFFLINE=1`` only the local cache is read, and a missing model is a one-line error
saying how to fetch it once), or an acdc-bench checkpoint (``.pt``, e.g. the masked-LM
pre-training run of the CPU twins), whose encoder weights are copied into a new model
with a freshly initialised task head.

:class:`TextModel` wraps the Hugging Face model so the trainer's ``model(x)`` works with a
dict batch (``input_ids``, ``attention_mask``, ``token_type_ids``) and returns the logits; it
names the parts sparse transfer treats differently (:meth:`TextModel.transfer_groups`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError

HF_MODELS = ("bert_base", "bert_tiny")
HEADS = ("sequence", "mlm")  # sequence classification / regression (GLUE), masked-LM pre-training


@dataclass(frozen=True)
class HFModelSettings:
    """``cfg.model`` of a BERT model. ``blocks``: the transformer blocks the config promises
    (gradual unfreezing plans one epoch per block; a loaded model must have as many)."""

    name: str
    pretrained: str | None  # Hub name, local folder or acdc-bench .pt checkpoint; None: random init
    head: str
    blocks: int
    dropout: float | None  # hidden and attention dropout (Sec. 4.3 grid: 0.05, 0.1); None: the model's
    tokenizer: str  # "corpus" (a vocabulary built from the offline corpus) or a Hub name / folder
    config: dict[str, int] = field(default_factory=dict)  # BertConfig fields of a randomly initialised model

    @classmethod
    def read(cls, cfg: Any) -> HFModelSettings:
        name = V.choice(cfg, "model.name", list(HF_MODELS))
        pretrained = V.string(cfg, "model.pretrained", "a Hugging Face model name, a local folder or an "
                              "acdc-bench checkpoint (.pt)", nullable=True)
        blocks = V.integer(cfg, "model.blocks")
        shape: dict[str, int] = {}
        if pretrained is None or pretrained.endswith(".pt"):
            for key in ("vocab_size", "hidden_size", "intermediate_size", "num_attention_heads",
                        "max_position_embeddings", "type_vocab_size"):
                shape[key] = V.integer(cfg, f"model.{key}")
            shape["num_hidden_layers"] = blocks
            if shape["hidden_size"] % shape["num_attention_heads"]:
                raise ConfigError("model.num_attention_heads", shape["num_attention_heads"],
                                  f"a divisor of model.hidden_size ({shape['hidden_size']})")
        dropout = V.number(cfg, "model.dropout", 0, 1, nullable=True)
        tokenizer = V.string(cfg, "model.tokenizer", "corpus or a Hugging Face tokenizer name or folder")
        return cls(name, pretrained, V.choice(cfg, "model.head", list(HEADS)), blocks,
                   None if dropout is None else float(dropout), tokenizer, shape)

    def create(self, num_classes: int) -> TextModel:
        """The model with a randomly initialised task head of ``num_classes`` outputs (1: regression)."""
        import transformers

        transformers.logging.set_verbosity_error()  # no "newly initialized weights" banners per run
        auto = transformers.AutoModelForMaskedLM if self.head == "mlm" else \
            transformers.AutoModelForSequenceClassification
        extra: dict[str, Any] = {}
        if self.dropout is not None:
            extra = {"hidden_dropout_prob": self.dropout, "attention_probs_dropout_prob": self.dropout}
        if self.head == "sequence":
            extra["num_labels"] = num_classes
        if self.pretrained is None or self.pretrained.endswith(".pt"):
            config = transformers.BertConfig(**self.config, **extra)
            model = TextModel(auto.from_config(config))
            if self.pretrained is not None:
                load_encoder(model, self.pretrained)
        else:
            model = TextModel(from_pretrained(auto, self.pretrained, extra))
        found = len(model.transfer_groups().blocks)
        if found != self.blocks:
            raise ConfigError("model.blocks", self.blocks, f"{found}: the number of transformer blocks "
                              f"of {self.pretrained or self.name}")
        return model


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` as set now (huggingface_hub reads it once, at import)."""
    import os

    return os.environ.get("HF_HUB_OFFLINE", "").lower() not in ("", "0", "false", "no")


def from_pretrained(auto: Any, name: str, extra: dict[str, Any]) -> nn.Module:
    """``auto.from_pretrained(name)``, or one line saying how to get the model once."""
    offline = hub_offline()
    try:
        return auto.from_pretrained(name, trust_remote_code=False, local_files_only=offline, **extra)
    except (OSError, ValueError) as err:
        why = "not in the local Hugging Face cache (HF_HUB_OFFLINE=1)" if offline else \
            f"not loadable ({str(err).splitlines()[0][:160]})"
        raise ConfigError("model.pretrained", name, f"a model that loads; {name} is {why}. Fetch it once "
                          "with network access: python -c \"from transformers import AutoModel; "
                          f"AutoModel.from_pretrained('{name}')\" (or give a local folder)") from None


def load_encoder(model: TextModel, path: str) -> None:
    """Copy the encoder (``bert.embeddings``, ``bert.encoder``) of an acdc-bench checkpoint of
    a text model into ``model``; the task head (and the pooler, which MLM models lack) keep
    their fresh initialisation."""
    from acdc_bench.checkpoint import read

    if not Path(path).is_file():
        raise ConfigError("model.pretrained", path, "an acdc-bench checkpoint file (checkpoints/last.pt)")
    state = read(path)
    saved = state.get("model", {}) if isinstance(state, dict) else {}
    own = model.state_dict()
    encoder = {k: v for k, v in saved.items()
               if k.startswith(("hf.bert.embeddings.", "hf.bert.encoder.")) and k in own}
    mismatched = [k for k, v in encoder.items() if v.shape != own[k].shape]
    wanted = [k for k in own if k.startswith(("hf.bert.embeddings.", "hf.bert.encoder."))]
    if mismatched or len(encoder) != len(wanted):
        raise ConfigError("model.pretrained", path, "a checkpoint of a text model with this model's encoder "
                          f"shape ({len(mismatched)} tensors differ in shape, "
                          f"{len(wanted) - len(encoder)} missing)")
    model.load_state_dict(encoder, strict=False)


@dataclass
class TransferGroups:
    """The parameters sparse transfer treats apart (paper 001 Sec. 4.3): the embeddings, the
    linear weights of each transformer block (front to back), and everything else (biases,
    LayerNorms, pooler, task head), which gradual unfreezing trains from the first epoch."""

    embeddings: list[nn.Parameter]
    blocks: list[list[nn.Parameter]]
    encoder_linear_names: list[str]  # module names of the encoder's linear layers (the sparse ones)


class TextModel(nn.Module):
    """A Hugging Face model called as ``model(batch) -> logits``.

    ``batch`` is the dict the text loaders yield. A tensor is taken as token ids, except a
    4-D one, which is the image-shaped probe of the FLOPs count
    (:func:`acdc_bench.metrics.flops.layer_macs` with ``in_chans=1`` and ``eval_res`` the
    sequence length): it stands for ``N`` sequences of that length.
    """

    def __init__(self, hf: nn.Module):
        super().__init__()
        self.hf = hf

    def forward(self, batch: dict[str, Tensor] | Tensor) -> Tensor:
        if isinstance(batch, Tensor):
            ids = batch if batch.dim() == 2 else torch.zeros(batch.shape[0], batch.shape[-1],
                                                             dtype=torch.long, device=batch.device)
            batch = {"input_ids": ids.long()}
        return self.hf(**batch).logits

    def transfer_groups(self) -> TransferGroups:
        base = self.hf.base_model
        blocks = list(base.encoder.layer)
        prefix = f"hf.{self.hf.base_model_prefix}.encoder.layer"
        names = [f"{prefix}.{i}.{n}" for i, b in enumerate(blocks) for n, m in b.named_modules()
                 if isinstance(m, nn.Linear)]
        return TransferGroups(
            embeddings=list(base.embeddings.parameters()),
            blocks=[[m.weight for m in b.modules() if isinstance(m, nn.Linear)] for b in blocks],
            encoder_linear_names=names,
        )
