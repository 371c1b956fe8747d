"""The ``acdc-bench`` command: a Hydra application over ``conf/config.yaml``.

``acdc-bench [overrides]`` and ``python -m acdc_bench [overrides]`` are the same program.
User errors print one line and exit with status 2 (``HYDRA_FULL_ERROR=1`` shows the traceback).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from acdc_bench.config import ConfigError, register_resolvers

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


def _fail(msg: str) -> None:
    print(f"acdc-bench: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def _app(cfg: DictConfig):
    from acdc_bench.tasks import run_task

    try:
        return run_task(cfg)
    except ConfigError as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        _fail(str(err))


GROUPS = ("model", "dataset", "method", "distribution", "logger", "experiment")


def check_group_choices(argv: list[str]) -> None:
    """Reject an unknown option of a config group in one line, before Hydra composes.

    Hydra's own message spans a dozen lines; this one names the group, the value and the
    valid options. Sweeps (``method=acdc,gmp``) are checked option by option.
    """
    for arg in argv:
        key, sep, value = arg.lstrip("+").partition("=")
        if not sep or key not in GROUPS or value in ("null", ""):
            continue
        options = sorted(p.stem for p in (Path(CONF_DIR) / key).glob("*.yaml"))
        choices = value
        for prefix in ("choice(", "glob("):
            if choices.startswith(prefix) and choices.endswith(")"):
                choices = choices[len(prefix) : -1]
        if value.startswith("glob("):
            continue
        for choice in (c.strip() for c in choices.split(",")):
            if choice not in options:
                _fail(f"{key}={choice} is not a {key} config; expected one of {options}")


def main() -> None:
    register_resolvers()
    check_group_choices(sys.argv[1:])
    _app()


if __name__ == "__main__":
    main()
