#!/usr/bin/env bash
# Mutation testing with mutmut 3: node/policy.py against tests/node/test_policy.py and
# tests/policy/ (tests/policy/mutmut.toml, the default), the matrices alone
# (mutmut-matrices.toml), the canonical host name — node/domains.py — (mutmut-domains.toml),
# or the outbound gate — federation/gate.py and node/contact.py — against its own tests
# (mutmut-gate.toml). Runs in a scratch copy of the project (mutmut writes a `mutants/` tree
# next to the sources): the working tree and pyproject.toml stay untouched. Results and
# survivors: tests/policy/MUTANTS.md.
#
#   tests/policy/run_mutmut.sh                 # run, then print the counts and the survivors
#   MUTMUT_WORKDIR=/tmp/mm tests/policy/run_mutmut.sh   # reuse a scratch dir (mutmut resumes)
#   MUTMUT_CONFIG=tests/policy/mutmut-matrices.toml tests/policy/run_mutmut.sh 'PATTERN'…
#                                              # another configuration, some mutants only
#   MUTMUT_CONFIG=tests/policy/mutmut-domains.toml tests/policy/run_mutmut.sh
#                                              # node/domains.py, the canonical host name
#   MUTMUT_CONFIG=tests/policy/mutmut-gate.toml tests/policy/run_mutmut.sh --max-children 1
#                                              # the outbound gate (one child: a shared machine)
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
