"""How the experiment YAMLs are written (issue 22): a CPU twin builds on its paper experiment and a
shared scale (conf/experiment/base/) and states only what differs, and no experiment states its
multirun folder (conf/config.yaml derives it from ``report.name``)."""

from __future__ import annotations

import shutil
from functools import cache

import pytest
import yaml
from conftest import ROOT
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from acdc_bench.config import register_resolvers

EXPERIMENTS = ROOT / "conf" / "experiment"
YAMLS = sorted(p.relative_to(EXPERIMENTS).with_suffix("").as_posix() for p in EXPERIMENTS.rglob("*.yaml"))
TWINS = [n for n in YAMLS
         if "/" not in n and n.endswith("_cpu") and (EXPERIMENTS / f"{n[:-len('_cpu')]}.yaml").is_file()]
# the scale a twin runs at, shared by the twins (image twins and BERT twins)
TWIN_SCALES = ("base/cpu", "base/bert_cpu")


def _body(name: str) -> dict:
    return yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text()) or {}


def _defaults(name: str) -> list:
    return list(_body(name).get("defaults") or [])


def _experiment_defaults(name: str) -> list[str]:
    """The experiments a YAML builds on (entries of its defaults list that are experiment configs)."""
    folder = name.rsplit("/", 1)[0] + "/" if "/" in name else ""
    out = []
    for d in _defaults(name):
        if isinstance(d, str) and d != "_self_":
            refs = [d[len("/experiment/"):]] if d.startswith("/experiment/") else [folder + d, d]
            ref = next((r for r in refs if (EXPERIMENTS / f"{r}.yaml").is_file()), None)
            if ref is not None and ref not in TWIN_SCALES:
                out.append(ref)
    return out


def _leaves(node, prefix: str = ""):
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from _leaves(v, f"{prefix}{k}.")
    else:
        yield prefix[:-1], node


@pytest.fixture(scope="module")
def inherited(tmp_path_factory):
    """``inherited(name)``: the config (Hydra's node included, unresolved, flattened) that an
    experiment YAML composes to with its own keys left out: what its defaults give it."""
    conf = tmp_path_factory.mktemp("conf") / "conf"
    shutil.copytree(ROOT / "conf", conf)
    register_resolvers()

    @cache
    def get(name: str) -> dict:
        path = conf / "experiment" / f"{name}.yaml"
        text = path.read_text()
        path.write_text("# @package _global_\n" + yaml.safe_dump({"defaults": _defaults(name)}))
        try:
            with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
                cfg = compose("config", overrides=[f"experiment={name}"], return_hydra_config=True)
        finally:
            path.write_text(text)
        return dict(_leaves(OmegaConf.to_container(cfg, resolve=False)))

    return get


def test_every_paper_experiment_with_a_twin_is_found():
    assert len(TWINS) >= 30 and "fig3_methods_cpu" in TWINS and "table7_bert_transfer_cpu" in TWINS


@pytest.mark.parametrize("name", TWINS)
def test_twin_builds_on_its_paper_experiment_and_a_shared_scale(name):
    """A twin's first default is its paper experiment (or the twin of the experiment its paper
    builds on: figF1_transfer_cpu takes tableF5_transfer_cpu's runs), then the shared CPU scale."""
    paper = name[: -len("_cpu")]
    first = _experiment_defaults(name)[0]
    parent = (_experiment_defaults(paper) or [None])[0]
    assert first == paper or (parent is not None and first == f"{parent}_cpu"), (name, first)
    included = {d for d in _defaults(name) if isinstance(d, str)}
    assert included & set(TWIN_SCALES) or first != paper, (name, "includes neither", TWIN_SCALES)


@pytest.mark.parametrize("name", TWINS)
def test_twin_states_only_what_differs(name, inherited):
    """Every key a twin states changes what it inherits: the paper experiment, the shared scale
    and the arms stay the one place of each setting, so the twin's composed config is the paper's
    except in the keys the twin, its scale and its arms state."""
    got = inherited(name)
    body = {k: v for k, v in _body(name).items() if k != "defaults"}
    restated = [k for k, v in _leaves(body) if k in got and got[k] == v]
    assert not restated, f"{name} restates what it inherits: {restated}"


@pytest.mark.parametrize("name", YAMLS)
def test_no_yaml_states_its_multirun_folder(name):
    """conf/config.yaml: hydra.sweep.dir is multirun/<report.name> for every experiment."""
    assert OmegaConf.select(OmegaConf.create(_body(name)), "hydra.sweep.dir") is None, name
