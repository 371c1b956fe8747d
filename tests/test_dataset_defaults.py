"""Every dataset that needs no external files runs with its defaults: ``acdc-bench dataset=<name>``
composes, passes validation and the default method's schedule check (issue 24: digits once
stopped with an ``epochs`` error, its AC/DC phases being paper 001 App. B's 28-epoch plan)."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir

from acdc_bench.config import CONF_DIR, register_resolvers, validate
from acdc_bench.data import DataSettings
from acdc_bench.sparsity.methods import method_class
from acdc_bench.tasks import TASKS

# shipped with a package (digits: scikit-learn; fashion_mnist: the Debian package at its default
# root) or made up (synthetic); the others need a dataset.root, .beton files or the Hub
OFFLINE = ("digits", "fashion_mnist", "synthetic")


def _compose(*overrides: str):
    register_resolvers()
    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def test_the_offline_datasets_are_shipped_options():
    shipped = {p.stem for p in (CONF_DIR / "dataset").glob("*.yaml")}
    assert set(OFFLINE) <= shipped


@pytest.mark.parametrize("name", OFFLINE)
def test_defaults_pass_validation_and_the_default_methods_schedule(name):
    cfg = _compose(f"dataset={name}")
    assert cfg.method.name == "acdc" and int(cfg.epochs) == int(cfg.dataset.base_epochs)
    validate(cfg, tasks=sorted(TASKS))
    DataSettings.read(cfg)
    plan = method_class("acdc").settings_class.read(cfg, int(cfg.epochs)).phases
    # the plan fills the run exactly and ends in the final compression phase
    assert plan[0].start == 0 and plan[-1].end == int(cfg.epochs)
    assert all(a.end == b.start for a, b in zip(plan, plan[1:], strict=False))
    assert plan[-1].stage == "compression" and plan[-1].final
    method_class("acdc").check_config(cfg, int(cfg.epochs))


@pytest.mark.parametrize("name", OFFLINE)
@pytest.mark.parametrize("method", ["gmp", "rigl", "ast", "dense"])
def test_defaults_pass_every_methods_check(name, method):
    cfg = _compose(f"dataset={name}", f"method={method}")
    validate(cfg, tasks=sorted(TASKS))
    method_class(method).check_config(cfg, int(cfg.epochs))
