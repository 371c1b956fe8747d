"""A report's provenance: which code, commits, configs and environment made its runs, and the
command that remakes it.

Every run's ``summary.json`` records its training-code version(s) and commit(s) (the ones that
trained it: a finished run skipped on a rerun keeps its own; see ``acdc_bench/provenance.py``),
its config hash, torch version and thread count. The report gathers them: a warning at the top
when its runs come from more than one training-code version (their numbers may not be remade by
any one checkout), and a section listing it all with the command that remakes the report.

The command is derived, not stored: the artefact specs (``acdc_bench/artefacts``, whence the
Makefile's ``EXP_<target> := <experiment>`` lines) give the target (``_cpu`` experiments:
``SCALE=cpu``), the sweep's own command line (``multirun.yaml``) the ``SEEDS=N`` and other
overrides. Suite parts (``claims_*/<part>``,
``scale_study/<part>``) are remade by their suite's target.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from acdc_bench.reports.sweep import Run, read_sweep

MIXED = "**Mixed training code.**"  # the top warning's first words (verify.py skips the line)
HEADING = "## Provenance"


def make_targets() -> dict[str, str]:
    """Experiment name -> make target, from the artefact specs (as ``make/artefacts.mk``'s
    ``EXP_<target>`` lines)."""
    from acdc_bench.artefacts import paper_artefacts

    return {a.config: a.target for a in paper_artefacts() if a.target}


def sweep_overrides(sweep_dir: Path) -> list[str]:
    """The sweep's command-line overrides (``multirun.yaml``'s ``hydra.overrides.task``)."""
    path = Path(sweep_dir) / "multirun.yaml"
    if not path.is_file():
        return []
    return [str(o) for o in OmegaConf.select(OmegaConf.load(path), "hydra.overrides.task") or []]


def remake_command(name: str, overrides: list[str]) -> str:
    """The command that remakes the report ``name`` (its ``report.name``) from a fresh clone."""
    if name.startswith("claims_") and "/" in name:
        return f"make claims SCALE={name.split('/')[0].removeprefix('claims_').replace('_', '-')}"
    if name.startswith("scale_study/"):
        return "make scale-study"
    targets = make_targets()
    base, scale = (name[:-4], " SCALE=cpu") if name.endswith("_cpu") and name[:-4] in targets else (name, "")
    seeds, rest = "", []
    for o in overrides:
        key, _, value = o.partition("=")
        if key == "experiment" or key.startswith("hydra/launcher"):
            continue
        values = value.split(",")
        if key == "seed" and values == [str(i) for i in range(len(values))]:
            seeds = f" SEEDS={len(values)}"
        else:
            rest.append(o)
    extra = f' SWEEP_ARGS="{" ".join(rest)}"' if rest else ""
    if base in targets:
        return f"make {targets[base]}{scale}{seeds}{extra}"
    return f"acdc-bench -m experiment={name} {' '.join(overrides)}".strip()


def _versions(run: Run, key: str, single: str) -> list[str]:
    s = run.summary or {}
    return [str(v) for v in (s.get(key) or [s.get(single) or "unknown"])]


def gather(runs: list[Run]) -> dict[str, Any]:
    """The finished runs' provenance: code versions and commits (each with its run count), runs
    resumed across versions, config hashes, torch versions, thread counts, devices."""
    done = [r for r in runs if r.ok]
    code = Counter(v for r in done for v in dict.fromkeys(_versions(r, "code_versions", "code_version")))
    commits = Counter(c for r in done for c in dict.fromkeys(_versions(r, "git_commits", "git_commit")))
    across = [r for r in done if len(set(_versions(r, "code_versions", "code_version"))) > 1]

    def counts(key: str) -> Counter:
        return Counter(str((r.summary or {}).get(key, "unknown")) for r in done)

    return {"runs": len(done), "code": code, "commits": commits, "across": across,
            "hashes": counts("config_hash"), "torch": counts("torch_version"),
            "threads": counts("torch_threads"), "device": counts("device")}


def _listed(c: Counter, short: int = 0) -> str:
    def cut(k: str) -> str:
        return k[:short] if short and k != "unknown" else k

    return ", ".join(f"`{cut(k)}` ({n} runs)" for k, n in c.most_common())


def mixed(info: dict[str, Any]) -> bool:
    known = [v for v in info["code"] if v != "unknown"]
    return len(known) > 1 or bool(info["across"])


def warning_lines(info: dict[str, Any]) -> list[str]:
    """The top-of-report warning, when the runs mix training-code versions (else nothing)."""
    if not mixed(info):
        return []
    return ["", f"{MIXED} The finished runs behind this report were trained by {len(info['code'])} "
            f"training-code versions ({_listed(info['code'])})"
            + (f"; {len(info['across'])} of them resumed under another version" if info["across"] else "")
            + ". No single checkout made these numbers: remake the report with its command below."]


def _remake_line(name: str, sweep_dir: Path) -> str:
    return (f"- Remake from a fresh clone: `{remake_command(name, sweep_overrides(sweep_dir))}` (the sweep, "
            "any analysis, then this report; a rerun resumes unfinished runs and keeps finished ones).")


def section(runs: list[Run], name: str, sweep_dir: Path) -> list[str]:
    """``## Provenance``: the remake command, versions, commits, environment, every run's hash."""
    info = gather(runs)
    unknown = info["code"].get("unknown", 0)
    out = ["", HEADING, "", _remake_line(name, sweep_dir),
           f"- Training code (acdc_bench/provenance.py): {_listed(info['code']) or 'no finished run'}"
           + (" (one version)" if len(info["code"]) == 1 and not unknown else "")
           + (f"; `unknown`: {unknown} runs made before versions were recorded" if unknown else "") + ".",
           f"- Commits: {_listed(info['commits'], 12) or 'none'}.",
           f"- Environment: torch {_listed(info['torch'])}; torch threads {_listed(info['threads'])}; "
           f"device {_listed(info['device'])}.",
           f"- Config hashes: {len(info['hashes'])} distinct over {info['runs']} finished runs (one per "
           "config and seed), by run below."]
    rows = [[r.label(), str((r.summary or {}).get("config_hash", "unknown")),
             " → ".join(_versions(r, "code_versions", "code_version")),
             " → ".join(c[:12] for c in _versions(r, "git_commits", "git_commit"))]
            for r in runs if r.ok]
    if rows:
        table = ["| run | config hash | training code | commit |", "|---|---|---|---|"]
        table += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        out += ["", "<details><summary>Every finished run</summary>", "", *table, "", "</details>"]
    return out


def suite_readme(text: str, out: Path, sweeps: list[Path]) -> str:
    """A suite's README (claims, scale study) with the warning under its title and the
    provenance of all its parts' runs at the end (each part's own report has its own)."""
    runs = [r for s in sweeps for r in read_sweep(s)]
    title, _, body = text.partition("\n")
    top = warning_lines(gather(runs))
    where = sweeps[0] if sweeps else out
    if runs:
        tail = section(runs, f"{out.name}/", where)
    else:  # every part read from its committed report: nothing here to give versions of
        tail = ["", HEADING, "", _remake_line(f"{out.name}/", where), "- None of the suite's runs is on the "
                "machine that wrote this README; each part's report keeps what is known of its own."]
    return "\n".join([title, *top, body.rstrip("\n"), *tail]) + "\n"
