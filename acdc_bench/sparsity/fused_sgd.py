"""SGD's update of masked weights with the gradient mask inside it: one compiled loop (numba).

The masked methods' sparse step is "mask the gradients, then SGD" (:mod:`acdc_bench.sparsity.masks`
says why that one mask pass keeps pruned weights, gradients and momentum at zero). Done as
separate tensor operations, torch's single-tensor SGD (the CPU default) streams every prunable
weight through memory five times after the mask's own pass:

    g = g * m                 (the mask pass: read g and m, write g)
    d = g + wd * w            (``grad.add(param, alpha=wd)``: a new tensor)
    b = b * mu;  b = b + d    (``buf.mul_(mu).add_(d)``)
    w = w - lr * b            (``param.add_(buf, alpha=-lr)``)

about 56 bytes per float32 weight. :class:`MaskedSGD` does the same float32 operations, in the
same order, per weight in one loop: it reads w, g, b and the mask's byte and writes w and b,
21 bytes. ``fma`` is used exactly where ATen's vectorised loops fuse (``add`` with ``alpha``);
``b * mu + d`` is rounded twice, as torch rounds it; the first step's buffer is ``d`` itself
(torch clones it). So every value is torch's, bit for bit (``tests/test_sparsity_masks.py``
compares weights and buffers over mask changes, a changing learning rate and a restored
optimizer). The gradients are then set to None, so the optimizer's own step skips these
weights; the other parameters (biases, normalisation) stay the optimizer's.

It applies to plain SGD on CPU float32 tensors (:func:`plain_sgd_groups`) with numba installed
(the ``ffcv`` extra that ``make setup`` installs); anything else (Nesterov, dampening, maximize,
foreach/fused kernels, tensor hyper-parameters, accelerators, AMP, other optimizers) keeps the
separate passes. AST's sub-net engine uses the same pieces for its own loop
(:mod:`acdc_bench.sparsity.methods.ast.kernel`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch
from torch import Tensor

BLOCK = 1 << 20  # weights per block of the compiled loops (blocks run on torch's threads)


def plain_sgd_groups(optimizer: torch.optim.Optimizer | None, weights: Sequence[Tensor]) -> list[dict] | None:
    """Each weight's parameter group when SGD's update of ``weights`` can be applied block by
    block exactly as torch's single-tensor SGD applies it (plain SGD on CPU tensors: no
    Nesterov, dampening, maximize, foreach/fused/differentiable kernels, float hyper-parameters);
    otherwise None."""
    if type(optimizer) is not torch.optim.SGD or any(w.device.type != "cpu" for w in weights):
        return None
    owner = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    groups = [owner.get(id(w)) for w in weights]
    for g in groups:
        if g is None or g.get("nesterov") or g.get("maximize") or g.get("foreach") or g.get("fused") \
                or g.get("differentiable") or float(g.get("dampening", 0.0) or 0.0) != 0.0 \
                or any(isinstance(g.get(k), Tensor) for k in ("lr", "weight_decay", "momentum")):
            return None
    return groups


class SGDGroups:
    """Each weight's parameter group (:func:`plain_sgd_groups`), looked up again whenever the
    optimizer's list of groups is replaced (``load_state_dict`` does, and the learning rate
    is then set on the new groups)."""

    def __init__(self, weights: Sequence[Tensor]):
        self.weights = list(weights)
        self.optimizer: torch.optim.Optimizer | None = None
        self._list: list | None = None  # the optimizer's param_groups the lookup was made on
        self._groups: list[dict] | None = None

    def attach(self, optimizer: torch.optim.Optimizer | None) -> None:
        self.optimizer, self._list, self._groups = optimizer, None, None

    def get(self) -> list[dict] | None:
        if self.optimizer is None:
            return None
        if self.optimizer.param_groups is not self._list:
            self._list = self.optimizer.param_groups
            self._groups = plain_sgd_groups(self.optimizer, self.weights)
        return self._groups


def blocks(numels: Sequence[int], size: int = BLOCK) -> list[tuple[int, int, int]]:
    """(layer, start, end): each layer cut at multiples of ``size`` from its own start."""
    return [(layer, a, min(n, a + size)) for layer, n in enumerate(numels) for a in range(0, n, size)]


class BlockPool:
    """Runs a function over blocks on ``torch.get_num_threads()`` threads (the compiled loops
    release the GIL); one thread runs them in order."""

    def __init__(self) -> None:
        self.pool: ThreadPoolExecutor | None = None
        self.workers = 0

    def map(self, fn: Callable[[Any], None], items: Sequence[Any]) -> None:
        threads = max(1, min(torch.get_num_threads(), len(items)))
        if threads == 1:
            for item in items:
                fn(item)
            return
        if self.pool is None or self.workers != threads:
            if self.pool is not None:
                self.pool.shutdown()
            self.pool, self.workers = ThreadPoolExecutor(threads, thread_name_prefix="sgd-step"), threads
        for _ in self.pool.map(fn, items):
            pass


@functools.cache
def numba_tools() -> tuple[Callable[[Callable], Callable], Any] | None:
    """(``jit``, ``fma``) for the compiled loops, or None without numba: ``jit`` compiles a
    loop without the GIL, cached on disk, with IEEE float semantics (no fastmath: no reordering
    or contraction); ``fma(a, b, c)`` is LLVM's fused multiply-add (one rounding)."""
    try:
        import numba
        from llvmlite import ir
        from numba.extending import intrinsic
    except ImportError:
        return None

    @intrinsic
    def fma(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            t = args[0].type
            fn = builder.module.declare_intrinsic("llvm.fma", [t], ir.FunctionType(t, [t, t, t]))
            return builder.call(fn, args)
        return a(a, b, c), codegen

    return numba.njit(nogil=True, cache=True, fastmath=False, error_model="numpy"), fma


Loop = Callable[..., None]


def compiled_loop(build: Callable[[Any, Any], Loop]) -> Callable[[], Loop | None]:
    """Decorator: ``build(jit, fma)`` makes a compiled loop; the decorated name returns it (built
    on first use, cached on disk by numba), or None without numba."""
    @functools.cache
    @functools.wraps(build)
    def get() -> Loop | None:
        tools = numba_tools()
        return None if tools is None else build(*tools)
    return get


@compiled_loop
def compiled(jit: Any, fma: Any) -> Callable[..., None]:
    """The masked SGD loop."""

    @jit
    def step(w, g, m, b, neg_lr, wd, mu, use_wd, use_mu, first):  # pragma: no cover
        for i in range(w.shape[0]):
            gi = g[i] * np.float32(m[i])  # the mask pass: x * 0 is a zero of x's sign, x * 1 is x
            wi = w[i]
            d = fma(wi, wd, gi) if use_wd else gi
            if use_mu:
                if not first:
                    d = b[i] * mu + d  # (two roundings: no contraction without fastmath)
                b[i] = d
            w[i] = fma(d, neg_lr, wi)

    return step


def memory_flat(t: Tensor) -> Tensor | None:
    """A 1-D view of ``t``'s elements in memory order, when they fill their memory densely
    (contiguous or e.g. channels-last); otherwise None."""
    if t.is_contiguous():
        return t.view(-1)
    order = sorted(range(t.dim()), key=lambda d: t.stride(d))
    expected = 1
    for d in order:
        if t.size(d) != 1 and t.stride(d) != expected:
            return None
        expected *= t.size(d)
    return t.as_strided((t.numel(),), (1,))


def same_layout(a: Tensor, b: Tensor) -> bool:
    """Whether ``a`` and ``b`` have one shape and lay their elements out alike (the strides of
    dimensions of size 1 do not matter)."""
    return a.shape == b.shape and all(
        n == 1 or sa == sb for n, sa, sb in zip(a.shape, a.stride(), b.stride(), strict=True))


class MaskedSGD:
    """SGD's step of masked weights, the gradient mask inside it (the module docstring).

    ``masks`` are the weights' bool masks (views shaped and strided like them). ``enabled``
    False keeps the separate passes (the tests compare both)."""

    def __init__(self, weights: Sequence[Tensor], masks: Sequence[Tensor]):
        self.weights = list(weights)
        self.masks = list(masks)
        self.sgd = SGDGroups(self.weights)
        self.pool = BlockPool()
        # a weight listed twice (tied layers) would be stepped twice: the separate passes then
        self.enabled = len({id(w) for w in self.weights}) == len(self.weights)
        self.block = BLOCK
        self.applied = 0  # steps the loop took (the tests check it ran)

    def attach(self, optimizer: torch.optim.Optimizer | None) -> None:
        self.sgd.attach(optimizer)

    @torch.no_grad()
    def step(self) -> bool:
        """Apply SGD's update to the weights with masked gradients, set their gradients to
        None and return True; or do nothing and return False where the separate passes apply."""
        step = compiled() if self.enabled else None
        groups = self.sgd.get() if step is not None else None
        if groups is None:
            return False
        optimizer = self.sgd.optimizer
        assert optimizer is not None
        work = []
        for w, m, group in zip(self.weights, self.masks, groups, strict=True):
            g = w.grad
            if g is None:
                continue
            mu = float(group.get("momentum", 0.0) or 0.0)
            buf = optimizer.state[w].get("momentum_buffer") if mu != 0 else None
            tensors = (w, g, m) if buf is None else (w, g, m, buf)
            if w.dtype != torch.float32 or g.dtype != torch.float32 or g.is_sparse \
                    or not all(same_layout(t, w) for t in tensors) or memory_flat(w) is None:
                return False  # (checked before anything is written: all or nothing)
            work.append((w, g, m, buf, group, mu))
        if not work:
            return False
        items = []
        for w, g, m, buf, group, mu in work:
            first = mu != 0 and buf is None
            if first:  # torch's first step: the buffer is a copy of d
                buf = torch.empty_like(w, memory_format=torch.preserve_format)
                optimizer.state[w]["momentum_buffer"] = buf
            arrays = [memory_flat(t.detach()).numpy() for t in (w, g)]  # type: ignore[union-attr]
            mask = memory_flat(m).view(torch.uint8).numpy()  # type: ignore[union-attr]
            b = memory_flat(buf).numpy() if buf is not None else arrays[0][:0]  # type: ignore[union-attr]
            lr, wd = float(group["lr"]), float(group["weight_decay"])
            hyper = (np.float32(-lr), np.float32(wd), np.float32(mu), wd != 0, mu != 0, first)
            items += [(arrays[0][a:e], arrays[1][a:e], mask[a:e], b[a:e] if buf is not None else b, hyper)
                      for _, a, e in blocks([w.numel()], self.block)]

        def run(item: tuple) -> None:
            w, g, m, b, (neg_lr, wd, mu, use_wd, use_mu, first) = item
            step(w, g, m, b, neg_lr, wd, mu, use_wd, use_mu, first)

        self.pool.map(run, items)
        for w, *_ in work:
            w.grad = None
        self.applied += 1
        return True
