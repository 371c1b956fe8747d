"""Sweeps through a real slurmctld: a two-node cluster (two slurmd on this host) started by
scripts/slurm_local.sh, shared by the module's tests: a sweep as an sbatch array, a job
preempted and requeued mid-training that resumes to the uninterrupted run's metrics, and DDP
with one rank per SLURM task (two tasks on one node, and one task on each of two nodes).

The cluster lives in its own state dir and on its own ports, so a cluster a user started with
the script's defaults (/tmp/acdc-slurm, 6817/6818) is neither reused nor stopped by the tests.
It is started afresh for the module and stopped when its tests end, failed or not. Job states
come from jobcomp/filetxt (no slurmdbd): the last record of a job is its final state.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, read_jsonl, run_cli

from acdc_bench.distributed import expand_hostlist, slurm_rendezvous
from acdc_bench.trainer.preemption import Preemption

slurm = pytest.mark.slurm  # the tests that need the local cluster (and root)

SCRIPT = ROOT / "scripts" / "slurm_local.sh"
# Not under pytest's tmp_path: munged (running as the munge user) must reach its socket and key,
# and pytest's base temp dir is private to the user running the tests.
STATE = Path("/tmp/acdc-slurm-tests")
CLUSTER_ENV = {"ACDC_SLURM_DIR": str(STATE), "ACDC_SLURMCTLD_PORT": "16817", "ACDC_SLURMD_PORT": "16818",
               "ACDC_SLURM_NODES": "2"}  # slurmd ports 16818 and 16819
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


FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED"}


def _jobcomp() -> list[dict[str, str]]:
    path = STATE / "jobcomp.txt"
    lines = path.read_text().splitlines() if path.exists() else []
    return [dict(item.split("=", 1) for item in line.split() if "=" in item) for line in lines]


def jobcomp_records(array_job_id: str, tasks: int, timeout: float = 60) -> dict[str, dict[str, str]]:
    """The last jobcomp/filetxt record of each task of an array job, by task id.

    Waits for all ``tasks``: submitit sees a task's result file before its step has ended, and
    slurmctld writes the record only when the job ends (a few seconds later).
    """
    deadline = time.monotonic() + timeout
    while True:
        records = {f["ArrayTaskId"]: f for f in _jobcomp() if f.get("ArrayJobId") == array_job_id}
        if len(records) >= tasks or time.monotonic() > deadline:
            return records
        time.sleep(0.5)


def job_history(job_id: str, timeout: float = 60) -> list[dict[str, str]]:
    """Every jobcomp record of a job, oldest first, once the last one is a final state (a
    requeued job has one record per allocation)."""
    deadline = time.monotonic() + timeout
    while True:
        records = [f for f in _jobcomp() if f.get("JobId") == job_id]
        if (records and records[-1]["JobState"] in FINAL) or time.monotonic() > deadline:
            return records
        time.sleep(0.5)


def _start_cli(*overrides: str, env: dict[str, str]) -> subprocess.Popen:
    """``python -m acdc_bench <overrides>`` in the background, as :func:`run_cli` runs it."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "WANDB_MODE": "offline", **env}
    full_env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.Popen([sys.executable, "-m", "acdc_bench", *overrides], cwd=ROOT, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


def _only_job(sweep: Path) -> str:
    """The job id of a one-point sweep (submitit's folder .submitit/<id>/)."""
    (job,) = [d.name for d in (sweep / ".submitit").iterdir() if d.is_dir()]
    return job


def _strip(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "epoch_time_s"} for r in rows]


@slurm
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


# ---------------------------------------------------------------------------- preemption
PREEMPTED_RUN = ["dataset=digits", "model=resnet20", "method=dense", "epochs=4", "seed=0"]


@slurm
def test_requeued_job_resumes_to_identical_metrics(slurm_env, tmp_path):
    """Preempted the way submitit's ``job._interrupt()`` does it (SIGTERM, then USR2) during its
    second epoch: the trainer checkpoints at the next step boundary on each signal, submitit
    requeues the job with the same overrides, and the second allocation resumes in the same run
    directory from that checkpoint and ends with the uninterrupted run's metrics."""
    env = {**slurm_env, **POINT_ENV}
    sweep = tmp_path / "sweep"
    job = _start_cli("-m", "hydra/launcher=slurm", *PREEMPTED_RUN, f"hydra.sweep.dir={sweep}", env=env)
    reference = _start_cli(*PREEMPTED_RUN, f"hydra.run.dir={tmp_path / 'reference'}",
                           env={"OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 300
        while not any(p.stat().st_size for p in sweep.glob("*/metrics.jsonl")):  # epoch 0 is done
            assert job.poll() is None and time.monotonic() < deadline, "the job ended before its first epoch"
            time.sleep(0.05)
        job_id = _only_job(sweep)
        cluster = {**os.environ, **slurm_env}
        for sig in ("SIGTERM", "USR2"):  # what submitit's _interrupt() sends for a preemption
            subprocess.run(["scancel", f"--signal={sig}", job_id], check=True, env=cluster)
        while job.poll() is None and time.monotonic() < deadline:
            state = subprocess.run(["squeue", "-h", "-j", job_id, "-o", "%T %r"], capture_output=True,
                                   text=True, env=cluster).stdout.strip()
            if state == "PENDING BeginTime":  # a requeued job may wait cred_expire (120 s) to restart
                # not in the second its credential was revoked: slurmd refuses a credential created in
                # that second (ctime <= revoked), the launch fails and the job ends FAILED
                subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now+3"], env=cluster)
            time.sleep(0.5)
        code, output = _finish(job)
        assert code == 0, output[-3000:]
        ref_code, ref_output = _finish(reference)  # on a loaded machine it may end after the job
    finally:
        for proc in (job, reference):
            if proc.poll() is None:
                proc.kill()
    assert ref_code == 0, ref_output[-3000:]

    logs = sweep / ".submitit" / job_id
    log = "".join((logs / f"{job_id}_0_log.{ext}").read_text() for ext in ("err", "out"))
    print("\n".join(ln for ln in log.splitlines() if "acdc-bench] " in ln or "submitit WARNING" in ln))
    # each signal became a checkpoint at a step boundary; USR2's went to submitit, which requeued
    written = re.findall(r"SIG(TERM|USR2) received: checkpoint written at (epoch (\d+) before batch (\d+)|"
                         r"the end of epoch (\d+))", log)
    assert [w[0] for w in written] == ["TERM", "USR2"], log[-3000:]
    assert "this job is preempted" in log and "Requeued job" in log
    _, _, epoch, batch, end_epoch = written[-1]
    resumed = (f"in epoch {epoch} at batch {batch} of 22" if batch else f"after epoch {end_epoch}")
    assert re.search(r"resuming from \S+/checkpoints/last.pt " + resumed, log), log[-3000:]
    assert log.count("[acdc-bench] method=dense") == 2  # two allocations, one run directory

    (run,) = [p.parent for p in sweep.glob("*/summary.json")]
    reference_run = tmp_path / "reference"
    assert _strip(read_jsonl(run / "metrics.jsonl")) == _strip(read_jsonl(reference_run / "metrics.jsonl"))
    ours, theirs = (json.loads((r / "summary.json").read_text()) for r in (run, reference_run))
    assert ours["status"] == theirs["status"] == "finished"
    assert _strip([ours["final"]]) == _strip([theirs["final"]])

    history = job_history(job_id)
    for fields in history:
        print(f"jobcomp: JobId={fields['JobId']} JobState={fields['JobState']} "
              f"StartTime={fields['StartTime']} NodeList={fields['NodeList']} ExitCode={fields['ExitCode']}")
    assert len(history) >= 2 and history[-1]["JobState"] == "COMPLETED"  # one record per allocation


# ---------------------------------------------------------------------------- DDP from SLURM
DDP_RUN = ["dataset=digits", "model=resnet20", "model.width=0.25", "method=rigl", "sparsity=0.9", "epochs=1",
           "method.update_interval=5"]


@slurm
def test_ranks_from_slurm_tasks_on_one_and_on_two_nodes(slurm_env, tmp_path):
    """One DDP rank per SLURM task, rank and rendezvous from SLURM's variables: two tasks on one
    node, and one task on each of the cluster's two nodes (two slurmd on this host, whose node
    names do not resolve: the rendezvous address is the first node's NodeAddr). Both are one
    2-rank run: identical masks on both ranks, rank 0 alone writes, the same numbers."""
    env = {**slurm_env, **POINT_ENV}
    layouts = {"one_node": {"ACDC_TASKS_PER_NODE": "2"}, "two_nodes": {"ACDC_NODES": "2"}}
    procs = {name: _start_cli("-m", "hydra/launcher=slurm", *DDP_RUN, f"hydra.sweep.dir={tmp_path / name}",
                              env={**env, **extra}) for name, extra in layouts.items()}
    rows = {}
    for name, proc in procs.items():
        code, output = _finish(proc)
        assert code == 0, f"{name}: {output[-3000:]}"
        sweep = tmp_path / name
        (run,) = [p.parent for p in sweep.glob("*/summary.json")]
        summary = json.loads((run / "summary.json").read_text())
        assert summary["world_size"] == 2 and summary["status"] == "finished", name
        rows[name] = read_jsonl(run / "metrics.jsonl")
        assert [r["epoch"] for r in rows[name]] == [0]  # one writer
        checksums = rows[name][0]["mask_checksums"]
        assert len(checksums) == 2 and checksums[0] == checksums[1], name
        job_id = _only_job(sweep)
        logs = [(sweep / ".submitit" / job_id / f"{job_id}_{rank}_log.err").read_text() for rank in (0, 1)]
        assert "world size 2" in logs[0] and "[acdc-bench]" not in logs[1]  # rank 1 ran, silently
        (record,) = job_history(job_id)
        print(f"jobcomp ({name}): JobId={record['JobId']} JobState={record['JobState']} "
              f"NodeList={record['NodeList']} NodeCnt={record['NodeCnt']} ProcCnt={record['ProcCnt']}")
        assert record["JobState"] == "COMPLETED"
        assert len(expand_hostlist(record["NodeList"])) == (2 if name == "two_nodes" else 1)
    assert _strip(rows["one_node"]) == _strip(rows["two_nodes"])


# ---------------------------------------------------------------------------- no cluster needed
def test_hostlists_expand_as_scontrol_show_hostnames_does():
    assert expand_hostlist("vm") == ["vm"]
    assert expand_hostlist("gpu[01-03,07],login1") == ["gpu01", "gpu02", "gpu03", "gpu07", "login1"]
    assert expand_hostlist("vm-n[1-2]") == ["vm-n1", "vm-n2"]
    assert expand_hostlist("a[8-10]b,c") == ["a8b", "a9b", "a10b", "c"]


def test_rendezvous_of_a_hand_built_two_node_step():
    """Both tasks of a 2-node step agree on the rendezvous without talking: the first node of
    the step, a port from the job id; rank and local rank are the task's."""
    base = {"SLURM_JOB_ID": "4242", "SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "4", "SLURM_NTASKS": "4",
            "SLURM_JOB_NODELIST": "localhost,gpu[2-3]", "SLURM_STEP_NODELIST": "localhost,gpu2"}
    ranks = [slurm_rendezvous({**base, "SLURM_PROCID": str(r), "SLURM_LOCALID": str(r % 2)})
             for r in range(4)]
    assert {(r["MASTER_ADDR"], r["MASTER_PORT"], r["WORLD_SIZE"]) for r in ranks} == {
        ("localhost", "24242", "4")}
    assert [(r["RANK"], r["LOCAL_RANK"]) for r in ranks] == [("0", "0"), ("1", "1"), ("2", "0"), ("3", "1")]
    assert slurm_rendezvous({**base, "SLURM_PROCID": "0", "MASTER_PORT": "29500"})["MASTER_PORT"] == "29500"


def test_a_signal_waits_for_the_checkpoint_then_reaches_its_handler():
    """SIGTERM and USR2 only mark a request; the hand-over (after the trainer's checkpoint)
    calls the handlers they were meant for, SIGTERM's first, and ends the process on USR2."""
    from acdc_bench.distributed import DistInfo

    seen: list[int] = []
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGUSR2)}
    for sig in before:
        signal.signal(sig, lambda signum, frame: seen.append(signum))
    try:
        logged: list[str] = []
        pre = Preemption(DistInfo(), device=None, log=logged.append, enabled=True)
        assert pre.requested(0, 10) == ()
        os.kill(os.getpid(), signal.SIGUSR2)
        os.kill(os.getpid(), signal.SIGTERM)
        assert seen == []  # not yet: the trainer has not checkpointed
        assert pre.requested(9, 10) == ()  # the epoch's last batch: the epoch-end checkpoint decides
        asked = pre.requested(3, 10)
        assert asked == (signal.SIGTERM, signal.SIGUSR2)
        with pytest.raises(SystemExit):
            pre.hand_over(asked, "epoch 0 before batch 4")
        assert seen == [signal.SIGTERM, signal.SIGUSR2]
        assert logged[0] == ("SIGTERM received: checkpoint written at epoch 0 before batch 4; "
                             "handing over to the job's handler")
        assert pre.requested(3, 10) == ()
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def test_outside_slurm_no_signal_is_touched(monkeypatch):
    from acdc_bench.distributed import DistInfo

    for var in ("SLURM_JOB_ID", "SUBMITIT_EXECUTOR"):
        monkeypatch.delenv(var, raising=False)
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGUSR2)
    pre = Preemption(DistInfo(), device=None, log=print)
    assert not pre.enabled and pre.requested(0, 10) == ()
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGUSR2)) == before
