"""Which code and environment made a run: the training-code version, the commit, torch.

A report is only as trustworthy as the knowledge of which code made its numbers. The git
commit alone is too coarse (a commit that only touches a report or a doc moves it) and too
fine to compare runs with (a checkout with uncommitted edits has the same commit). So a run
also records its **training-code version**: a hash over the source files that determine
training numbers, taken at run start and kept in every checkpoint, so that a run resumed
or skipped (finished) under other code says so.

Which files count (``TRAINING_CODE``): every ``acdc_bench/**/*.py`` except the ones that only
read or present finished runs: ``reports/`` (tables, figures, verdicts), ``artefacts/`` (the
papers' numbers and statements, the make targets) and ``tasks/artefacts.py`` (their catalogue),
``tasks/report.py``, ``tasks/summary.py`` (a dry run), ``__main__.py`` (the CLI's dispatch and
error printing), and this module and ``fingerprint.py`` (bookkeeping). The analyses
(``analysis/``) count: their numbers enter the reports of agree000, ast_fig6, fig9, fig10,
table3. The config is not part of it: ``config_hash`` records that. Each file enters as its
syntax tree with docstrings removed (``ast.unparse``), so comments, docstrings and formatting
never move the version; the same source may hash differently under another Python minor version
(its ``ast`` differs).
"""

from __future__ import annotations

import ast
import gc
import hashlib
import platform
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from acdc_bench.errors import ConfigError, ConfigMismatch

PACKAGE = Path(__file__).resolve().parent
NOT_TRAINING_CODE = ("reports/", "tasks/report.py", "tasks/summary.py", "__main__.py", "provenance.py",
                     "fingerprint.py", "artefacts/", "tasks/artefacts.py")
RESUME_CODE_CHANGE = ("refuse", "allow")  # checkpoint.resume_code_change


def training_files(root: Path = PACKAGE) -> list[Path]:
    """The source files whose content can change a run's numbers (sorted, relative to ``root``)."""
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if not any(rel == p or rel.startswith(p) for p in NOT_TRAINING_CODE):
            out.append(path)
    return out


def parse_source(source: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse`` with the garbage collector paused. CPython 3.11 (3.11.7 here) keeps the AST
    builder's recursion depth in interpreter-wide state: a finalizer that the collector runs in the
    middle of building the tree (or a thread it lets in) and that parses too leaves that depth
    wrong, and the outer parse raises ``SystemError: AST constructor recursion depth mismatch``
    (CPython gh-106905). Seen once in the suite, with numba's dispatcher finalizers."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(source, filename=filename)
    finally:
        if enabled:
            gc.enable()


def _code_only(source: str) -> str:
    """The module's code without docstrings, comments or formatting."""
    tree = parse_source(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None),
                                                                     ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


@cache
def code_version(root: Path = PACKAGE) -> str:
    """16 hex digits identifying the training code (see the module docstring)."""
    digest = hashlib.sha256()
    for path in training_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(_code_only(path.read_text()).encode() + b"\0")
    return digest.hexdigest()[:16]


def git_commit() -> str | None:
    """The checkout's commit (None outside a git checkout); ``+dirty`` when tracked training code
    has uncommitted changes, so that a commit never vouches for code it does not hold."""
    def git(*args: str) -> subprocess.CompletedProcess[str] | None:
        try:
            return subprocess.run(["git", *args], cwd=PACKAGE, capture_output=True, text=True, timeout=5)
        except (OSError, subprocess.SubprocessError):
            return None

    head = git("rev-parse", "HEAD")
    if head is None or head.returncode != 0:
        return None
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".")
    return head.stdout.strip() + ("+dirty" if dirty is not None and dirty.stdout.strip() else "")


def environment() -> dict[str, Any]:
    """What a run records beside its numbers: code version, commit, torch and Python versions."""
    import torch

    return {"code_version": code_version(), "git_commit": git_commit(), "torch_version": torch.__version__,
            "python_version": platform.python_version()}


def trained_by(state: dict[str, Any] | None) -> dict[str, list[Any]]:
    """The training-code versions and commits a checkpoint's run has been trained under, oldest
    first (``"unknown"`` for checkpoints written before they were recorded); empty for a new run."""
    if state is None:
        return {"code_versions": [], "git_commits": []}
    return {"code_versions": list(state.get("code_versions") or ["unknown"]),
            "git_commits": list(state.get("git_commits") or ["unknown"])}


def add_training(record: dict[str, list[Any]], env: dict[str, Any]) -> dict[str, list[Any]]:
    """``record`` after this process trained the run further (a version or commit is listed once
    per change, so a run trained by one version lists one)."""
    out = {k: list(v) for k, v in record.items()}
    for key, value in (("code_versions", env["code_version"]), ("git_commits", env["git_commit"])):
        if not out[key] or out[key][-1] != value:
            out[key].append(value)
    return out


def check_resume_code(state: dict[str, Any], where: str, policy: str, log: Any) -> None:
    """Before resuming a run, or skipping it when it is finished, under training code other than
    the code it was trained by: refuse (``checkpoint.resume_code_change=refuse``, the default), or
    warn (``allow``). A skipped finished run counts too: its report would mix two versions."""
    if policy not in RESUME_CODE_CHANGE:
        raise ConfigError("checkpoint.resume_code_change", policy, " or ".join(RESUME_CODE_CHANGE))
    last, now = trained_by(state)["code_versions"][-1], code_version()
    if last == now:
        return
    if last == "unknown":
        log(f"warning: {where} was trained before training-code versions were recorded (now {now}); "
            "its report will show version 'unknown'")
    elif policy == "refuse":
        raise ConfigMismatch(
            f"{where} was trained by training code {last}, this is {now}: pass "
            "checkpoint.resume_code_change=allow to continue or keep it (its report will mix the two "
            "versions), or rerun into a fresh directory")
    else:
        log(f"warning: {where} was trained by training code {last}, this is {now} "
            "(checkpoint.resume_code_change=allow): its report will say it mixes versions")
