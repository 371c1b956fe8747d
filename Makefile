# acdc-bench: `make run` runs the default experiment, `make test` the test suite.
# Both first set up whatever is missing (Debian packages, .venv, the project).
VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: setup run test lint clean gpu-check gpu-wheels list

setup:
	@bash scripts/setup.sh

run: setup
	$(VENV)/bin/acdc-bench $(ARGS)

# The suite on TEST_WORKERS pytest-xdist workers (one per core; `--dist loadgroup` keeps each xdist_group on
# one worker); PYTEST_ARGS="-n 0" runs it in one process. Without xdist (ACDC_WHEELS set-up: no dev
# extras) it runs in one process. Evaluated when the recipe runs, after setup.
TEST_WORKERS ?= 2
pytest_workers = $(shell $(PY) -c "import xdist" 2>/dev/null && echo "-n $(TEST_WORKERS) --dist loadgroup")
test: setup
	$(PY) -m pytest $(pytest_workers) $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf runs multirun outputs .pytest_cache

# Every paper artefact: its target, the paper's table or figure, the experiment (and CPU twin), and the
# verdicts of its committed reports (results/<experiment>[_cpu]/table.md): `acdc-bench task=artefacts`.
list: setup
	@$(PY) -m acdc_bench.artefacts list

# The GPU check (README "Checking a GPU machine"): `make gpu-wheels` here, then scripts/gpu_check.sh
# on the GPU machine; `make gpu-check` runs it where you are (--rehearse: on the CPU, tiny sizes).
gpu-wheels:
	bash scripts/gpu_wheels.sh
gpu-check:
	bash scripts/gpu_check.sh $(ARGS)

# ----------------------------------------------------------------------------- paper artefacts
# `make fig3` runs the sweep of conf/experiment/fig3_methods.yaml, then writes its report to
# results/fig3_methods/ (table.md, table.csv, *.png); the sweep's runs are in multirun/<experiment>/
# and rerunning a target resumes unfinished runs and skips finished ones.
#   SCALE=cpu       the CPU twin (fig3_methods_cpu: Fashion-MNIST, small model, short schedules)
#   LAUNCHER=slurm  through SLURM (conf/hydra/launcher/slurm.yaml; ACDC_SLURM_PARTITION=... etc.);
#                   LAUNCHER=local: submitit's local executor (all sweep points at once)
#   SWEEP_ARGS=...  more overrides, e.g. SWEEP_ARGS="dataset.ffcv_train=/data/train.beton dataset.ffcv_val=..."
#   CPU_THREADS=1   torch threads of a SCALE=cpu run: on a shared 2-core machine two OpenMP threads per
#                   process stall each other (a digits epoch: 1.5 s with one thread, 25-50 s with two)
#   SEEDS=N         run seeds 0..N-1 of every config (adds seed=0,...,N-1 to the sweep; the command line
#                   wins over the experiment's own seed list). Unset: the experiment's own seeds (one for
#                   the twins). The report averages each config's seeds and gives every verdict a 95% interval.
# `make report-fig3` only rewrites the report from what is on disk.
SCALE ?=
LAUNCHER ?=
SWEEP_ARGS ?=
CPU_THREADS ?= 1
SEEDS ?=
seed_sweep = $(if $(SEEDS),seed=$(shell seq -s, 0 $$(($(SEEDS) - 1))))
# The targets and their experiments come from the artefact specs (acdc_bench/artefacts/, one per paper
# artefact): make/artefacts.mk defines EXP_<target>, PAPER_TARGETS, ANALYZED (task=analyze with the
# experiment's analysis= between the sweep and the report), SPEEDUP_TARGETS, BEYOND_TARGETS and
# BERT_TARGETS. It is generated: `python -m acdc_bench.artefacts make > make/artefacts.mk`.
include make/artefacts.mk
experiment = $(EXP_$(1))$(if $(filter cpu,$(SCALE)),_cpu)
report_cmd = $(VENV)/bin/acdc-bench task=report sweep_dir=multirun/$(call experiment,$(1)) \
	hydra.run.dir=runs/report/$(call experiment,$(1))
# task=analyze over the sweep with the experiment's analysis settings (resumable: done entries stay)
analyze_cmd = $(if $(filter $(1),$(ANALYZED)),$(if $(filter cpu,$(SCALE)),OMP_NUM_THREADS=$(CPU_THREADS)) \
	$(VENV)/bin/acdc-bench task=analyze experiment=$(call experiment,$(1)) \
	sweep_dir=multirun/$(call experiment,$(1)) hydra.run.dir=runs/analyze/$(call experiment,$(1)) &&)

.PHONY: $(PAPER_TARGETS) $(addprefix report-,$(PAPER_TARGETS))

# The report is written even when some runs failed (it lists them); the target still fails then.
$(PAPER_TARGETS): setup
	$(if $(filter cpu,$(SCALE)),OMP_NUM_THREADS=$(CPU_THREADS)) $(VENV)/bin/acdc-bench -m \
		experiment=$(call experiment,$@) $(if $(LAUNCHER),hydra/launcher=$(LAUNCHER)) \
		$(seed_sweep) $(SWEEP_ARGS); status=$$?; $(call analyze_cmd,$@) $(call report_cmd,$@) && exit $$status

$(addprefix report-,$(PAPER_TARGETS)): setup
	$(call report_cmd,$(patsubst report-%,%,$@))

# ----------------------------------------------------------------------------- issue 25: reproducible results
# `make verify-results` remakes every committed CPU twin report from a clean sweep in a scratch folder
# (VERIFY_DIR, default a new temporary one: its own multirun/, runs/, results/, never yours) by the
# command in the report's provenance section, and compares it with the committed one number by number
# (wall times and provenance aside); it prints what differs and fails on a difference.
#   TARGETS="ast-table1 agree000"   only these (docs/reproducibility.md: which fit a CI-like time)
# `make fingerprints` rewrites results/<twin>/fingerprint.json (the first steps of each twin's first
# sweep point, checked exactly by tests/test_fingerprints.py): only after the reports were remade.
# `make remake-results` remakes the committed twin reports in place, resumably across sessions (hours of
# both cores in all): reports already made by the current training code are skipped, a sweep folder of
# other code is moved aside (never deleted), wall times go to results/remake_times.tsv.
# `make verify-sample` reruns one configuration (all seeds) of each suite part in SAMPLES in a scratch
# folder and compares its rows of the committed table.csv exactly: the suites keep their runs while a
# sample rerun at the current code is identical (docs/reproducibility.md). One part with a chosen point:
#   make verify-sample SAMPLES=scale_study/width POINT="model.width=0.75 +experiment/scale_study/arm=gmp"
TARGETS ?=
VERIFY_DIR ?=
SAMPLES ?= scale_study/width claims/cpu_full_weight_decay
POINT ?=
.PHONY: verify-results fingerprints remake-results verify-sample

remake-results: setup
	$(PY) -m acdc_bench.reports.remake $(TARGETS)

verify-results: setup
	$(PY) -m acdc_bench.reports.verify $(if $(VERIFY_DIR),--scratch $(VERIFY_DIR)) $(TARGETS)

verify-sample: setup
	status=0; for part in $(SAMPLES); do $(PY) -m acdc_bench.reports.sample $$part --jobs $(JOBS) \
		$(foreach p,$(POINT),--point $(p)) $(if $(VERIFY_DIR),--scratch $(VERIFY_DIR)) || status=1; done; \
	exit $$status

fingerprints: setup
	OMP_NUM_THREADS=1 $(PY) -m acdc_bench.fingerprint $(TWINS)

# ----------------------------------------------------------------------------- paper 001 App. F / G
# Beyond top-1 (Sec. 3.9): `make figG2` trains the upstream sweep (dense and 95% AC/DC, 1x/2.5x/10x),
# runs `task=analyze analysis=corruptions` on it and reports ImageNet-C top-1 per corruption;
# `make tableF5` / `make figF1` train (or skip) the same upstream sweep, fine-tune its 1x and 10x
# runs (task=transfer, linear and full) and report AIE / per-task accuracy. SCALE=cpu: the twins.
#   ANALYZE_ARGS=...   e.g. "analysis.source=folder analysis.root=/data/ImageNet-C" (paper scale)
#   TRANSFER_ARGS=...  e.g. "transfer.roots.cifar10=/data/cifar transfer.roots.pets=/data/pets ..."
# Needs the `robustness` extra (imagecorruptions-imaug) for on-the-fly corruptions: `make setup` has it.
ANALYZE_ARGS ?=
TRANSFER_ARGS ?=
cpu_env = $(if $(filter cpu,$(SCALE)),OMP_NUM_THREADS=$(CPU_THREADS))
launcher = $(if $(LAUNCHER),hydra/launcher=$(LAUNCHER))
upstream_sweep = $(cpu_env) $(VENV)/bin/acdc-bench -m experiment=$(call experiment,figG2) $(launcher) \
	$(seed_sweep) $(SWEEP_ARGS)

.PHONY: $(BEYOND_TARGETS) $(addprefix report-,$(BEYOND_TARGETS))

figG2: setup
	$(upstream_sweep); s1=$$?; \
	$(cpu_env) $(VENV)/bin/acdc-bench task=analyze analysis=corruptions \
		sweep_dir=multirun/$(call experiment,figG2) $(ANALYZE_ARGS); s2=$$?; \
	$(call report_cmd,figG2) && exit $$(( s1 || s2 ))

tableF5 figF1: setup
	$(upstream_sweep); s1=$$?; \
	$(cpu_env) $(VENV)/bin/acdc-bench -m experiment=$(call experiment,$@) $(launcher) $(seed_sweep) \
		$(TRANSFER_ARGS); s2=$$?; \
	$(call report_cmd,$@) && exit $$(( s1 || s2 ))

$(addprefix report-,$(BEYOND_TARGETS)): setup
	$(call report_cmd,$(patsubst report-%,%,$@))

# ----------------------------------------------------------------------------- issue 16: claims and scale
# `make claims SCALE=cpu-full` runs the claims suite (conf/experiment/claims/cpu_full_*.yaml: the
# papers' headline statements on full Fashion-MNIST at 28x28, 3 seeds, ~1.5 h on 2 cores) and writes
# results/claims_cpu_full/ (README.md: every statement's verdict and each part's wall time; one folder
# per part with its table.md). `make scale-study` runs conf/experiment/scale_study/*.yaml (~1.8 h) and
# writes results/scale_study/ (README.md, differences.png). Both run JOBS runs at a time, one thread
# each (hydra/launcher=cores), resume unfinished runs and skip finished ones when rerun; the README is
# written from whatever has finished, so an interrupted suite reports what it has.
#   `make report-claims` / `make report-scale-study` only rewrite the reports.
JOBS ?= 2
CLAIMS_cpu-full := methods weight_decay ast
CLAIMS_PARTS = $(CLAIMS_$(or $(SCALE),cpu-full))
CLAIMS_NAME = claims_$(subst -,_,$(or $(SCALE),cpu-full))
# SCALE_STUDY_PARTS: from the scale study's spec (acdc_bench/artefacts/suites.py), in make/artefacts.mk
suite_run = status=0; for part in $(2); do OMP_NUM_THREADS=1 ACDC_JOBS=$(JOBS) $(VENV)/bin/acdc-bench -m \
	experiment=$(1)$$part hydra/launcher=cores $(SWEEP_ARGS) || status=1; done
.PHONY: claims report-claims scale-study report-scale-study

claims: setup
	@test -n "$(CLAIMS_PARTS)" || { echo "make claims: SCALE=$(SCALE) has no claims suite (SCALE=cpu-full)" >&2; exit 2; }
	$(call suite_run,claims/$(CLAIMS_NAME:claims_%=%)_,$(CLAIMS_PARTS)); \
	$(PY) -m acdc_bench.reports.suite claims results/$(CLAIMS_NAME) \
		$(addprefix multirun/$(CLAIMS_NAME)/,$(CLAIMS_PARTS)) && exit $$status

report-claims: setup
	$(PY) -m acdc_bench.reports.suite claims results/$(CLAIMS_NAME) $(addprefix multirun/$(CLAIMS_NAME)/,$(CLAIMS_PARTS))

scale-study: setup
	$(call suite_run,scale_study/,$(SCALE_STUDY_PARTS)); \
	$(PY) -m acdc_bench.reports.suite scale results/scale_study \
		$(addprefix multirun/scale_study/,$(SCALE_STUDY_PARTS)) && exit $$status

report-scale-study: setup
	$(PY) -m acdc_bench.reports.suite scale results/scale_study $(addprefix multirun/scale_study/,$(SCALE_STUDY_PARTS))

# ----------------------------------------------------------------------------- paper 001 Sec. 4 (BERT)
# Sparse transfer of BERT on GLUE (needs the `text` extra: `make setup` has it). `make table6` / `table7` /
# `fig11` / `fig12` run at paper scale from Hugging Face checkpoints (bert-base-uncased, oBERT's 90% sparse
# upstream) and GLUE through `datasets` (HF_HUB_OFFLINE=1 / HF_DATASETS_OFFLINE=1: the local cache only).
# SCALE=cpu: bert_tiny on the offline corpus; its upstream models (masked-LM pre-training, dense and GMP
# to 90%: `make bert-pretrain-cpu`, conf/experiment/bert_pretrain_cpu.yaml) are trained first when missing.
BERT_UPSTREAM_CPU := multirun/bert_pretrain_cpu/gmp/summary.json

.PHONY: $(BERT_TARGETS) $(addprefix report-,$(BERT_TARGETS)) bert-pretrain-cpu

$(BERT_TARGETS): setup $(if $(filter cpu,$(SCALE)),$(BERT_UPSTREAM_CPU))
	$(cpu_env) $(VENV)/bin/acdc-bench -m experiment=$(call experiment,$@) $(launcher) \
		$(seed_sweep) $(SWEEP_ARGS); status=$$?; $(call report_cmd,$@) && exit $$status

$(addprefix report-,$(BERT_TARGETS)): setup
	$(call report_cmd,$(patsubst report-%,%,$@))

bert-pretrain-cpu: $(BERT_UPSTREAM_CPU)

$(BERT_UPSTREAM_CPU): | setup
	OMP_NUM_THREADS=$(CPU_THREADS) $(VENV)/bin/acdc-bench -m experiment=bert_pretrain_cpu $(launcher)

# ----------------------------------------------------------------------------- issue 23: measured speed-ups
# task=speedup (acdc_bench/inference/): a sparse model against its dense twin on real engines.
# `make deepsparse-env` installs DeepSparse 1.8.0 into .venv-deepsparse (its own environment: it pins
# numpy<2 and onnx<1.15; licence: evaluation/testing use, end of life). `make cost000`: paper 000's
# training-FLOPs and CPU speed-up claims (ResNet-50, AC/DC vs GMP vs RigL at 80/90/95%; SCALE=cpu: the
# torch-engine twin, ~1 min); `make ast-table4-speed`: paper 002 Table 4's inference-time row for its N:M
# sub-nets. `make bench-inference`: scripts/bench_inference.py (ResNet-50 and BERT-base, targets).
# (cost000 and ast-table4-speed are PAPER_TARGETS and SPEEDUP_TARGETS: make/artefacts.mk)
.PHONY: deepsparse-env bench-inference
deepsparse-env:
	@bash scripts/deepsparse_env.sh
$(SPEEDUP_TARGETS): $(if $(filter cpu,$(SCALE)),,deepsparse-env)
bench-inference: setup deepsparse-env
	$(PY) scripts/bench_inference.py $(BENCH_ARGS)
