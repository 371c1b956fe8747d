"""Method schedules against the numbers the papers state, and the methods' step-level behaviour."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from acdc_bench.config import ConfigError, register_resolvers
from acdc_bench.models import create_model
from acdc_bench.sparsity.methods import method_class
from acdc_bench.sparsity.methods.acdc import acdc_phases
from acdc_bench.sparsity.ramps import drop_fraction
from acdc_bench.trainer.step import train_step

ROOT = Path(__file__).resolve().parent.parent
TINY = ["dataset=digits", "model=resnet20", "model.width=0.25"]
# paper 001 App. B's AC/DC plan (10% warm-up, 5-epoch phases, final 10 + 15): digits' own is a 10-epoch run
APP_B = ["method=acdc", "method.warmup_epochs=null", "method.phase_epochs=5",
         "method.final_decompression_epochs=10", "method.final_compression_epochs=15"]


def _ce(logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    loss = F.cross_entropy(logits, y)
    return loss, loss



def compose_cfg(*overrides: str):
    register_resolvers()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def build(*overrides: str, epochs: int | None = None, steps_per_epoch: int = 10):
    cfg = compose_cfg(*TINY, *overrides)
    epochs = epochs or int(cfg.epochs)
    cls = method_class(cfg.method.name)
    cls.check_config(cfg, epochs)
    torch.manual_seed(0)
    model = create_model(cfg.model, 10, 1)
    method = cls(cfg, model, epochs, steps_per_epoch, run_dir=None, is_main=True, device=torch.device("cpu"),
                 eval_res=8)
    return cfg, model, method


def phases_of(method, epochs: int) -> list[str]:
    return [method.schedule(e)["phase"] for e in range(epochs)]


def alternating(warmup: int, phase: int, n: int, final_dense: int, final_sparse: int) -> list[str]:
    out = ["dense"] * warmup
    for k in range(n):
        out += ["sparse" if k % 2 == 0 else "dense"] * phase
    return out + ["dense"] * final_dense + ["sparse"] * final_sparse


# ---------------------------------------------------------------------- AC/DC
def test_acdc_100_epochs_is_the_readme_schedule():
    _, _, m = build(*APP_B, "epochs=100")
    phases = phases_of(m, 100)
    # README: dense 0-9, sparse 10-14, dense 15-19, ..., sparse 70-74, dense 75-84, sparse 85-99
    assert phases == alternating(10, 5, 13, 10, 15)
    assert phases[:10] == ["dense"] * 10 and phases[10:15] == ["sparse"] * 5
    assert phases[15:20] == ["dense"] * 5 and phases[70:75] == ["sparse"] * 5
    assert phases[75:85] == ["dense"] * 10 and phases[85:] == ["sparse"] * 15
    sched = [m.schedule(e) for e in range(100)]
    assert all(s["target_sparsity"] == (0.9 if s["phase"] == "sparse" else 0.0) for s in sched)
    assert [s["stage"] for s in sched[:11]] == ["warmup"] * 10 + ["compression"]


def test_acdc_cifar100_200_epoch_variant():
    _, _, m = build("method=acdc", "epochs=200", "method.warmup_epochs=10", "method.phase_epochs=20",
                    "method.final_decompression_epochs=20", "method.final_compression_epochs=30")
    phases = phases_of(m, 200)
    assert phases == alternating(10, 20, 7, 20, 30)
    assert phases[10:30] == ["sparse"] * 20 and phases[130:150] == ["sparse"] * 20
    assert phases[150:170] == ["dense"] * 20 and phases[170:] == ["sparse"] * 30


def test_acdc_longer_runs_fit_more_five_epoch_phases():
    for epochs, warmup in ((500, 50), (1000, 100), (250, 30)):  # 250: 10% moved to the next fit
        plan = acdc_phases(epochs, m_warmup(epochs), 5, 10, 15)
        assert plan[0].stage == "warmup" and plan[0].end == warmup
        assert {p.end - p.start for p in plan[1:-2]} == {5}
        assert plan[-1].end == epochs and plan[-1].stage == "compression"


def m_warmup(epochs: int) -> int:
    from acdc_bench.sparsity.methods.acdc import resolve_warmup

    return resolve_warmup(epochs, None, 5, 10, 15)


@pytest.mark.parametrize("epochs,overrides,field", [
    (30, ["method.warmup_epochs=3"], "method.phase_epochs"),  # 2 epochs between: no odd number of phases
    (26, [], "epochs"),  # shorter than warm-up + final phases
    (100, ["method.phase_epochs=0"], "method.phase_epochs"),
    (100, ["method.warmup_epochs=12"], "method.phase_epochs"),
    (100, ["method.sparsity_ramp_start=0.95"], "method.sparsity_ramp_start"),
    (100, ["method.decompression_sparsity=0.9"], "method.decompression_sparsity"),
    (100, ["method.momentum_reset=sometimes"], "method.momentum_reset"),
])
def test_acdc_schedules_that_do_not_fit_name_the_field(epochs, overrides, field):
    cfg = compose_cfg(*TINY, *APP_B, f"epochs={epochs}", *overrides)
    with pytest.raises(ConfigError) as err:
        method_class("acdc").check_config(cfg, epochs)
    assert err.value.field == field


def test_acdc_sparsity_ramp_goes_linearly_over_the_compression_phases():
    _, _, m = build(*APP_B, "epochs=100", "sparsity=0.98", "method.sparsity_ramp_start=0.9")
    targets = [m.schedule(e)["target_sparsity"] for e in range(100) if m.schedule(e)["phase"] == "sparse"]
    per_phase = targets[::5][:7] + [targets[-1]]  # 7 five-epoch phases, then the final one
    assert per_phase == pytest.approx([0.9 + 0.08 * k / 7 for k in range(8)])


def test_acdc_is_exactly_sparse_in_compression_and_returns_in_decompression():
    cfg, model, m = build("method=acdc", "epochs=3", "method.warmup_epochs=0", "method.phase_epochs=1",
                          "method.final_decompression_epochs=1", "method.final_compression_epochs=1")
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    m.on_train_start(opt)
    x, y = torch.randn(32, 1, 8, 8), torch.randint(0, 10, (32,))
    versions = []
    for epoch in range(3):
        m.on_epoch_start(epoch)
        versions.append(m.mask_version)
        for i in range(4):
            step = epoch * 10 + i
            train_step(model, x, y, step=step, optimizer=opt, method=m, loss_fn=_ce)
            zero = sum(int((w == 0).sum()) for w in m.masks.weights) / m.masks.total
            if epoch == 1:
                assert zero < 0.5  # decompressed: the pruned weights train again
                assert m.masks.flat.all()
            else:
                assert zero >= 0.9 - 1e-6
                assert all(not w[~mk].any() for w, mk in zip(m.masks.weights, m.masks.masks, strict=True))
    assert versions[0] < versions[1] < versions[2]


def test_acdc_decompression_sparsity_holds_a_lower_sparsity_after_one_dense_step():
    cfg, model, m = build("method=acdc", "epochs=3", "method.warmup_epochs=0", "method.phase_epochs=1",
                          "method.final_decompression_epochs=1", "method.final_compression_epochs=1",
                          "method.decompression_sparsity=0.5")
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    m.on_train_start(opt)
    x, y = torch.randn(32, 1, 8, 8), torch.randint(0, 10, (32,))
    m.on_epoch_start(0)
    m.on_epoch_start(1)
    assert m.schedule(1) == {"phase": "dense", "target_sparsity": 0.5, "stage": "decompression"}
    for step in range(3):
        train_step(model, x, y, step=10 + step, optimizer=opt, method=m, loss_fn=_ce)
        assert 1 - float(m.masks.flat.float().mean()) == pytest.approx(0.5, abs=1e-3)
        assert all(not w[~mk].any() for w, mk in zip(m.masks.weights, m.masks.masks, strict=True))


# ---------------------------------------------------------------------- GMP
def test_gmp_cubic_sparsity_every_five_epochs_then_a_fixed_mask():
    _, _, m = build("method=gmp", "epochs=100", "sparsity=0.9")
    s = [m.schedule(e)["target_sparsity"] for e in range(100)]
    n = 15  # increments at epochs 0, 5, ..., 75 (75% of 100)
    for e in range(100):
        j = min(e // 5, n)
        assert s[e] == pytest.approx(0.9 * (1 - (1 - j / n) ** 3)), e
    assert s[0] == 0.0 and s[4] == 0.0 and m.schedule(0)["phase"] == "dense"
    assert s[5] == pytest.approx(0.9 * (1 - (14 / 15) ** 3)) == pytest.approx(0.168267, abs=1e-6)
    assert s[40] == pytest.approx(0.9 * (1 - (7 / 15) ** 3)) == pytest.approx(0.808533, abs=1e-6)
    assert s[75:] == [pytest.approx(0.9)] * 25  # the last quarter: fixed mask at the target
    updates = [e for e in range(100) if m.schedule(e)["mask_update"]]
    assert updates == list(range(5, 80, 5))


def test_gmp_scales_with_epochs_and_rejects_a_schedule_with_no_increment():
    _, _, m = build("method=gmp", "epochs=1000")
    assert m.schedule(749)["target_sparsity"] < 0.9
    assert m.schedule(750)["target_sparsity"] == pytest.approx(0.9)
    cfg = compose_cfg(*TINY, "method=gmp", "epochs=4")
    with pytest.raises(ConfigError) as err:
        method_class("gmp").check_config(cfg, 4)
    assert err.value.field == "method.prune_every_epochs"


def test_gmp_never_brings_a_pruned_weight_back():
    cfg, model, m = build("method=gmp", "epochs=4", "method.prune_every_epochs=1")
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    m.on_train_start(opt)
    x, y = torch.randn(32, 1, 8, 8), torch.randint(0, 10, (32,))
    previous = None
    for epoch in range(4):
        m.on_epoch_start(epoch)
        for i in range(3):
            train_step(model, x, y, step=epoch * 10 + i, optimizer=opt, method=m, loss_fn=_ce)
        current = m.masks.flat.clone()
        if previous is not None:
            assert not (current & ~previous).any()
        previous = current
    assert 1 - float(previous.float().mean()) == pytest.approx(0.9, abs=1e-3)


# ---------------------------------------------------------------------- RigL
def test_rigl_drop_fraction_is_cosine_decay_to_zero_at_t_end():
    assert drop_fraction(0, 0.3, 1000) == pytest.approx(0.3)
    assert drop_fraction(500, 0.3, 1000) == pytest.approx(0.15)
    assert drop_fraction(250, 0.3, 1000) == pytest.approx(0.15 * (1 + 2 ** -0.5))
    assert drop_fraction(999, 0.3, 1000) == pytest.approx(0.0, abs=1e-5)
    assert drop_fraction(1000, 0.3, 1000) == 0.0 and drop_fraction(5000, 0.3, 1000) == 0.0
    _, _, m = build("method=rigl", "epochs=100", steps_per_epoch=50)
    assert m.t_end == 3750 and m.interval == 50  # 75% of training; once per epoch
    assert m.schedule(0)["drop_fraction"] == 0.0  # no update at the first step
    assert m.schedule(1)["drop_fraction"] == pytest.approx(0.15 * (1 + math.cos(math.pi / 75)))
    assert m.schedule(75)["drop_fraction"] == 0.0
    updates = [m.is_update_step(s) for s in (0, 49, 50, 100, 3700, 3750)]
    assert updates == [False, False, True, True, True, False]


def test_rigl_update_drops_and_grows_the_drop_fraction_with_fixed_layer_counts():
    cfg, model, m = build("method=rigl", "distribution=erk", "epochs=10", "method.update_interval=5",
                          steps_per_epoch=10)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    m.on_train_start(opt)
    counts = [int(mk.sum()) for mk in m.masks.masks]
    assert counts == m.counts and max(c / n for c, n in zip(counts, m.masks.numels, strict=True)) <= 1
    x, y = torch.randn(32, 1, 8, 8), torch.randint(0, 10, (32,))
    for step in range(6):
        before = [mk.clone() for mk in m.masks.masks]
        train_step(model, x, y, step=step, optimizer=opt, method=m, loss_fn=_ce)
        after = m.masks.masks
        assert [int(mk.sum()) for mk in after] == counts
        assert all(not w[~mk].any() for w, mk in zip(m.masks.weights, after, strict=True))
        if step != 5:
            assert all(torch.equal(b, a) for b, a in zip(before, after, strict=True))
            continue
        f = drop_fraction(5, 0.3, m.t_end)
        for i, (b, a, c) in enumerate(zip(before, after, counts, strict=True)):
            moved = int((b & ~a).sum())
            assert moved <= int(f * c), i  # at most the drop fraction (a dropped weight may regrow)
            grown = a & ~b
            assert not m.masks.weights[i][grown].any()  # grown weights start at zero
            assert not opt.state[m.masks.weights[i]]["momentum_buffer"][grown].any()  # ... with zero momentum
        assert sum(int((b & ~a).sum()) for b, a in zip(before, after, strict=True)) > 0


def test_rigl_rejects_structured_distributions():
    cfg = compose_cfg(*TINY, "method=rigl", "distribution=nm")
    with pytest.raises(ConfigError) as err:
        method_class("rigl").check_config(cfg, 10)
    assert err.value.field == "distribution.name"


def test_method_state_round_trips_through_state_dict():
    cfg, model, m = build("method=acdc", "epochs=3", "method.warmup_epochs=0", "method.phase_epochs=1",
                          "method.final_decompression_epochs=1", "method.final_compression_epochs=1")
    m.on_train_start(torch.optim.SGD(model.parameters(), lr=0.1))
    m.on_epoch_start(0)
    m.on_epoch_end(0, lambda: {})
    state = m.state_dict()
    _, _, fresh = build("method=acdc", "epochs=3", "method.warmup_epochs=0", "method.phase_epochs=1",
                        "method.final_decompression_epochs=1", "method.final_compression_epochs=1")
    fresh.load_state_dict(state)
    assert torch.equal(fresh.masks.flat, m.masks.flat) and fresh.mask_checksum() == m.mask_checksum()
    assert fresh.active and fresh.mask_version == m.mask_version
    assert torch.equal(fresh.stats.prev_support, m.stats.prev_support)


# ---------------------------------------------------------------------- settings and artefacts
@pytest.mark.parametrize("method,field", [
    ("acdc", "phase_epochs"), ("acdc", "decompression_sparsity"), ("acdc", "momentum_reset"),
    ("acdc", "mask_iou_every"), ("gmp", "end_fraction"), ("gmp", "start_epoch"), ("rigl", "alpha"),
    ("rigl", "update_interval"), ("dense", "mask_iou_start"),
])
def test_settings_have_no_defaults_in_code(method, field):
    """Defaults live in conf/method/*.yaml only: a field missing from the config is an error
    naming it, not a silent default."""
    cfg = compose_cfg(*TINY, f"method={method}", "epochs=100")
    with open_dict(cfg.method):
        del cfg.method[field]
    with pytest.raises(ConfigError) as err:
        method_class(method).check_config(cfg, 100)
    assert err.value.field == f"method.{field}"


@pytest.mark.parametrize("method", ["acdc", "gmp", "rigl", "dense"])
def test_check_config_and_the_method_read_the_same_settings(method):
    cfg, _, m = build(f"method={method}", "epochs=100")
    assert m.settings == type(m.settings).read(cfg, 100)
    if method == "rigl":
        assert m.settings.alpha == 0.3 and m.alpha == 0.3  # conf/method/rigl.yaml


def test_acdc_hands_its_dense_model_to_the_trainer_and_names_it_in_the_last_line():
    cfg, model, m = build("method=acdc", "epochs=3", "method.warmup_epochs=0", "method.phase_epochs=1",
                          "method.final_decompression_epochs=1", "method.final_compression_epochs=1")
    m.on_train_start(torch.optim.SGD(model.parameters(), lr=0.1))
    evaluate = lambda: {"val_top1": 0.87881}  # noqa: E731
    m.on_epoch_start(0)
    m.on_epoch_end(0, evaluate)
    assert m.take_artefacts() == {}
    m.on_epoch_start(1)  # the final decompression phase: its end is the dense model
    m.on_epoch_end(1, evaluate)
    artefacts = m.take_artefacts()
    assert list(artefacts) == ["checkpoints/dense_final.pt"] and m.take_artefacts() == {}
    saved = artefacts["checkpoints/dense_final.pt"]
    assert saved["epoch"] == 1 and saved["metrics"] == m.dense_result
    assert m.dense_result == {"epoch": 1, "val_top1": 0.87881, "sparsity": m.dense_result["sparsity"],
                              "checkpoint": "checkpoints/dense_final.pt"}
    state = model.state_dict()
    assert saved["model"].keys() == state.keys()
    assert all(torch.equal(saved["model"][k], state[k]) for k in state)
    with torch.no_grad():
        model.fc.weight.add_(1.0)  # training goes on; the handed-over copy keeps the weights of epoch 1
    assert not torch.equal(saved["model"]["fc.weight"], model.fc.weight)
    summary = {"dense": m.on_train_end()["dense"]}
    assert m.summary_line(summary) == "dense model (epoch 1) val_top1=0.8788"
    assert m.summary_line({"dense": None}) is None


# ---------------------------------------------------------------------- the fused SGD step
FUSED_CASES = [
    ("method=acdc", "epochs=6", "method.warmup_epochs=1", "method.phase_epochs=1",
     "method.final_decompression_epochs=1", "method.final_compression_epochs=1",
     "method.decompression_sparsity=0.5"),
    ("method=gmp", "epochs=6", "method.prune_every_epochs=1", "sparsity=0.8"),
    ("method=rigl", "epochs=6", "method.update_interval=3", "distribution=erk"),
]


@pytest.mark.parametrize("momentum, weight_decay, channels_last", [
    (0.9, 5e-4, False), (0.0, 1e-3, False), (0.9, 0.0, True)])
@pytest.mark.parametrize("overrides", FUSED_CASES, ids=["acdc", "gmp", "rigl"])
def test_the_fused_sgd_step_gives_the_numbers_of_the_mask_pass_and_torch_sgd(overrides, momentum,
                                                                              weight_decay, channels_last):
    """The recipe's optimizer with the method's gradient mask inside its compiled loop
    (``acdc_bench.sparsity.fused_sgd.MaskedSGD``, cut into odd blocks on two threads) against
    the mask pass and torch's SGD, over AC/DC's phases (momentum resets, decompression
    sparsity), GMP's increments and RigL's updates, a changing learning rate and a restored
    optimizer: weights, biases and momentum buffers equal bit for bit, signs of zeros included;
    pruned weights and their buffers stay zero."""
    from acdc_bench.sparsity.fused_sgd import MaskedSGD, compiled

    assert compiled() is not None  # numba comes with the ffcv extra
    runs = []
    for fused in (False, True):
        cfg, model, m = build(*overrides, steps_per_epoch=5)
        if channels_last:  # the method made again on the channels-last weights
            model = model.to(memory_format=torch.channels_last)
            m = type(m)(cfg, model, 6, 5, run_dir=None, is_main=True, device=torch.device("cpu"), eval_res=8)
        weights = [w for w in model.parameters() if w.dim() > 1]
        others = [w for w in model.parameters() if w.dim() <= 1]
        opt = MaskedSGD([{"params": weights, "weight_decay": weight_decay},
                         {"params": others, "weight_decay": 0.0}], lr=0.1, momentum=momentum)
        opt.compiled = fused
        opt.block = 50
        opt.pool.threads = 2  # the blocks on two threads (torch's own ops stay on the worker's one)
        m.on_train_start(opt)
        runs.append((model, m, opt))
    for epoch in range(6):
        for _, m, _ in runs:
            m.on_epoch_start(epoch)
        for i in range(5):
            step = epoch * 5 + i
            g = torch.Generator().manual_seed(step)
            x, y = torch.randn(16, 1, 8, 8, generator=g), torch.randint(0, 10, (16,), generator=g)
            for model, m, opt in runs:
                if step == 14:  # a restored optimizer: new param_groups and momentum buffers
                    opt.load_state_dict(opt.state_dict())
                train_step(model, x, y, step=step, optimizer=opt, method=m, loss_fn=_ce,
                           lr=0.1 / (1 + step))
                if m.active:
                    for w, mk in zip(m.masks.weights, m.masks.masks, strict=True):
                        assert not w[~mk].any()
                        buf = opt.state[w].get("momentum_buffer")
                        assert buf is None or not buf[~mk].any()
    (model_a, m_a, opt_a), (model_b, m_b, opt_b) = runs
    assert opt_a.applied == 0 and opt_b.applied == 30  # every step, dense ones included
    assert m_a.masks.checksum() == m_b.masks.checksum()

    def bits(t: torch.Tensor) -> torch.Tensor:
        return t.detach().contiguous().view(torch.int32)

    for a, b in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert torch.equal(bits(a), bits(b))
        if momentum:
            buffers = opt_a.state[a]["momentum_buffer"], opt_b.state[b]["momentum_buffer"]
            assert torch.equal(bits(buffers[0]), bits(buffers[1]))


def test_the_fused_sgd_step_leaves_other_optimizers_and_tied_weights_to_the_separate_passes():
    """Nesterov, dampening, AdamW and a weight listed twice keep the mask pass and the optimizer's
    own step (the loop would not give their numbers); pruned weights stay zero either way."""
    from types import SimpleNamespace

    from acdc_bench.sparsity.fused_sgd import MaskedSGD

    x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,))
    for make in (lambda p: MaskedSGD(p, lr=0.1, momentum=0.9, nesterov=True),
                 lambda p: MaskedSGD(p, lr=0.1, momentum=0.9, dampening=0.1),
                 lambda p: torch.optim.AdamW(p, lr=0.01),
                 lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
                 lambda p: MaskedSGD(p, lr=0.1, momentum=0.9)):
        _, model, m = build("method=gmp", "epochs=6", "method.prune_every_epochs=1", "sparsity=0.8",
                            steps_per_epoch=5)
        opt = make(model.parameters())
        m.on_train_start(opt)
        m.on_epoch_start(2)
        for step in range(10, 13):
            train_step(model, x, y, step=step, optimizer=opt, method=m, loss_fn=_ce)
        assert all(not w[~mk].any() for w, mk in zip(m.masks.weights, m.masks.masks, strict=True))
        d = opt.defaults
        plain = isinstance(opt, MaskedSGD) and not d["nesterov"] and not d["dampening"]
        assert getattr(opt, "applied", 0) == (3 if plain else 0)
    w, mk = m.masks.weights[0], m.masks.masks[0]
    passes = []
    tied = SimpleNamespace(weights=[w, w], masks=[mk, mk], apply_to_grads=lambda: passes.append(1))
    opt.read_masks(lambda: tied)
    train_step(model, x, y, step=13, optimizer=opt, method=m, loss_fn=_ce)
    assert opt.applied == 3 and passes == [1]
