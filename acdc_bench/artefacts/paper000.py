"""Paper 000 (Peste et al. 2021, AC/DC), Sec. 1: the introduction's statements, which give no
numbers or setting: co-trained sparse/dense pairs agree more than post-training-pruned ones
(``agree000``), memorization of corrupted labels by phase (``mem000``), and the training-FLOPs
and CPU speed-up claims measured with ``task=speedup`` (``cost000``, issue 23)."""

from __future__ import annotations

from acdc_bench.artefacts.checks import Band, Exceeds, IntervalAbove
from acdc_bench.artefacts.spec import ANALYZED, SPEEDUP, SWEEP, Artefact, Claim

AGREE000 = Artefact(
    name="agree000", target="agree000", paper="000", label="Sec. 1", kind=ANALYZED,
    title="Paper 000, Sec. 1: sample-level agreement of co-trained vs post-training-pruned pairs",
    setup="The introduction states the finding without numbers or setting.",
    claims=(Claim("Co-trained sparse/dense pairs agree on more samples than a dense model and its "
                  "post-training-pruned copy (co_trained/agreement > post_training/agreement)",
                  "000 Sec. 1",
                  Exceeds(a="@agreement:co_trained/agreement", b="@agreement:post_training/agreement",
                          by="method.name", a_at="acdc", b_at="dense")),))
MEM000 = Artefact(
    name="mem000", target="mem000", paper="000", label="Sec. 1, Fig. 2b", kind=SWEEP,
    title="Paper 000, Sec. 1 and Fig. 2b: memorization of corrupted labels in dense and sparse phases",
    setup="The introduction states the finding without numbers or setting.",
    claims=(Claim("In sparse phases the corrupted samples are classified as their true class more often, in "
                  "dense phases as their corrupted label (mem_true / mem_corrupted by phase)",
                  "000 Sec. 1",  # per seed: the mean over the phase's epochs
                  Exceeds(pairs=[
                      {"a": "mem_true", "b": "mem_corrupted", "rows": {"stage": "compression"}},
                      {"a": "mem_corrupted", "b": "mem_true", "rows": {"stage": "decompression"}}])),))
COST000 = Artefact(
    name="cost000", target="cost000", paper="000", label="Sec. 1", kind=SPEEDUP,
    title="Paper 000, Sec. 1: training FLOPs and CPU inference speed-ups of AC/DC (vs GMP and RigL)",
    setup=("ResNet-50 / ImageNet at 224 px, 80/90/95%. The paper states the two claims without a table here "
           "(its speed-ups are DeepSparse's on CPUs [12]); ours: the schedule's training FLOPs fraction "
           "(task=summary) and DeepSparse 1.8 on fresh weights with magnitude masks."),
    claims=(
        Claim("AC/DC usually reduces training FLOPs to 45-65% of the dense baseline (each AC/DC sparsity's "
              "training_flops_fraction in [0.45, 0.65]; computed from the schedule, no spread)", "000 Sec. 1",
              Band(metric="training_flops_fraction", low=0.45, high=0.65, where={"method.name": "acdc"})),
        Claim("AC/DC's models run faster than dense on a CPU (DeepSparse, batch 1: every run's 95% interval "
              "of the median speed-up over interleaved rounds above 1)", "000 Sec. 1",
              IntervalAbove(metric="speedup_deepsparse_b1", threshold=1.0, where={"method.name": "acdc"})),
    ),
    notes=("The paper gives no per-sparsity numbers for either claim in its introduction.",
           "AC/DC and GMP share one global magnitude mask per sparsity here (fresh weights, same seed): "
           "their speed-ups are two measurements of the same model."),
)


ARTEFACTS = (AGREE000, MEM000, COST000)
