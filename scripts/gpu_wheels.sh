#!/usr/bin/env bash
# Fills an ignored folder (default .whl/) with the pure-Python wheels the GPU machine lacks, for
# its Python 3.12 (manylinux x86-64), so that scripts/gpu_check.sh installs them there without a
# registry. That machine already has torch 2.11 (CUDA 13), torchvision, timm, numpy, scipy,
# scikit-learn, matplotlib, tqdm, transformers, numba, onnx and onnxruntime (the device tool's
# KINDS.md); these are what acdc-bench needs besides. Run it where pip reaches a registry.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${1:-.whl}"
PY="${PYTHON:-python3}"
LIMIT_MIB=16  # the working tree that travels may hold 64 MiB in all
PKGS=(hydra-core==1.3.8 omegaconf==2.3.1 hydra-submitit-launcher==1.2.0 submitit==1.5.4
      hydra-joblib-launcher==1.2.0)
mkdir -p "$DIR"
rm -f "$DIR"/*.whl
# PIP_CONSTRAINT: this machine's pip caps torch; nothing here is torch, but the cap must not apply.
PIP_CONSTRAINT=/dev/null "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -d "$DIR" "${PKGS[@]}"
# omegaconf 2.3 needs antlr4-python3-runtime 4.9.*, published as a source distribution only:
# built here into a pure-Python wheel (py3-none-any), which installs anywhere.
PIP_CONSTRAINT=/dev/null "$PY" -m pip wheel -q --no-deps -w "$DIR" antlr4-python3-runtime==4.9.3
ls -l "$DIR"/*.whl | awk '{printf "%10d  %s\n", $5, $NF}'
total=$(du -cb "$DIR"/*.whl | tail -1 | cut -f1)
echo "gpu_wheels: $(ls "$DIR"/*.whl | wc -l) wheels, $total bytes in $DIR"
if [ "$total" -gt $((LIMIT_MIB * 1024 * 1024)) ]; then
  echo "gpu_wheels: $DIR holds more than $LIMIT_MIB MiB; the device tool carries 64 MiB in all" >&2
  exit 1
fi
