# Sourced by scripts/*: make sure .venv exists and holds what pyproject.toml asks for.
# Reinstalls only when pyproject.toml changed since the last install (a stamp records its hash).

ensure_venv() {
  local extras=${1:-}
  local python=${PYTHON:-python3}
  if ! command -v "$python" >/dev/null 2>&1; then
    echo "atrium: $python not found; install Python 3.11 or newer" >&2
    exit 1
  fi
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "atrium: Python 3.11 or newer is needed ($("$python" --version 2>&1) found)" >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv" >&2
    "$python" -m venv .venv || { echo "atrium: could not create a virtualenv (on Debian: apt-get install python3-venv)" >&2; exit 1; }
  fi
  local want have
  want="$(sha256sum pyproject.toml | cut -d' ' -f1)-${extras}"
  have="$(cat .venv/.atrium-installed 2>/dev/null || true)"
  # An install with the test extras also serves a plain run.
  if [ "$have" != "$want" ] && { [ -n "$extras" ] || [ "$have" != "${want}test" ]; }; then
    echo "==> installing Atrium${extras:+ with [$extras]} into .venv" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras:+[$extras]}" \
      || { echo "atrium: pip install failed (see above)" >&2; exit 1; }
    echo "$want" > .venv/.atrium-installed
  fi
}
