"""Measured inference speed-ups of sparse ResNet-50 and BERT-base (issue 23; not a timed test).

ResNet-50 at 224 px (batch 1 and 64) on DeepSparse, the CPU engine the papers cite, and BERT-base's
encoder at sequence length 128 (batch 1) on the open engine, torch's CSR Linear layers; each at 90%
and 95% sparsity with global and uniform magnitude masks on fresh weights (speed depends on where
the zeros are, not on trained values). Every line: median latency of the dense and the sparse twin,
the speed-up with its 95% interval over interleaved rounds, the FLOPs bound on the layers the
engine runs sparse, and the share of it reached. Then two `targets:` lines:
  ResNet-50 at 95% >= 2.5x on DeepSparse (every mask and batch size),
  BERT-base's encoder linear layers at 90% >= 3x on torch CSR (every mask; the Linear layers timed
  on their own, at their inputs' shapes; the whole encoder is printed beside).
Run on an idle machine: `make bench-inference` or `python scripts/bench_inference.py` (about
5-8 min on 2 cores; --quick: small models and one sparsity, a rehearsal in about a minute).
Threads: torch's (OMP_NUM_THREADS), passed to DeepSparse as its core count.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acdc_bench.inference.engines import build_engine  # noqa: E402
from acdc_bench.inference.measure import measure, table  # noqa: E402
from acdc_bench.inference.workload import build_workload  # noqa: E402
from acdc_bench.sparsity.distributions import DistributionSettings  # noqa: E402
from acdc_bench.sparsity.masks import prunable_layers  # noqa: E402

RESNET_TARGET, BERT_TARGET = 2.5, 3.0


def masks_for(model: nn.Module, distribution: str, sparsity: float) -> list[torch.Tensor]:
    """Magnitude masks of the project's distributions (global: one threshold; uniform: every layer at the
    target, first and last dense), as task=summary makes them."""
    from omegaconf import OmegaConf

    conf = OmegaConf.load(ROOT / "conf" / "distribution" / f"{distribution}.yaml")
    layers = prunable_layers(model)
    dist = DistributionSettings.read(OmegaConf.create({"distribution": conf})).build(layers)
    out = [torch.empty(layer.shape, dtype=torch.bool) for layer in layers]
    dist.select_magnitude([layer.weight.detach() for layer in layers], dist.target(sparsity), out)
    return out


def resnet50(quick: bool) -> tuple[nn.Module, int]:
    import timm

    return timm.create_model("resnet18" if quick else "resnet50", num_classes=1000), 64 if quick else 224


class EncoderLinears(nn.Module):
    """The encoder's Linear layers alone, each on an input of its own width (B x seq x in_features):
    what ``the encoder's linear layers`` costs without attention, softmax, GELU and LayerNorm."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.linears = nn.ModuleList(m for m in encoder.modules() if type(m) is nn.Linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        wide = {x.shape[-1]: x}
        total = x.new_zeros(())
        for lin in self.linears:
            if lin.in_features not in wide:
                k = lin.in_features // x.shape[-1] + 1
                wide[lin.in_features] = x.repeat(1, 1, k)[..., :lin.in_features]
            total = total + lin(wide[lin.in_features])[..., 0].sum()
        return total


def bert(quick: bool) -> nn.Module:
    from transformers import BertConfig, BertModel

    size = dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512)
    size = size if quick else {}
    return BertModel(BertConfig(**size), add_pooling_layer=False).eval()


def run(name, model, example, engine, batches, sparsity, distribution, args, work_root):
    torch.manual_seed(0)
    masks = masks_for(model, distribution, sparsity)
    work = build_workload(f"{name}_{distribution}_{int(sparsity * 100)}", model, masks, example,
                          work_root / name)
    eng = build_engine(engine, torch.get_num_threads(), {"vocab_size": 30522})
    eng.check()
    rows = measure(work, [eng], batches, args.warmup, args.repeats, log=lambda m: None)
    for r in rows:
        r.update(model=name, distribution=distribution, sparsity=sparsity)
    shown = [{**r, "engine": f"{name} {engine} {distribution} {sparsity:.0%}"} for r in rows]
    print(table(shown), flush=True)  # as it goes: a long run shows what it has
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="ResNet-18 at 64 px, a 2-block BERT, 95%/90% only")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--workdir", default=str(ROOT / "runs" / "bench_inference"))
    p.add_argument("--only", choices=("resnet50", "bert"), help="one model (the other target is skipped)")
    args = p.parse_args()
    work_root = Path(args.workdir)
    threads = torch.get_num_threads()
    print(f"threads: {threads}  torch {torch.__version__}  (fresh weights: speed depends on the masks, "
          "not the values)")
    rn_sparsities, bert_sparsities = ([0.95], [0.9]) if args.quick else ([0.9, 0.95], [0.9, 0.95])
    rows_rn, rows_bert, rows_lin = [], [], []
    torch.manual_seed(0)
    model, res = resnet50(args.quick)
    model.eval()
    image = lambda b: (torch.randn(b, 3, res, res, generator=torch.Generator().manual_seed(0)),)  # noqa: E731
    for s in rn_sparsities if args.only != "bert" else ():
        for dist in ("global", "uniform"):
            rows_rn += run("resnet50", model, image, "deepsparse", (1, 64), s, dist, args, work_root)
    torch.manual_seed(0)
    enc = bert(args.quick)
    seq = 128
    gen = torch.Generator
    ids = lambda b: (torch.randint(0, enc.config.vocab_size, (b, seq), generator=gen().manual_seed(0)),)  # noqa: E731
    lin = EncoderLinears(enc.encoder)
    hidden = lambda b: (torch.randn(b, seq, enc.config.hidden_size, generator=gen().manual_seed(0)),)  # noqa: E731
    for s in bert_sparsities if args.only != "resnet50" else ():
        for dist in ("global", "uniform"):
            rows_bert += run("bert_encoder", enc, ids, "torch_csr", (1,), s, dist, args, work_root)
            rows_lin += run("bert_linears", lin, hidden, "torch_csr", (1,), s, dist, args, work_root)
    print("\nall (bert_linears: the encoder's Linear layers timed alone, at their inputs' shapes)")
    print(table([{**r, "engine": f"{r['model']} {r['engine']} {r['distribution']} {r['sparsity']:.0%}"}
                 for r in rows_rn + rows_bert + rows_lin]))
    rn = [r for r in rows_rn if abs(r["sparsity"] - 0.95) < 1e-9]
    bl = [r for r in rows_lin if abs(r["sparsity"] - 0.9) < 1e-9]
    for label, rows, target in ((f"ResNet-50 at 95% on DeepSparse >= {RESNET_TARGET}x", rn, RESNET_TARGET),
                                (f"BERT-base encoder linear layers at 90% on torch CSR >= {BERT_TARGET}x", bl,
                                 BERT_TARGET)):
        parts = ", ".join(f"{r['distribution']} b{r['batch']} {r['speedup']:.2f}x "
                          f"(bound {r['flops_bound']:.2f}x)" for r in rows)
        if not rows:
            continue
        met = all(r["speedup"] >= target for r in rows)
        note = " (--quick: not the target sizes)" if args.quick else ""
        print(f"targets: {label}: {parts} -> {'met' if met else 'NOT met'}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
