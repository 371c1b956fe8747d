"""Sparse-training methods by name: one small module each, registered here."""

from __future__ import annotations

from acdc_bench import registry
from acdc_bench.sparsity.base import SparsityMethod

# name -> "module:Class"; imported lazily so that choosing one method loads only it.
METHODS: dict[str, str] = {
    "dense": "acdc_bench.sparsity.methods.dense:Dense",
    "acdc": "acdc_bench.sparsity.methods.acdc:ACDC",
    "acdcpp": "acdc_bench.sparsity.methods.acdc:ACDC",  # AC/DC++: a config preset (conf/method/acdcpp.yaml)
    "gmp": "acdc_bench.sparsity.methods.gmp:GMP",
    "rigl": "acdc_bench.sparsity.methods.rigl:RigL",
    "ast": "acdc_bench.sparsity.methods.ast:AST",
    "fixed_mask": "acdc_bench.sparsity.methods.fixed_mask:FixedMask",  # sparse transfer (BERT)
}


def method_class(name: str) -> type[SparsityMethod]:
    """The method registered as ``name`` (ConfigError naming ``method.name`` otherwise)."""
    return registry.load(METHODS, name, "method.name")
