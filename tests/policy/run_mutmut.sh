#!/usr/bin/env bash
# Mutation testing of node/policy.py with mutmut 3, against tests/node/test_policy.py and
# tests/policy/ (and of node/domains.py with mutmut-domains.toml). Runs in a scratch copy of the project (mutmut writes a `mutants/` tree next
# to the sources): the working tree and pyproject.toml stay untouched.
#
#   tests/policy/run_mutmut.sh                 # run, then print the counts and the survivors
#   MUTMUT_WORKDIR=/tmp/mm tests/policy/run_mutmut.sh   # reuse a scratch dir (mutmut resumes)
#   MUTMUT_CONFIG=tests/policy/mutmut-matrices.toml tests/policy/run_mutmut.sh 'PATTERN'…
#                                              # another configuration, some mutants only
#   MUTMUT_CONFIG=tests/policy/mutmut-domains.toml tests/policy/run_mutmut.sh
#                                              # node/domains.py, the canonical host name
#
# The matrices run on SQLite only here (ATRIUM_TEST_ENGINES=sqlite): a mutant in the policy
# module does not depend on the engine, and PostgreSQL would double the time.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${VENV:-$root/.venv}"
work="${MUTMUT_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/atrium-mutmut.XXXXXX")}"
mkdir -p "$work"
for d in atrium docs federation node storage web tests; do
    rsync -a --delete --exclude __pycache__ "$root/$d/" "$work/$d/"
done
cp "$root/pyproject.toml" "$work/pyproject.toml"
printf '\n' >>"$work/pyproject.toml"
config="${MUTMUT_CONFIG:-tests/policy/mutmut.toml}"
cat "$root/$config" >>"$work/pyproject.toml"
cd "$work"
echo "mutmut $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("mutmut"))') in $work"
export ATRIUM_TEST_ENGINES="${ATRIUM_TEST_ENGINES:-sqlite}"
export PATH="$venv/bin:$PATH"
status=0
mutmut run "$@" || status=$?
mutmut export-cicd-stats >/dev/null && cat mutants/mutmut-cicd-stats.json && echo
echo "survivors (mutmut show NAME in $work for the diff):"
mutmut results || true
exit "$status"
