#!/usr/bin/env bash
# Differential test of our .circ parser/printer against the original rust_circuit.
# One command from the repo root:  scripts/difftest/run.sh [difftest.py options, e.g. --cases 500]
# The original is a development aid only (never a dependency of the project, its tests or CI):
# it is installed into a virtual environment OUTSIDE the repo ($RC_VENV, default /tmp/rc-venv).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${RC_VENV:-/tmp/rc-venv}"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import rust_circuit, torch, numpy' 2>/dev/null; then
  echo "installing rust_circuit==0.4.3 + torch==2.0.1 into $VENV (a few GB, once)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q rust_circuit==0.4.3 torch==2.0.1 "numpy<2"
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target-difftest}"
if ! (cd "$ROOT" && cargo build -q --release -p circuit-cli); then
  if [ -x "$CARGO_TARGET_DIR/release/circ" ]; then
    echo "warning: cargo build failed; testing the EXISTING $CARGO_TARGET_DIR/release/circ" >&2
  else
    exit 1
  fi
fi
cd "$ROOT"
exec "$VENV/bin/python" scripts/difftest/difftest.py --circ "$CARGO_TARGET_DIR/release/circ" "$@"
