"""``cfg.inference`` read once and checked: which engines, batch sizes, rounds and threads.

``conf/inference/*.yaml`` holds the defaults (``cpu``: the CPU engines; ``cuda``: the GPU
ones). ``task=speedup`` without an ``inference=`` option reads ``conf/inference/cpu.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError

CONF = Path(__file__).resolve().parents[2] / "conf" / "inference"
DEFAULT = "cpu"


@dataclass(frozen=True)
class InferenceSettings:
    name: str
    engines: tuple[str, ...]
    batch_sizes: tuple[int, ...]
    warmup: int
    repeats: int
    threads: int  # 0: torch's own thread count (OMP_NUM_THREADS or the cores)
    seq_len: int  # text models: tokens per sequence
    engine_options: dict[str, dict[str, Any]]

    @classmethod
    def read(cls, cfg: Any) -> InferenceSettings:
        from acdc_bench.inference.engines import ENGINES

        node = cfg.get("inference")
        if node is None:  # task=speedup without inference=...: the CPU defaults, from YAML
            cfg = OmegaConf.create({"inference": OmegaConf.load(CONF / f"{DEFAULT}.yaml")})
        engines = V.string_list(cfg, "inference.engines", "engine names")
        for e in engines:
            if e not in ENGINES:
                raise ConfigError("inference.engines", e, f"one of {sorted(ENGINES)}")
        if not engines:
            raise ConfigError("inference.engines", [], "at least one engine")
        batches = V.get(cfg, "inference.batch_sizes")
        if not batches or not all(V.is_int(b) and b >= 1 for b in batches):
            raise ConfigError("inference.batch_sizes", batches, "a non-empty list of positive integers")
        options = OmegaConf.to_container(cfg.inference.get("engine_options") or {}, resolve=True)
        return cls(name=str(cfg.inference.get("name", DEFAULT)), engines=tuple(engines),
                   batch_sizes=tuple(int(b) for b in batches),
                   warmup=V.integer(cfg, "inference.warmup", low=0),
                   repeats=V.integer(cfg, "inference.repeats", low=1),
                   threads=V.integer(cfg, "inference.threads", low=0),
                   seq_len=V.integer(cfg, "inference.seq_len", low=1),
                   engine_options=options)  # type: ignore[arg-type]

    def resolved_threads(self) -> int:
        import torch

        return self.threads or torch.get_num_threads()
