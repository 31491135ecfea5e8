/**
 * The resources part of the plan: the guests (ocf:kvmha:VirtualDomain) with their parameters,
 * meta attributes and operations; the connections of Pacemaker Remote nodes (ocf:pacemaker:remote);
 * each guest's dependencies (ordered after and colocated with the storage and libvirt clones); the
 * resource defaults (stickiness); the waivers kvmha check reads (meta kvmha-waive). Pure.
 */
import type { Guest, Inventory, Node, Utilization } from "../inventory/model.js";
import type { Pair } from "./fencing.js";

export interface Op {
  readonly name: string;
  readonly interval: number;
  readonly timeout: number;
}

export interface GuestResource {
  readonly id: string;
  readonly params: readonly Pair[];
  readonly meta: readonly Pair[];
  readonly ops: readonly Op[];
  readonly utilization: readonly Pair[];
}

/** A Pacemaker Remote node's connection resource: its id is the node's name. */
export interface RemoteResource {
  readonly id: string;
  /** Where pacemaker-remoted listens (the `server` parameter). */
  readonly server: string;
  /** The other parameters (port, reconnect_interval). */
  readonly params: readonly Pair[];
  readonly ops: readonly Op[];
}

/** A guest's dependency on a clone: started first (order) and on the same node (colocation). */
export interface Dependency {
  readonly guest: string;
  readonly clone: string;
  /** rsc_order id: the clone starts before the guest, and the guest stops before it. */
  readonly orderId: string;
  /** rsc_colocation id: the guest runs only where the clone runs. */
  readonly colocationId: string;
}

export interface NodeUtilization {
  readonly node: string;
  /** A Pacemaker Remote node, whose CIB node id is its name (a member's is corosync's). */
  readonly remote: boolean;
  readonly attributes: readonly Pair[];
}

/**
 * A finding accepted on purpose (docs/check.md): a Pacemaker tag named after it, listing the
 * resources it is accepted for. A tag, not a meta attribute: pcs, crmsh and the CIB all know tags,
 * and crmsh warns about meta attributes it does not know. kvmha check reads both.
 */
export interface Waiver {
  readonly tag: string;
  readonly ids: readonly string[];
}

/** The tag's id (stable; kvmha check reads it): kvmha-waive-<finding id>. */
export const waiverTag = (finding: string): string => `kvmha-waive-${finding}`;

/** Stable ids (docs/templates.md). */
export const dependencyIds = {
  order: (guest: string, clone: string): string => `${guest}-after-${clone}`,
  colocation: (guest: string, clone: string): string => `${guest}-with-${clone}`,
} as const;

/**
 * The connection's operations, spelt out so every format has the same: a dead connection is
 * noticed within a monitor interval (and the node fenced), a start or stop gets Pacemaker's
 * advised 60 s.
 */
const REMOTE_OPS: readonly Op[] = [
  { name: "start", interval: 0, timeout: 60 },
  { name: "stop", interval: 0, timeout: 60 },
  { name: "monitor", interval: 20, timeout: 30 },
];

export function utilizationPairs(u: Utilization | undefined): Pair[] {
  const out: Pair[] = [];
  if (u?.cpu !== undefined) out.push(["cpu", String(u.cpu)]);
  if (u?.memory !== undefined) out.push(["memory", String(u.memory)]);
  return out;
}

/** The waivers of a guest: its own, and allow_migrate: false, which is a deliberate choice itself. */
function guestWaivers(g: Guest): string[] {
  const waive = [...g.waive];
  if (!g.allowMigrate && !waive.includes("guest-no-migrate")) waive.push("guest-no-migrate");
  return waive;
}

/**
 * Every waiver, one tag per finding: a guest's for that guest; the cluster's (and resource_stickiness:
 * 0, written only on purpose) for every resource kvmha creates, which is what "the whole cluster"
 * means to a tag (a tag lists resources; kvmha check takes a tag for a finding about the cluster
 * as that finding's waiver).
 */
export function waiversOf(inv: Inventory, created: readonly string[]): Waiver[] {
  const byFinding = new Map<string, string[]>();
  const add = (finding: string, ids: readonly string[]): void => {
    const list = byFinding.get(finding) ?? [];
    for (const id of ids) if (!list.includes(id)) list.push(id);
    byFinding.set(finding, list);
  };
  const cluster = [...inv.cluster.waive];
  if (inv.cluster.resourceStickiness === 0 && !cluster.includes("no-stickiness"))
    cluster.push("no-stickiness");
  for (const finding of cluster) add(finding, created);
  for (const g of inv.guests) for (const finding of guestWaivers(g)) add(finding, [g.name]);
  return [...byFinding].map(([finding, ids]) => ({ tag: waiverTag(finding), ids }));
}

export function guestResource(g: Guest): GuestResource {
  const params: Pair[] = [
    ["config", g.config],
    ["hypervisor", g.hypervisor],
  ];
  const m = g.migration;
  if (m.transport !== undefined) params.push(["migration_transport", m.transport]);
  if (m.user !== undefined) params.push(["migration_user", m.user]);
  if (m.networkSuffix !== undefined) params.push(["migration_network_suffix", m.networkSuffix]);
  if (m.uri !== undefined) params.push(["migrateuri", m.uri]);
  if (m.port !== undefined) params.push(["migrateport", String(m.port)]);
  if (m.speed !== undefined) params.push(["migration_speed", String(m.speed)]);
  if (m.downtime !== undefined) params.push(["migration_downtime", String(m.downtime)]);
  const t = g.timeouts;
  const ops: Op[] = [
    { name: "start", interval: 0, timeout: t.start },
    { name: "stop", interval: 0, timeout: t.stop },
    { name: "monitor", interval: t.monitorInterval, timeout: t.monitor },
  ];
  if (g.allowMigrate)
    ops.push(
      { name: "migrate_to", interval: 0, timeout: t.migrateTo },
      { name: "migrate_from", interval: 0, timeout: t.migrateFrom },
    );
  const meta: Pair[] = [
    ["allow-migrate", g.allowMigrate ? "true" : "false"],
    ["migration-threshold", String(g.migrationThreshold)],
    ["failure-timeout", `${g.failureTimeout}s`],
  ];
  if (g.priority !== undefined) meta.push(["priority", String(g.priority)]);
  if (g.targetRole !== undefined) meta.push(["target-role", g.targetRole]);
  return { id: g.name, params, meta, ops, utilization: utilizationPairs(g.utilization) };
}

export function remoteResource(node: Node): RemoteResource | undefined {
  const r = node.remote;
  if (r === undefined) return undefined;
  const params: Pair[] = [];
  if (r.port !== undefined) params.push(["port", String(r.port)]);
  params.push(["reconnect_interval", `${r.reconnectInterval}s`]);
  return { id: node.name, server: r.address ?? node.name, params, ops: REMOTE_OPS };
}

export function dependenciesOf(guests: readonly Guest[]): Dependency[] {
  return guests.flatMap((g) =>
    g.requires.map((clone) => ({
      guest: g.name,
      clone,
      orderId: dependencyIds.order(g.name, clone),
      colocationId: dependencyIds.colocation(g.name, clone),
    })),
  );
}

/**
 * rsc_defaults: stickiness for every resource (guests and devices: when a failed node comes back,
 * nothing moves back to it). 0 writes nothing: Pacemaker's own default.
 */
export function resourceDefaults(inv: Inventory): Pair[] {
  const stickiness = inv.cluster.resourceStickiness;
  return stickiness > 0 ? [["resource-stickiness", String(stickiness)]] : [];
}
