#!/usr/bin/env bash
# The whole test suite: set-up if needed, type check, formatter and linter, unit tests, then integration tests against
# real daemons that the tests start and stop themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
echo "test: type check, format, lint" >&2
npx --no-install tsc -p tsconfig.json --noEmit
npx --no-install prettier --check --log-level warn "**/*.{ts,mjs,js,json}"
npx --no-install eslint --max-warnings 0 .

shopt -s nullglob
files=(test/unit/*.test.ts test/integration/*.test.ts)
echo "test: ${#files[@]} test files" >&2
mkdir -p .lab
status=0
# One file at a time, on any machine: several integration files install into the host's /usr
# (agent links for pcs and Pacemaker's tools, the Debian package) and must not overlap.
node --import tsx --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination=.lab/test-results.tap \
  "${files[@]}" || status=$?
pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' .lab/test-results.tap | tail -n 1)
fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' .lab/test-results.tap | tail -n 1)
echo "tests: ${pass:-0} passed, ${fail:-0} failed"
exit "$status"
