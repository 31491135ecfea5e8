#!/usr/bin/env bash
# Side-by-side benchmarks against the reference agents (hyperfine), after set-up if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# KVMHA_BENCH_ALSO=DIR/bin adds another build's agents (`npm run build -- --runtime=node
# --outdir=DIR`) to every comparison; KVMHA_BENCH_QUIET_ONLY=1 leaves out the loaded columns.
node --import tsx bench/baselines.ts
node --import tsx bench/fence-ipmi.ts
node --import tsx bench/fence-pdu.ts
node --import tsx bench/fence-redfish.ts
node --import tsx bench/virtualdomain.ts
