"""Shared test helpers: the CLI is the test surface, run as a real subprocess where the process
matters (runs, exit codes, kills); a test that needs only the composed config, a pre-task error
or a task's printout gets it in-process through the CLI's own steps (compose_cli, cli_error,
task_stdout), and tests that need the same finished run share it (shared_run)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------- two workers (issue 22)
# `make test` runs the suite on two pytest-xdist workers (`-n 2 --dist loadgroup`): one per core, so each
# worker and every process it starts gets one torch thread; two OpenMP threads per process on two busy
# cores stall each other. Tests that check thread counts take ``full_threads``. The work units: a
# module's tests run on one worker, so its module fixtures (mostly a trained run) are made once and
# test_slurm.py's local cluster (a fixed state dir and ports) is started by one worker only; modules
# that share a session run (``shared_run``) go together; the two modules of many small independent
# tests are split per test, and, sent last, they even out the two workers' ends.
SHARES_RUNS_WITH = {"tests/test_checkpoint_safety.py": "tests/test_cli.py",
                    "tests/test_transfer.py": "tests/test_methods_cli.py"}
PER_TEST_MODULES = {"tests/test_experiments.py", "tests/test_validation.py"}


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, absent under `-p no:xdist`
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """``--dist loadgroup`` with the work units above (xdist sends the units with the most tests
    first). The units are named here, where xdist's scheduler sees only node ids: xdist 3.8's own
    ``xdist_group`` mark does nothing under pytest 9.2 (it renames ``item._nodeid``, which pytest
    9.2 no longer reads)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleUnits(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return nodeid if module in PER_TEST_MODULES else SHARES_RUNS_WITH.get(module, module)

    return ModuleUnits(config, log)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"  # the processes this worker starts
        import torch

        torch.set_num_threads(1)


@pytest.fixture(scope="session")
def machine_threads() -> int:
    """torch's thread count in a fresh interpreter without OMP_NUM_THREADS: the machine's cores."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                         capture_output=True, text=True, check=True, env=env)
    return int(out.stdout)


@pytest.fixture
def full_threads(machine_threads: int):
    """The test runs with torch at the machine's thread count (as outside the test suite), so that a
    check that something keeps torch's threads cannot pass because there is only one."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(machine_threads)
    yield machine_threads
    torch.set_num_threads(threads)


def run_cli(*overrides: str, cwd: Path | None = None, timeout: float = 600, env: dict | None = None,
            module: str = "acdc_bench") -> subprocess.CompletedProcess:
    """Run ``python -m acdc_bench <overrides>`` and return the completed process. ``env``: variables
    added to this process's; a value of None removes one (``{"OMP_NUM_THREADS": None}``: torch's
    own default threads)."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "WANDB_MODE": "offline", **(env or {})}
    full_env = {k: v for k, v in full_env.items() if v is not None}
    full_env.pop("HYDRA_FULL_ERROR", None)
    if module == "acdc_bench" and cwd is None and not any(o.startswith("hydra.run.dir=") for o in overrides):
        # a command that sets no run folder (task=summary, task=analyze, an error case) would leave
        # Hydra's folder (.hydra/, an empty log) in the checkout's runs/: give it a scratch one
        overrides = (*overrides, f"hydra.run.dir={tempfile.mkdtemp(prefix='acdc-cli-')}")
    return subprocess.run(
        [sys.executable, "-m", module, *overrides], cwd=cwd or ROOT, capture_output=True, text=True,
        timeout=timeout, env=full_env,
    )


def trained_run(run_dir: Path, *overrides: str) -> Path:
    """A finished run in ``run_dir`` (one torch thread: tiny models on a shared machine)."""
    out = run_cli(*overrides, f"hydra.run.dir={run_dir}", env={"OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    return run_dir


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def kill_after_rows(args: list[str], metrics: Path, rows: int, env: dict | None = None) -> None:
    """Start ``python -m acdc_bench <args>`` and SIGKILL it once ``metrics`` (its
    metrics.jsonl) has at least ``rows`` rows: a preemption between two epochs. ``env``: as
    for :func:`run_cli` (a run compared bit for bit with another needs its thread count)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "acdc_bench", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and len(read_jsonl(metrics)) >= rows:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.fixture
def cli():
    return run_cli


# ----------------------------------------------------------------------------- in-process composition
# issue 22: a test that only needs the config `acdc-bench <overrides>` would run (or the one line it
# refuses it with) composes it here, through the CLI's own steps, instead of starting a process.
def compose_cli(*overrides: str):
    """The config ``acdc-bench <overrides>`` runs (Hydra's node left out, as ``--cfg job`` prints
    it), composed in this process by the CLI's own steps: resolvers, ``check_group_choices``
    (an unknown group option exits 2 with one line), ``null_groups_removed``, then Hydra's
    compose over the project's conf/. Hydra's and OmegaConf's errors are raised."""
    from hydra import compose, initialize_config_dir

    from acdc_bench.__main__ import CONF_DIR, check_group_choices, null_groups_removed
    from acdc_bench.config import register_resolvers

    register_resolvers()
    check_group_choices(list(overrides))
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        return compose("config", overrides=null_groups_removed(list(overrides)))


def cfg_job(*overrides: str) -> str:
    """What ``acdc-bench <overrides> --cfg job --resolve`` prints, in this process."""
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(compose_cli(*overrides), resolve=True)


def cli_error(*overrides: str) -> tuple[int, str]:
    """``(exit status, stderr)`` of ``acdc-bench <overrides>`` refusing its config before any work,
    in this process, through the functions the CLI runs: ``compose_cli``, Hydra's errors made one
    line by ``_one_line``, and the task's checks (``tasks.check_task``: ``validate`` and the
    method's ``check_config``), each reported by the CLI's ``_fail``. ``(0, "")``: all checks pass
    (nothing is run)."""
    import contextlib
    import io

    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from acdc_bench.__main__ import _fail, _one_line
    from acdc_bench.errors import ReportedError
    from acdc_bench.tasks import check_task

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            try:
                cfg = compose_cli(*overrides)
            except (HydraException, OmegaConfBaseException) as e:
                _fail(_one_line(e))
            try:
                check_task(cfg)
            except ReportedError as e:
                _fail(str(e), e.exit_code)
        except SystemExit as exit_:
            return int(exit_.code), err.getvalue()
    return 0, err.getvalue()


def task_stdout(*overrides: str) -> str:
    """What ``acdc-bench <overrides>`` writes to stdout, for a task that needs no run directory
    (``task=summary``), run in this process: ``compose_cli``, then ``tasks.run_task`` (the
    task's checks first). A refused config raises its ``ReportedError``."""
    import contextlib
    import io

    from acdc_bench.tasks import run_task

    cfg = compose_cli(*overrides)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_task(cfg)
    return out.getvalue()


# ----------------------------------------------------------------------------- runs shared by the session
# issue 22: tests that need the same finished tiny run (the same overrides, in any order) share it.
# AC/DC over 4 epochs, one each: dense warm-up, compression, decompression, compression (shared by
# tests/test_methods_cli.py and tests/test_transfer.py)
ACDC_4 = ["method=acdc", "method.warmup_epochs=1", "method.phase_epochs=1",
          "method.final_decompression_epochs=1", "method.final_compression_epochs=1"]


@pytest.fixture(scope="session")
def shared_run(tmp_path_factory):
    """``shared_run(*overrides) -> (run_dir, CompletedProcess)``: ``acdc-bench <overrides>``
    trained once per session with one torch thread (as :func:`trained_run`), its directory and
    its output. Read-only: a test that resumes, extends or damages it works on a copy
    (``shutil.copytree``); a run compared bit for bit with it needs ``OMP_NUM_THREADS=1`` too."""
    runs: dict[tuple[str, ...], tuple[Path, subprocess.CompletedProcess]] = {}

    def get(*overrides: str) -> tuple[Path, subprocess.CompletedProcess]:
        key = tuple(sorted(overrides))
        if key not in runs:
            run_dir = tmp_path_factory.mktemp("shared") / "run"
            out = run_cli(*overrides, f"hydra.run.dir={run_dir}", env={"OMP_NUM_THREADS": "1"})
            assert out.returncode == 0, out.stderr
            runs[key] = run_dir, out
        return runs[key]

    return get
