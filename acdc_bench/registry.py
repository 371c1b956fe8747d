"""Lazy registries: a component is named ``"module:attribute"`` and imported only when chosen,
so that choosing one method, analysis or recipe loads only its module (and its heavy
dependencies: transformers, scikit-image, ...). A leaf: it imports only errors."""

from __future__ import annotations

import importlib
from typing import Any

from acdc_bench.errors import ConfigError


def load(entries: dict[str, str], name: Any, field: str, how: str = "") -> Any:
    """The attribute registered as ``name`` in ``entries`` (imported now); a ConfigError naming
    ``field`` and the registered names otherwise. ``how``: appended to the allowed names."""
    if not isinstance(name, str) or name not in entries:
        raise ConfigError(field, name, f"one of {sorted(entries)}{how}")
    module, attribute = entries[name].split(":")
    return getattr(importlib.import_module(module), attribute)
