"""AST's SGD step of the prunable weights as one compiled loop (numba), when numba is there.

Per weight it does what the engine's separate passes and torch's single-tensor SGD do, with
the same float32 operations in the same order (``float32`` hyper-parameters, as ATen casts
them; ``fma`` where ATen's vectorised loops fuse: ``add`` with ``alpha``, ``lerp``):

    m = the mask's byte as 0.0/1.0  (the engine's float copy of the mask, exactly)
    x = w * m                       (the working copy the forward saw: pass 1's product)
    g = g * m                       (pass 2, unless the gradient comes masked)
    d = fma(x, wd, g)               SGD: d = g + wd * x          (skipped when wd == 0)
    b = b * mu + d                  SGD: buffer                  (skipped when mu == 0)
    x' = fma(b or d, -lr, x)        SGD: the step
    w = fma(m, x' - w, w) if m < 0.5 else fma(m - 1, x' - w, x')     (pass 3: lerp)
    b = b * fb                      (pass 4: m + (1 - m) / mu, undoing the decay outside m; its
                                     two values, made by the engine's own two operations)
    x_next = w * m_next             (the next step's pass 1, for sub-net ``prepare``)

so the numbers are those of the separate passes; only the sign of an exact zero can differ,
where ATen's own scalar loop (a tensor's last few elements) writes ``lerp`` as
``end - (end - start) * (1 - weight)`` (``tests/test_ast.py`` compares values, and the bits of
every nonzero). It reads three float32 buffers and two masks' bytes and writes three float32
buffers: 26 bytes per weight, the next step's pass 1 included, against about 110 for the
separate passes (each operation streams its operands through memory) and 36 when the masks
and momentum factors were read as float32 buffers.
Blocks of the flat buffers run on ``torch.get_num_threads()`` threads (the loop releases the GIL);
the ``fma`` intrinsic and the thread pool are :mod:`acdc_bench.sparsity.fused_sgd`'s, which does
the masked methods' SGD step the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from acdc_bench.sparsity.fused_sgd import BlockPool, compiled_loop


@compiled_loop
def compiled(jit: Any, fma: Any) -> Callable[..., None]:
    """AST's SGD step loop."""

    @jit
    def step(w, g, mk, b, fb0, fb1, neg_lr, wd, mu,  # pragma: no cover
             mask_g, use_wd, use_mu, mnext, xnext, prep):
        one = np.float32(1.0)
        half = np.float32(0.5)
        for i in range(w.shape[0]):
            keep = mk[i] != 0
            m = np.float32(mk[i])  # (the mask as a number: exactly the engine's float copy)
            wi = w[i]
            x = wi * m
            gi = g[i] * m if mask_g else g[i]
            d = fma(x, wd, gi) if use_wd else gi
            if use_mu:
                d = b[i] * mu + d  # (two roundings: no contraction without fastmath)
                b[i] = d * (fb1 if keep else fb0)
            xn = fma(d, neg_lr, x)
            small = abs(m) < half
            coeff = m if small else m - one
            base = wi if small else xn
            wn = fma(coeff, xn - wi, base)
            w[i] = wn
            if prep:  # the next step's pass 1, while the weight is at hand
                xnext[i] = wn * np.float32(mnext[i])

    return step


class CompiledStep:
    """Runs the compiled loop over blocks of the flat buffers on a few threads."""

    def __init__(self, offsets: Sequence[int], blocks: Sequence[tuple[int, int, int]]):
        self.offsets = list(offsets)
        self.blocks = list(blocks)  # (layer, start, end) in flat coordinates
        self.pool = BlockPool()

    def __call__(self, step: Callable[..., None], dense: Tensor, mask: Tensor, momentum: Tensor | None,
                 fback: tuple[float, float], grads: Sequence[Tensor] | Tensor, masked: bool,
                 hyper: Sequence[tuple[float, float, float]], mnext: Tensor | None = None,
                 xnext: Tensor | None = None) -> None:
        """One step: ``mask`` is the sub-net's flat bool mask; ``fback`` pass 4's factor at a
        masked-out and at a kept weight; ``grads`` the flat masked gradient (``masked``) or the
        layers' gradients; ``hyper`` each layer's (lr, weight decay, momentum); with ``mnext``,
        the next sub-net's flat mask, the updated weights times it are written into ``xnext``."""
        w_all, m_all = dense.numpy(), mask.view(torch.uint8).numpy()
        prep = mnext is not None and xnext is not None
        mn_all = mnext.view(torch.uint8).numpy() if prep else m_all[:0]  # type: ignore[union-attr]
        xn_all = xnext.numpy() if prep else w_all[:0]  # type: ignore[union-attr]
        b_all = momentum.numpy() if momentum is not None else w_all[:0]
        g_flat = grads.numpy() if masked else None  # type: ignore[union-attr]
        g_layers = None if masked else [g.detach().reshape(-1).numpy() for g in grads]  # type: ignore[union-attr]
        f32 = np.float32
        fb0, fb1 = f32(fback[0]), f32(fback[1])

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
            step(w_all[a:e], g, m_all[a:e], b, fb0, fb1, f32(-lr), f32(wd), f32(mu), not masked, wd != 0,
                 use_mu, mn_all[a:e] if prep else mn_all, xn_all[a:e] if prep else xn_all, prep)

        self.pool.map(run, self.blocks)
