/**
 * The checks: each looks at the CIB model and returns typed findings. Pure. docs/check.md
 * explains every rule and the outage it prevents.
 */
import { type Cib, type CibNode, type FencingLevel, type Primitive, addScores } from "./cib.js";
import {
  type FenceAction,
  agentWorstSeconds,
  claimOf,
  claims,
  delayOf,
  endpointOf,
  familyOf,
  fencerTimeoutSeconds,
  isStonith,
  outletsOf,
  sameNode,
  stonithAction,
  stonithTimeoutMs,
} from "./devices.js";
import { parseDurationMs, parseFencerSeconds, showSeconds } from "./duration.js";

export type Severity = "error" | "warning";

export interface Subject {
  readonly kind: "cluster" | "node" | "device" | "level" | "resource";
  readonly id: string;
}

export interface Finding {
  readonly id: string;
  readonly severity: Severity;
  readonly subject: Subject;
  readonly message: string;
  readonly hint: string;
}

/** What the rules work from: the CIB plus what is derived once (node list, devices). */
export interface CheckContext {
  readonly cib: Cib;
  /** The nodes fencing must cover: cluster members, then Pacemaker Remote nodes. */
  readonly nodes: readonly string[];
  /** The cluster members alone (the nodes that fence). */
  readonly members: readonly string[];
  /** Where the node names came from. */
  readonly nodesFrom: "cib" | "host-lists";
  readonly devices: readonly Primitive[];
  readonly deviceById: ReadonlyMap<string, Primitive>;
}

/**
 * Pacemaker Remote nodes: an ocf:pacemaker:remote connection resource names one (its id), and
 * they are fenced like members. Guest nodes (a VirtualDomain with remote-node) are not: they are
 * recovered by stopping their guest.
 */
function remoteNodes(cib: Cib): string[] {
  const names = cib.primitives
    .filter((p) => p.class === "ocf" && p.provider === "pacemaker" && p.type === "remote")
    .map((p) => p.id);
  for (const n of cib.nodes)
    if (n.type === "remote" && !names.some((x) => sameNode(x, n.uname))) names.push(n.uname);
  return names;
}

export function contextOf(cib: Cib): CheckContext {
  const devices = cib.primitives.filter(isStonith);
  let members = cib.nodes.filter((n: CibNode) => n.type === "member").map((n) => n.uname);
  const remotes = remoteNodes(cib);
  let nodesFrom: CheckContext["nodesFrom"] = "cib";
  if (members.length === 0) {
    // A configuration without <nodes> (a file made with pcs -f): the nodes the devices and levels name.
    nodesFrom = "host-lists";
    const seen: string[] = [];
    const add = (n: string): void => {
      if (!seen.some((s) => sameNode(s, n))) seen.push(n);
    };
    for (const d of devices) {
      const c = claimOf(d);
      if (c.kind === "static") for (const n of c.targets.keys()) add(n);
    }
    for (const l of cib.levels) if (l.target.kind === "node") add(l.target.node);
    members = seen.filter((n) => !remotes.some((r) => sameNode(r, n)));
  }
  const nodes = [...members, ...remotes.filter((r) => !members.some((m) => sameNode(m, r)))];
  return {
    cib,
    nodes,
    members,
    nodesFrom,
    devices,
    deviceById: new Map(devices.map((d) => [d.id, d])),
  };
}

const TRUE_WORDS = new Set(["true", "yes", "on", "1", "y"]);
const FALSE_WORDS = new Set(["false", "no", "off", "0", "n"]);

function isFalse(v: string | undefined): boolean {
  return v !== undefined && FALSE_WORDS.has(v.trim().toLowerCase());
}
function isTrue(v: string | undefined): boolean {
  return v !== undefined && TRUE_WORDS.has(v.trim().toLowerCase());
}

/** A meta attribute as Pacemaker resolves it: the resource's, its parents', then rsc_defaults. */
function metaOf(cib: Cib, p: Primitive, name: string): string | undefined {
  const own = p.meta.get(name);
  if (own !== undefined) return own;
  for (const parent of p.parents) {
    const c = cib.containers.find((x) => x.id === parent.id);
    const v = c?.meta.get(name);
    if (v !== undefined) return v;
  }
  return cib.rscDefaults.get(name);
}

function nodeAttrs(ctx: CheckContext, node: string): Map<string, string> {
  const n = ctx.cib.nodes.find((x) => sameNode(x.uname, node));
  const attrs = new Map<string, string>(n?.attributes ?? []);
  attrs.set("#uname", node);
  if (n !== undefined) attrs.set("#id", n.id);
  attrs.set("#kind", n?.type === "remote" ? "remote" : "cluster");
  return attrs;
}

/** Which nodes a level applies to. */
export function levelNodes(ctx: CheckContext, level: FencingLevel): string[] {
  const t = level.target;
  switch (t.kind) {
    case "node":
      return ctx.nodes.filter((n) => sameNode(n, t.node));
    case "pattern": {
      let re: RegExp;
      try {
        re = new RegExp(t.pattern);
      } catch {
        return [];
      }
      return ctx.nodes.filter((n) => re.test(n));
    }
    case "attribute":
      return ctx.nodes.filter((n) => nodeAttrs(ctx, n).get(t.name) === t.value);
  }
}

export function levelsFor(ctx: CheckContext, node: string): FencingLevel[] {
  return ctx.cib.levels
    .filter((l) => levelNodes(ctx, l).includes(node))
    .sort((a, b) => a.index - b.index);
}

function describeTarget(level: FencingLevel): string {
  const t = level.target;
  return t.kind === "node"
    ? t.node
    : t.kind === "pattern"
      ? `pattern '${t.pattern}'`
      : `${t.name}=${t.value}`;
}

function levelName(level: FencingLevel): string {
  return `level ${level.index} of ${describeTarget(level)}${level.id !== "" ? ` ('${level.id}')` : ""}`;
}

function evalExpression(
  attrs: Map<string, string>,
  e: { attribute: string; operation: string; value: string | undefined },
): boolean | undefined {
  const actual = attrs.get(e.attribute);
  const op = e.operation.toLowerCase();
  switch (op) {
    case "defined":
      return actual !== undefined;
    case "not_defined":
      return actual === undefined;
    case "eq":
      return (
        actual !== undefined &&
        e.value !== undefined &&
        (e.attribute === "#uname" ? sameNode(actual, e.value) : actual === e.value)
      );
    case "ne":
      return !(
        actual !== undefined &&
        e.value !== undefined &&
        (e.attribute === "#uname" ? sameNode(actual, e.value) : actual === e.value)
      );
    case "lt":
    case "lte":
    case "gt":
    case "gte": {
      const a = Number(actual);
      const b = Number(e.value);
      if (actual === undefined || !Number.isFinite(a) || !Number.isFinite(b)) return false;
      return op === "lt" ? a < b : op === "lte" ? a <= b : op === "gt" ? a > b : a >= b;
    }
    default:
      return undefined;
  }
}

/** The sum of the location scores that apply to this resource on this node, and whether any did. */
export function locationScore(
  ctx: CheckContext,
  p: Primitive,
  node: string,
): { score: number; constrained: boolean } {
  const ids = [p.id, ...p.parents.map((x) => x.id)];
  let score = 0;
  let constrained = false;
  const attrs = nodeAttrs(ctx, node);
  for (const c of ctx.cib.locations) {
    if (c.role !== undefined && !/^(started|unpromoted|slave)$/i.test(c.role)) continue;
    let applies = c.rsc !== undefined && ids.includes(c.rsc);
    if (!applies && c.rscPattern !== undefined) {
      try {
        applies = ids.some((id) => new RegExp(c.rscPattern as string).test(id));
      } catch {
        applies = false;
      }
    }
    if (!applies) continue;
    if (c.node !== undefined && sameNode(c.node, node) && c.score !== undefined) {
      score = addScores(score, c.score);
      constrained = true;
    }
    for (const rule of c.rules) {
      if (rule.opaque) continue;
      const results = rule.expressions.map((e) => evalExpression(attrs, e));
      if (results.some((r) => r === undefined)) continue;
      const match =
        rule.booleanOp === "or"
          ? results.some(Boolean)
          : results.length > 0 && results.every(Boolean);
      if (match) {
        score = addScores(score, rule.score);
        constrained = true;
      }
    }
  }
  return { score, constrained };
}

function allowedOn(ctx: CheckContext, p: Primitive, node: string): boolean {
  const { score, constrained } = locationScore(ctx, p, node);
  if (isFalse(ctx.cib.properties.get("symmetric-cluster"))) return constrained && score >= 0;
  return score !== -Infinity;
}

type Rule = (ctx: CheckContext) => Finding[];

const cluster = (id = "cluster"): Subject => ({ kind: "cluster", id });
const nodeS = (id: string): Subject => ({ kind: "node", id });
const deviceS = (id: string): Subject => ({ kind: "device", id });
const levelS = (l: FencingLevel): Subject => ({
  kind: "level",
  id: l.id !== "" ? l.id : `${describeTarget(l)}#${l.index}`,
});
const resourceS = (id: string): Subject => ({ kind: "resource", id });

// ---- cluster-wide fencing ----

const fencingEnabled: Rule = (ctx) => {
  const v = ctx.cib.properties.get("stonith-enabled");
  if (!isFalse(v)) return [];
  return [
    {
      id: "stonith-disabled",
      severity: "error",
      subject: cluster(),
      message: `stonith-enabled=${v ?? ""}: the cluster never fences a failed node`,
      hint: "pcs property set stonith-enabled=true (crmsh: property stonith-enabled=true)",
    },
  ];
};

/**
 * SBD: fence_sbd (and fence_watchdog) list the nodes they serve from the shared disk's slots (or
 * the watchdog list), so their dynamic list is reliable; watchdog-only SBD has no device at all.
 */
function selfListing(d: Primitive): boolean {
  return d.type === "fence_sbd" || d.type === "fence_watchdog";
}

function watchdogFencing(cib: Cib): boolean {
  const v = cib.properties.get("stonith-watchdog-timeout")?.trim();
  return v !== undefined && v !== "" && (v.startsWith("-") || (parseDurationMs(v) ?? 0) > 0);
}

const fencingPresent: Rule = (ctx) => {
  if (ctx.devices.length > 0 || watchdogFencing(ctx.cib)) return [];
  return [
    {
      id: "no-fencing-devices",
      severity: "error",
      subject: cluster(),
      message:
        "no fencing device is configured: a failed node can never be fenced, so its guests are never recovered safely",
      hint: "configure a fence_ipmi device per node and a fence_pdu device per PDU (kvmha render does it from an inventory)",
    },
  ];
};

// ---- devices ----

const deviceClaims: Rule = (ctx) => {
  const out: Finding[] = [];
  for (const d of ctx.devices) {
    const c = claimOf(d);
    if (selfListing(d)) {
      // its list is the disk's slots: nothing to warn about
    } else if (c.kind === "all") {
      out.push({
        id: "device-claims-every-node",
        severity: "warning",
        subject: deviceS(d.id),
        message: `${d.type} device claims every node (${c.why}): the fencer may use it to fence a node it cannot power off, and power off the wrong machine`,
        hint: `set pcmk_host_list=<the node it fences> (pcs stonith update ${d.id} pcmk_host_list=NODE)`,
      });
    } else if (c.kind === "dynamic") {
      out.push({
        id: "device-claims-unknown",
        severity: "warning",
        subject: deviceS(d.id),
        message: `${d.type} device has no static host list (${c.why}): which nodes it fences is decided by asking the device during the outage`,
        hint: 'list the nodes and their outlets: pcmk_host_map="node1:3,4;node2:5" (or pcmk_host_list)',
      });
    } else {
      for (const t of c.targets.keys()) {
        if (ctx.nodesFrom === "cib" && !ctx.nodes.some((n) => sameNode(n, t))) {
          out.push({
            id: "device-unknown-node",
            severity: "warning",
            subject: deviceS(d.id),
            message: `host list names '${t}', which is not a node of this cluster`,
            hint: "node names must be the cluster's node names (crm_node -l), not host names or addresses",
          });
        }
      }
    }
    if (metaOf(ctx.cib, d, "target-role")?.toLowerCase() === "stopped") {
      out.push({
        id: "device-disabled",
        severity: "warning",
        subject: deviceS(d.id),
        message:
          "the device is disabled (target-role=Stopped): the fencer does not use a disabled device",
        hint: `pcs stonith enable ${d.id}`,
      });
    }
  }
  return out;
};

/** Where devices run: cluster members only (never Pacemaker Remote nodes). */
const deviceOnOwnTarget: Rule = (ctx) => {
  const out: Finding[] = [];
  if (ctx.members.length < 2) return out;
  for (const d of ctx.devices) {
    if (!ctx.members.some((n) => allowedOn(ctx, d, n))) {
      out.push({
        id: "device-runs-nowhere",
        severity: "error",
        subject: deviceS(d.id),
        message:
          "no node may run it (location constraints, or an opt-in cluster without a positive location): the fencer cannot use it",
        hint: `allow it on the nodes it does not fence, e.g. pcs constraint location ${d.id} prefers OTHER-NODE`,
      });
      continue;
    }
    const c = claimOf(d);
    // Only a node's own BMC device is kept off that node: a PDU device fences several nodes.
    if (c.kind !== "static" || familyOf(d.type) !== "ipmi") continue;
    const targets = ctx.members.filter((n) => [...c.targets.keys()].some((t) => sameNode(t, n)));
    for (const target of targets) {
      const others = ctx.members.filter((n) => !sameNode(n, target));
      if (others.length > 0 && !others.some((n) => allowedOn(ctx, d, n))) {
        out.push({
          id: "device-only-on-target",
          severity: "error",
          subject: deviceS(d.id),
          message: `may run only on ${target}, the node it fences: no other node can use it when ${target} fails`,
          hint: `allow it elsewhere and keep it off its target: pcs constraint location ${d.id} avoids ${target}`,
        });
        continue;
      }
      const { score } = locationScore(ctx, d, target);
      if (score === -Infinity) continue;
      out.push({
        id: "device-on-own-target",
        severity: "warning",
        subject: deviceS(d.id),
        message:
          score > 0
            ? `prefers ${target}, the node it fences (location score ${score === Infinity ? "INFINITY" : score}): its monitor runs on the node it must kill`
            : `is not kept off ${target}, the node it fences (no -INFINITY location): the node may end up running the device meant to fence it`,
        hint: `pcs constraint location ${d.id} avoids ${target} (crmsh: location l-${d.id} ${d.id} -inf: ${target})`,
      });
    }
  }
  return out;
};

/** PDU outlets and BMCs shared between nodes: fencing one node powers off another. */
const sharedHardware: Rule = (ctx) => {
  const out: Finding[] = [];
  const outletOwners = new Map<string, { node: string; device: string }[]>();
  const bmcOwners = new Map<string, { node: string; device: string }[]>();
  for (const d of ctx.devices) {
    const c = claimOf(d);
    if (c.kind !== "static") continue;
    const family = familyOf(d.type);
    const endpoint = endpointOf(d) ?? `device ${d.id}`;
    for (const [node, plug] of c.targets) {
      if (family === "pdu") {
        for (const outlet of outletsOf(plug, d)) {
          const key = `${endpoint} outlet ${outlet}`;
          outletOwners.set(key, [...(outletOwners.get(key) ?? []), { node, device: d.id }]);
        }
      } else if (family === "ipmi" && endpointOf(d) !== undefined) {
        bmcOwners.set(endpoint, [...(bmcOwners.get(endpoint) ?? []), { node, device: d.id }]);
      }
    }
  }
  for (const [key, owners] of outletOwners) {
    const nodes = [...new Set(owners.map((o) => o.node.toLowerCase()))];
    if (nodes.length < 2) continue;
    const devices = [...new Set(owners.map((o) => o.device))];
    out.push({
      id: "duplicate-outlet",
      severity: "error",
      subject: deviceS(devices[0] as string),
      message: `PDU ${key} is mapped to ${owners.map((o) => `${o.node} (${o.device})`).join(" and ")}: fencing one of them cuts the other's power`,
      hint: "each outlet feeds one node: fix pcmk_host_map so every node lists only its own outlets",
    });
  }
  for (const [endpoint, owners] of bmcOwners) {
    const nodes = [...new Set(owners.map((o) => o.node.toLowerCase()))];
    if (nodes.length < 2) continue;
    out.push({
      id: "duplicate-bmc",
      severity: "error",
      subject: deviceS(owners[0]?.device as string),
      message: `BMC ${endpoint} is used to fence ${owners.map((o) => `${o.node} (${o.device})`).join(" and ")}: a BMC powers one machine`,
      hint: "each node's IPMI device must point at that node's own BMC, with pcmk_host_list=<that node>",
    });
  }
  return out;
};

// ---- topology ----

const levelDevices: Rule = (ctx) => {
  const out: Finding[] = [];
  for (const level of ctx.cib.levels) {
    const targets = levelNodes(ctx, level);
    if (targets.length === 0) {
      out.push({
        id: "level-unknown-target",
        severity: "warning",
        subject: levelS(level),
        message: `${levelName(level)} matches no node of this cluster`,
        hint: "the target must be a node name as the cluster knows it (crm_node -l)",
      });
    }
    for (const name of level.devices) {
      const device = ctx.deviceById.get(name);
      if (device === undefined) {
        const other = ctx.cib.primitives.find((p) => p.id === name);
        out.push({
          id: "level-unknown-device",
          severity: "error",
          subject: levelS(level),
          message:
            other === undefined
              ? `${levelName(level)} names device '${name}', which does not exist: the level always fails`
              : `${levelName(level)} names '${name}', which is not a fencing device (${other.class}:${other.type})`,
          hint: `create the device, or fix the level: pcs stonith level remove ${level.index} target ${describeTarget(level)}; pcs stonith level add ${level.index} ${describeTarget(level)} DEVICES`,
        });
        continue;
      }
      for (const node of targets) {
        const { claimed } = claims(device, node);
        if (claimed === "no") {
          out.push({
            id: "level-device-not-for-node",
            severity: "error",
            subject: levelS(level),
            message: `${levelName(level)} uses ${device.id}, whose host list does not include ${node}: the fencer refuses to use it for ${node}, so the level fails`,
            hint: `add ${node} to ${device.id}'s pcmk_host_list/pcmk_host_map, or use the right device in the level`,
          });
        }
      }
    }
  }
  return out;
};

/** The PDU devices that claim a node statically. */
function pduDevicesFor(ctx: CheckContext, node: string): Primitive[] {
  return ctx.devices.filter(
    (d) =>
      familyOf(d.type) === "pdu" &&
      claimOf(d).kind === "static" &&
      claims(d, node).claimed === "yes",
  );
}

const nodeCoverage: Rule = (ctx) => {
  const out: Finding[] = [];
  for (const node of ctx.nodes) {
    const levels = levelsFor(ctx, node);
    const pdus = pduDevicesFor(ctx, node);
    if (levels.length === 0) {
      const staticDevices = ctx.devices.filter(
        (d) =>
          (claimOf(d).kind === "static" && claims(d, node).claimed === "yes") ||
          (selfListing(d) && claimOf(d).kind !== "static"),
      );
      const anyDevices = ctx.devices.filter((d) => claimOf(d).kind !== "static" && !selfListing(d));
      if (staticDevices.length === 0 && anyDevices.length === 0) {
        if (ctx.devices.length === 0) continue; // no-fencing-devices says it once, unless watchdog SBD fences
        out.push({
          id: "node-unfenceable",
          severity: "error",
          subject: nodeS(node),
          message: `no fencing level and no device able to fence ${node}: when it fails, its guests stay blocked (or, with fencing off, start twice)`,
          hint: `add ${node} to a device's pcmk_host_list/pcmk_host_map and give it fencing levels (pcs stonith level add 1 ${node} DEVICE)`,
        });
      } else if (staticDevices.length === 0) {
        out.push({
          id: "node-fenced-by-unlisted-device",
          severity: "warning",
          subject: nodeS(node),
          message: `only devices without a host list (${anyDevices.map((d) => d.id).join(", ")}) may fence ${node}: whether one can is found out during the outage`,
          hint: `give ${node} its own devices with pcmk_host_list/pcmk_host_map and fencing levels`,
        });
      } else if (pdus.length >= 2) {
        out.push({
          id: "pdu-level-incomplete",
          severity: "error",
          subject: nodeS(node),
          message: `${node} has no fencing level, and ${pdus.length} PDU devices (${pdus.map((d) => d.id).join(", ")}) feed it: without a level listing them together the fencer uses one, cuts one supply and reports success while the node still runs`,
          hint: `pcs stonith level add 2 ${node} ${pdus.map((d) => d.id).join(",")}`,
        });
      } else if (staticDevices.length >= 2) {
        out.push({
          id: "node-without-level",
          severity: "warning",
          subject: nodeS(node),
          message: `${node} has no fencing level: the fencer tries its devices (${staticDevices.map((d) => d.id).join(", ")}) in no order you chose`,
          hint: `pcs stonith level add 1 ${node} IPMI-DEVICE; pcs stonith level add 2 ${node} PDU-A,PDU-B`,
        });
      }
      continue;
    }
    // With a topology the fencer uses only the levels' devices.
    const inLevels = new Set(levels.flatMap((l) => l.devices));
    for (const level of levels) {
      const levelPdus = level.devices
        .map((id) => ctx.deviceById.get(id))
        .filter((d): d is Primitive => d !== undefined && familyOf(d.type) === "pdu");
      if (levelPdus.length === 0) continue;
      const missing = pdus.filter((p) => !level.devices.includes(p.id));
      if (missing.length > 0) {
        out.push({
          id: "pdu-level-incomplete",
          severity: "error",
          subject: nodeS(node),
          message: `${levelName(level)} switches ${levelPdus.map((d) => d.id).join(", ")} but not ${missing.map((d) => d.id).join(", ")}, which also feeds ${node}: the level reports success while the other supply keeps the node running`,
          hint: `one level with every PDU of the node: pcs stonith level add ${level.index} ${node} ${[...levelPdus, ...missing].map((d) => d.id).join(",")}`,
        });
      }
    }
    const unused = pdus.filter((p) => !inLevels.has(p.id));
    if (unused.length > 0 && unused.length === pdus.length) {
      out.push({
        id: "pdu-not-in-topology",
        severity: "warning",
        subject: nodeS(node),
        message: `PDU devices ${unused.map((d) => d.id).join(", ")} feed ${node} but are in none of its fencing levels: when its BMC is dead (power lost) nothing else can fence it`,
        hint: `pcs stonith level add ${Math.max(...levels.map((l) => l.index)) + 1} ${node} ${unused.map((d) => d.id).join(",")}`,
      });
    }
  }
  return out;
};

// ---- two-node clusters ----

/** The devices the fencer tries first for a node: its lowest level, else every device claiming it. */
function firstDevicesFor(ctx: CheckContext, node: string): Primitive[] {
  const levels = levelsFor(ctx, node);
  if (levels.length > 0) {
    return (levels[0] as FencingLevel).devices
      .map((id) => ctx.deviceById.get(id))
      .filter((d): d is Primitive => d !== undefined);
  }
  return ctx.devices.filter((d) => claims(d, node).claimed !== "no");
}

const twoNodeDelay: Rule = (ctx) => {
  if (ctx.members.length !== 2 || ctx.devices.length === 0) return [];
  const priorityDelay = parseDurationMs(ctx.cib.properties.get("priority-fencing-delay")) ?? 0;
  if (priorityDelay > 0) return [];
  const [a, b] = ctx.members as [string, string];
  const delayFor = (node: string): { base: number; random: boolean } => {
    const devices = firstDevicesFor(ctx, node);
    let base = 0;
    let random = false;
    for (const d of devices) {
      const x = delayOf(d, node);
      base = Math.max(base, x.pcmkBaseSeconds + x.agentSeconds);
      random ||= x.randomMaxSeconds > 0;
    }
    return { base, random };
  };
  const da = delayFor(a);
  const db = delayFor(b);
  if (da.random || db.random || da.base !== db.base) return [];
  return [
    {
      id: "two-node-no-delay",
      severity: "error",
      subject: cluster(),
      message:
        da.base === 0
          ? `two-node cluster without a fencing delay: when the link between ${a} and ${b} fails, each fences the other at once and both go down`
          : `two-node cluster with the same fencing delay (${da.base} s) for ${a} and ${b}: both still fence each other at once`,
      hint: `delay fencing of one node only, e.g. pcs stonith update <${a}'s devices> pcmk_delay_base=10s (or set pcmk_delay_max, or priority-fencing-delay)`,
    },
  ];
};

// ---- timeouts ----

/**
 * The actions the fencer asks this device for: stonith-action=off → off; reboot → reboot when the
 * device is used alone (a level of its own, or no topology), off and on when it is in a level with
 * other devices (the fencer switches every device of such a level off, then every one on).
 */
function actionsFor(ctx: CheckContext, d: Primitive, action: "reboot" | "off"): FenceAction[] {
  if (action === "off") return ["off"];
  const levels = ctx.cib.levels.filter((l) => l.devices.includes(d.id));
  const acts = new Set<FenceAction>();
  if (levels.length === 0 || levels.some((l) => l.devices.length === 1)) acts.add("reboot");
  if (levels.some((l) => l.devices.length > 1)) {
    acts.add("off");
    acts.add("on");
  }
  return [...acts];
}

const fencingTimeouts: Rule = (ctx) => {
  const out: Finding[] = [];
  const action = stonithAction(ctx.cib);
  const stonithTimeout = stonithTimeoutMs(ctx.cib) / 1000;
  for (const d of ctx.devices) {
    for (const name of [
      "pcmk_reboot_timeout",
      "pcmk_off_timeout",
      "pcmk_on_timeout",
      "pcmk_monitor_timeout",
      "pcmk_status_timeout",
      "pcmk_list_timeout",
    ]) {
      const parsed = parseFencerSeconds(d.instance.get(name));
      if (parsed?.ignoredUnit !== undefined) {
        out.push({
          id: "timeout-unit-ignored",
          severity: "warning",
          subject: deviceS(d.id),
          message: `${name}=${d.instance.get(name) ?? ""}: the fencer reads this value as ${parsed.seconds} seconds (it ignores '${parsed.ignoredUnit}')`,
          hint: `give ${name} in seconds, e.g. ${name}=${Math.round((parseDurationMs(d.instance.get(name)) ?? parsed.seconds * 1000) / 1000)}`,
        });
      }
    }
    if (familyOf(d.type) === "other") continue;
    for (const act of actionsFor(ctx, d, action)) {
      const worst = agentWorstSeconds(d, act);
      const allowed = fencerTimeoutSeconds(d, act, ctx.cib);
      if (worst <= allowed.seconds) continue;
      out.push({
        id: "timeout-device",
        severity: "error",
        subject: deviceS(d.id),
        message: `its agent may take up to ${worst} s to ${act === "on" ? "switch on" : act} (${act === "on" ? "" : "delay + "}login/request timeout + power_wait + power_timeout${act === "reboot" ? ", off then on" : ""}) but the fencer kills it after ${allowed.seconds} s (${allowed.from}): a slow but working fence is reported failed`,
        hint: `raise ${allowed.from === "stonith-timeout" ? "stonith-timeout or " : ""}pcmk_${act}_timeout to at least ${Math.ceil(worst * 1.2)}, or lower the agent's power_timeout`,
      });
    }
  }
  for (const level of ctx.cib.levels) {
    const devices = level.devices
      .map((id) => ctx.deviceById.get(id))
      .filter((d): d is Primitive => d !== undefined);
    if (devices.length === 0) continue;
    let total = 0;
    let delay = 0;
    // A reboot through a level of several devices is an off of each, then an on of each.
    const acts: FenceAction[] =
      action === "off" ? ["off"] : devices.length > 1 ? ["off", "on"] : ["reboot"];
    for (const d of devices) {
      for (const act of acts)
        total += Math.min(agentWorstSeconds(d, act), fencerTimeoutSeconds(d, act, ctx.cib).seconds);
      // The agent's own `delay` is in its worst case already; the fencer's delays come before it.
      for (const n of levelNodes(ctx, level)) {
        const x = delayOf(d, n);
        delay = Math.max(delay, x.pcmkBaseSeconds + x.randomMaxSeconds);
      }
    }
    total += delay;
    if (total > stonithTimeout) {
      out.push({
        id: "timeout-level",
        severity: "error",
        subject: levelS(level),
        message: `${levelName(level)} may need ${Math.ceil(total)} s (${devices.map((d) => d.id).join(" then ")}${delay > 0 ? `, plus ${delay} s of fencing delay` : ""}) but stonith-timeout is ${stonithTimeout} s: the fencing request can time out while the level is still working`,
        hint: `pcs property set stonith-timeout=${Math.ceil(total * 1.2)}s (or lower the devices' power_timeout)`,
      });
    }
  }
  return out;
};

// ---- guests ----

function isGuest(p: Primitive): boolean {
  return p.class === "ocf" && p.type === "VirtualDomain";
}

function opTimeoutMs(ctx: CheckContext, p: Primitive, name: string): number {
  const op = p.ops.find((o) => o.name === name && o.enabled);
  return op?.timeoutMs ?? parseDurationMs(ctx.cib.opDefaults.get("timeout")) ?? 20_000;
}

const guests: Rule = (ctx) => {
  const out: Finding[] = [];
  for (const p of ctx.cib.primitives.filter(isGuest)) {
    const agent = `ocf:${p.provider ?? "?"}:VirtualDomain`;
    const migrate = metaOf(ctx.cib, p, "allow-migrate");
    if (!isTrue(migrate)) {
      out.push({
        id: "guest-no-migrate",
        severity: "warning",
        subject: resourceS(p.id),
        message: `${agent} without allow-migrate=true: moving it (node maintenance, failback) shuts the guest down and boots it elsewhere instead of a live migration`,
        hint: `pcs resource meta ${p.id} allow-migrate=true`,
      });
    }
    const monitors = p.ops.filter((o) => o.name === "monitor" && o.intervalMs > 0 && o.enabled);
    if (monitors.length === 0) {
      out.push({
        id: "guest-no-monitor",
        severity: "error",
        subject: resourceS(p.id),
        message: `${agent} without a recurring monitor: a crashed or killed guest is never noticed nor recovered`,
        hint: `pcs resource op add ${p.id} monitor interval=10s timeout=30s`,
      });
    }
    const stop = opTimeoutMs(ctx, p, "stop");
    const reserve = p.provider === "kvmha" ? 15_000 : 5_000;
    if (stop <= reserve) {
      out.push({
        id: "guest-stop-timeout",
        severity: "warning",
        subject: resourceS(p.id),
        message:
          p.provider === "kvmha"
            ? `stop timeout ${showSeconds(stop)} is within the agent's 15 s destroy reserve: every stop destroys the guest (a power cut) without a shutdown first`
            : `stop timeout ${showSeconds(stop)} leaves no time for a graceful shutdown: the guest is destroyed`,
        hint: `pcs resource op add ${p.id} stop timeout=90s (or update the existing stop op)`,
      });
    }
    if (isTrue(migrate)) {
      const monitorTimeout =
        monitors.length > 0
          ? Math.max(...monitors.map((m) => m.timeoutMs ?? opTimeoutMs(ctx, p, "monitor")))
          : opTimeoutMs(ctx, p, "monitor");
      const migrateTo = opTimeoutMs(ctx, p, "migrate_to");
      if (migrateTo < monitorTimeout) {
        out.push({
          id: "guest-migrate-timeout",
          severity: "warning",
          subject: resourceS(p.id),
          message: `migrate_to timeout ${showSeconds(migrateTo)} is shorter than the monitor's ${showSeconds(monitorTimeout)}: a live migration of a busy guest is aborted, and the guest stopped and started instead`,
          hint: `pcs resource op add ${p.id} migrate_to timeout=120s; pcs resource op add ${p.id} migrate_from timeout=60s`,
        });
      }
    }
  }
  return out;
};

/** Attribute sets with rules are not evaluated: say so where it could change a finding. */
const ruledSets: Rule = (ctx) =>
  ctx.cib.primitives
    .filter((p) => p.ruledSets.length > 0 && (isStonith(p) || isGuest(p)))
    .map((p) => ({
      id: "rules-not-evaluated",
      severity: "warning" as const,
      subject: isStonith(p) ? deviceS(p.id) : resourceS(p.id),
      message: `attribute set(s) ${p.ruledSets.map((r) => `'${r}'`).join(", ")} have rules, which kvmha check does not evaluate: what it says about this ${isStonith(p) ? "device" : "resource"} ignores them`,
      hint: "check these attributes by hand (crm_resource --resource ID --query-xml shows them), or move them to a set without rules",
    }));

/** Every rule, in report order. */
export const RULES: readonly Rule[] = [
  fencingEnabled,
  fencingPresent,
  nodeCoverage,
  levelDevices,
  deviceClaims,
  deviceOnOwnTarget,
  sharedHardware,
  twoNodeDelay,
  fencingTimeouts,
  guests,
  ruledSets,
];

export function runRules(ctx: CheckContext): Finding[] {
  return RULES.flatMap((rule) => rule(ctx));
}
