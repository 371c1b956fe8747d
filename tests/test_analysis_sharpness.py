"""Sharpness: power iteration on Hessian-vector products against the exact Hessian."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from acdc_bench.analysis.sharpness import power_iteration, top_hessian_eigenvalue


def _tiny() -> tuple[nn.Module, list[tuple[torch.Tensor, torch.Tensor]]]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    x = torch.randn(12, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (12,))
    return model, [(x[:7], y[:7]), (x[7:], y[7:])]


def _exact(model: nn.Module, batches, masks=None) -> float:
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    x = torch.cat([b[0] for b in batches])
    y = torch.cat([b[1] for b in batches])

    def loss(theta):
        params, i = {}, 0
        for n, s in zip(names, shapes, strict=True):
            params[n] = theta[i: i + s.numel()].view(s)
            i += s.numel()
        return F.cross_entropy(functional_call(model, params, (x,)), y)

    h = torch.autograd.functional.hessian(loss, flat)
    if masks is not None:
        keep = torch.cat([masks.get(n, torch.ones(s, dtype=torch.bool)).reshape(-1)
                          for n, s in zip(names, shapes, strict=True)])
        h = h[keep][:, keep]
    eig = torch.linalg.eigvalsh(h)
    return float(eig[eig.abs().argmax()])


def test_top_eigenvalue_matches_the_exact_hessian():
    model, batches = _tiny()
    exact = _exact(model, batches)
    got = power_iteration(model, batches, iterations=500, tolerance=1e-12)
    assert abs(got.eigenvalue - exact) < 1e-6 * max(1.0, abs(exact))
    assert got.relative_change < 1e-9
    # the public function with the paper's 20 iterations is close already
    assert abs(top_hessian_eigenvalue(model, batches) - exact) < 0.05 * abs(exact)


def test_masks_restrict_the_hessian_to_free_coordinates():
    model, batches = _tiny()
    gen = torch.Generator().manual_seed(1)
    masks = {"0.weight": torch.rand(5, 4, generator=gen) > 0.5,
             "2.weight": torch.rand(3, 5, generator=gen) > 0.3}
    with torch.no_grad():  # pruned weights are zero, as in a sparse checkpoint
        model[0].weight.mul_(masks["0.weight"])
        model[2].weight.mul_(masks["2.weight"])
    exact = _exact(model, batches, masks)
    dense_exact = _exact(model, batches)
    assert abs(exact - dense_exact) > 1e-6  # the restriction matters on this model
    got = power_iteration(model, batches, masks, iterations=500, tolerance=1e-12)
    assert abs(got.eigenvalue - exact) < 1e-6 * max(1.0, abs(exact))


def test_eval_mode_and_training_mode_restored():
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3)).double()
    _, batches = _tiny()
    model.train()
    before = model[1].running_mean.clone()
    top_hessian_eigenvalue(model, batches, iterations=3)
    assert model.training and torch.equal(model[1].running_mean, before)  # BN statistics untouched
