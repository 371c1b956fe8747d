#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine: system packages, .venv, the project.
# Called by `make setup` (and therefore by `make run` and `make test`).
#
# On a machine without a package registry whose Python already has a suitable torch (a GPU
# node's image): ACDC_WHEELS=<folder of wheels> makes .venv see the system's packages
# (--system-site-packages), skips the pinned torch and the Debian packages, and installs the
# project and what it lacks from that folder alone (pip --no-index; scripts/gpu_wheels.sh fills
# one). pip's errors stop set-up in either mode.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS="${ACDC_WHEELS:-}"

DEB_PACKAGES="pkg-config libopencv-dev libturbojpeg0-dev dataset-fashion-mnist"
PY="${PYTHON:-python3}"
VENV=.venv
STAMP="$VENV/.acdc-bench-installed"

missing=""
for p in $DEB_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ] && [ -n "$WHEELS" ]; then
  echo "setup: ACDC_WHEELS set: not installing Debian packages (missing:$missing; FFCV cannot be built and" \
    "the Fashion-MNIST package is absent)" >&2
elif [ -n "$missing" ]; then
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
  if [ -n "$WHEELS" ]; then
    "$PY" -m venv --system-site-packages "$VENV"  # the machine's torch, numpy, ...
  else
    "$PY" -m venv "$VENV"
  fi
fi

# Reinstall when the dependency list (pyproject.toml), this script or the mode changed since the last install.
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d" " -f1)${WHEELS:+-wheels}"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  # pip's output without the noise of this machine's file:// index; pip's own exit status.
  pip() {
    "$VENV/bin/python" -m pip "$@" 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
    return "${PIPESTATUS[0]}"
  }
  fail() { echo "setup: pip failed ($1); nothing was marked installed, fix the cause and run again" >&2; exit 1; }
  if [ -n "$WHEELS" ]; then
    [ -d "$WHEELS" ] || { echo "setup: ACDC_WHEELS=$WHEELS is not allowed; expected a folder of wheels" >&2; exit 1; }
    "$VENV/bin/python" -c "import torch" 2>/dev/null || {
      echo "setup: ACDC_WHEELS=$WHEELS needs a Python whose torch imports (PYTHON=$PY has none)" >&2; exit 1; }
    echo "setup: installing acdc-bench into $VENV from $WHEELS only (torch: $("$VENV/bin/python" -c \
      'import torch; print(torch.__version__)'))"
    pip install -q --no-index --find-links "$WHEELS" --no-build-isolation -e . || fail "the project from $WHEELS"
  else
    echo "setup: installing torch, torchvision and acdc-bench[ffcv,wandb,dev,robustness,text,inference] into $VENV"
    pip install -q --upgrade pip || fail "upgrading pip"
    # torch and torchvision first, pinned: they install from this machine's local disk.
    pip install -q torch==2.14.1 torchvision==0.29.1 || fail "torch==2.14.1 torchvision==0.29.1"
    pip install -q -e '.[ffcv,wandb,dev,robustness,text,inference]' || fail "the project and its extras"
  fi
  "$VENV/bin/python" -c "import torch, torchvision, hydra, acdc_bench" || {
    echo "setup: the installation into $VENV is incomplete (see pip's messages above)" >&2; exit 1; }
  echo "$want" > "$STAMP"
fi
