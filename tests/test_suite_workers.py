"""`make test`'s pytest-xdist workers (issue 22): the work units tests/conftest.py's scheduler makes,
so that a module's fixtures are made once and the SLURM cluster is started by one worker."""

from __future__ import annotations

import pytest
from conftest import PER_TEST_MODULES, ROOT, SHARES_RUNS_WITH, pytest_xdist_make_scheduler

pytest.importorskip("xdist")  # the dev extra has it; an ACDC_WHEELS set-up may not


class _Config:
    """What the scheduler reads of pytest's config: ``--dist`` and the workers (``-n 2``)."""

    def __init__(self, dist: str):
        self.dist = dist

    def getvalue(self, name: str):
        return {"dist": self.dist, "tx": ["2*popen"]}[name]


def test_modules_are_units_run_sharing_modules_go_together_and_two_split_per_test():
    unit = pytest_xdist_make_scheduler(_Config("loadgroup"), None)._split_scope
    slurm = ["tests/test_slurm.py::test_array_sweep", "tests/test_slurm.py::test_ranks_from_slurm_tasks"]
    assert {unit(n) for n in slurm} == {"tests/test_slurm.py"}  # one cluster, one worker
    resume = ["tests/test_resume.py::test_a[ast]", "tests/test_resume.py::test_b"]
    assert {unit(n) for n in resume} == {"tests/test_resume.py"}  # its module's finished run made once
    assert unit("tests/test_transfer.py::test_t") == unit("tests/test_methods_cli.py::test_m")
    assert unit("tests/test_checkpoint_safety.py::test_c") == unit("tests/test_cli.py::test_d")
    for one in ("tests/test_experiments.py::test_e[fig1]", "tests/test_validation.py::test_v[a]"):
        assert unit(one) == one
    # the named modules exist (a renamed one would silently fall back to the default)
    named = [*SHARES_RUNS_WITH, *SHARES_RUNS_WITH.values(), *PER_TEST_MODULES]
    assert all((ROOT / m).is_file() for m in named), named


def test_other_dist_modes_keep_xdists_schedulers():
    assert pytest_xdist_make_scheduler(_Config("load"), None) is None
    assert pytest_xdist_make_scheduler(_Config("loadfile"), None) is None
