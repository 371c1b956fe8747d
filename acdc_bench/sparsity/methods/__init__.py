"""Sparse-training methods by name: one small module each, registered here."""

from __future__ import annotations

import importlib

from acdc_bench.sparsity.base import SparsityMethod

# name -> "module:Class"; imported lazily so that choosing one method loads only it.
METHODS: dict[str, str] = {
    "dense": "acdc_bench.sparsity.methods.dense:Dense",
}


def method_class(name: str) -> type[SparsityMethod]:
    if name not in METHODS:
        from acdc_bench.config import ConfigError

        raise ConfigError("method.name", name, f"one of {sorted(METHODS)}")
    module, cls = METHODS[name].split(":")
    return getattr(importlib.import_module(module), cls)
