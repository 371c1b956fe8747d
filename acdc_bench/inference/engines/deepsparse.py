"""DeepSparse 1.8 (Neural Magic), the CPU engine the papers' speed-ups come from, run in an
environment of its own through a subprocess.

DeepSparse 1.8.0 is the last real release (PyPI's 1.9.0 is an end-of-life stub); it pins
numpy<2 and onnx<1.15, which acdc-bench's own environment must not inherit, so
``scripts/deepsparse_env.sh`` installs it into ``.venv-deepsparse`` and this engine only hands
that interpreter the two ONNX files (:mod:`deepsparse_runner`) and reads back JSON timings.
Licence: evaluation, research and testing use (Neural Magic's community licence); end of life.
It runs every convolution and linear layer with its sparse kernels.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from acdc_bench.inference.engines.base import Engine, EngineUnavailable, Times
from acdc_bench.inference.workload import Workload
from acdc_bench.sparsity.masks import PrunableLayer

REPO = Path(__file__).resolve().parents[3]
INSTALL = "bash scripts/deepsparse_env.sh"
PYTHON_ENV = "ACDC_DEEPSPARSE_PYTHON"  # another interpreter with deepsparse 1.8 (default: .venv-deepsparse)


def interpreter() -> Path:
    return Path(os.environ.get(PYTHON_ENV) or REPO / ".venv-deepsparse" / "bin" / "python")


class DeepSparse(Engine):
    name = "deepsparse"

    def runs_sparse(self, layer: PrunableLayer) -> bool:
        return True

    def check(self) -> None:
        if not interpreter().is_file():
            raise EngineUnavailable(f"engine deepsparse: {interpreter()} not found; install DeepSparse 1.8.0 "
                                    f"in its own environment with `{INSTALL}` (or set {PYTHON_ENV})")

    def describe(self) -> dict[str, object]:
        return {"precision": "fp32", "interpreter": str(interpreter()),
                "sparse": "every conv and linear layer"}

    def measure(self, work: Workload, batch: int, warmup: int, repeats: int) -> Times:
        self.check()
        inputs = []
        for t in work.example(1):
            spec = {"shape": list(t.shape), "dtype": str(t.dtype).removeprefix("torch.")}
            if not t.is_floating_point():
                spec["high"] = int(self.options.get("vocab_size", 2))
            inputs.append(spec)
        request = {"dense": str(work.onnx("dense")), "sparse": str(work.onnx("sparse")), "batch": batch,
                   "warmup": warmup, "repeats": repeats, "threads": self.threads, "inputs": inputs}
        env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": str(self.threads)}
        proc = subprocess.run([str(interpreter()), "-m", "acdc_bench.inference.engines.deepsparse_runner",
                               json.dumps(request)], capture_output=True, text=True, env=env, cwd=REPO)
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise EngineUnavailable(f"engine deepsparse failed (exit {proc.returncode}): {tail}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        self.version = out.get("version")
        return out["dense"], out["sparse"]

