/**
 * What the inventory becomes in Pacemaker's terms, before any syntax: fencing devices with their
 * parameters, fencing levels, constraints, guest and remote-node resources, dependencies, resource
 * defaults, properties. The three formats (pcs, crmsh, CIB XML) are only different spellings of
 * this one plan, which is what keeps them equivalent; the Pacemaker generation it is for changes a
 * few spellings only (generation.ts). Pure: Inventory in, Plan out. The fencing part is in
 * fencing.ts, the resources in resources.ts.
 */
import type { Inventory } from "../inventory/model.js";
import { type FencingLevel, type Pair, type StonithDevice, planFencing } from "./fencing.js";
import { DEFAULT_GENERATION, type Generation, hostMapFor } from "./generation.js";
import {
  type Dependency,
  type GuestResource,
  type NodeUtilization,
  type RemoteResource,
  type Waiver,
  dependenciesOf,
  guestResource,
  remoteResource,
  resourceDefaults,
  utilizationPairs,
  waiversOf,
} from "./resources.js";

export {
  DEVICE_FAILURE_TIMEOUT,
  DEVICE_MONITOR_INTERVAL,
  type FencingLevel,
  type Pair,
  PlanError,
  type StonithDevice,
  deviceId,
  secretCommand,
} from "./fencing.js";
export type {
  Dependency,
  GuestResource,
  NodeUtilization,
  Op,
  RemoteResource,
  Waiver,
} from "./resources.js";
export type { Generation } from "./generation.js";

/** The tag listing the resources kvmha created (`kvmha apply` removes only what it lists). */
export const MANAGED_TAG = "kvmha-managed";

export interface Plan {
  readonly cluster: string;
  /** The Pacemaker generation the plan is spelt for (2: pcs 0.11, crmsh 4.4; 3: pcs 0.12, crmsh 5). */
  readonly pacemaker: Generation;
  /** Every node fencing covers: members, then Pacemaker Remote nodes. */
  readonly nodes: readonly string[];
  readonly devices: readonly StonithDevice[];
  readonly levels: readonly FencingLevel[];
  /** Pacemaker Remote nodes' connection resources. */
  readonly remotes: readonly RemoteResource[];
  readonly guests: readonly GuestResource[];
  /** Each guest after and with the clones it needs. */
  readonly dependencies: readonly Dependency[];
  readonly nodeUtilization: readonly NodeUtilization[];
  /** rsc_defaults meta attributes (resource-stickiness). */
  readonly resourceDefaults: readonly Pair[];
  /** kvmha check findings accepted on purpose: a tag each, listing the resources. */
  readonly waivers: readonly Waiver[];
  /**
   * The tag kvmha-managed, listing every resource the plan creates: what `kvmha apply` owns
   * (topology/apply/diff.ts); pcs tags only resources.
   */
  readonly managed: Waiver;
  readonly properties: readonly Pair[];
  /** Two-node clusters: corosync.conf's quorum section needs two_node (pcs cannot set it in the CIB). */
  readonly twoNode:
    { readonly preferred: string; readonly delay: number; readonly strategy: string } | undefined;
  readonly stonithTimeout: {
    readonly seconds: number;
    readonly worstNode: string;
    readonly sum: string;
  };
}

/** pcmk_host_map spelt for Pacemaker 2 (as for 3: generation.ts's hostMapFor decides). */
export function hostMap(entries: readonly { node: string; outlets: readonly string[] }[]): string {
  return hostMapFor(2, entries);
}

/**
 * The plan for `generation`: the one given (the command line's --pacemaker), else the inventory's
 * cluster.pacemaker, else Pacemaker 2.
 */
export function planCluster(inv: Inventory, generation?: Generation): Plan {
  const pacemaker = generation ?? inv.cluster.pacemaker ?? DEFAULT_GENERATION;
  const fencing = planFencing(inv, pacemaker);
  const hasCapacity = inv.nodes.some((n) => n.capacity !== undefined);
  const properties: Pair[] = [
    ["stonith-enabled", "true"],
    ["stonith-timeout", `${fencing.stonithTimeout.seconds}s`],
    ...fencing.properties,
  ];
  if (hasCapacity)
    properties.push(["placement-strategy", inv.cluster.placementStrategy ?? "balanced"]);
  const nodeUtilization: NodeUtilization[] = inv.nodes
    .filter((n) => n.capacity !== undefined)
    .map((n) => ({
      node: n.name,
      remote: n.remote !== undefined,
      attributes: utilizationPairs(n.capacity),
    }));
  const members = inv.nodes.filter((n) => n.remote === undefined);
  const remotes = inv.nodes.filter((n) => n.remote !== undefined);
  const created = [
    ...fencing.devices.map((d) => d.id),
    ...remotes.map((n) => n.name),
    ...inv.guests.map((g) => g.name),
  ];
  return {
    cluster: inv.cluster.name,
    pacemaker,
    nodes: [...members, ...remotes].map((n) => n.name),
    devices: fencing.devices,
    levels: fencing.levels,
    remotes: remotes.map(remoteResource).filter((r) => r !== undefined),
    guests: inv.guests.map(guestResource),
    dependencies: dependenciesOf(inv.guests),
    nodeUtilization,
    resourceDefaults: resourceDefaults(inv),
    waivers: waiversOf(inv, created),
    managed: { tag: MANAGED_TAG, ids: created },
    properties,
    twoNode: inv.cluster.twoNode,
    stonithTimeout: fencing.stonithTimeout,
  };
}
