#!/usr/bin/env bash
# The main job, from a fresh machine: sets up .venv (tapeflow, NumPy and numba for the
# optional compiled kernels), makes sure a training set is on disk, then trains seed 000's
# CNN (python -m tapeflow.examples.train).
# Extra arguments go to the trainer, e.g. `bash scripts/main.sh --epochs 1 --out runs/x`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
# numba is optional (tapeflow runs on NumPy alone); without a wheel for this platform the
# core install still runs the job.
ensure_venv fast || { echo "numba unavailable: installing tapeflow alone" >&2; ensure_venv; }

# The trainer uses MNIST when its file is in the Keras cache and Fashion-MNIST otherwise.
ensure_dataset

exec .venv/bin/python -m tapeflow.examples.train "$@"
