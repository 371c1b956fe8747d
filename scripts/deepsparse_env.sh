#!/usr/bin/env bash
# Installs DeepSparse 1.8.0 into an environment of its own, .venv-deepsparse (ignored by git).
#
# Why a separate environment: DeepSparse 1.8.0 (the last real release; PyPI's 1.9.0 is an
# end-of-life stub that refuses to install) pins numpy<2 and onnx<1.15, which the project's own
# environment must not inherit. It ships a cp311 manylinux wheel, so it needs Python 3.11.
# acdc-bench calls it only through a subprocess (acdc_bench/inference/engines/deepsparse_runner.py)
# that receives an ONNX file and prints JSON timings.
# Licence: Neural Magic's DeepSparse Community License (evaluation, research and testing use);
# the product is end of life since 2025.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON311:-python3.11}"
VENV=.venv-deepsparse
command -v "$PY" >/dev/null || { echo "deepsparse_env: needs Python 3.11 ($PY not found; set PYTHON311=...)" >&2; exit 1; }
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import deepsparse" 2>/dev/null; then
  echo "deepsparse_env: $VENV already has deepsparse"; exit 0
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "deepsparse==1.8.0" "numpy<2" "onnx<1.15"
"$VENV/bin/python" -c "import deepsparse, numpy; print('deepsparse', deepsparse.__version__, 'numpy', numpy.__version__)"
