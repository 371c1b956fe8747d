"""The one training step the trainer, the benchmark and the tests share: its hook order,
what it returns, and that it is the plain SGD step when no method intervenes."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from acdc_bench.sparsity.base import SparsityMethod
from acdc_bench.trainer import train_step


class Recorder(SparsityMethod):
    """A method that logs every hook with what it can see at that moment."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, log: list):
        super().__init__(None, model, 1, 1)
        self.opt, self.log = optimizer, log

    def before_forward(self, step: int) -> None:
        self.log.append(("before_forward", step, self.opt.param_groups[0]["lr"]))

    def after_backward(self, step: int) -> None:
        self.log.append(("after_backward", step, self.model.weight.grad is not None))

    def after_optimizer_step(self, step: int) -> None:
        self.log.append(("after_optimizer_step", step, self.model.weight.detach().clone()))


def _ce(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    loss = F.cross_entropy(logits, labels)
    return loss * 2, loss  # an objective that differs from the CE it reports


def test_hooks_run_in_order_around_forward_backward_and_the_optimizer_step():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    log: list = []
    method = Recorder(model, opt, log)

    def forward(x: torch.Tensor) -> torch.Tensor:
        log.append(("forward", None, None))
        return model(x)

    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    w0 = model.weight.detach().clone()
    loss, ce = train_step(forward, x, y, step=7, optimizer=opt, method=method, loss_fn=_ce, lr=0.25)
    assert [e[0] for e in log] == ["before_forward", "forward", "after_backward", "after_optimizer_step"]
    assert log[0][1:] == (7, 0.25)  # the step's LR is set before anything else
    assert log[2][2] is True  # after_backward sees the gradients
    assert not torch.equal(log[3][2], w0)  # after_optimizer_step sees the updated weights
    assert not loss.requires_grad and not ce.requires_grad
    assert torch.equal(loss, 2 * ce)
    train_step(model, x, y, step=8, optimizer=opt, method=method, loss_fn=_ce)
    assert log[4][1:] == (8, 0.25)  # lr=None keeps the optimizer's


def test_without_a_method_it_is_the_plain_sgd_step():
    torch.manual_seed(0)
    a, b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    opt_a = torch.optim.SGD(a.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    opt_b = torch.optim.SGD(b.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    method = SparsityMethod(None, a, 1, 1)
    for step in range(3):
        x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
        train_step(a, x, y, step=step, optimizer=opt_a, method=method, loss_fn=_ce)
        loss = _ce(b(x), y)[0]
        opt_b.zero_grad(set_to_none=True)
        loss.backward()
        opt_b.step()
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
