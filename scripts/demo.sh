#!/usr/bin/env bash
# The README's demo (docs/demo.md): set-up if needed, then the cluster lab's total power loss on a live timeline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx scripts/demo.ts "$@"
