# Shared set-up: a virtual environment in .venv with tapeflow installed (editable)
# and the optional extras named in $1 (e.g. "test", "bench").

# Runs apt-get as root (directly, or through sudo when available); fails if neither.
_apt_get() {
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo DEBIAN_FRONTEND=noninteractive apt-get "$@"
  else
    return 1
  fi
}

# Installs Debian packages ($@), running `apt-get update` once first. Returns non-zero when
# apt is not available or the install fails, so callers can fall back.
apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  if [ -z "${_TAPEFLOW_APT_UPDATED:-}" ]; then
    echo "apt-get update ..." >&2
    _apt_get update -qq || return 1
    _TAPEFLOW_APT_UPDATED=1
  fi
  echo "apt-get install $* ..." >&2
  _apt_get install -y -qq "$@" >/dev/null || return 1
}

# Open MPI (mpirun, and the headers mpi4py builds against) for tf.distribute's
# MultiWorkerMirroredStrategy; must come before `ensure_venv` installs mpi4py. Without
# apt, the multi-worker tests skip.
ensure_mpi() {
  if ! command -v mpicc >/dev/null 2>&1 || ! command -v mpirun >/dev/null 2>&1; then
    apt_install openmpi-bin libopenmpi-dev \
      || echo "Open MPI not installed: multi-worker tests will skip" >&2
  fi
}

ensure_venv() {
  local extras="${1:-}"
  if [ ! -x .venv/bin/python ]; then
    # Debian/Ubuntu ship venv's pip bootstrap separately (python3-venv).
    if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
      local ver
      ver="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
      apt_install "python${ver}-venv" || apt_install python3-venv || {
        echo "python3 cannot create virtual environments; install python3-venv" >&2
        return 1
      }
    fi
    python3 -m venv .venv
  fi
  local stamp=".venv/.tapeflow-installed-${extras:-core}"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "installing tapeflow${extras:+[$extras]} into .venv (first run only) ..." >&2
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    if [ -n "$extras" ]; then
      .venv/bin/python -m pip install -q -e ".[${extras}]"
    else
      .venv/bin/python -m pip install -q -e .
    fi
    touch "$stamp"
  fi
}

# Makes sure a training set is on disk: MNIST in the Keras cache, or Fashion-MNIST from
# Debian's dataset-fashion-mnist package (installed with apt when missing). Without apt, the
# dataset loader downloads the files itself on first use and checks them.
ensure_dataset() {
  local keras_home="${KERAS_HOME:-$HOME/.keras}"
  if [ ! -e "$keras_home/datasets/mnist.npz" ] \
     && [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] \
     && [ ! -e "$keras_home/datasets/fashion-mnist/train-images-idx3-ubyte.gz" ]; then
    apt_install dataset-fashion-mnist \
      || echo "dataset-fashion-mnist not installed via apt; the loader will download it" >&2
  fi
}
