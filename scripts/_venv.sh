# Shared set-up: a virtual environment in .venv with tapeflow installed (editable)
# and the optional extras named in $1 (e.g. "test", "bench").
ensure_venv() {
  local extras="${1:-}"
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  local stamp=".venv/.tapeflow-installed-${extras:-core}"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    if [ -n "$extras" ]; then
      .venv/bin/python -m pip install -q -e ".[${extras}]"
    else
      .venv/bin/python -m pip install -q -e .
    fi
    touch "$stamp"
  fi
}
