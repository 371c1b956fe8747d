"""The mask toolkit: prunable weights, bool masks, per-step masking, momentum, fingerprints, metrics."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from acdc_bench.metrics.flops import inference_flops, layer_macs
from acdc_bench.metrics.sparse import channel_sparsity, mask_iou, support, zero_fraction
from acdc_bench.models.cifar_resnet import CifarResNet
from acdc_bench.sparsity.masks import MaskSet, prunable_layers


def tiny() -> nn.Module:
    torch.manual_seed(0)
    return CifarResNet(20, num_classes=10, in_chans=1, width=0.25)


def random_masks(ms: MaskSet, density: float, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    ms.copy_([torch.rand(m.shape, generator=g) < density for m in ms.masks])


def test_prunable_layers_are_conv_and_linear_weights_in_module_order():
    model = tiny()
    layers = prunable_layers(model)
    assert layers[0].name == "conv1" and layers[-1].name == "fc"
    assert all(isinstance(layer.module, (nn.Conv2d, nn.Linear)) for layer in layers)
    ids = {id(layer.weight) for layer in layers}
    for name, p in model.named_parameters():
        if name.endswith("bias") or ".bn" in name or name.startswith("bn") or "shortcut.1" in name:
            assert id(p) not in ids, name
    assert len(layers) == sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())


def test_masks_are_one_byte_per_weight_views_of_one_buffer():
    ms = MaskSet(prunable_layers(tiny()))
    assert ms.flat.dtype == torch.bool and ms.flat.numel() == ms.total == sum(ms.numels)
    ms.masks[3].fill_(False)
    assert int((~ms.flat).sum()) == ms.masks[3].numel()  # the views share the flat buffer
    assert all(m.shape == w.shape for m, w in zip(ms.masks, ms.weights, strict=True))
    # the per-step products' factors: the masks as numbers of the weights' dtype, laid out like them
    # (a cache of the masks taken at the last change: writers of masks call changed())
    ms.changed()
    assert all(f.dtype == w.dtype and f.stride() == m.stride() and f.data_ptr() != m.data_ptr()
               for f, m, w in zip(ms.factors, ms.masks, ms.weights, strict=True))
    assert int(ms.factors[3].sum()) == 0 and int(ms.factors[2].sum()) == ms.masks[2].numel()


def test_channels_last_weights_get_masks_with_their_strides():
    conv = nn.Conv2d(8, 16, 3).to(memory_format=torch.channels_last)
    ms = MaskSet(prunable_layers(nn.Sequential(conv)))
    assert ms.masks[0].stride() == conv.weight.stride()
    random_masks(ms, 0.3)
    ms.apply_to_weights()
    assert torch.equal(conv.weight != 0, ms.masks[0])


@pytest.mark.parametrize("nesterov", [False, True])
def test_masked_weights_stay_exactly_zero_through_optimizer_steps(nesterov):
    model = tiny()
    ms = MaskSet(prunable_layers(model))
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3, nesterov=nesterov)
    x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,))
    for step in range(6):  # momentum builds up dense first, then masks come in
        if step == 2:
            random_masks(ms, 0.2)
            ms.apply_to_weights()
            ms.mask_momentum(opt)
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        if step >= 2:
            ms.apply_to_grads()
            assert all(not g[~m].any() for g, m in zip((w.grad for w in ms.weights), ms.masks, strict=True))
        opt.step()
        if step >= 2:
            ms.apply_to_weights()
            for w, m in zip(ms.weights, ms.masks, strict=True):
                assert not w[~m].any()
                assert w[m].ne(0).float().mean() > 0.9  # kept weights train
    assert zero_fraction(ms.weights) == pytest.approx(1 - ms.flat.float().mean().item(), abs=0.01)


def test_zero_momentum_resets_only_where_asked():
    model = tiny()
    ms = MaskSet(prunable_layers(model))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(4, 1, 8, 8)).sum().backward()
    opt.step()
    random_masks(ms, 0.5)
    returning = ms.inverted()
    ms.zero_momentum(opt, returning)
    for w, r in zip(ms.weights, returning, strict=True):
        buf = opt.state[w]["momentum_buffer"]
        assert not buf[r].any() and buf[~r].ne(0).any()
    bn_buf = opt.state[model.bn1.weight]["momentum_buffer"]
    assert bn_buf.ne(0).any()  # not a prunable weight: untouched


def test_version_and_checksum_follow_the_masks():
    ms = MaskSet(prunable_layers(tiny()))
    v0, c0 = ms.version, ms.checksum()
    random_masks(ms, 0.5, seed=1)
    c1 = ms.checksum()
    assert ms.version == v0 + 1 and c1 != c0
    random_masks(ms, 0.5, seed=1)  # the same masks again
    assert ms.checksum() == c1 and ms.version == v0 + 2
    other = MaskSet(prunable_layers(tiny()))
    other.load_state_dict(ms.state_dict())
    assert torch.equal(other.flat, ms.flat) and other.checksum() == c1 and other.version == ms.version


def test_iou_is_one_for_equal_and_zero_for_disjoint_supports():
    a = torch.tensor([True, True, False, False, True])
    assert mask_iou(a, a.clone()) == 1.0
    assert mask_iou(a, ~a) == 0.0
    assert mask_iou(a, torch.tensor([True, False, False, False, False])) == pytest.approx(1 / 3)
    w = [torch.tensor([[0.0, 1.0], [2.0, 0.0]])]
    assert support(w).tolist() == [False, True, True, False]


def test_channel_sparsity_counts_all_zero_output_channels():
    w = torch.randn(8, 4, 3, 3)
    w[[1, 5]] = 0
    w[2, 0, 0, 0] = 0  # one zero weight does not make a zero channel
    assert channel_sparsity([w, torch.randn(2, 8, 1, 1)]) == pytest.approx(2 / 10)


def test_flops_count_conv_and_linear_multiply_adds_at_the_resolution():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(8 * 16 * 16, 10))
    layers = prunable_layers(model)
    macs = layer_macs(model, layers, in_chans=3, resolution=32)
    assert macs == [8 * 16 * 16 * 3 * 3 * 3, 8 * 16 * 16 * 10]
    dense, fraction = inference_flops(macs, [0.5, 1.0])
    assert dense == 2 * sum(macs)
    assert fraction == pytest.approx((0.5 * macs[0] + macs[1]) / sum(macs))
    assert model.training  # restored after the counting pass


def _bits(t: torch.Tensor) -> torch.Tensor:
    """The float32 bit patterns (so -0.0 and 0.0 differ)."""
    return t.detach().contiguous().view(torch.int32)


SGD_SETTINGS = [(0.9, False, 5e-4), (0.9, True, 1e-3), (0.0, False, 1e-3), (0.9, False, 0.0)]


@pytest.mark.parametrize("momentum,nesterov,weight_decay", SGD_SETTINGS)
def test_one_gradient_pass_keeps_pruned_weights_and_momentum_zero_bit_for_bit(momentum, nesterov,
                                                                               weight_decay):
    """The per-step mask pass is the gradients' only: once a mask change zeroes the masked weights
    and their momentum, SGD leaves them exactly zero, and the weights are bit-identical to the old
    two-pass step (gradients, then ``w *= mask`` after the optimizer step); acdc_bench.sparsity.masks."""
    runs = {}
    for passes in (1, 2):
        model = tiny()
        ms = MaskSet(prunable_layers(model))
        opt = torch.optim.SGD(model.parameters(), lr=0.3, momentum=momentum, nesterov=nesterov,
                              weight_decay=weight_decay)
        g = torch.Generator().manual_seed(1)
        for step in range(40):
            if step in (3, 20):  # momentum built up dense first; then a second mask, as RigL or GMP
                random_masks(ms, 0.2 if step == 3 else 0.1, seed=step)
                ms.apply_to_weights()  # once, when the masks change
                ms.mask_momentum(opt)
            x, y = torch.randn(16, 1, 8, 8, generator=g), torch.randint(0, 10, (16,), generator=g)
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            if step >= 3:
                ms.apply_to_grads()
            opt.step()
            if step >= 3 and passes == 2:
                ms.apply_to_weights()
            if step >= 3 and passes == 1:
                for w, m in zip(ms.weights, ms.masks, strict=True):
                    assert not w[~m].any()
                    buf = opt.state[w].get("momentum_buffer")
                    assert buf is None or not buf[~m].any()
        runs[passes] = [p.detach().clone() for p in model.parameters()]
    assert all(torch.equal(_bits(a), _bits(b)) for a, b in zip(runs[1], runs[2], strict=True))


def test_factors_are_the_masks_as_numbers_through_every_change_and_a_restore():
    """The per-step products use float copies of the masks (the fast same-dtype path); they must
    follow every change of the masks, a checkpoint restore included, and change no bit."""
    model = tiny()
    ms = MaskSet(prunable_layers(model))

    def agree() -> bool:
        return all(f.dtype == w.dtype and f.shape == w.shape and torch.equal(f, m.to(f.dtype))
                   for f, m, w in zip(ms.factors, ms.masks, ms.weights, strict=True))

    assert agree() and all(bool(f.all()) for f in ms.factors)  # all ones before any pruning
    random_masks(ms, 0.3, seed=1)
    assert agree()
    saved = ms.state_dict()
    ms.fill_(True)
    assert agree()
    ms.load_state_dict(saved)  # same version number as before fill_: the factors are taken again
    assert agree() and not all(bool(f.all()) for f in ms.factors)
    # the float product gives the bits the masks' bytes give (signs of zeros included)
    grads = [torch.randn_like(w) for w in ms.weights]
    by_bytes = [g * m.view(torch.uint8) for g, m in zip(grads, ms.masks, strict=True)]
    torch._foreach_mul_(grads, ms.factors)
    assert all(torch.equal(_bits(a), _bits(b)) for a, b in zip(grads, by_bytes, strict=True))
