"""Measured inference speed-ups: a sparse model against its dense twin on real engines.

``task=speedup`` (``acdc_bench.tasks.speedup``) builds a :class:`~acdc_bench.inference.workload.Workload`
(the dense model and its sparse copy with the masks multiplied into the weights, their ONNX
exports, the layers' multiply-adds), times every engine of ``cfg.inference`` on it at each batch
size (:mod:`~acdc_bench.inference.measure`, interleaved rounds: :mod:`~acdc_bench.inference.timing`)
and writes ``speedup.json``. Engines live in :mod:`acdc_bench.inference.engines`, one module each.
Speed depends on the masks, not on the trained values, so a model with fresh weights and
magnitude masks at the target sparsity measures what a trained one would.
"""
