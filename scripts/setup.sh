#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: system packages, .venv, the project.
# Called by `make setup` (and therefore by `make run` and `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES="pkg-config libopencv-dev libturbojpeg0-dev dataset-fashion-mnist"
PY="${PYTHON:-python3}"
VENV=.venv
STAMP="$VENV/.acdc-bench-installed"

missing=""
for p in $DEB_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
    echo "setup: installing Debian packages with sudo:$missing"
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "setup: cannot install system packages here (no apt-get or no root)." >&2
    echo "setup: please install:$missing  (Debian/Ubuntu: apt-get install -y$missing)" >&2
    exit 1
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PY" -m venv "$VENV"
fi

# Reinstall when the dependency list (pyproject.toml) or this script changed since the last install.
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d" " -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "setup: installing torch, torchvision and acdc-bench[ffcv,wandb,dev,robustness,text,inference] into $VENV"
  pip() { "$VENV/bin/python" -m pip "$@" 2>&1 | grep -v "^WARNING: Location 'file:" || true; }
  pip install -q --upgrade pip
  # torch and torchvision first, pinned: they install from this machine's local disk.
  pip install -q torch==2.14.1 torchvision==0.29.1
  pip install -q -e '.[ffcv,wandb,dev,robustness,text,inference]'
  "$VENV/bin/python" -c "import torch, torchvision, hydra, acdc_bench" || {
    echo "setup: the installation into $VENV is incomplete (see pip's messages above)" >&2; exit 1; }
  echo "$want" > "$STAMP"
fi
