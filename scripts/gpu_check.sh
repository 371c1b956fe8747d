#!/usr/bin/env bash
# The GPU check (scripts/gpu_check.py: one JSON line per step, a summary, non-zero exit naming
# the first failure). On a GPU machine without a registry it first installs the wheels that
# scripts/gpu_wheels.sh put in .whl/ (or $ACDC_WHEELS) into a scratch site folder; the project
# itself runs from this checkout (PYTHONPATH), so the code checked is the code carried.
#   scripts/gpu_check.sh               on the GPU machine
#   scripts/gpu_check.sh --rehearse    the same steps on the CPU at tiny sizes (the test suite runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${PYTHON:-}" ]; then PY="$PYTHON"; elif [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
WHEELS="${ACDC_WHEELS:-.whl}"
if compgen -G "$WHEELS/*.whl" >/dev/null; then
  SITE="${ACDC_SITE:-/tmp/acdc_gpu_site}"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$WHEELS"/*.whl
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
  echo "gpu_check: installed $(ls "$WHEELS"/*.whl | wc -l) wheels from $WHEELS into $SITE" >&2
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
exec "$PY" scripts/gpu_check.py "$@"
