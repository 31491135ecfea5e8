/**
 * What kvmha check can report: every finding's id, its severity and the fix it suggests, in one
 * table (docs/check.md explains each and the outage it prevents). The rules (rules.ts) and the
 * probe (probe.ts) say what they found and where; the table says what it weighs and what to do.
 * A test holds the table and the tests together: every finding here is produced by one.
 */
import type { FencingLevel } from "./cib.js";
import { type CheckContext, describeTarget } from "./context.js";
import { shellWord } from "../render/escape.js";

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
  /** The fix, one line: the commands where commands do it, else what to do. */
  readonly hint: string;
  /** The fix's commands, when commands do it (each proven by check-fixes.test.ts). */
  readonly commands?: FixCommands;
}

/**
 * A fix that commands do, each one shell command line, run as it is: pcs's (on a live cluster;
 * a file takes pcs -f FILE), and crmsh's where crmsh has a command for it. Words in capitals
 * that the admin must choose are placeholders, named with what each is.
 */
export interface FixCommands {
  readonly pcs: readonly string[];
  readonly crmsh?: readonly string[];
  readonly placeholders?: Readonly<Record<string, string>>;
}

/** What a table entry's fix gives: words, or commands with words before or after them. */
type Fix = string | (FixCommands & { readonly intro?: string; readonly note?: string });

/** One command line: each word quoted for sh where it needs it. */
export function command(...words: readonly string[]): string {
  return words.map((w) => shellWord(w)).join(" ");
}

/** The one line a fix reads as. */
function hintText(fix: Exclude<Fix, string>): string {
  const crmsh = fix.crmsh === undefined ? "" : ` (crmsh: ${fix.crmsh.join("; ")})`;
  const names = Object.entries(fix.placeholders ?? {})
    .map(([name, what]) => `${name}: ${what}`)
    .join("; ");
  return `${fix.intro === undefined ? "" : `${fix.intro}: `}${fix.pcs.join("; ")}${crmsh}${names === "" ? "" : ` (${names})`}${fix.note === undefined ? "" : `; ${fix.note}`}`;
}

/** pcs's way of naming a level's target: a node, regexp%PATTERN or attrib%NAME=VALUE. */
export function pcsTarget(level: FencingLevel): string {
  const t = level.target;
  return t.kind === "node"
    ? t.node
    : t.kind === "pattern"
      ? `regexp%${t.pattern}`
      : `attrib%${t.name}=${t.value}`;
}

/** A fencing level to add: its index and devices. */
export interface NumberedLevel {
  readonly index: number;
  readonly devices: readonly string[];
}

/** `pcs stonith level add` for each level, devices separated by spaces (pcs 0.12 refuses commas). */
function addLevels(node: string, levels: readonly (readonly string[])[], from = 1): string[] {
  return levels.map((devices, i) =>
    command("pcs", "stonith", "level", "add", String(from + i), node, ...devices),
  );
}

const removeLevel = (index: number, target: string): string =>
  command("pcs", "stonith", "level", "remove", String(index), "target", target);

/** A resource parameter set, as pcs and crmsh say it. */
function setParameter(device: string, name: string, value: string): FixCommands {
  return {
    pcs: [command("pcs", "stonith", "update", device, `${name}=${value}`)],
    crmsh: [command("crm", "resource", "param", device, "set", name, value)],
  };
}

/** A cluster property set, as pcs and crmsh say it. */
function setProperty(name: string, value: string): FixCommands {
  return {
    pcs: [command("pcs", "property", "set", `${name}=${value}`)],
    crmsh: [command("crm", "configure", "property", `${name}=${value}`)],
  };
}

/**
 * One operation of a resource set to these options, whether it exists or not: `pcs resource
 * update … op` updates the first op of that name or adds it (`pcs resource op add` refuses an op
 * that exists).
 */
function setOperation(resource: string, op: string, ...options: string[]): FixCommands {
  return { pcs: [command("pcs", "resource", "update", resource, "op", op, ...options)] };
}

/** Location constraints that let a device run on a node: bans removed, a preference added. */
export interface Allowance {
  readonly node: string;
  /** Constraints to delete (each bans the device from the node). */
  readonly remove: readonly string[];
  /** Whether the device needs a positive location there (an opt-in cluster). */
  readonly prefer: boolean;
}

function allowCommands(device: string, a: Allowance): FixCommands {
  const prefer = (tool: "pcs" | "crmsh"): string[] =>
    !a.prefer
      ? []
      : tool === "pcs"
        ? [command("pcs", "constraint", "location", device, "prefers", a.node)]
        : [
            command(
              "crm",
              "configure",
              "location",
              `${device}-prefers-${a.node}`,
              device,
              "inf:",
              a.node,
            ),
          ];
  return {
    pcs: [...a.remove.map((id) => command("pcs", "constraint", "remove", id)), ...prefer("pcs")],
    crmsh: [...a.remove.map((id) => command("crm", "configure", "delete", id)), ...prefer("crmsh")],
  };
}

/**
 * A -INFINITY location keeping a device off a node. pcs: `avoids` (pcs 0.11 refuses `score=`
 * in `location add`, pcs 0.12 deprecates the standalone score: this form is both's); crmsh with
 * the id kvmha render gives it.
 */
const avoidCommands = (device: string, target: string): FixCommands => ({
  pcs: [command("pcs", "constraint", "location", device, "avoids", target)],
  crmsh: [
    command("crm", "configure", "location", `${device}-avoids-${target}`, device, "-inf:", target),
  ],
});

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
  /** The fix, from what the finding names: words, or the commands that do it. */
  readonly fix: (about: never) => Fix;
}

const NODE_NAMES = "(crm_node -l)";

/** Every finding of the CIB's rules (rules.ts), in report order. */
const RULE_FINDINGS = {
  // cluster-wide fencing
  "stonith-disabled": {
    severity: "error",
    fix: () => setProperty("stonith-enabled", "true"),
  },
  "no-fencing-devices": {
    severity: "error",
    fix: () =>
      "configure a fence_ipmi device per node and a fence_pdu device per PDU (kvmha render does it from an inventory)",
  },
  // cluster-wide policy
  "no-stickiness": {
    severity: "warning",
    fix: () => ({
      intro: "keep resources where they run when a node comes back",
      pcs: [command("pcs", "resource", "defaults", "update", "resource-stickiness=100")],
      crmsh: [command("crm", "configure", "rsc_defaults", "resource-stickiness=100")],
    }),
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
    fix: (a: { node: string; levels: readonly (readonly string[])[] }) => ({
      intro: "its BMC first, then all of its PDUs in one level",
      pcs: addLevels(a.node, a.levels),
    }),
  },
  "pdu-level-incomplete": {
    severity: "error",
    fix: (a: {
      node: string;
      /** The levels to replace, or undefined when they are not the node's own (patterns, attributes). */
      levels: { remove: readonly number[]; add: readonly NumberedLevel[] } | undefined;
    }) =>
      a.levels === undefined
        ? `one level with every PDU that feeds ${a.node}, in place of the levels that hold some of them`
        : {
            intro: "one level with every PDU of the node",
            pcs: [
              ...a.levels.remove.map((i) => removeLevel(i, a.node)),
              ...a.levels.add.map((l) => addLevels(a.node, [l.devices], l.index)).flat(),
            ],
          },
  },
  "pdu-not-in-topology": {
    severity: "warning",
    fix: (a: { index: number; node: string; devices: readonly string[] }) => ({
      pcs: addLevels(a.node, [a.devices], a.index),
    }),
  },
  // levels
  "level-unknown-target": {
    severity: "warning",
    fix: () => `the target must be a node name as the cluster knows it ${NODE_NAMES}`,
  },
  "level-unknown-device": {
    severity: "error",
    fix: (a: { level: FencingLevel; missing: string; existing: readonly string[] }) => ({
      intro: `create ${a.missing}, or drop it from the level`,
      pcs: [
        removeLevel(a.level.index, pcsTarget(a.level)),
        ...(a.existing.length === 0
          ? []
          : [
              command(
                "pcs",
                "stonith",
                "level",
                "add",
                String(a.level.index),
                pcsTarget(a.level),
                ...a.existing,
              ),
            ]),
      ],
    }),
  },
  "level-device-not-for-node": {
    severity: "error",
    fix: (a: { node: string; device: string }) =>
      `add ${a.node} to ${a.device}'s pcmk_host_list/pcmk_host_map, or use the right device in the level`,
  },
  // devices
  "device-claims-every-node": {
    severity: "warning",
    fix: (a: { device: string }) => ({
      pcs: [
        command(
          "pcs",
          "stonith",
          "update",
          a.device,
          "pcmk_host_list=NODE",
          "pcmk_host_check=static-list",
        ),
      ],
      crmsh: [
        command("crm", "resource", "param", a.device, "set", "pcmk_host_list", "NODE"),
        command("crm", "resource", "param", a.device, "set", "pcmk_host_check", "static-list"),
      ],
      placeholders: { NODE: "the node whose BMC it is" },
    }),
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
    fix: (a: { device: string }) => ({
      pcs: [command("pcs", "stonith", "enable", a.device)],
      crmsh: [command("crm", "resource", "start", a.device)],
    }),
  },
  "device-runs-nowhere": {
    severity: "error",
    fix: (a: { device: string; allow: Allowance | undefined }) =>
      a.allow === undefined
        ? "allow it on a node it does not fence: remove the bans (pcs constraint config) or, in an opt-in cluster, add a location (pcs constraint location DEVICE prefers NODE)"
        : { intro: `allow it on ${a.allow.node}`, ...allowCommands(a.device, a.allow) },
  },
  "device-only-on-target": {
    severity: "error",
    fix: (a: { device: string; target: string; allow: Allowance | undefined }) => {
      const avoid = avoidCommands(a.device, a.target);
      if (a.allow === undefined)
        return {
          intro: `allow it on a node it does not fence (remove its bans, or add a location), and keep it off ${a.target}`,
          ...avoid,
        };
      const allow = allowCommands(a.device, a.allow);
      return {
        intro: `allow it on ${a.allow.node} and keep it off ${a.target}`,
        pcs: [...allow.pcs, ...avoid.pcs],
        crmsh: [...(allow.crmsh ?? []), ...(avoid.crmsh ?? [])],
      };
    },
  },
  "device-on-own-target": {
    severity: "warning",
    fix: (a: { device: string; target: string }) => avoidCommands(a.device, a.target),
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
    fix: (a: {
      node: string;
      other: string;
      seconds: number;
      devices: readonly { id: string; shared: boolean }[];
    }) => {
      // A device that fences both nodes gets a per-node delay (node1:15s;node2:0s).
      const delay = (d: { shared: boolean }): string =>
        d.shared ? `${a.node}:${a.seconds}s;${a.other}:0s` : `${a.seconds}s`;
      return {
        intro: `delay fencing ${a.node} only`,
        pcs: a.devices.map((d) => setParameter(d.id, "pcmk_delay_base", delay(d)).pcs).flat(),
        crmsh: a.devices
          .map((d) => setParameter(d.id, "pcmk_delay_base", delay(d)).crmsh ?? [])
          .flat(),
        note: "or set pcmk_delay_max, or priority-fencing-delay",
      };
    },
  },
  // timeouts
  "timeout-unit-ignored": {
    severity: "warning",
    fix: (a: { device: string; option: string; seconds: number }) => ({
      intro: "in seconds",
      ...setParameter(a.device, a.option, `${a.seconds}s`),
    }),
  },
  "timeout-device": {
    severity: "error",
    fix: (a: { device: string; option: string; seconds: number }) => ({
      ...setParameter(a.device, a.option, `${a.seconds}s`),
      note: "or lower the agent's power_timeout",
    }),
  },
  "timeout-level": {
    severity: "error",
    fix: (a: { seconds: number }) => ({
      ...setProperty("stonith-timeout", `${a.seconds}s`),
      note: "or lower the devices' power_timeout",
    }),
  },
  // guests
  "guest-no-migrate": {
    severity: "warning",
    fix: (a: { resource: string }) => ({
      pcs: [command("pcs", "resource", "meta", a.resource, "allow-migrate=true")],
      crmsh: [command("crm", "resource", "meta", a.resource, "set", "allow-migrate", "true")],
    }),
  },
  "guest-no-monitor": {
    severity: "error",
    fix: (a: { resource: string }) =>
      setOperation(a.resource, "monitor", "interval=10s", "timeout=30s"),
  },
  "guest-stop-timeout": {
    severity: "warning",
    fix: (a: { resource: string }) => setOperation(a.resource, "stop", "timeout=90s"),
  },
  "guest-migrate-timeout": {
    severity: "warning",
    fix: (a: { resource: string; seconds: number }) =>
      setOperation(a.resource, "migrate_to", `timeout=${a.seconds}s`),
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
  // --libvirt-uri: each node's libvirt asked, read-only, about the cluster's guests.
  "probe-guest-autostart": {
    severity: "error",
    fix: (a: { uri: string; domain: string }) =>
      `${command("virsh", "-c", a.uri, "autostart", "--disable", a.domain)}; ${command("virsh", "-c", a.uri, "undefine", a.domain)} (the cluster starts it from its config= file)`,
  },
  "probe-guest-defined": {
    severity: "warning",
    fix: (a: { uri: string; domain: string }) =>
      `${command("virsh", "-c", a.uri, "undefine", a.domain)} (the cluster starts it from its config= file; keep that file on shared storage)`,
  },
  "probe-libvirt-failed": {
    severity: "warning",
    fix: (a: { uri: string }) =>
      `check that ${command("virsh", "-r", "-c", a.uri, "list", "--all")} answers from this node (--libvirt-uri gives the URI, %n the node)`,
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
  const fix = (entry.fix as (...a: FixArgs<K>) => Fix)(...about);
  if (typeof fix === "string") return { id, severity: entry.severity, subject, message, hint: fix };
  const commands: FixCommands = {
    pcs: fix.pcs,
    ...(fix.crmsh === undefined ? {} : { crmsh: fix.crmsh }),
    ...(fix.placeholders === undefined ? {} : { placeholders: fix.placeholders }),
  };
  return { id, severity: entry.severity, subject, message, hint: hintText(fix), commands };
}
