"""Sweeps through a real slurmctld: a one-node cluster started by scripts/slurm_local.sh.

The cluster lives in its own state dir and on its own ports, so a cluster a user started with
the script's defaults (/tmp/acdc-slurm, 6817/6818) is neither reused nor stopped by the tests.
It is started afresh for the module and stopped when its tests end, failed or not.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

pytestmark = pytest.mark.slurm

SCRIPT = ROOT / "scripts" / "slurm_local.sh"
# Not under pytest's tmp_path: munged (running as the munge user) must reach its socket and key,
# and pytest's base temp dir is private to the user running the tests.
STATE = Path("/tmp/acdc-slurm-tests")
CLUSTER_ENV = {"ACDC_SLURM_DIR": str(STATE), "ACDC_SLURMCTLD_PORT": "16817", "ACDC_SLURMD_PORT": "16818"}
POINT_ENV = {"ACDC_GPUS_PER_NODE": "0", "ACDC_CPUS_PER_TASK": "1", "ACDC_SLURM_PARTITION": "debug",
             # one torch thread per job: the array's two points share the machine's two cores
             "OMP_NUM_THREADS": "1"}


def _script(command: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), command], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **CLUSTER_ENV})


@pytest.fixture(scope="module")
def slurm_env() -> Iterator[dict[str, str]]:
    """The environment that points SLURM's commands (and submitit) at the local cluster."""
    if os.geteuid() != 0:
        have = shutil.which("slurmctld", path=os.environ.get("PATH", "") + ":/usr/sbin")
        pytest.skip("SLURM tests start a local cluster, which needs root (slurmd, munged as munge); "
                    + ("SLURM is installed but this user is not root" if have else
                       "and SLURM is not installed (Debian: slurmctld slurmd slurm-client munge)"))
    if _script("status", timeout=60).returncode != 0:
        # A fresh cluster: an interrupted session's saved jobs would otherwise be requeued (submitit
        # asks for --requeue) and its jobcomp records would share job ids with this session's.
        shutil.rmtree(STATE, ignore_errors=True)
    try:
        started = _script("start", timeout=900)  # the first start may install the Debian packages
        assert started.returncode == 0, f"scripts/slurm_local.sh start failed: {started.stderr.strip()}"
        yield {"SLURM_CONF": str(STATE / "slurm.conf"), "PATH": f"{STATE / 'bin'}:{os.environ['PATH']}"}
    finally:
        stopped = _script("stop", timeout=120)
        assert stopped.returncode == 0, stopped.stderr


def jobcomp_records(array_job_id: str, tasks: int, timeout: float = 60) -> dict[str, dict[str, str]]:
    """The last jobcomp/filetxt record of each task of an array job, by task id.

    Waits for all ``tasks``: submitit sees a task's result file before its step has ended, and
    slurmctld writes the record only when the job ends.
    """
    deadline = time.monotonic() + timeout
    while True:
        records = {}
        for line in (STATE / "jobcomp.txt").read_text().splitlines():
            fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
            if fields.get("ArrayJobId") == array_job_id:
                records[fields["ArrayTaskId"]] = fields
        if len(records) >= tasks or time.monotonic() > deadline:
            return records
        time.sleep(0.5)


def test_array_sweep(slurm_env, tmp_path):
    sweep = tmp_path / "sweep"
    out = run_cli("-m", "hydra/launcher=slurm", "dataset=digits", "model=resnet20", "method=dense",
                  "epochs=1", "seed=0,1", f"hydra.sweep.dir={sweep}", env={**slurm_env, **POINT_ENV},
                  timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    # submitit's state polls are answered (no sacct warning on every poll)
    assert "Bypassing sacct error" not in out.stdout + out.stderr

    summaries = sorted(sweep.glob("*/summary.json"))
    assert len(summaries) == 2
    for path in summaries:
        assert json.loads(path.read_text())["status"] == "finished"

    # one array job: submitit's per-task folders are N_0 and N_1, with their logs
    tasks = sorted(d.name for d in (sweep / ".submitit").iterdir() if re.fullmatch(r"\d+_\d+", d.name))
    assert len(tasks) == 2, tasks
    array_id = tasks[0].split("_")[0]
    assert tasks == [f"{array_id}_0", f"{array_id}_1"]
    for task in tasks:
        assert (sweep / ".submitit" / task / f"{task}_0_log.out").is_file()

    records = jobcomp_records(array_id, tasks=2)
    for task_id, fields in sorted(records.items()):
        print(f"jobcomp: JobId={fields['JobId']} ArrayJobId={array_id} ArrayTaskId={task_id} "
              f"JobState={fields['JobState']} NodeList={fields['NodeList']} ExitCode={fields['ExitCode']}")
    assert {task_id: fields["JobState"] for task_id, fields in records.items()} == {
        "0": "COMPLETED", "1": "COMPLETED"}

    results = tmp_path / "results"
    report = run_cli("task=report", f"sweep_dir={sweep}", f"results_dir={results}",
                     f"hydra.run.dir={tmp_path / 'report_run'}")
    assert report.returncode == 0, report.stderr[-2000:]
    table = Path(report.stdout.strip().splitlines()[-1])
    assert table.name == "table.md" and table.parent.parent == results
    assert "2 runs asked, 2 finished, 0 missing or failed" in table.read_text()
