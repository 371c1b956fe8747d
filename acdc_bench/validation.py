"""Field checks on a config node, one shape for every message: ``field=value is not allowed;
expected <what is allowed>`` (a :class:`~acdc_bench.errors.ConfigError`).

Every layer reads its settings through these functions into one typed settings object
(e.g. ``ACDCSettings.read(cfg, epochs)``), used both by ``check_config`` (before any work)
and by the component itself. Defaults live only in ``conf/`` YAML: a field that a settings
object needs and the composed config lacks is an error here, not a silent default in code;
``required=False`` is for optional fields whose absence has a meaning (returned as None).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omegaconf import OmegaConf

from acdc_bench.errors import ConfigError

ABSENT: Any = object()  # the key does not exist in the config


def raw(cfg: Any, key: str) -> Any:
    """The unresolved value at ``key`` (an interpolation string), for messages."""
    try:
        parent_key, _, leaf = key.rpartition(".")
        parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
        return parent._get_node(leaf)._value()
    except Exception:
        return "?"


def get(cfg: Any, key: str) -> Any:
    """The resolved value at ``key`` (:data:`ABSENT` when the key does not exist)."""
    try:
        return OmegaConf.select(cfg, key, default=ABSENT, throw_on_missing=True)
    except ConfigError:
        raise
    except Exception as err:  # a failing interpolation or resolver, or a missing value (???)
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(key, raw(cfg, key), f"a value that resolves ({reason})") from None


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _shown(v: Any) -> Any:
    if v is ABSENT:
        return None
    return OmegaConf.to_container(v) if OmegaConf.is_config(v) else v


def integer(cfg: Any, key: str, low: int = 1, *, required: bool = True, nullable: bool = False) -> int | None:
    """An integer >= ``low``. ``nullable``: null is allowed (returned as None)."""
    v = get(cfg, key)
    if (v is ABSENT and not required) or (v is None and nullable):
        return None
    if not is_int(v) or v < low:
        allowed = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ConfigError(key, _shown(v), allowed + (" or null" if nullable else ""))
    return v


def number(cfg: Any, key: str, low: float, high: float | None = None, *, low_open: bool = False,
           high_open: bool = True, required: bool = True, nullable: bool = False) -> float | None:
    """A number in the interval given by ``low``/``high`` (``None``: unbounded). Returned as given
    (an int stays an int, so that config hashes and messages do not change)."""
    v = get(cfg, key)
    if (v is ABSENT and not required) or (v is None and nullable):
        return None
    ok = is_number(v) and v == v and (v > low if low_open else v >= low)
    if ok and high is not None:
        ok = v < high if high_open else v <= high
    if not ok:
        if high is None:
            allowed = "a positive number" if (low == 0 and low_open) else f"a number >= {low}"
        else:
            allowed = f"a number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ConfigError(key, _shown(v), allowed + (" or null" if nullable else ""))
    return v


def boolean(cfg: Any, key: str, *, required: bool = True) -> bool | None:
    v = get(cfg, key)
    if v is ABSENT and not required:
        return None
    if not isinstance(v, bool):
        raise ConfigError(key, _shown(v), "true or false")
    return v


def choice(cfg: Any, key: str, options: Sequence[Any], *, required: bool = True) -> Any:
    """One of ``options`` (booleans only match booleans: ``1`` is not ``true``)."""
    v = get(cfg, key)
    if v is ABSENT and not required:
        return None
    if v not in options or isinstance(v, bool) != any(isinstance(o, bool) and o == v for o in options):
        raise ConfigError(key, _shown(v), f"one of {list(options)}")
    return v


def string(cfg: Any, key: str, what: str, *, required: bool = True, nullable: bool = False) -> str | None:
    """A non-empty string; ``what`` says what it names (for the message)."""
    v = get(cfg, key)
    if (v is ABSENT and not required) or (v is None and nullable):
        return None
    if not isinstance(v, str) or not v:
        raise ConfigError(key, _shown(v), what + (" or null" if nullable else ""))
    return v


def string_list(cfg: Any, key: str, what: str, *, required: bool = True) -> list[str] | None:
    """A list of strings (e.g. layer names); ``what`` names them for the message."""
    v = get(cfg, key)
    if v is ABSENT and not required:
        return None
    ok = (OmegaConf.is_list(v) or isinstance(v, (list, tuple))) and all(isinstance(k, str) for k in v)
    if not ok:
        raise ConfigError(key, _shown(v), f"a list of {what}")
    return list(v)
