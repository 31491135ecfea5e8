/**
 * What kvmha check can report: every finding's id, its severity and the fix it suggests, in one
 * table (docs/check.md explains each and the outage it prevents). The rules (rules.ts) and the
 * probe (probe.ts) say what they found and where; the table says what it weighs and what to do.
 * A test holds the table and the tests together: every finding here is produced by one.
 */
import type { FencingLevel } from "./cib.js";
import { type CheckContext, describeTarget } from "./context.js";

export type Severity = "error" | "warning";

export interface Subject {
  readonly kind: "cluster" | "node" | "device" | "level" | "resource";
  readonly id: string;
}

export interface Finding {
  readonly id: FindingId;
  readonly severity: Severity;
  readonly subject: Subject;
  readonly message: string;
  /** The fix, one line: a command where one does it. */
  readonly hint: string;
}

/** A rule: what it finds in the CIB model. */
export type Rule = (ctx: CheckContext) => Finding[];

export const cluster = (id = "cluster"): Subject => ({ kind: "cluster", id });
export const nodeSubject = (id: string): Subject => ({ kind: "node", id });
export const deviceSubject = (id: string): Subject => ({ kind: "device", id });
export const levelSubject = (l: FencingLevel): Subject => ({
  kind: "level",
  id: l.id !== "" ? l.id : `${describeTarget(l)}#${l.index}`,
});
export const resourceSubject = (id: string): Subject => ({ kind: "resource", id });

interface Entry {
  readonly severity: Severity;
  /** The fix, from what the finding names. */
  readonly fix: (about: never) => string;
}

const NODE_NAMES = "(crm_node -l)";

/** Every finding of the CIB's rules (rules.ts), in report order. */
const RULE_FINDINGS = {
  // cluster-wide fencing
  "stonith-disabled": {
    severity: "error",
    fix: () => "pcs property set stonith-enabled=true (crmsh: property stonith-enabled=true)",
  },
  "no-fencing-devices": {
    severity: "error",
    fix: () =>
      "configure a fence_ipmi device per node and a fence_pdu device per PDU (kvmha render does it from an inventory)",
  },
  // cluster-wide policy
  "no-stickiness": {
    severity: "warning",
    fix: () =>
      "pcs resource defaults update resource-stickiness=100 (crmsh: rsc_defaults resource-stickiness=100)",
  },
  "quorum-no-tie-breaker": {
    severity: "warning",
    fix: (a: { file: string }) =>
      `in ${a.file}'s quorum section set auto_tie_breaker: 1, or add a quorum device (pcs quorum device add model net host=QNETD algorithm=ffsplit), then reload corosync on every node`,
  },
  // what Pacemaker 3 removed or changed
  "pacemaker3-unsupported": {
    severity: "error",
    fix: (a: { fix: string }) => a.fix,
  },
  "pacemaker3-upgrade": {
    severity: "warning",
    fix: (a: { fix: string }) => `before upgrading to Pacemaker 3: ${a.fix}`,
  },
  // nodes
  "node-unfenceable": {
    severity: "error",
    fix: (a: { node: string }) =>
      `add ${a.node} to a device's pcmk_host_list/pcmk_host_map and give it fencing levels (pcs stonith level add 1 ${a.node} DEVICE)`,
  },
  "node-fenced-by-unlisted-device": {
    severity: "warning",
    fix: (a: { node: string }) =>
      `give ${a.node} its own devices with pcmk_host_list/pcmk_host_map and fencing levels`,
  },
  "node-without-level": {
    severity: "warning",
    fix: (a: { node: string }) =>
      `pcs stonith level add 1 ${a.node} IPMI-DEVICE; pcs stonith level add 2 ${a.node} PDU-A,PDU-B`,
  },
  "pdu-level-incomplete": {
    severity: "error",
    fix: (a: { index: number; node: string; devices: readonly string[] }) =>
      `one level with every PDU of the node: pcs stonith level add ${a.index} ${a.node} ${a.devices.join(",")}`,
  },
  "pdu-not-in-topology": {
    severity: "warning",
    fix: (a: { index: number; node: string; devices: readonly string[] }) =>
      `pcs stonith level add ${a.index} ${a.node} ${a.devices.join(",")}`,
  },
  // levels
  "level-unknown-target": {
    severity: "warning",
    fix: () => `the target must be a node name as the cluster knows it ${NODE_NAMES}`,
  },
  "level-unknown-device": {
    severity: "error",
    fix: (a: { level: FencingLevel }) =>
      `create the device, or fix the level: pcs stonith level remove ${a.level.index} target ${describeTarget(a.level)}; pcs stonith level add ${a.level.index} ${describeTarget(a.level)} DEVICES`,
  },
  "level-device-not-for-node": {
    severity: "error",
    fix: (a: { node: string; device: string }) =>
      `add ${a.node} to ${a.device}'s pcmk_host_list/pcmk_host_map, or use the right device in the level`,
  },
  // devices
  "device-claims-every-node": {
    severity: "warning",
    fix: (a: { device: string }) =>
      `set pcmk_host_list=<the node it fences> (pcs stonith update ${a.device} pcmk_host_list=NODE)`,
  },
  "device-claims-unknown": {
    severity: "warning",
    fix: () =>
      'list the nodes and their outlets: pcmk_host_map="node1:3,4;node2:5" (or pcmk_host_list)',
  },
  "device-unknown-node": {
    severity: "warning",
    fix: () =>
      `node names must be the cluster's node names ${NODE_NAMES}, not host names or addresses`,
  },
  "device-disabled": {
    severity: "warning",
    fix: (a: { device: string }) => `pcs stonith enable ${a.device}`,
  },
  "device-runs-nowhere": {
    severity: "error",
    fix: (a: { device: string }) =>
      `allow it on the nodes it does not fence, e.g. pcs constraint location ${a.device} prefers OTHER-NODE`,
  },
  "device-only-on-target": {
    severity: "error",
    fix: (a: { device: string; target: string }) =>
      `allow it elsewhere and keep it off its target: pcs constraint location ${a.device} avoids ${a.target}`,
  },
  "device-on-own-target": {
    severity: "warning",
    fix: (a: { device: string; target: string }) =>
      `pcs constraint location ${a.device} avoids ${a.target} (crmsh: location l-${a.device} ${a.device} -inf: ${a.target})`,
  },
  "duplicate-outlet": {
    severity: "error",
    fix: () =>
      "each outlet feeds one node: fix pcmk_host_map so every node lists only its own outlets",
  },
  "duplicate-bmc": {
    severity: "error",
    fix: () =>
      "each node's IPMI device must point at that node's own BMC, with pcmk_host_list=<that node>",
  },
  "secret-in-cib": {
    severity: "warning",
    fix: (a: { device: string; option: string; script: string | undefined }) =>
      a.script !== undefined
        ? `put it in a root-only file and reference that: pcs stonith update ${a.device} ${a.option}= ${a.script}='/bin/cat /etc/kvmha/${a.device}.${a.option}' (or keep it out of the CIB with cibsecret set ${a.device} ${a.option} VALUE)`
        : `keep it out of the CIB: cibsecret set ${a.device} ${a.option} VALUE (or use kvmha's agent, which takes a *_script)`,
  },
  // two-node clusters
  "two-node-no-delay": {
    severity: "error",
    fix: (a: { node: string }) =>
      `delay fencing of one node only, e.g. pcs stonith update <${a.node}'s devices> pcmk_delay_base=10s (or set pcmk_delay_max, or priority-fencing-delay)`,
  },
  // timeouts
  "timeout-unit-ignored": {
    severity: "warning",
    fix: (a: { option: string; seconds: number }) =>
      `give ${a.option} in seconds, e.g. ${a.option}=${a.seconds}`,
  },
  "timeout-device": {
    severity: "error",
    fix: (a: { option: string; orStonithTimeout: boolean; seconds: number }) =>
      `raise ${a.orStonithTimeout ? "stonith-timeout or " : ""}${a.option} to at least ${a.seconds}, or lower the agent's power_timeout`,
  },
  "timeout-level": {
    severity: "error",
    fix: (a: { seconds: number }) =>
      `pcs property set stonith-timeout=${a.seconds}s (or lower the devices' power_timeout)`,
  },
  // guests
  "guest-no-migrate": {
    severity: "warning",
    fix: (a: { resource: string }) => `pcs resource meta ${a.resource} allow-migrate=true`,
  },
  "guest-no-monitor": {
    severity: "error",
    fix: (a: { resource: string }) =>
      `pcs resource op add ${a.resource} monitor interval=10s timeout=30s`,
  },
  "guest-stop-timeout": {
    severity: "warning",
    fix: (a: { resource: string }) =>
      `pcs resource op add ${a.resource} stop timeout=90s (or update the existing stop op)`,
  },
  "guest-migrate-timeout": {
    severity: "warning",
    fix: (a: { resource: string }) =>
      `pcs resource op add ${a.resource} migrate_to timeout=120s; pcs resource op add ${a.resource} migrate_from timeout=60s`,
  },
  "rules-not-evaluated": {
    severity: "warning",
    fix: () =>
      "check these attributes by hand (crm_resource --resource ID --query-xml shows them), or move them to a set without rules",
  },
} as const satisfies Record<string, Entry>;

/** Every finding of `kvmha check --probe` (probe.ts): the devices asked, read-only. */
const PROBE_FINDINGS = {
  "probe-unsafe-option": {
    severity: "error",
    fix: () => "remove the line break from the device's attribute",
  },
  "probe-credentials": {
    severity: "error",
    fix: () =>
      "fix the username/password (or password_script, community, SNMPv3 settings) in the device: it cannot fence as it is",
  },
  "probe-unreachable": {
    severity: "error",
    fix: () =>
      "check the address, port and network path from every node to the device (and its own power)",
  },
  "probe-failed": {
    severity: "error",
    fix: (a: { agent: string }) =>
      `run the agent by hand to see more: ${a.agent} -o monitor with the device's options`,
  },
  "probe-bmc-off": {
    severity: "error",
    fix: (a: { device: string; node: string }) =>
      `point ${a.device} at ${a.node}'s own BMC (ip), or fix pcmk_host_list`,
  },
  "probe-outlet-off": {
    severity: "error",
    fix: (a: { node: string }) => `check which outlet feeds ${a.node} and fix pcmk_host_map`,
  },
  "probe-outlet-missing": {
    severity: "error",
    fix: (a: { node: string }) => `fix ${a.node}'s outlet in pcmk_host_map`,
  },
} as const satisfies Record<string, Entry>;

const FINDINGS = { ...RULE_FINDINGS, ...PROBE_FINDINGS };

export type RuleFindingId = keyof typeof RULE_FINDINGS;
export type ProbeFindingId = keyof typeof PROBE_FINDINGS;
export type FindingId = RuleFindingId | ProbeFindingId;

/** The ids the CIB's rules report, and those the probe reports (for the tests that count them). */
export const RULE_FINDING_IDS = Object.keys(RULE_FINDINGS) as readonly RuleFindingId[];
/**
 * The findings a waiver may accept (a resource's or rsc_defaults' meta kvmha-waive, the
 * inventory's waive): warnings only. An error is never waived: it is an outage waiting to happen.
 */
export const WAIVABLE_FINDING_IDS: readonly RuleFindingId[] = RULE_FINDING_IDS.filter(
  (id) => RULE_FINDINGS[id].severity === "warning",
);
export const PROBE_FINDING_IDS = Object.keys(PROBE_FINDINGS) as readonly ProbeFindingId[];

type FixArgs<K extends FindingId> = Parameters<(typeof FINDINGS)[K]["fix"]>;

/** A finding `id` about `subject`: its severity and fix from the table. */
export function finding<K extends FindingId>(
  id: K,
  subject: Subject,
  message: string,
  ...about: FixArgs<K>
): Finding {
  const entry = FINDINGS[id];
  const fix = entry.fix as (...a: FixArgs<K>) => string;
  return { id, severity: entry.severity, subject, message, hint: fix(...about) };
}
