#!/usr/bin/env bash
# Side-by-side benchmarks against the reference agents (hyperfine), after set-up if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node --import tsx bench/fence-ipmi.ts
node --import tsx bench/fence-pdu.ts
node --import tsx bench/fence-redfish.ts
node --import tsx bench/virtualdomain.ts
