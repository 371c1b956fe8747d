# acdc-bench: `make run` runs the default experiment, `make test` the test suite.
# Both first set up whatever is missing (Debian packages, .venv, the project).
VENV := .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: setup run test lint clean

setup:
	@bash scripts/setup.sh

run: setup
	$(VENV)/bin/acdc-bench $(ARGS)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf runs multirun outputs .pytest_cache

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
EXP_fig1 := fig1_undertraining
EXP_fig2 := fig2_celeba
EXP_fig3 := fig3_methods
EXP_fig7 := fig7_mask_iou
EXP_table1 := table1_rn50
EXP_table2 := table2_mobilenet
EXP_table4 := table4_weight_decay
EXP_table5 := table5_decompression
EXP_ast-table1 := ast_table1_relations
EXP_ast-table2 := ast_table2_cifar
EXP_ast-table3 := ast_table3_imagenet
EXP_ast-table4 := ast_table4_nm
EXP_ast-table5 := ast_table5_subnets
PAPER_TARGETS := fig1 fig2 fig3 fig7 table1 table2 table4 table5 ast-table1 ast-table2 ast-table3 ast-table4 ast-table5
experiment = $(EXP_$(1))$(if $(filter cpu,$(SCALE)),_cpu)
report_cmd = $(VENV)/bin/acdc-bench task=report sweep_dir=multirun/$(call experiment,$(1)) \
	hydra.run.dir=runs/report/$(call experiment,$(1))

.PHONY: $(PAPER_TARGETS) $(addprefix report-,$(PAPER_TARGETS))

# The report is written even when some runs failed (it lists them); the target still fails then.
$(PAPER_TARGETS): setup
	$(if $(filter cpu,$(SCALE)),OMP_NUM_THREADS=$(CPU_THREADS)) $(VENV)/bin/acdc-bench -m \
		experiment=$(call experiment,$@) $(if $(LAUNCHER),hydra/launcher=$(LAUNCHER)) \
		$(seed_sweep) $(SWEEP_ARGS); status=$$?; $(call report_cmd,$@) && exit $$status

$(addprefix report-,$(PAPER_TARGETS)): setup
	$(call report_cmd,$(patsubst report-%,%,$@))
