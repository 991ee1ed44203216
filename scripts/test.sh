#!/usr/bin/env bash
# Sets up .venv (tapeflow plus its test extras: pytest, TensorFlow for parity checks) and
# runs the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv test
# The end-to-end tests train on the real Fashion-MNIST files.
ensure_dataset
exec .venv/bin/python -m pytest tests tapeflow "$@"
