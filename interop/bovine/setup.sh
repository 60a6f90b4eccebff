#!/usr/bin/env bash
# Create (or bring up to date) interop/bovine/.venv: bovine + fediverse-pasture in a
# virtualenv of their own, with bovine's JSON-LD context cache seeded from Atrium's bundled
# contexts. Idempotent: does nothing when requirements.txt and the seed script are unchanged
# since the last successful run (a stamp in .venv records their hash).
#
#   interop/bovine/setup.sh            # uses python3, and Atrium's .venv/bin/python to seed
#   INTEROP_PYTHON=python3.12 ATRIUM_PYTHON=/path/to/python interop/bovine/setup.sh
#
# Needs only PyPI (through pip); nothing else is fetched, ever.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
python="${INTEROP_PYTHON:-python3}"
atrium_python="${ATRIUM_PYTHON:-$root/.venv/bin/python}"

say() { echo "interop/bovine: $*" >&2; }

if ! command -v "$python" >/dev/null 2>&1; then
  say "$python not found; bovine needs Python 3.11 or newer"; exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  say "Python 3.11 or newer is needed ($("$python" --version 2>&1) found)"; exit 1
fi
if [ ! -x "$atrium_python" ]; then
  say "Atrium's Python ($atrium_python) is missing: run scripts/test or scripts/quickstart first, or set ATRIUM_PYTHON"; exit 1
fi

mkdir -p "$venv"
# One setup at a time (a test run and a developer may both call this).
exec 9>"$venv/.setup.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

want="$(cat "$here/requirements.txt" "$here/seed_jsonld_cache.py" | sha256sum | cut -d' ' -f1)"
have="$(cat "$venv/.installed" 2>/dev/null || true)"
if [ "$have" = "$want" ] && [ -x "$venv/bin/python" ] && [ -s "$venv/bovine_jsonld_cache.sqlite" ]; then
  exit 0
fi

rm -f "$venv/.installed"
if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv"
  "$python" -m venv "$venv" || { say "could not create a virtualenv (on Debian: apt-get install python3-venv)"; exit 1; }
fi
say "installing bovine and fediverse-pasture into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" \
  || { say "pip install failed (see above)"; exit 1; }
"$venv/bin/python" -m pip check >/dev/null || say "warning: pip check reports conflicts: $("$venv/bin/python" -m pip check 2>&1 | tr '\n' ' ')"

say "seeding bovine's JSON-LD cache from Atrium's bundled contexts"
"$atrium_python" "$here/seed_jsonld_cache.py" "$venv/bovine_jsonld_cache.sqlite" >&2

echo "$want" > "$venv/.installed"
say "ready"
