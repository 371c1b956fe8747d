"""acdc_bench.inference: the sparse twin and its ONNX export, the FLOPs bound, the CSR Linear, the
timing statistics, the engines' one-line errors, and the project's environment free of DeepSparse's
pins (issue 23). No timings are asserted: speed targets live in scripts/bench_inference.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import tomllib
import torch
from conftest import ROOT, run_cli
from torch import nn

from acdc_bench.inference.engines import build_engine
from acdc_bench.inference.engines.torch_csr import CSRLinear, csr_linears
from acdc_bench.inference.timing import interleaved, median_interval, speedup
from acdc_bench.inference.workload import build_workload
from acdc_bench.sparsity.masks import prunable_layers


def tiny() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(256, 10)).eval()


def image(b: int) -> tuple[torch.Tensor]:
    return (torch.randn(b, 1, 8, 8, generator=torch.Generator().manual_seed(1)),)


def random_masks(model: nn.Module, density: float) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(2)
    return [torch.rand(layer.shape, generator=g) < density for layer in prunable_layers(model)]


def test_sparse_twin_is_zero_where_masked_and_its_onnx_export_matches_torch(tmp_path):
    onnx = pytest.importorskip("onnx")  # the `inference` extra
    from onnx import numpy_helper
    from onnx.reference import ReferenceEvaluator

    model = tiny()
    masks = random_masks(model, 0.2)
    work = build_workload("tiny", model, masks, image, tmp_path)
    for layer, dense_layer, m in zip(work.layers, prunable_layers(work.dense), masks, strict=True):
        assert torch.all(layer.weight[~m] == 0) and torch.equal(layer.weight[m], dense_layer.weight[m])
        assert torch.count_nonzero(dense_layer.weight) == dense_layer.weight.numel()  # the reference is dense
    path = work.onnx("sparse")
    graph = onnx.load(str(path)).graph
    inits = [numpy_helper.to_array(t) for t in graph.initializer]
    for layer, m in zip(work.layers, masks, strict=True):
        # BatchNorm may be folded into the conv (a per-channel scale): zeros stay exact zeros
        same_shape = [w for w in inits if tuple(w.shape) == layer.shape]
        assert any((w[~m.numpy()] == 0).all() for w in same_shape), layer.name
    x = image(3)[0]
    ours = ReferenceEvaluator(str(path)).run(None, {"input0": x.numpy()})[0]
    with torch.no_grad():
        ref = work.sparse(x).numpy()
    # fp32 with another summation order: 1e-5 relative to the outputs' scale
    assert abs(ours - ref).max() <= 1e-5 * max(1.0, abs(ref).max())


def test_flops_bound_counts_only_the_layers_an_engine_runs_sparse(tmp_path):
    model = tiny()
    conv = torch.zeros(4, 1, 3, 3, dtype=torch.bool)
    conv.view(-1)[:18] = True  # density 1/2
    lin = torch.zeros(10, 256, dtype=torch.bool)
    lin.view(-1)[:256] = True  # density 1/10
    work = build_workload("tiny", model, [conv, lin], image, tmp_path)
    assert work.macs == [4 * 8 * 8 * 9, 10 * 256]  # 2304, 2560 per image
    dense = 2304 + 2560
    bound = {name: work.flops_bound(build_engine(name, 1).runs_sparse, build_engine(name, 1).floor)
             for name in ("torch_dense", "torch_csr", "deepsparse", "cuda_24")}
    assert bound["torch_dense"] == pytest.approx(1.0)
    assert bound["torch_csr"] == pytest.approx(dense / (2304 + 256))  # Linear only
    assert bound["deepsparse"] == pytest.approx(dense / (1152 + 256))  # every layer
    assert bound["cuda_24"] == pytest.approx(dense / (2304 + 1280))  # Linear only, at most half skipped


def test_csr_linear_computes_what_the_dense_linear_computes():
    torch.manual_seed(0)
    lin = nn.Linear(64, 32)
    with torch.no_grad():
        lin.weight.mul_(torch.rand_like(lin.weight) < 0.1)
    x = torch.randn(3, 5, 64)
    with torch.no_grad():
        assert torch.allclose(CSRLinear(lin)(x), lin(x), atol=1e-5, rtol=1e-5)
        model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), lin)
        swapped = csr_linears(model)
        assert sum(isinstance(m, CSRLinear) for m in swapped.modules()) == 2
        assert torch.allclose(swapped(x), model(x), atol=1e-5, rtol=1e-5)


def test_rounds_alternate_and_the_median_interval_uses_order_statistics():
    calls = []
    d, s = interleaved(lambda: calls.append("d"), lambda: calls.append("s"), warmup=1, repeats=3)
    assert "".join(calls) == "dssddssd" and len(d) == len(s) == 3
    # n = 20: P(Bin(20, 1/2) <= 5) = 0.0207, so the 6th and 15th smallest cover the median at >= 95%
    assert median_interval([float(v) for v in range(1, 21)]) == (6.0, 15.0)
    assert median_interval([1.0, 2.0, 3.0, 4.0, 5.0]) == (float("-inf"), float("inf"))
    out = speedup([2.0] * 8, [1.0] * 8)
    assert out == {"speedup": 2.0, "speedup_low": 2.0, "speedup_high": 2.0}


def _one_line_error(out: subprocess.CompletedProcess, *words: str) -> None:
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert out.returncode == 2 and len(lines) == 1, out.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_a_missing_deepsparse_is_one_line_naming_the_install_command(tmp_path):
    out = run_cli("task=speedup", "inference=cpu", "inference.engines=[deepsparse]",
                  f"hydra.run.dir={tmp_path}", env={"ACDC_DEEPSPARSE_PYTHON": str(tmp_path / "none")})
    _one_line_error(out, "engine deepsparse", "bash scripts/deepsparse_env.sh")


@pytest.mark.skipif(torch.cuda.is_available(), reason="the no-CUDA error needs a machine without CUDA")
def test_cuda_engines_without_cuda_are_one_line(tmp_path):
    for engine in ("cuda_24", "tensorrt"):
        out = run_cli("task=speedup", "inference=cuda", f"inference.engines=[{engine}]",
                      f"hydra.run.dir={tmp_path}")
        _one_line_error(out, f"engine {engine}", "CUDA")


def test_the_project_environment_is_free_of_deepsparse_and_its_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    reqs = list(project["dependencies"]) + [r for extra in extras for r in extra]
    names = {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower(): r for r in reqs}
    assert "deepsparse" not in names
    assert "<" not in names["numpy"], names["numpy"]  # numpy>=2 stays installable
    assert "<" not in names.get("onnx", ""), names.get("onnx")
    import numpy

    assert int(numpy.__version__.split(".")[0]) >= 2  # and this environment has it


def test_the_deepsparse_runner_imports_no_torch():
    """The runner runs in .venv-deepsparse, which has no torch: its imports must not pull torch in."""
    code = ("import sys, acdc_bench.inference.engines.deepsparse_runner, acdc_bench.inference.timing; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
