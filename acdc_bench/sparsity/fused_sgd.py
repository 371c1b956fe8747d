"""The recipe's SGD, :class:`MaskedSGD`: torch's SGD whose step applies the method's gradient
masks, as one compiled loop (numba) for plain SGD on the CPU.

Methods decide masks, the optimizer owns the update. A method exposes its current masks
(:meth:`~acdc_bench.sparsity.base.SparsityMethod.gradient_masks`, bool tensors read by
reference at every step, or None) and hands the reader to the optimizer in ``on_train_start``
(:func:`read_masks`). The masked step is "mask the gradients, then SGD"
(:mod:`acdc_bench.sparsity.masks` says why that one mask pass keeps pruned weights, gradients
and momentum at zero). Done as separate tensor operations, torch's single-tensor SGD (the CPU
default) streams every weight through memory five times after the mask's own pass:

    g = g * m                 (the mask pass: read g and m, write g)
    d = g + wd * w            (``grad.add(param, alpha=wd)``: a new tensor)
    b = b * mu;  b = b + d    (``buf.mul_(mu).add_(d)``)
    w = w - lr * b            (``param.add_(buf, alpha=-lr)``)

about 56 bytes per float32 weight. The compiled loop does the same float32 operations, in the
same order, per weight: it reads w, g, b and the mask's byte and writes w and b, 21 bytes (20
without a mask: dense weights, biases, normalisation, a dense phase). ``fma`` is used exactly
where ATen's vectorised loops fuse (``add`` with ``alpha``); ``b * mu + d`` is rounded twice,
as torch rounds it; the first step's buffer is ``d`` itself (torch clones it). So every value is
torch's, bit for bit, dense runs included (``tests/test_masked_sgd.py``: over a changing
learning rate and a restored optimizer state; ``tests/test_methods_schedules.py``: over AC/DC's,
GMP's and RigL's mask changes). The state is torch's SGD state (``momentum_buffer`` per
parameter), so checkpoints load either way.

The loop applies to plain SGD on CPU float32 tensors (:func:`plain_group`) with numba
installed (the ``ffcv`` extra that ``make setup`` installs). Anything else keeps the separate
passes, the masks' own pass over the gradients and then torch's step: Nesterov, dampening,
maximize, foreach/fused kernels, tensor hyper-parameters, accelerators (and so AMP), non-float32
tensors, a weight, gradient, mask or buffer laid out unlike its weight, a weight listed twice
among the masks (tied layers), and other optimizers (AdamW: :func:`read_masks` adds the pass as
a step pre-hook). AST's sub-net engine keeps its own loop over the same pieces
(:mod:`acdc_bench.sparsity.methods.ast.kernel`; its engine module says why it stays there).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor
from torch.utils.hooks import RemovableHandle

BLOCK = 1 << 20  # weights per block of the compiled loops (blocks run on torch's threads)


def plain_group(g: dict) -> bool:
    """Whether torch's SGD steps parameter group ``g`` with its single-tensor loop as plain SGD:
    no Nesterov, dampening, maximize, foreach/fused/differentiable kernels, tensor
    hyper-parameters."""
    return not (g.get("nesterov") or g.get("maximize") or g.get("foreach") or g.get("fused")
                or g.get("differentiable") or float(g.get("dampening", 0.0) or 0.0) != 0.0
                or any(isinstance(g.get(k), Tensor) for k in ("lr", "weight_decay", "momentum")))


def plain_sgd_groups(optimizer: torch.optim.Optimizer | None, weights: Sequence[Tensor]) -> list[dict] | None:
    """Each weight's parameter group when SGD's update of ``weights`` can be applied block by
    block exactly as torch's single-tensor SGD applies it (torch's SGD or :class:`MaskedSGD`,
    CPU tensors, :func:`plain_group`); otherwise None."""
    if type(optimizer) not in (torch.optim.SGD, MaskedSGD) or any(w.device.type != "cpu" for w in weights):
        return None
    owner = {id(p): g for g in optimizer.param_groups for p in g["params"]}
    groups = [owner.get(id(w)) for w in weights]
    if any(g is None or not plain_group(g) for g in groups):
        return None
    return groups  # type: ignore[return-value]


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
    release the GIL); one thread runs them in order. ``threads`` set: that many instead (the tests
    split blocks over two threads while torch's own ops stay on one)."""

    def __init__(self) -> None:
        self.pool: ThreadPoolExecutor | None = None
        self.workers = 0
        self.threads: int | None = None

    def map(self, fn: Callable[[Any], None], items: Sequence[Any]) -> None:
        threads = max(1, min(self.threads or torch.get_num_threads(), len(items)))
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
    """The SGD loop, the gradient mask inside (``use_m``) or none (dense weights)."""

    @jit
    def step(w, g, m, b, neg_lr, wd, mu, use_m, use_wd, use_mu, first):  # pragma: no cover
        for i in range(w.shape[0]):
            # the mask pass (x * 0 is a zero of x's sign, x * 1 is x); no mask: every weight kept
            gi = g[i] * np.float32(m[i]) if use_m else g[i]
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


class GradientMasks(Protocol):
    """What a method exposes for the optimizer step (:class:`~acdc_bench.sparsity.masks.MaskSet`
    is one): bool ``masks`` shaped and strided like their ``weights``, read by reference at
    every step, and the separate mask pass over the gradients."""

    weights: list[Tensor]
    masks: list[Tensor]

    def apply_to_grads(self) -> None: ...


MaskReader = Callable[[], "GradientMasks | None"]


def _torch_step(optimizer: torch.optim.SGD) -> None:
    """torch's own SGD step of ``optimizer``, without the step hooks a second time (torch wraps
    ``SGD.step`` in them once any SGD is made; they ran around :meth:`MaskedSGD.step` already)."""
    fn = torch.optim.SGD.step
    fn = getattr(fn, "__wrapped__", fn) if getattr(fn, "hooked", False) else fn
    fn(optimizer)


class MaskedSGD(torch.optim.SGD):
    """torch's SGD whose step applies the current gradient masks of the method (the module
    docstring): ``read_masks(reader)`` gives it a function returning them (or None: no mask
    now), called at every step, so a mask change is seen without a copy.

    Plain SGD on CPU float32 tensors with numba installed (:func:`plain_sgd_groups`): every
    parameter with a gradient is stepped by the one compiled loop, the mask inside the update
    of masked weights and no mask read for the others; the numbers are torch's, bit for bit.
    Otherwise (Nesterov, dampening, maximize, foreach/fused kernels, tensor hyper-parameters,
    a non-CPU device, a non-float32 tensor, a sparse gradient, a weight, gradient, mask or
    buffer laid out unlike its weight, a weight listed twice among the masks) the separate
    passes: the masks' own pass over the gradients, then torch's step. The choice is made for
    the whole step, before anything is written. Gradients are present and dense when the step
    begins (clipping or an EMA may read them); after it they are unspecified (dense after the
    loop, masked after the separate passes). The state is torch's (``momentum_buffer`` per
    parameter): checkpoints of either optimizer load into the other."""

    def __init__(self, params: Any, **kwargs: Any):
        super().__init__(params, **kwargs)
        self.mask_reader: MaskReader | None = None
        self.compiled = True  # False: always the separate passes (the tests compare the two)
        self.block = BLOCK
        self.pool = BlockPool()
        self.applied = 0  # steps the compiled loop took (the tests check it ran)

    def read_masks(self, reader: MaskReader | None) -> None:
        self.mask_reader = reader

    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        masks = self.mask_reader() if self.mask_reader is not None else None
        if not self._compiled_step(masks):
            if masks is not None:
                masks.apply_to_grads()
            _torch_step(self)
        return loss

    @torch.no_grad()
    def _compiled_step(self, masks: GradientMasks | None) -> bool:
        """The compiled loop over every parameter with a gradient, or False (nothing written)
        where the separate passes apply."""
        loop = compiled() if self.compiled else None
        if loop is None or type(self) is not MaskedSGD or not all(plain_group(g) for g in self.param_groups):
            return False
        mask_of: dict[int, Tensor] = {}
        if masks is not None:
            mask_of = {id(w): m for w, m in zip(masks.weights, masks.masks, strict=True)}
            if len(mask_of) != len(masks.weights):
                return False  # a weight listed twice (tied layers) would be masked twice over
        work = []
        for group in self.param_groups:
            mu = float(group["momentum"])
            for w in group["params"]:
                g = w.grad
                if g is None:
                    continue
                m = mask_of.get(id(w))
                buf = self.state[w].get("momentum_buffer") if mu != 0 else None
                tensors = [t for t in (w, g, m, buf) if t is not None]
                floats = {t.dtype for t in (w, g, buf) if t is not None}
                if w.device.type != "cpu" or floats != {torch.float32} or g.is_sparse \
                        or (m is not None and m.dtype != torch.bool) \
                        or not all(same_layout(t, w) for t in tensors) or memory_flat(w) is None:
                    return False
                work.append((w, g, m, buf, group, mu))
        items = []
        for w, g, m, buf, group, mu in work:
            first = mu != 0 and buf is None
            if first:  # torch's first step: the buffer is a copy of d
                buf = torch.empty_like(w, memory_format=torch.preserve_format)
                self.state[w]["momentum_buffer"] = buf
            arrays = [memory_flat(t.detach()).numpy() for t in (w, g)]  # type: ignore[union-attr]
            mask = memory_flat(m).view(torch.uint8).numpy() if m is not None else _NO_MASK  # type: ignore[union-attr]
            b = memory_flat(buf).numpy() if buf is not None else arrays[0][:0]  # type: ignore[union-attr]
            lr, wd = float(group["lr"]), float(group["weight_decay"])
            hyper = (np.float32(-lr), np.float32(wd), np.float32(mu), m is not None, wd != 0, mu != 0, first)
            items += [(arrays[0][a:e], arrays[1][a:e], mask[a:e] if m is not None else mask,
                       b[a:e] if buf is not None else b, hyper)
                      for _, a, e in blocks([w.numel()], self.block)]

        def run(item: tuple) -> None:
            w, g, m, b, hyper = item
            loop(w, g, m, b, *hyper)

        big = [item for item in items if item[0].shape[0] >= SMALL]
        self.pool.map(run, big)
        for item in items:  # small tensors (biases, normalisation): here, without the pool's hand-over
            if item[0].shape[0] < SMALL:
                run(item)
        self.applied += 1
        return True


SMALL = 1 << 14  # tensors with fewer elements are stepped on the calling thread
_NO_MASK = np.zeros(0, dtype=np.uint8)


def read_masks(optimizer: torch.optim.Optimizer, reader: MaskReader) -> RemovableHandle | None:
    """Make ``optimizer``'s step apply the masks ``reader`` returns: :class:`MaskedSGD` reads them
    itself; any other optimizer gets the masks' own pass over the gradients as a step pre-hook
    (returned, to remove it; it runs among the step pre-hooks in the order they were registered,
    while :class:`MaskedSGD` applies the masks after all of them)."""
    if isinstance(optimizer, MaskedSGD):
        optimizer.read_masks(reader)
        return None

    def mask_pass(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        masks = reader()
        if masks is not None:
            masks.apply_to_grads()

    return optimizer.register_step_pre_hook(mask_pass)
