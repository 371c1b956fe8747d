"""AST's SGD step of the prunable weights as one compiled loop (numba), when numba is there.

Per weight it does what the engine's separate passes and torch's single-tensor SGD do, with
the same float32 operations in the same order (``float32`` hyper-parameters, as ATen casts
them; ``fma`` where ATen's vectorised loops fuse: ``add`` with ``alpha``, ``lerp``):

    x = w * m                       (the working copy the forward saw: pass 1's product)
    g = g * m                       (pass 2, unless the gradient comes masked)
    d = fma(x, wd, g)               SGD: d = g + wd * x          (skipped when wd == 0)
    b = b * mu + d                  SGD: buffer                  (skipped when mu == 0)
    x' = fma(b or d, -lr, x)        SGD: the step
    w = fma(m, x' - w, w) if m < 0.5 else fma(m - 1, x' - w, x')     (pass 3: lerp)
    b = b * fb                      (pass 4: m + (1 - m) / mu, undoing the decay outside m)
    x_next = w * m_next             (the next step's pass 1, for sub-net ``prepare``)

so the numbers are those of the separate passes; only the sign of an exact zero can differ,
where ATen's own scalar loop (a tensor's last few elements) writes ``lerp`` as
``end - (end - start) * (1 - weight)`` (``tests/test_ast.py`` compares values, and the bits of
every nonzero). It reads six and writes three float32 buffers: 36 bytes per weight, the next
step's pass 1 included, against about 110 for the separate passes (each operation streams
its operands through memory).
Blocks of the flat buffers run on ``torch.get_num_threads()`` threads (the loop releases the GIL).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch
from torch import Tensor


@functools.cache
def compiled() -> Callable[..., None] | None:
    """The compiled loop (made on first use, cached on disk by numba), or None without numba."""
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

    @numba.njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
    def step(w, g, f, b, fb, neg_lr, wd, mu, mask_g, use_wd, use_mu, fnext, xnext, prep):  # pragma: no cover
        one = np.float32(1.0)
        half = np.float32(0.5)
        for i in range(w.shape[0]):
            m = f[i]
            wi = w[i]
            x = wi * m
            gi = g[i] * m if mask_g else g[i]
            d = fma(x, wd, gi) if use_wd else gi
            if use_mu:
                d = b[i] * mu + d  # (two roundings: no contraction without fastmath)
                b[i] = d * fb[i]
            xn = fma(d, neg_lr, x)
            small = abs(m) < half
            coeff = m if small else m - one
            base = wi if small else xn
            wn = fma(coeff, xn - wi, base)
            w[i] = wn
            if prep:  # the next step's pass 1, while the weight is at hand
                xnext[i] = wn * fnext[i]

    return step


class CompiledStep:
    """Runs the compiled loop over blocks of the flat buffers on a few threads."""

    def __init__(self, offsets: Sequence[int], blocks: Sequence[tuple[int, int, int]]):
        self.offsets = list(offsets)
        self.blocks = list(blocks)  # (layer, start, end) in flat coordinates
        self.pool: ThreadPoolExecutor | None = None
        self.workers = 0

    def _map(self, fn: Callable[[tuple[int, int, int]], None]) -> None:
        threads = max(1, min(torch.get_num_threads(), len(self.blocks)))
        if threads == 1:
            for block in self.blocks:
                fn(block)
            return
        if self.pool is None or self.workers != threads:
            if self.pool is not None:
                self.pool.shutdown()
            self.pool, self.workers = ThreadPoolExecutor(threads, thread_name_prefix="ast-step"), threads
        for _ in self.pool.map(fn, self.blocks):
            pass

    def __call__(self, step: Callable[..., None], dense: Tensor, fmask: Tensor, momentum: Tensor | None,
                 fback: Tensor, grads: Sequence[Tensor] | Tensor, masked: bool,
                 hyper: Sequence[tuple[float, float, float]], fnext: Tensor | None = None,
                 xnext: Tensor | None = None) -> None:
        """One step: ``grads`` is the flat masked gradient (``masked``) or the layers' gradients;
        ``hyper`` each layer's (lr, weight decay, momentum); with ``fnext``, the next sub-net's
        mask as numbers, the updated weights times it are written into ``xnext``."""
        w_all, f_all, fb_all = dense.numpy(), fmask.numpy(), fback.numpy()
        prep = fnext is not None and xnext is not None
        fn_all = fnext.numpy() if prep else w_all[:0]  # type: ignore[union-attr]
        xn_all = xnext.numpy() if prep else w_all[:0]  # type: ignore[union-attr]
        b_all = momentum.numpy() if momentum is not None else w_all[:0]
        g_flat = grads.numpy() if masked else None  # type: ignore[union-attr]
        g_layers = None if masked else [g.detach().reshape(-1).numpy() for g in grads]  # type: ignore[union-attr]
        f32 = np.float32

        def run(block: tuple[int, int, int]) -> None:
            layer, a, e = block
            lr, wd, mu = hyper[layer]
            if g_flat is not None:
                g = g_flat[a:e]
            else:
                start = self.offsets[layer]
                g = g_layers[layer][a - start: e - start]  # type: ignore[index]
            use_mu = momentum is not None and mu != 0
            b = b_all[a:e] if use_mu else w_all[:0]
            fb = fb_all[a:e] if use_mu else w_all[:0]
            step(w_all[a:e], g, f_all[a:e], b, fb, f32(-lr), f32(wd), f32(mu), not masked, wd != 0, use_mu,
                 fn_all[a:e] if prep else fn_all, xn_all[a:e] if prep else xn_all, prep)

        self._map(run)
