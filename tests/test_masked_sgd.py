"""The recipe's optimizer, ``MaskedSGD``: torch's SGD bit for bit on dense CPU runs (the one
compiled loop), torch's step where the loop does not apply, torch's state_dict format, and
the gradients present when the step begins."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from acdc_bench.sparsity.fused_sgd import MaskedSGD, compiled, read_masks
from acdc_bench.sparsity.masks import MaskSet, prunable_layers


def _model(channels_last: bool = False) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 5, 3), nn.BatchNorm2d(5), nn.ReLU(), nn.Conv2d(5, 7, 3, bias=False),
                          nn.Flatten(), nn.Linear(7 * 4 * 4, 13), nn.ReLU(), nn.Linear(13, 3))
    return model.to(memory_format=torch.channels_last) if channels_last else model


def _groups(model: nn.Module, weight_decay: float) -> list[dict]:
    return [{"params": [p for p in model.parameters() if p.dim() > 1], "weight_decay": weight_decay},
            {"params": [p for p in model.parameters() if p.dim() <= 1], "weight_decay": 0.0}]


def _bits(t: torch.Tensor) -> torch.Tensor:
    return t.detach().contiguous().view(torch.int32)


def _batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(step)
    return torch.randn(8, 1, 8, 8, generator=g), torch.randint(0, 3, (8,), generator=g)


def _step(model: nn.Module, opt: torch.optim.Optimizer, step: int, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr
    x, y = _batch(step)
    opt.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def _same(model_a: nn.Module, opt_a: torch.optim.Optimizer, model_b: nn.Module, opt_b: torch.optim.Optimizer):
    for a, b in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert torch.equal(_bits(a), _bits(b))
        bufs = opt_a.state.get(a, {}).get("momentum_buffer"), opt_b.state.get(b, {}).get("momentum_buffer")
        assert (bufs[0] is None) == (bufs[1] is None)
        if bufs[0] is not None:
            assert torch.equal(_bits(bufs[0]), _bits(bufs[1]))


@pytest.mark.parametrize("momentum, weight_decay, channels_last", [
    (0.9, 5e-4, False), (0.0, 1e-3, False), (0.9, 0.0, True)])
def test_dense_steps_are_torch_sgd_bit_for_bit_through_a_restored_state(momentum, weight_decay,
                                                                         channels_last):
    """No masks: every parameter (conv and linear weights, biases, BatchNorm) goes through the
    compiled loop, cut into odd blocks on two threads, and gives torch's SGD bit for bit over a
    changing learning rate; the state_dict is torch's format, and a torch SGD checkpoint
    restored into MaskedSGD (and back) continues with the same numbers."""
    assert compiled() is not None  # numba comes with the ffcv extra
    model_a, model_b = _model(channels_last), _model(channels_last)
    opt_a = torch.optim.SGD(_groups(model_a, weight_decay), lr=0.1, momentum=momentum)
    opt_b = MaskedSGD(_groups(model_b, weight_decay), lr=0.1, momentum=momentum)
    opt_b.block = 50
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for step in range(10):
            if step == 4:  # a checkpoint of torch's SGD restored into MaskedSGD: same format, same state
                state_a, state_b = opt_a.state_dict(), opt_b.state_dict()
                assert state_a["param_groups"] == state_b["param_groups"]
                assert sorted(state_a["state"]) == sorted(state_b["state"])
                assert all(list(state_a["state"][i]) == list(state_b["state"][i]) for i in state_a["state"])
                opt_b.load_state_dict(copy.deepcopy(state_a))  # (as from a file: no shared buffers)
            if step == 7:  # and MaskedSGD's into torch's
                opt_a.load_state_dict(copy.deepcopy(opt_b.state_dict()))
            _step(model_a, opt_a, step, 0.1 / (1 + step))
            _step(model_b, opt_b, step, 0.1 / (1 + step))
            _same(model_a, opt_a, model_b, opt_b)
    finally:
        torch.set_num_threads(threads)
    assert opt_b.applied == 10


def test_every_tensor_size_is_stepped_as_torch_steps_it():
    """Single weights of 1 to 70 elements (ATen's vector loop and its scalar tail) with weight
    decay and momentum: the loop's numbers are torch's."""
    torch.manual_seed(1)
    params = [torch.randn(n) for n in range(1, 71)]
    pa = [nn.Parameter(p.clone()) for p in params]
    pb = [nn.Parameter(p.clone()) for p in params]
    opt_a = torch.optim.SGD(pa, lr=0.37, momentum=0.9, weight_decay=3e-3)
    opt_b = MaskedSGD(pb, lr=0.37, momentum=0.9, weight_decay=3e-3)
    for _ in range(3):
        grads = [torch.randn(p.shape) for p in params]
        for ps, opt in ((pa, opt_a), (pb, opt_b)):
            for p, g in zip(ps, grads, strict=True):
                p.grad = g.clone()
            opt.step()
        for a, b in zip(pa, pb, strict=True):
            assert torch.equal(_bits(a), _bits(b))
            bufs = opt_a.state[a]["momentum_buffer"], opt_b.state[b]["momentum_buffer"]
            assert torch.equal(_bits(bufs[0]), _bits(bufs[1]))
    assert opt_b.applied == 3


@pytest.mark.parametrize("kwargs", [
    {"nesterov": True}, {"dampening": 0.1}, {"maximize": True}, {"foreach": True}, {"lr": torch.tensor(0.1)},
    {"double": True}])
def test_the_other_settings_take_torchs_step_with_the_mask_pass(kwargs):
    """Nesterov, dampening, maximize, foreach kernels, a tensor learning rate and float64
    weights: torch's own step after the masks' pass (the loop stays unused), so the numbers are
    torch's with masked gradients, and the masked weights stay zero."""
    kwargs = dict(kwargs)
    double = kwargs.pop("double", False)
    lr = kwargs.pop("lr", 0.1)
    runs = []
    for cls in (torch.optim.SGD, MaskedSGD):
        model = _model().double() if double else _model()
        masks = MaskSet(prunable_layers(model))
        torch.manual_seed(2)
        for m in masks.masks:
            m.copy_(torch.rand(m.shape) < 0.5)
        masks.changed()
        masks.apply_to_weights()
        opt = cls(_groups(model, 1e-3), lr=lr, momentum=0.9, **kwargs)
        read_masks(opt, lambda masks=masks: masks)  # torch's SGD: the pass as a step pre-hook
        runs.append((model, opt, masks))
    calls: list[int] = []
    runs[1][1].register_step_pre_hook(lambda o, a, k: calls.append(1))
    for step in range(3):
        for model, opt, _ in runs:
            x, y = _batch(step)
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(model(x.to(next(model.parameters()).dtype)), y).backward()
            opt.step()
    (model_a, opt_a, _), (model_b, opt_b, masks) = runs
    assert opt_b.applied == 0 and len(calls) == 3  # (torch's step inside: the hooks ran once per step)
    for a, b in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert torch.equal(a, b)
    assert all(not w[~m].any() for w, m in zip(masks.weights, masks.masks, strict=True))


def test_masks_are_read_by_reference_at_each_step_and_gradients_are_there_when_the_step_begins():
    """The reader is asked at every step, so a mask written in place (or None: no mask) takes
    effect at the next step without a copy; a step pre-hook (where clipping or an EMA would
    run) sees every gradient, dense."""
    model = _model()
    masks = MaskSet(prunable_layers(model))
    state = {"on": False}
    opt = MaskedSGD(_groups(model, 0.0), lr=0.1, momentum=0.9)
    read_masks(opt, lambda: masks if state["on"] else None)
    seen = []
    opt.register_step_pre_hook(
        lambda o, a, k: seen.append(all(p.grad is not None for p in model.parameters())))
    _step(model, opt, 0, 0.1)
    w = masks.weights[0]
    with torch.no_grad():
        masks.masks[0].view(-1)[:20] = False  # in place, as methods write their masks
        w.view(-1)[:20] = 0
        opt.state[w]["momentum_buffer"].view(-1)[:20] = 0
    masks.changed()
    state["on"] = True
    for step in range(1, 4):
        _step(model, opt, step, 0.1)
        assert w.grad.view(-1)[:20].any()  # the loop leaves the dense gradient
    assert not w.view(-1)[:20].any() and not opt.state[w]["momentum_buffer"].view(-1)[:20].any()
    assert w.view(-1)[20:].any() and seen == [True] * 4 and opt.applied == 4
    state["on"] = False  # no mask: the weights move again
    _step(model, opt, 4, 0.1)
    assert w.view(-1)[:20].any()
