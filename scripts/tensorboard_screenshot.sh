#!/usr/bin/env bash
# Sets up .venv (tapeflow with its `fast` extra, which includes tensorboard), installs
# Debian's chromium for the headless screenshot, then runs scripts/tensorboard_screenshot.py:
# a short training with keras.callbacks.TensorBoard, the real `tensorboard --logdir` on
# localhost, and PNG screenshots of its page. Extra arguments go to the Python script.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
ensure_venv fast
command -v chromium >/dev/null 2>&1 || apt_install chromium \
  || { echo "chromium could not be installed (apt-get install chromium)" >&2; exit 1; }
exec .venv/bin/python scripts/tensorboard_screenshot.py "$@"
