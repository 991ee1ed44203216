#!/usr/bin/env bash
# Sets up .venv (tapeflow plus its test extras: pytest, ruff, TensorFlow for parity checks),
# checks the code with ruff and runs the whole test suite (tests/ and the doctests in
# tapeflow/, see pyproject.toml). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
# Open MPI before the venv: pip builds mpi4py (extra `test`) against its mpicc.
ensure_mpi
ensure_venv test
# The end-to-end tests train on the real Fashion-MNIST files.
ensure_dataset
# Graphviz's `dot` renders plot_model and tapeflow.debug.to_dot images; their tests skip
# without it.
command -v dot >/dev/null 2>&1 || apt_install graphviz \
  || echo "graphviz not installed: tests that render with dot will skip" >&2
.venv/bin/python -m ruff check tapeflow tests bench examples
exec .venv/bin/python -m pytest "$@"
