#!/usr/bin/env bash
# Sets up .venv (tapeflow plus its test extras: pytest, TensorFlow for parity checks) and
# runs the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv test
# Graphviz's `dot` renders plot_model and tapeflow.debug.to_dot images; their tests skip
# without it.
command -v dot >/dev/null 2>&1 || apt_install graphviz \
  || echo "graphviz not installed: tests that render with dot will skip" >&2
exec .venv/bin/python -m pytest tests tapeflow "$@"
