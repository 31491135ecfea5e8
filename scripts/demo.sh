#!/usr/bin/env bash
# The README's demo: set-up if needed, then fence a simulated BMC on a readable timeline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx scripts/demo.ts
