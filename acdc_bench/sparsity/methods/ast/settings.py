"""AST's settings, read and checked once (``ASTSettings.read``) for both ``check_config`` and
the method. Defaults live in ``conf/method/ast.yaml`` only; the nullable schedule fields
(``final_prune_epoch``, ``update_interval``, ``adjustment_period``) follow the paper's recipe
through the pure functions of :mod:`.plan`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from acdc_bench import validation as V
from acdc_bench.errors import ConfigError
from acdc_bench.sparsity.distributions import DistributionSettings
from acdc_bench.sparsity.gradient_correction import SCOPES
from acdc_bench.sparsity.methods.ast.plan import final_prune_epoch
from acdc_bench.sparsity.subnets import Subnet, subnet_specs

RELATIONS = ("nd", "cs")
UNSTRUCTURED = ("global", "fld", "uniform", "erk", "gmp_fld")


@dataclass(frozen=True)
class ASTSettings:
    distribution: DistributionSettings  # unstructured: N:M sub-nets come from subnet_nm
    subnets: tuple[Subnet, ...]  # densest first
    gradient_correction: bool  # AST-GC (eq. 5); false: plain AST
    gc_scope: str  # model: eq. 5 on the whole gradient | layer: per layer
    log_inner_products: bool  # count negative inner products also without correction
    relation: str  # nd: own masks | cs: nested masks
    initial_sparsity: float  # s_i of the shared random sparse start
    initial_prune_epoch: int
    final_prune_epoch: int  # resolved: null in the config means 110/160 of the epochs
    update_interval: int | None  # null: resolved by .plan.update_interval
    adjustment_period: int | None  # null: resolved by .plan.adjustment_period
    regrow_fraction: float  # alpha of the cosine-annealed drop fraction
    seed: int  # the random initial sparse model (initial_sparsity > 0) is drawn from it
    amp: bool  # trainer.amp: a step GradScaler skips must leave the momentum buffers alone

    @classmethod
    def read(cls, cfg: Any, epochs: int) -> ASTSettings:
        """Every AST field, checked (ConfigError naming the field); needs no model or data."""
        distribution = DistributionSettings.read(cfg)
        if distribution.name not in UNSTRUCTURED:
            raise ConfigError("distribution.name", distribution.name,
                              f"an unstructured distribution for AST ({', '.join(UNSTRUCTURED)}); "
                              f"N:M sub-nets come from method.subnet_nm")
        subnets = tuple(subnet_specs(cfg))
        nm = subnets[0].nm is not None
        relation = V.choice(cfg, "method.relation", RELATIONS)
        if nm and relation == "cs":
            raise ConfigError("method.relation", relation, "nd for N:M sub-nets (method.subnet_nm)")
        initial = float(V.number(cfg, "method.initial_sparsity", 0.0, 1.0))
        if nm and initial != 0:
            raise ConfigError("method.initial_sparsity", initial,
                              "0 for N:M sub-nets (their share of N:M groups ramps from 0)")
        if initial > subnets[0].target:
            raise ConfigError("method.initial_sparsity", initial,
                              f"at most the densest sub-net's sparsity ({subnets[0].target})")
        start = V.integer(cfg, "method.initial_prune_epoch", low=0)
        if start >= epochs:
            raise ConfigError("method.initial_prune_epoch", start, f"an epoch before epochs={epochs}")
        final = V.integer(cfg, "method.final_prune_epoch", low=1, nullable=True)
        if final is not None and not start < final <= epochs:
            raise ConfigError("method.final_prune_epoch", final,
                              f"an epoch in ({start}, {epochs}] (after method.initial_prune_epoch) or null")
        interval = V.integer(cfg, "method.update_interval", low=1, nullable=True)
        if interval is not None and interval < len(subnets):
            raise ConfigError("method.update_interval", interval,
                              f"at least the number of sub-nets ({len(subnets)}) or null")
        return cls(
            distribution=distribution,
            subnets=subnets,
            gradient_correction=V.boolean(cfg, "method.gradient_correction"),
            gc_scope=V.choice(cfg, "method.gc_scope", SCOPES),
            log_inner_products=V.boolean(cfg, "method.log_inner_products"),
            relation=relation,
            initial_sparsity=initial,
            initial_prune_epoch=start,
            final_prune_epoch=final_prune_epoch(final, start, epochs),
            update_interval=interval,
            adjustment_period=V.integer(cfg, "method.adjustment_period", low=0, nullable=True),
            regrow_fraction=float(V.number(cfg, "method.regrow_fraction", 0.0, 1.0, high_open=False)),
            seed=V.integer(cfg, "seed", low=0),
            amp=V.boolean(cfg, "trainer.amp"),
        )
