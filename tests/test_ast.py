"""AST / AST-GC (paper 002): sub-net order, gradient correction, sparsity ramps, relations,
switchable BatchNorm, N:M sub-nets, exact resume, plain sub-net models."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir

from acdc_bench.config import ConfigError, register_resolvers
from acdc_bench.models import create_model
from acdc_bench.sparsity.gradient_correction import GradientCorrection
from acdc_bench.sparsity.methods import method_class
from acdc_bench.sparsity.methods.ast.plan import Plan
from acdc_bench.sparsity.nm import grouped
from acdc_bench.sparsity.switchable_bn import SwitchableBatchNorm
from acdc_bench.trainer import param_groups, train_step

ROOT = Path(__file__).resolve().parent.parent
TINY = ["dataset=digits", "model=resnet20", "model.width=0.25", "method=ast"]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models on a shared 2-core machine: two OpenMP threads fighting other processes
    make each step many times slower than one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def compose_cfg(*overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(config_name="config", overrides=[*TINY, *overrides])


class Run:
    """A tiny model, its SGD optimizer and an AST method, stepped as the trainer does."""

    def __init__(self, *overrides: str, epochs: int = 8, steps_per_epoch: int = 10,
                 momentum: float = 0.9, weight_decay: float = 5e-4):
        self.cfg = compose_cfg(*overrides)
        cls = method_class("ast")
        cls.check_config(self.cfg, epochs)
        torch.manual_seed(0)
        self.model = cls.prepare_model(self.cfg, create_model(self.cfg.model, 10, 1))
        self.optimizer = torch.optim.SGD(param_groups(self.model, weight_decay), lr=0.05, momentum=momentum)
        self.method = cls(self.cfg, self.model, epochs, steps_per_epoch, run_dir=None, is_main=True,
                          device=torch.device("cpu"), eval_res=8)
        self.method.on_train_start(self.optimizer)
        self.step_index = 0

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(1000 + step)
        return torch.randn(16, 1, 8, 8, generator=g), torch.randint(0, 10, (16,), generator=g)

    def step(self, on_forward=None) -> None:
        s = self.step_index
        x, y = self.batch(s)

        def forward(inputs: torch.Tensor) -> torch.Tensor:  # on_forward sees what the forward sees
            if on_forward is not None:
                on_forward(s)
            return self.model(inputs)

        train_step(forward, x, y, step=s, optimizer=self.optimizer, method=self.method,
                   loss_fn=lambda logits, labels: (F.cross_entropy(logits, labels),) * 2)
        self.step_index += 1

    def steps(self, n: int, on_forward=None) -> None:
        for _ in range(n):
            self.step(on_forward)

    def switches(self) -> list[SwitchableBatchNorm]:
        return [m for m in self.model.modules() if isinstance(m, SwitchableBatchNorm)]

    def sparsity(self, k: int) -> float:
        masks = self.method.masks[k]
        return 1.0 - int(masks.flat.sum()) / masks.total


# ---------------------------------------------------------------------- schedule
def test_cifar_plan_staggers_updates_by_the_adjustment_period():
    # 3 sub-nets, masks change every 1000 iterations, Δτ = 100, ramp until epoch 110 of 160.
    plan = Plan(n=3, total=160 * 391, start=0, final=110 * 391, interval=1000, period=100)
    assert [plan.update_step(k, 1) for k in range(3)] == [1002, 1102, 1202]
    for k in range(3):
        for m in range(1, 60):
            t = plan.update_step(k, m)
            assert t % 3 == k and 1000 * m + 100 * k <= t < 1000 * m + 100 * k + 3
            assert plan.update_index(t) == m
    updates = [t for t in range(plan.total) if plan.update_index(t) is not None]
    assert len(updates) == len(set(updates)) and all(plan.update_index(t + 1) is None for t in updates[:-1])
    assert [plan.ramp_updates(k) for k in range(3)] == [43, 42, 42]


def test_schedule_reaches_every_target_at_final_prune_epoch_and_not_before():
    run = Run("method.update_interval=12", "method.adjustment_period=2", epochs=16, steps_per_epoch=10)
    assert run.method.settings.final_prune_epoch == 11  # 110/160 of 16 epochs
    sched = [run.method.schedule(e)["subnet_target_sparsity"] for e in range(16)]
    assert sched[0] == {"0.9": 0.0, "0.95": 0.0, "0.98": 0.0}
    for key, target in (("0.9", 0.9), ("0.95", 0.95), ("0.98", 0.98)):
        levels = [s[key] for s in sched]
        assert levels == sorted(levels)
        assert levels[10] < target and levels[11:] == [target] * 5


# ---------------------------------------------------------------------- training order
def test_iteration_t_trains_subnet_t_mod_n_with_its_mask_and_batchnorm():
    run = Run("method.initial_sparsity=0.5", "method.update_interval=3")
    m = run.method
    # s_i: every sub-net starts from the same random sparse model, its unused weights zero
    assert all(torch.equal(mk.flat, m.masks[0].flat) for mk in m.masks)
    assert abs(run.sparsity(0) - 0.5) < 1e-3 and m.schedule(0)["subnet_target_sparsity"]["0.98"] == 0.5
    assert all(bool((w.detach()[~i] == 0).all()) for w, i in zip(m.weights, m.masks[0].masks, strict=True))
    conv = m.layers[3]
    seen: list[tuple[int, int, bool]] = []

    def check(step: int) -> None:
        k = step % 3
        weight = conv.weight.detach()
        outside = ~m.masks[k].masks[3]
        seen.append((step, run.switches()[0].active, bool((weight[outside] == 0).all())))

    before = [[int(bn.num_batches_tracked) for bn in sw.bns] for sw in run.switches()]
    run.steps(7, check)
    assert [(s, a) for s, a, _ in seen] == [(t, t % 3) for t in range(7)]
    assert all(zero for _, _, zero in seen)  # the forward sees W * m_k
    after = [[int(bn.num_batches_tracked) for bn in sw.bns] for sw in run.switches()]
    for b, a in zip(before, after, strict=True):  # 7 iterations: sub-nets 0, 1, 2, 0, 1, 2, 0
        assert [x - y for x, y in zip(a, b, strict=True)] == [3, 2, 2]


def test_a_step_leaves_weights_outside_the_subnet_and_their_momentum_unchanged():
    for amp_path in (False, True):
        run = Run("method.update_interval=6", "method.adjustment_period=1", epochs=8)
        m = run.method
        if amp_path:  # the GradScaler-safe restore (a copy of the buffers), as under AMP on a GPU
            m.fback = None
        run.steps(33)  # the sub-nets' masks differ by now
        assert m.plan.update_index(run.step_index) is None  # a plain step: the masks stay
        weights = [w.detach().clone() for w in m.weights]
        bufs = [run.optimizer.state[w]["momentum_buffer"].clone() for w in m.weights]
        k = run.step_index % 3
        inside = m.masks[k].masks
        elsewhere = [mm.flat & ~m.masks[k].flat for j, mm in enumerate(m.masks) if j != k]
        assert any(bool(u.any()) for u in elsewhere)  # weights other sub-nets use, outside this one
        assert sum(int((b[~mask] != 0).sum()) for b, mask in zip(bufs, inside, strict=True)) > 0
        run.step()
        new_bufs = [run.optimizer.state[w]["momentum_buffer"] for w in m.weights]
        for i, w in enumerate(m.weights):
            out = ~inside[i]
            assert torch.equal(w.detach()[out], weights[i][out])
            if amp_path:
                assert torch.equal(new_bufs[i][out], bufs[i][out])
            else:
                torch.testing.assert_close(new_bufs[i][out], bufs[i][out], rtol=1e-6, atol=0)
            # inside, SGD moved the weight and its momentum
            assert not torch.equal(w.detach()[inside[i]], weights[i][inside[i]])
            assert not torch.equal(new_bufs[i][inside[i]], bufs[i][inside[i]])


def test_a_corrected_step_still_moves_only_its_subnet():
    run = Run("method.update_interval=6", "method.adjustment_period=1", epochs=8)
    m = run.method
    run.steps(34)  # the masks differ; step 33 (sub-net 0) opened an inner group
    s, k = run.step_index, 1
    assert s % 3 == k and m.plan.update_index(s) is None
    chunks = m.gc.prev.clone().split(m.masks[0].numels)  # the remembered flat gradient, per layer
    prev = [c.view(w.shape) for c, w in zip(chunks, m.weights, strict=True)]
    weights = [w.detach().clone() for w in m.weights]
    bufs = [run.optimizer.state[w]["momentum_buffer"].clone() for w in m.weights]
    m.before_forward(s)
    torch.manual_seed(2)
    for w, p in zip(m.weights, prev, strict=True):  # a dense gradient that conflicts with step 33's
        w.grad = -3 * p + 0.01 * torch.randn_like(p)
    m.after_backward(s)
    # the gradient SGD applies: the engine's one sweep took it (and left .grad None), from the
    # flat buffer gradient correction remembers for the next sub-net of the group
    assert m.updated and all(w.grad is None for w in m.weights)
    applied = [c.view(w.shape).clone() for c, w in zip(m.gc.prev.split(m.masks[0].numels), m.weights,
                                                        strict=True)]
    inside = m.masks[k].masks
    assert all(bool((g[~i] == 0).all()) for g, i in zip(applied, inside, strict=True))
    scale = sum(float((p * p).sum()) for p in prev)
    assert abs(sum(float((g * p).sum()) for g, p in zip(applied, prev, strict=True))) < 1e-4 * scale
    run.optimizer.step()
    m.after_optimizer_step(s)
    for w, i, w0, b0 in zip(m.weights, inside, weights, bufs, strict=True):
        assert torch.equal(w.detach()[~i], w0[~i])
        torch.testing.assert_close(run.optimizer.state[w]["momentum_buffer"][~i], b0[~i], rtol=1e-6, atol=0)


@pytest.mark.parametrize("overrides, momentum, weight_decay", [
    ((), 0.9, 5e-4),  # AST-GC
    (("method.gradient_correction=false",), 0.9, 5e-4),  # plain AST: the sweep masks the gradients
    (("method.gc_scope=layer",), 0.0, 0.0),  # no momentum, no weight decay: SGD's bare update
])
def test_the_one_sweep_update_gives_the_numbers_of_the_separate_passes(overrides, momentum, weight_decay):
    """The engine's one-sweep SGD step (gradient mask, SGD, merge, momentum restore), compiled
    (numba) and as eager blocks that cut layers at odd places, against torch's SGD step between
    the separate passes, over mask updates, a changing learning rate and a restored optimizer:
    weights, momentum buffers and remembered gradients equal, every nonzero bit for bit, with the
    compiled step's working copy made ahead for the next sub-net (and an evaluation of another
    sub-net in between). The eager blocks keep even the sign of zeros; the compiled loop writes
    ``lerp`` as ATen's vectorised loop does, whose sign of an exact zero ATen's scalar tail may
    not share."""
    from acdc_bench.sparsity.methods.ast.kernel import compiled

    runs = [Run("method.update_interval=6", "method.adjustment_period=1", *overrides, epochs=4,
                momentum=momentum, weight_decay=weight_decay) for _ in range(3)]
    separate, eager, fused = runs
    separate.method.engine.one_sweep = False  # the optimizer steps the prunable weights
    eager.method.engine.compiled = False
    eager.method.engine.cut(32)
    fused.method.engine.runner.blocks = [(layer, a, min(e, a + 50)) for layer, a0, e in
                                         fused.method.engine.runner.blocks for a in range(a0, e, 50)]
    assert len(eager.method.engine.blocks) > 2 * len(eager.method.weights)
    assert compiled() is not None  # numba comes with the ffcv extra
    updated, ahead_steps = [], 0
    for step in range(25):  # mask updates at steps 6, 7, 8, 12, ...
        for run in runs:
            if step == 10:  # a restored optimizer: new param_groups and momentum buffers
                run.optimizer.load_state_dict(run.optimizer.state_dict())
            for group in run.optimizer.param_groups:  # the learning rate, set on the current groups
                group["lr"] = 0.05 / (1 + step)
            if step == 15:  # an evaluation of another sub-net between two steps overwrites X
                with run.method.subnet(2):
                    pass
            run.step()
        updated.append(tuple(run.method.updated for run in runs))
        # the compiled step made the next sub-net's working copy (pass 1 ahead), unless a mask
        # update came after it
        ahead = None if fused.method.plan.update_index(step) is not None else (step + 1) % 3
        assert fused.method.engine.prepared == ahead and eager.method.engine.prepared is None
        ahead_steps += ahead is not None
    assert set(updated) == {(False, True, True)} and ahead_steps >= 15

    def bits(t: torch.Tensor) -> torch.Tensor:
        return t.detach().contiguous().view(torch.int32)

    def same(a: torch.Tensor, b: torch.Tensor, zeros_signed: bool) -> bool:
        if zeros_signed:
            return torch.equal(bits(a), bits(b))
        nonzero = a != 0
        return torch.equal(a, b) and torch.equal(bits(a)[nonzero], bits(b)[nonzero])

    for other, signed in ((eager, True), (fused, False)):
        for a, b in zip(separate.method.weights, other.method.weights, strict=True):
            assert same(a, b, signed)
            if momentum:
                assert same(separate.optimizer.state[a]["momentum_buffer"],
                            other.optimizer.state[b]["momentum_buffer"], signed)
        for a, b in zip(separate.model.parameters(), other.model.parameters(), strict=True):
            assert same(a, b, signed)  # BatchNorms and biases: still the optimizer's
        if separate.method.gc is not None:
            assert same(separate.method.gc.prev, other.method.gc.prev, signed)
            assert float(separate.method.gc.negatives) == float(other.method.gc.negatives)


# ---------------------------------------------------------------------- gradient correction
def test_projection_removes_the_conflicting_component_and_leaves_agreeing_gradients():
    torch.manual_seed(0)
    sizes = [108, 40]  # two layers, one flat vector
    p = torch.randn(sum(sizes))
    for scope, skip_agreeing in (("model", True), ("layer", True), ("model", False), ("layer", False)):
        gc = GradientCorrection(sizes, scope=scope)
        gc.skip_agreeing = skip_agreeing  # False: the accelerator path (projection always runs)
        gc.remember(p)
        conflicting = -0.5 * p + 0.1 * torch.randn_like(p)
        g = conflicting.clone()
        gc.compare(g)
        if scope == "model":
            assert abs(float(g @ p)) < 1e-4  # nothing left along the other gradient
            torch.testing.assert_close(g, conflicting - float(conflicting @ p) / float(p @ p) * p)
        else:  # g - (g.p / |p|^2) p, layer by layer
            for a, b, c in zip(g.split(sizes), p.split(sizes), conflicting.split(sizes), strict=True):
                assert abs(float(a @ b)) < 1e-4
                torch.testing.assert_close(a, c - float(c @ b) / float(b @ b) * b)
        assert gc.take_fraction() == 1.0
        agreeing = 0.5 * p + 0.1 * torch.randn_like(p)
        g = agreeing.clone()
        gc.compare(g)
        assert torch.equal(g, agreeing)
        assert gc.take_fraction() == 0.0 and gc.take_fraction() is None


def test_projection_inside_a_mask_stays_inside_and_removes_the_conflict():
    torch.manual_seed(0)
    prev = torch.randn(500)
    mask = (torch.rand(500) > 0.4).float()
    for skip_agreeing in (True, False):
        gc = GradientCorrection([500])
        gc.skip_agreeing = skip_agreeing
        gc.remember(prev)
        g = (-prev + 0.2 * torch.randn(500)) * mask
        assert float(g @ prev) < 0
        gc.compare(g, mask)
        assert abs(float(g @ prev)) < 1e-4
        assert bool((g[mask == 0] == 0).all()) and bool((g != 0).any())


def test_measuring_only_never_changes_gradients():
    gc = GradientCorrection([5], correct=False)
    gc.remember(torch.ones(5))
    g = -torch.ones(5)
    gc.compare(g)
    assert torch.equal(g, -torch.ones(5)) and gc.take_fraction() == 1.0


def test_a_remembered_gradient_is_not_compared_with_itself():
    g = torch.ones(5)
    gc = GradientCorrection([5])
    gc.remember(g)  # kept by reference: the next gradient must live elsewhere
    with pytest.raises(RuntimeError, match="itself"):
        gc.compare(g)


def test_correction_within_inner_groups_only():
    run = Run("method.update_interval=40", "method.gc_scope=model", epochs=20)
    m = run.method
    m.engine.one_sweep = False  # the gradients stay in .grad for the optimizer (read below)
    applied = {}

    def fake_backward(step: int, grads: list[torch.Tensor]) -> None:
        m.before_forward(step)
        for w, g in zip(m.weights, grads, strict=True):
            w.grad = g.clone()
        m.after_backward(step)
        applied[step] = [w.grad.clone() for w in m.weights]
        m.after_optimizer_step(step)  # no optimizer step: only the bookkeeping

    torch.manual_seed(1)
    base = [torch.randn_like(w) for w in m.weights]
    fake_backward(0, base)  # sub-net 0 opens the group
    fake_backward(1, [-t for t in base])  # conflicts with step 0: projected (to zero here)
    fake_backward(2, [t.clone() for t in base])  # remembered step 1 is zero: untouched
    fake_backward(3, [-t for t in base])  # conflicts with step 2, but opens a new group: untouched
    assert all(float(g.abs().max()) < 1e-6 for g in applied[1])
    assert all(torch.equal(a, b) for a, b in zip(applied[2], base, strict=True))
    assert all(torch.equal(a, -b) for a, b in zip(applied[3], base, strict=True))
    assert m.gc.take_fraction() == 0.5  # steps 1 (negative) and 2 (zero) were compared


# ---------------------------------------------------------------------- sparsity, relations, BatchNorm
def test_nd_subnets_reach_their_targets_by_final_prune_epoch_with_distinct_masks_and_batchnorms():
    run = Run("method.update_interval=6", "method.adjustment_period=1", epochs=8, steps_per_epoch=10)
    m = run.method
    final = m.settings.final_prune_epoch * 10
    assert final == 50
    run.steps(final)
    for k, target in enumerate((0.9, 0.95, 0.98)):
        assert abs(run.sparsity(k) - target) < 2e-3, (k, run.sparsity(k))
    flats = [mk.flat for mk in m.masks]
    for a, b in ((0, 1), (1, 2), (0, 2)):
        assert bool((flats[b] & ~flats[a]).any()), "ND: a sparser sub-net keeps weights the denser one lacks"
    run.steps(20)  # regrowth continues; the sparsities stay
    for k, target in enumerate((0.9, 0.95, 0.98)):
        assert abs(run.sparsity(k) - target) < 2e-3
    # weights no sub-net uses are zero
    union = flats[0] | flats[1] | flats[2]
    for w, inside in zip(m.weights, _views(m, union), strict=True):
        assert bool((w.detach()[~inside] == 0).all())
    # every sub-net has its own BatchNorm statistics and affine parameters
    for sw in run.switches():
        means = [bn.running_mean for bn in sw.bns]
        gammas = [bn.weight.detach() for bn in sw.bns]
        assert not torch.equal(means[0], means[1]) and not torch.equal(means[1], means[2])
        assert not torch.equal(gammas[0], gammas[2])


def _views(method, flat: torch.Tensor) -> list[torch.Tensor]:
    method.scratch.flat.copy_(flat)
    return [v.clone() for v in method.scratch.masks]


def test_cs_masks_stay_nested_and_reach_their_targets():
    run = Run("method.relation=cs", "method.update_interval=6", "method.adjustment_period=1", epochs=8,
              steps_per_epoch=10)
    m = run.method
    for _ in range(70):
        run.step()
        f = [mk.flat for mk in m.masks]
        assert not bool((f[1] & ~f[0]).any()) and not bool((f[2] & ~f[1]).any())
    for k, target in enumerate((0.9, 0.95, 0.98)):
        assert abs(run.sparsity(k) - target) < 2e-3


def test_nm_subnets_follow_their_patterns_at_the_end():
    run = Run('method.subnet_nm=["2:4","1:4","1:8"]', "method.update_interval=6",
              "method.adjustment_period=1", epochs=8, steps_per_epoch=10)
    m = run.method
    assert [s.target for s in m.subnets] == [0.5, 0.75, 0.875]
    run.steps(25)
    assert 0 < m.level[0] < 1  # part of the groups are N:M, the rest still dense
    run.steps(45)
    for k, (n, group) in enumerate(((2, 4), (1, 4), (1, 8))):
        assert m.level[k] == 1.0
        checked = 0
        for layer, mask in zip(m.layers, m.masks[k].masks, strict=True):
            if layer.shape[1] % group:  # the 1-channel stem cannot be grouped: dense
                assert bool(mask.all())
                continue
            assert bool((grouped(mask, group).sum(1) == n).all()), layer.name
            checked += 1
        assert checked == {4: 21, 8: 13}[group]  # 1:8 also leaves the 8 layers with 4 input channels dense
        assert abs(run.sparsity(k) - (1 - n / group)) < 0.1


# ---------------------------------------------------------------------- resume, plain models
def test_resume_mid_group_continues_exactly():
    def fresh():
        return Run("method.update_interval=6", "method.adjustment_period=1", epochs=4, steps_per_epoch=10)

    full = fresh()
    full.steps(20)
    part = fresh()
    part.steps(11)  # mid inner group: step 11 is sub-net 2's, corrected against step 10's gradient
    state = copy.deepcopy({"model": part.model.state_dict(), "optimizer": part.optimizer.state_dict(),
                           "method": part.method.state_dict()})
    resumed = fresh()
    resumed.model.load_state_dict(state["model"])
    resumed.optimizer.load_state_dict(state["optimizer"])
    resumed.method.load_state_dict(state["method"])
    resumed.method.on_train_start(resumed.optimizer)
    resumed.step_index = 11
    resumed.steps(9)
    for a, b in zip(full.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert resumed.method.mask_checksum() == full.method.mask_checksum()


def test_a_subnet_materialises_as_the_plain_model():
    run = Run("method.update_interval=6", "method.adjustment_period=1", epochs=4, steps_per_epoch=10)
    run.steps(30)
    m = run.method
    torch.manual_seed(0)
    plain = create_model(run.cfg.model, 10, 1)
    x = torch.randn(8, 1, 8, 8)
    for k in range(3):
        state = m.subnet_state_dict(k)
        plain.load_state_dict(state, strict=True)
        assert sum(int((v != 0).sum()) for key, v in state.items() if key.endswith("conv1.weight")) > 0
        plain.eval()
        run.model.eval()
        with m.subnet(k), torch.no_grad():
            expected = run.model(x)
        torch.testing.assert_close(plain(x), expected)
        weights = [state[f"{layer.name}.weight"] for layer in m.layers]
        zeros = sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)
        assert zeros >= 1 - int(m.masks[k].flat.sum()) / m.masks[k].total - 1e-9


# ---------------------------------------------------------------------- config errors
@pytest.mark.parametrize(("override", "field"), [
    ("method.subnet_sparsities=[0.95,0.9]", "method.subnet_sparsities"),
    ("method.subnet_sparsities=[0.9,0.9]", "method.subnet_sparsities"),
    ("method.subnet_sparsities=[0.9,1.0]", "method.subnet_sparsities"),
    ("method.subnet_sparsities=[]", "method.subnet_sparsities"),
    ('method.subnet_nm=["4:2"]', "method.subnet_nm"),
    ('method.subnet_nm=["1:4","2:4"]', "method.subnet_nm"),
    ("method.relation=xs", "method.relation"),
    ("method.initial_sparsity=0.95", "method.initial_sparsity"),
    ("method.final_prune_epoch=99", "method.final_prune_epoch"),
    ("method.update_interval=2", "method.update_interval"),
    ("method.gradient_correction=maybe", "method.gradient_correction"),
    ("distribution=nm", "distribution.name"),
])
def test_bad_settings_name_their_field(override, field):
    cfg = compose_cfg(override)
    with pytest.raises(ConfigError) as err:
        method_class("ast").check_config(cfg, 10)
    assert err.value.field == field


def test_nm_subnets_refuse_nested_relation():
    cfg = compose_cfg('method.subnet_nm=["2:4","1:4"]', "method.relation=cs")
    with pytest.raises(ConfigError) as err:
        method_class("ast").check_config(cfg, 10)
    assert err.value.field == "method.relation"
