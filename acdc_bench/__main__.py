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

from acdc_bench.config import register_resolvers
from acdc_bench.errors import ReportedError

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")
# The user's choice. main() sets HYDRA_FULL_ERROR itself (with _CLI_SET_FULL_ERROR), and
# processes it starts (submitit jobs) inherit both: that is not the user asking.
_CLI_SET_FULL_ERROR = "_ACDC_BENCH_SET_HYDRA_FULL_ERROR"
_SHOW_TRACEBACKS = os.environ.get("HYDRA_FULL_ERROR") == "1" and _CLI_SET_FULL_ERROR not in os.environ
_TASK_STARTED = False


def _fail(msg: str, status: int = 2) -> None:
    # Under torchrun every rank meets the same error (the trainer makes failures collective):
    # rank 0 reports it.
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"acdc-bench: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(status)


@hydra.main(version_base="1.3", config_path=CONF_DIR, config_name="config")
def _app(cfg: DictConfig):
    global _TASK_STARTED
    _TASK_STARTED = True
    if not _SHOW_TRACEBACKS:  # errors from here on are the task's: Hydra reports them as usual
        os.environ.pop("HYDRA_FULL_ERROR", None)
        os.environ.pop(_CLI_SET_FULL_ERROR, None)
    from acdc_bench.tasks import run_task

    try:
        return run_task(cfg)
    except ReportedError as err:
        if _SHOW_TRACEBACKS:
            raise
        _fail(str(err), err.exit_code)


def _one_line(err: BaseException) -> str:
    """Hydra's and OmegaConf's multi-line messages about the command line, as one line."""
    skip = ("See https://", "full_key:", "object_type=", "reference_type=", "Set the environment")

    def text(e: BaseException) -> str:
        lines = [ln.strip() for ln in str(e).split("Config search path:")[0].splitlines()]
        return " ".join(ln for ln in lines if ln and not ln.startswith(skip))

    msg, cause = text(err), err.__cause__
    if cause is not None and text(cause) and text(cause) not in msg:
        msg += f" ({text(cause)})"
    override = getattr(err, "override", None)  # hydra's OverrideParseException
    return f"cannot parse the override {override!r}: {msg}" if override else msg


GROUPS = ("model", "dataset", "method", "distribution", "logger", "experiment", "analysis", "recipe",
          "transfer", "inference")
# null by default; `experiment=null` means none
OPTIONAL_GROUPS = ("experiment", "analysis", "transfer", "inference")


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def null_groups_removed(argv: list[str]) -> list[str]:
    """``experiment=null`` (the default) as Hydra understands it: the group is left out."""
    out = []
    for arg in argv:
        key, _, value = arg.lstrip("+").partition("=")
        out.append(f"~{key}" if key in OPTIONAL_GROUPS and value == "null" else arg)
    return out


def config_dirs(argv: list[str]) -> list[Path]:
    """The package's config folder and those a ``hydra.searchpath=[file://...]`` override adds
    (a user's own experiments beside the shipped ones)."""
    dirs = [Path(CONF_DIR)]
    for arg in argv:
        key, _, value = arg.lstrip("+").partition("=")
        if key == "hydra.searchpath":
            dirs += [Path(item.strip().removeprefix("file://")) for item in value.strip("[]").split(",")
                     if item.strip().startswith("file://")]
    return dirs


def check_group_choices(argv: list[str]) -> None:
    """Reject an unknown option of a config group in one line, before Hydra composes.

    Hydra's own message spans a dozen lines; this one names the group, the value and the
    valid options. Sweeps (``method=acdc,gmp``) are checked option by option.
    """
    dirs = config_dirs(argv)
    for arg in argv:
        key, sep, value = arg.lstrip("+").partition("=")
        if not sep or key not in GROUPS or value == "":
            continue
        options = sorted({p.stem for d in dirs for p in (d / key).glob("*.yaml")})
        if value == "null":
            if key not in OPTIONAL_GROUPS:
                _fail(f"{key}=null is not allowed: a run needs a {key} config; expected one of {options}")
            continue
        choices = value
        for prefix in ("choice(", "glob("):
            if choices.startswith(prefix) and choices.endswith(")"):
                choices = choices[len(prefix) : -1]
        if value.startswith("glob("):
            continue
        # configs in sub-folders are options too (experiment=claims/cpu_full_methods), not listed
        nested = {p.relative_to(d / key).with_suffix("").as_posix()
                  for d in dirs for p in (d / key).rglob("*.yaml")}
        for choice in (c.strip() for c in choices.split(",")):
            if choice not in options and choice not in nested:
                _fail(f"{key}={choice} is not {_article(key)} {key} config; expected one of {options}")


def _distributed_rank() -> bool:
    """This process is one rank of a multi-process run (torchrun, or SLURM tasks, whose
    rendezvous the trainer exports as ``WORLD_SIZE``)."""
    return int(os.environ.get("WORLD_SIZE", "1") or "1") > 1


def _leave(status: int) -> None:
    """End a rank's process without the interpreter's finalization.

    A DDP model's autograd hooks keep the process group alive after ``destroy_process_group()``
    and after the model is freed (torch 2.14.1: its gloo threads are still running at
    ``atexit``), so its worker threads outlive the run. One of them can drop the last reference
    to a finished collective's tensors after the main thread has begun finalizing the
    interpreter; taking the GIL then ends that thread by a forced unwind, which aborts the
    finished process ("terminate called without an active exception", SIGABRT). Seen once in CI
    and once in about 270 two-rank runs on a loaded machine, both on rank 1 (the rank with least
    to do at the end). So a rank flushes its logs and streams and leaves with ``os._exit``: every
    file the run writes is closed by then (the trainer closes its logger and writes its
    checkpoints and summary before returning)."""
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)


def _status(code: object) -> int:
    """``sys.exit``'s argument as the process's exit status (a message means 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def main() -> None:
    try:
        _main()
    except SystemExit as stop:
        if _distributed_rank():
            _leave(_status(stop.code))
        raise
    except BaseException:
        if _distributed_rank():
            import traceback

            traceback.print_exc()
            _leave(1)
        raise
    if _distributed_rank():
        _leave(0)


def _main() -> None:
    register_resolvers()
    check_group_choices(sys.argv[1:])
    sys.argv[1:] = null_groups_removed(sys.argv[1:])
    from acdc_bench.distributed import env_rank

    if env_rank() > 0:
        # torchrun: every rank runs this application, in the same run directory (a function
        # of the overrides); only rank 0 writes Hydra's .hydra/ files and the log file.
        sys.argv += ["hydra.output_subdir=null", "hydra/job_logging=disabled", "hydra/hydra_logging=disabled"]
    if _SHOW_TRACEBACKS:
        _app()
        return
    # Let Hydra raise instead of printing a dozen lines, so that a malformed override, an
    # unknown key or a missing config group file is one line (and exit status 2) as well.
    os.environ["HYDRA_FULL_ERROR"] = os.environ[_CLI_SET_FULL_ERROR] = "1"
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    try:
        _app()
    except (HydraException, OmegaConfBaseException) as err:
        if _TASK_STARTED:
            raise
        _fail(_one_line(err))


if __name__ == "__main__":
    main()
