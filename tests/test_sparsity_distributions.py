"""Sparsity distributions: budgets, ERK, N:M, blocks, kept-dense layers, config errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import timm
import torch
from omegaconf import OmegaConf

from acdc_bench.config import ConfigError
from acdc_bench.models.cifar_resnet import CifarResNet
from acdc_bench.sparsity import scores
from acdc_bench.sparsity.distributions import build_distribution, erk_densities, grouped, kth_smallest
from acdc_bench.sparsity.masks import MaskSet, prunable_layers

CONF = Path(__file__).resolve().parent.parent / "conf" / "distribution"


def cfg(name: str, **fields) -> OmegaConf:
    """``distribution=<name>`` as shipped (its defaults live in the YAML only), with ``fields`` set."""
    shipped = OmegaConf.to_container(OmegaConf.load(CONF / f"{name}.yaml"))
    return OmegaConf.create({"distribution": {**shipped, **fields}})


def tiny_layers():
    torch.manual_seed(0)
    return prunable_layers(CifarResNet(20, num_classes=10, in_chans=1, width=0.25))


def select(name: str, sparsity: float, layers=None, by=None, **fields):
    layers = layers or tiny_layers()
    dist = build_distribution(cfg(name, **fields), layers)
    ms = MaskSet(layers)
    if by is None:
        dist.select_magnitude(ms.weights, sparsity, ms.masks)
    else:
        dist.select(by(ms.weights), sparsity, ms.masks)
    return dist, ms


def kept(ms: MaskSet, indices) -> int:
    return sum(int(ms.masks[i].sum()) for i in indices)


@pytest.mark.parametrize("sparsity", [0.5, 0.9, 0.98])
def test_global_prunes_exactly_the_budget_by_one_magnitude_threshold(sparsity):
    dist, ms = select("global", sparsity)
    n = ms.total
    assert kept(ms, range(len(ms.masks))) == n - round(sparsity * n)
    lowest_kept = min(w[m].abs().min() for w, m in zip(ms.weights, ms.masks, strict=True) if m.any())
    highest_pruned = max(w[~m].abs().max() for w, m in zip(ms.weights, ms.masks, strict=True) if (~m).any())
    assert highest_pruned < lowest_kept
    # the fused magnitude path and the generic score path agree
    _, generic = select("global", sparsity, by=scores.magnitude)
    assert torch.equal(generic.flat, ms.flat)


def test_fld_keeps_first_and_last_dense_and_out_of_the_budget():
    dist, ms = select("fld", 0.9)
    assert ms.masks[0].all() and ms.masks[-1].all()
    middle = range(1, len(ms.masks) - 1)
    n = sum(ms.numels[i] for i in middle)
    assert kept(ms, middle) == n - round(0.9 * n)
    assert dist.describe()["keep_dense"] == ["conv1", "fc"]


def test_uniform_prunes_every_pruned_layer_at_the_target():
    dist, ms = select("uniform", 0.75)
    assert ms.masks[0].all() and ms.masks[-1].all()  # default keep_dense: first, last
    for i in range(1, len(ms.masks) - 1):
        assert int(ms.masks[i].sum()) == ms.numels[i] - round(0.75 * ms.numels[i])


def test_keep_dense_accepts_layer_names_and_rejects_unknown_ones():
    dist, ms = select("global", 0.9, keep_dense=["layer1.0.conv1"])
    assert ms.masks[1].all() and not ms.masks[0].all()
    with pytest.raises(ConfigError, match="distribution.keep_dense"):
        select("global", 0.9, keep_dense=["nosuch"])


def resnet50_shapes():
    return [layer.shape for layer in prunable_layers(timm.create_model("resnet50", num_classes=1000))]


@pytest.mark.parametrize("sparsity", [0.5, 0.8, 0.9, 0.95, 0.99])
def test_erk_densities_never_exceed_one_and_meet_the_budget(sparsity):
    shapes = resnet50_shapes()
    dens = erk_densities(shapes, sparsity)
    numels = [math.prod(s) for s in shapes]
    assert all(0 < d <= 1 for d in dens)
    kept = sum(d * n for d, n in zip(dens, numels, strict=True))
    assert kept == pytest.approx((1 - sparsity) * sum(numels))
    # ERK's shape: density proportional to sum(shape)/prod(shape) among the layers left sparse
    ratios = {round(d / (sum(s) / math.prod(s)), 9) for d, s in zip(dens, shapes, strict=True) if d < 1}
    assert len(ratios) == 1


def test_erk_makes_a_layer_dense_and_re_solves_the_budget_over_the_rest():
    shapes = [(8, 3, 3, 3), (512, 512)]  # the small conv's raw density is far above the big layer's
    dens = erk_densities(shapes, 0.5)
    n = [math.prod(s) for s in shapes]
    assert dens[0] == 1.0 and dens[1] < 1.0
    assert dens[0] * n[0] + dens[1] * n[1] == pytest.approx(0.5 * sum(n))


def test_erk_masks_meet_the_budget_up_to_rounding():
    dist, ms = select("erk", 0.9)
    assert abs(int(ms.flat.sum()) - 0.1 * ms.total) <= len(ms.masks)
    assert max(ms.densities()) <= 1.0


def test_nm_keeps_exactly_n_of_every_m_along_the_input_dimension():
    dist, ms = select("nm", 0.9, n=2, m=4)  # `sparsity` is ignored: N:M fixes it at 0.5
    assert dist.target(0.9) == 0.5
    assert ms.masks[0].all()  # conv1 has 1 input channel: cannot be grouped, stays dense
    assert dist.describe()["ungroupable_dense"] == ["conv1"]
    for m in ms.masks[1:]:
        rows = grouped(m, 4)
        assert (rows.sum(1) == 2).all()
    # the two kept in each group are the two largest magnitudes
    w, m = ms.weights[-1], ms.masks[-1]
    top2 = grouped(w.abs(), 4).topk(2, dim=1).indices.sort(1).values
    assert torch.equal(grouped(m, 4).nonzero()[:, 1].view(-1, 2), top2)


def test_block4_prunes_whole_groups_of_four_globally():
    dist, ms = select("block4", 0.75)
    assert ms.masks[0].all()
    prunable_groups = sum(grouped(m, 4).shape[0] for m in ms.masks[1:])
    pruned_groups = 0
    for m in ms.masks[1:]:
        rows = grouped(m, 4)
        assert ((rows.sum(1) == 0) | (rows.sum(1) == 4)).all()
        pruned_groups += int((rows.sum(1) == 0).sum())
    assert pruned_groups == round(0.75 * prunable_groups)


def test_gmp_fld_first_dense_last_at_eighty_percent_rest_global():
    dist, ms = select("gmp_fld", 0.9)
    assert ms.masks[0].all()
    assert int(ms.masks[-1].sum()) == ms.numels[-1] - round(0.8 * ms.numels[-1])
    middle = range(1, len(ms.masks) - 1)
    n = sum(ms.numels[i] for i in middle)
    assert kept(ms, middle) == n - round(0.9 * n)
    _, low = select("gmp_fld", 0.3)  # a ramp below 80% takes the classifier along
    assert int(low.masks[-1].sum()) == low.numels[-1] - round(0.3 * low.numels[-1])


@pytest.mark.parametrize("name,fields,field", [
    ("nm", {"n": 4, "m": 4}, "distribution.n"),
    ("nm", {"n": 1, "m": 1}, "distribution.m"),
    ("block4", {"block_size": 1}, "distribution.block_size"),
    ("gmp_fld", {"last_sparsity": 1.5}, "distribution.last_sparsity"),
    ("erk", {"erk_power_scale": -1}, "distribution.erk_power_scale"),
    ("global", {"keep_dense": ["first", "last"]}, None),
])
def test_bad_distribution_fields_name_the_field(name, fields, field):
    if field is None:  # a valid config for contrast
        build_distribution(cfg(name, **fields), tiny_layers())
        return
    with pytest.raises(ConfigError, match=field):
        build_distribution(cfg(name, **fields), tiny_layers())


@pytest.mark.parametrize("case", ["normal", "zeros", "ties", "sorted"])
def test_kth_smallest_equals_kthvalue(case):
    g = torch.Generator().manual_seed(0)
    n = 3_000_001
    x = torch.randn(n, generator=g).abs()
    if case == "zeros":
        x[: int(0.6 * n)] = 0  # already-pruned weights: a large tie at zero
    elif case == "ties":
        x = torch.randint(0, 50, (n,), generator=g).float()
    elif case == "sorted":
        x = x.sort().values  # the strided sample sees a skewed order
    for k in (1, 1000, n // 2, int(0.6 * n), int(0.6 * n) + 1, int(0.9 * n), n - 1, n):
        assert kth_smallest(x, k) == torch.kthvalue(x, k).values, k
