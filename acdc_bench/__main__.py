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


def main() -> None:
    register_resolvers()
    _app()


if __name__ == "__main__":
    main()
