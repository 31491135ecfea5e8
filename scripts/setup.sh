#!/usr/bin/env bash
# Brings a fresh Debian 12 machine with Node and npm to a built kvmha with its lab installed
# (Debian 12's packages on the host, and a Debian 13 root beside them: scripts/lab-root.sh).
# Each step runs only when something is missing or stale, so a second run costs seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/lab-deps.sh
# The lab's second generation (Debian 13: Pacemaker 3, pcs 0.12, libvirt 11), built once and kept.
bash scripts/lab-root.sh

# npm dependencies: (re)install when node_modules is absent or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

npm run --silent build
