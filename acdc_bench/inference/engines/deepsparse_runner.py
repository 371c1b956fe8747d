"""Runs inside ``.venv-deepsparse`` (DeepSparse 1.8, numpy<2, no torch): compiles a dense and a
sparse ONNX file and times them in interleaved rounds.

Usage: ``python -m acdc_bench.inference.engines.deepsparse_runner '<json request>'``; prints one
JSON line ``{"dense": [s, ...], "sparse": [s, ...], "version": ...}``. The request holds
``dense``, ``sparse`` (paths), ``batch``, ``warmup``, ``repeats``, ``threads`` and ``inputs``
(``[{"shape": [...], "dtype": "float32" | "int64", "high": n}]``, shapes at batch 1).
Only the standard library, numpy, deepsparse and ``acdc_bench.inference.timing`` are imported.
"""

from __future__ import annotations

import json
import sys


def main(request: dict) -> dict:
    import numpy as np
    from deepsparse import __version__, compile_model

    from acdc_bench.inference.timing import interleaved

    rng = np.random.default_rng(0)
    batch = int(request["batch"])
    arrays = []
    for spec in request["inputs"]:
        shape = [batch, *spec["shape"][1:]]
        if spec["dtype"].startswith("int"):
            arrays.append(rng.integers(0, int(spec.get("high", 2)), size=shape).astype(spec["dtype"]))
        else:
            arrays.append(rng.standard_normal(shape).astype(spec["dtype"]))
    engines = {k: compile_model(request[k], batch_size=batch, num_cores=int(request["threads"]))
               for k in ("dense", "sparse")}
    dense, sparse = interleaved(lambda: engines["dense"].run(arrays), lambda: engines["sparse"].run(arrays),
                                int(request["warmup"]), int(request["repeats"]))
    return {"dense": dense, "sparse": sparse, "version": __version__}


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main(json.loads(sys.argv[1]))) + "\n")
