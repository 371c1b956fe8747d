"""The claims suite (``make claims SCALE=cpu-full``, conf/experiment/claims/): the papers'
headline statements at the largest CPU scale, each checked on 3 seeds; and the scale study
(``make scale-study``, conf/experiment/scale_study/), one spec naming its parts (the Makefile's
``SCALE_STUDY_PARTS`` and the catalogue's row come from it; its README writer checks each
part). The statements are the papers' own: the ones a paper artefact already states are that
artefact's claims (taken from its spec, not written again); the rest cite their source as every
claim does."""

from __future__ import annotations

from acdc_bench.artefacts.checks import BestAmong, GainGrows, Monotone
from acdc_bench.artefacts.paper001_vision import FIG3, TABLE4
from acdc_bench.artefacts.paper002 import AST_TABLE1, AST_TABLE2
from acdc_bench.artefacts.spec import SUITE, Artefact, Claim

CLAIMS_METHODS = Artefact(
    name="claims_methods", target=None, paper="001", label="claims suite", kind=SUITE,
    experiment="claims/cpu_full_methods", twin=False, reports=("claims_cpu_full/methods",),
    title="Claims suite: AC/DC vs GMP vs RigL, full Fashion-MNIST, 5 and 10 epochs, 3 seeds",
    setup="resnet20_lite, full Fashion-MNIST at 28x28, 234 steps per epoch, 1-epoch AC/DC phases.",
    claims=(FIG3.claims[0], FIG3.claims[1], FIG3.claims[3],
            Claim("Sparse models are under-trained: top-1 rises with the budget for every method and "
                  "sparsity", "001 Sec. 3.2", Monotone(metric="val_top1", along="epochs", direction=1)),
            Claim("... and more so at higher sparsity: the gain from 5 to 10 epochs is larger at 95% than at "
                  "90%, for every method", "001 Sec. 3.2, Fig. 1",
                  GainGrows(metric="val_top1", along="epochs", by="sparsity", low=0.9, high=0.95)),
            Claim("AC/DC explores masks more: the lowest mean IoU of masks at the ends of consecutive "
                  "compression phases", "001 Sec. 3.5, Fig. 7",
                  BestAmong(metric="mean_mask_iou", by="method.name", expect="acdc", lower=True,
                            where={"epochs": 10})),
            Claim("Sparser models have higher validation entropy (90% -> 95%)", "001 Sec. 3.2.1, Fig. 1",
                  Monotone(metric="val_entropy", along="sparsity", direction=1))),
)
CLAIMS_WEIGHT_DECAY = Artefact(
    name="claims_weight_decay", target=None, paper="001", label="claims suite", kind=SUITE,
    experiment="claims/cpu_full_weight_decay", twin=False,
    reports=("claims_cpu_full/weight_decay",),
    title="Claims suite: zeros during decompression vs weight decay (AC/DC 95%, 5 epochs, 3 seeds)",
    setup="resnet20_lite, full Fashion-MNIST at 28x28, one 234-step decompression phase.",
    claims=(TABLE4.claims[1],),
)
CLAIMS_AST = Artefact(
    name="claims_ast", target=None, paper="002", label="claims suite", kind=SUITE,
    experiment="claims/cpu_full_ast", twin=False, reports=("claims_cpu_full/ast",),
    title="Claims suite: AST-GC vs AST and ND vs CS (sub-nets 90/95/98%, 5 epochs, 3 seeds)",
    setup="resnet20_lite, full Fashion-MNIST at 28x28, global with the first layer dense, dense start.",
    claims=(AST_TABLE2.claims[0], AST_TABLE1.claims[0]),
)

SCALE_STUDY_PARTS = ("length", "phase", "weight_decay", "acdc_settings", "width", "distribution",
                     "width_wide", "width_erk")
SCALE_STUDY = Artefact(
    name="scale_study", target=None, paper="001", label="scale study", kind=SUITE,
    experiment="scale_study/base", twin=False,
    reports=tuple(f"scale_study/{p}" for p in SCALE_STUDY_PARTS),
    title="Scale study: where does AC/DC overtake GMP and RigL? (`make scale-study`)",
    setup="resnet20_lite, full Fashion-MNIST at 14x14, 95%, 3 seeds; one factor per part (conf/experiment/"
          "scale_study/). Each part's verdict is written by the study's README writer "
          "(reports/scale_verdicts.py): paper 001 Fig. 3's ordering at each value the part varies.",
    claims=(FIG3.claims[0],),  # AC/DC reaches the highest top-1 of the three methods, asked at 95% per part
)

ARTEFACTS = (CLAIMS_METHODS, CLAIMS_WEIGHT_DECAY, CLAIMS_AST, SCALE_STUDY)
