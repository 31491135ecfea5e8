/**
 * The checks: each looks at the CIB model (context.ts) and returns typed findings, whose
 * severity and fix come from the table in findings.ts. Pure. docs/check.md explains every rule
 * and the outage it prevents; rules/ holds them by what they look at.
 */
import type { CheckContext } from "./context.js";
import type { Finding, Rule } from "./findings.js";
import { fencingEnabled, fencingPresent, twoNodeDelay } from "./rules/cluster.js";
import { deviceClaims, deviceOnOwnTarget, sharedHardware } from "./rules/devices.js";
import { guests, ruledSets } from "./rules/guests.js";
import { pacemaker3 } from "./rules/generation.js";
import { quorumTieBreaker, secretsInCib, stickiness } from "./rules/policy.js";
import { fencingTimeouts } from "./rules/timeouts.js";
import { levelDevices, nodeCoverage } from "./rules/topology.js";

/** Every rule, in report order. */
export const RULES: readonly Rule[] = [
  fencingEnabled,
  fencingPresent,
  stickiness,
  quorumTieBreaker,
  pacemaker3,
  nodeCoverage,
  levelDevices,
  deviceClaims,
  deviceOnOwnTarget,
  sharedHardware,
  secretsInCib,
  twoNodeDelay,
  fencingTimeouts,
  guests,
  ruledSets,
];

export function runRules(ctx: CheckContext): Finding[] {
  return RULES.flatMap((rule) => rule(ctx));
}
