/**
 * The inventory's checks across sections, which no field table or schema can say: PDUs referenced
 * but not defined, outlets used twice, two nodes on one BMC (or two PDUs on one address), a node
 * with no way to be fenced, capacities all or none, resource ids that would collide, two guests on
 * one domain XML.
 */
import { isSeq, type Node as YamlNode } from "yaml";
import type { Bmc, Cluster, Dependencies, Guest, Node, Pdu } from "./model.js";
import { WAIVABLE_FINDING_IDS } from "../check/findings.js";
import { dependencyNames } from "./policy.js";
import type { InventoryWalker } from "./validate.js";
import { type Named, didYouMean } from "./walker.js";

export interface Sections {
  readonly nodes: readonly Named<Node>[];
  readonly pdus: readonly Named<Pdu>[];
  readonly guests: readonly Named<Guest>[];
  readonly cluster: Named<Cluster> | undefined;
  readonly dependencies: Named<Dependencies>;
}

/** corosync's practical size: beyond it, hypervisors join as Pacemaker Remote nodes. */
const PRACTICAL_MEMBERS = 16;

/** The same box twice, by address and port (as kvmha check's duplicate-bmc sees it). */
function sameBox<T>(
  v: InventoryWalker,
  items: readonly { value: T; at: YamlNode | undefined }[],
  endpoint: (t: T) => string | undefined,
  say: (t: T, first: T) => string,
): void {
  const seen = new Map<string, T>();
  for (const item of items) {
    const key = endpoint(item.value);
    if (key === undefined) continue;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, item.value);
    else v.error(item.at, say(item.value, first));
  }
}

/** A BMC's port: given, or its protocol's (IPMI's 623, HTTPS's 443). */
function bmcPort(bmc: Bmc): number {
  return bmc.port ?? (bmc.protocol === "redfish" ? 443 : 623);
}

export function crossCheck(v: InventoryWalker, sections: Sections): void {
  const { nodes, pdus, guests, cluster, dependencies } = sections;
  // Fencing one node through a BMC that powers another kills the wrong machine: kvmha check calls
  // this duplicate-bmc, an error, and so does render.
  sameBox(
    v,
    nodes,
    (n) => (n.bmc === undefined ? undefined : `${n.bmc.address.toLowerCase()}:${bmcPort(n.bmc)}`),
    (n, first) =>
      `nodes.${n.name}.bmc: address ${n.bmc?.address ?? ""} port ${n.bmc === undefined ? "" : bmcPort(n.bmc)} is already node '${first.name}'s BMC; expected each node's own BMC (a BMC powers one machine)`,
  );
  sameBox(
    v,
    pdus,
    (p) => (p.address === "" ? undefined : `${p.address.toLowerCase()}:${p.port ?? 161}`),
    (p, first) =>
      `pdus.${p.name}: address ${p.address} port ${p.port ?? 161} is already PDU '${first.name}'; expected one entry per PDU (list all of its outlets under it)`,
  );
  const members = nodes.filter((n) => n.value.remote === undefined);
  if (members.length > PRACTICAL_MEMBERS && cluster !== undefined)
    v.warn(
      cluster.at,
      `${members.length} cluster members: corosync's membership grows slow and fragile beyond ${PRACTICAL_MEMBERS}; mark the other hypervisors as Pacemaker Remote nodes (remote: {}) instead`,
    );
  const pduNames = pdus.map((p) => p.value.name);
  // outlet → the node that has it, per PDU
  const used = new Map<string, Map<string, string>>();
  const fedBy = new Map<string, number>();
  for (const { value: node } of nodes) {
    const seenPdus = new Set<string>();
    for (const supply of node.power) {
      const at = v.supplyAt.get(supply.outlets)?.pdu;
      if (!pduNames.includes(supply.pdu)) {
        v.error(
          at,
          `nodes.${node.name}: PDU '${supply.pdu}' is not defined${didYouMean(supply.pdu, pduNames)}; expected one of the names under pdus${pduNames.length === 0 ? " (there are none)" : `: ${pduNames.join(", ")}`}`,
        );
        continue;
      }
      if (seenPdus.has(supply.pdu))
        v.error(
          at,
          `nodes.${node.name}: two supplies on PDU '${supply.pdu}'; expected each supply on its own PDU (list several outlets in one entry if both are on it)`,
        );
      seenPdus.add(supply.pdu);
      fedBy.set(supply.pdu, (fedBy.get(supply.pdu) ?? 0) + 1);
      const outletsOf = used.get(supply.pdu) ?? new Map<string, string>();
      used.set(supply.pdu, outletsOf);
      const list = v.supplyAt.get(supply.outlets)?.outlets;
      for (const [i, outlet] of supply.outlets.entries()) {
        const owner = outletsOf.get(outlet);
        const itemAt = isSeq(list) ? (list.items[i] as YamlNode | undefined) : list;
        if (owner !== undefined && owner !== node.name)
          v.error(
            itemAt,
            `nodes.${node.name}: outlet ${outlet} of PDU '${supply.pdu}' is already used by node '${owner}'; expected each outlet on one node only`,
          );
        else outletsOf.set(outlet, node.name);
      }
    }
    if (pdus.length > 0 && node.power.length === 0)
      v.error(
        nodes.find((n) => n.value === node)?.at,
        `nodes.${node.name}: power is missing; expected the node's supplies (pdu, outlets): with PDUs defined, every node needs fencing level 2`,
      );
    if (
      !v.bmcWritten.has(node.name) &&
      node.power.length === 0 &&
      cluster?.value.sbd === undefined
    ) {
      v.error(
        nodes.find((n) => n.value === node)?.at,
        `nodes.${node.name}: no way to fence this node; expected bmc, power or cluster.sbd`,
      );
    }
  }
  for (const p of pdus)
    if (!fedBy.has(p.value.name))
      v.warn(
        p.at,
        `pdus.${p.value.name}: no node's supply is on this PDU; it gets no fencing device`,
      );
  if (
    pdus.length === 0 &&
    cluster !== undefined &&
    cluster.value.sbd === undefined &&
    nodes.length > 0
  ) {
    v.warn(
      cluster.at,
      "no PDUs and no SBD: a node that loses all power (its BMC with it) cannot be fenced, and its guests stay down until an admin confirms it is off (stonith_admin --confirm)",
    );
  }
  // capacities: all or none, and needed by guest utilization
  const withCap = nodes.filter((n) => n.value.capacity !== undefined);
  if (withCap.length > 0 && withCap.length < nodes.length) {
    for (const n of nodes)
      if (n.value.capacity === undefined)
        v.error(
          n.at,
          `nodes.${n.value.name}: capacity is missing; expected capacity on every node once one node has it`,
        );
  }
  for (const g of guests) {
    if (g.value.utilization !== undefined && withCap.length === 0) {
      v.error(
        g.at,
        `guests.${g.value.name}: utilization needs node capacities; expected capacity (cpu, memory) on every node`,
      );
    }
  }
  if (cluster?.value.placementStrategy !== undefined && withCap.length === 0) {
    v.error(
      cluster.at,
      `cluster.placement_strategy: set without node capacities; expected capacity (cpu, memory) on every node`,
    );
  }
  // resource ids must not collide: devices, remote nodes' connections, guests, dependencies
  const ids = new Map<string, string>();
  for (const n of nodes) {
    if (n.value.bmc !== undefined)
      ids.set(`fence-${n.value.bmc.protocol}-${n.value.name}`, "a fencing device");
    if (n.value.remote !== undefined) ids.set(n.value.name, "a remote node's connection resource");
  }
  for (const p of pdus) ids.set(`fence-pdu-${p.value.name}`, "a fencing device");
  for (const w of WAIVABLE_FINDING_IDS) ids.set(`kvmha-waive-${w}`, "a kvmha check waiver (a tag)");
  if (cluster?.value.sbd !== undefined) ids.set("fence-sbd", "a fencing device");
  for (const g of guests) {
    const other = ids.get(g.value.name);
    if (other !== undefined)
      v.error(
        g.at,
        `guests.${g.value.name}: '${g.value.name}' is the id of ${other}; expected another guest name`,
      );
    else ids.set(g.value.name, "a guest");
  }
  for (const d of new Set(dependencyNames(dependencies.value))) {
    const other = ids.get(d);
    if (other !== undefined)
      v.error(
        dependencies.at,
        `dependencies: '${d}' is the id of ${other} kvmha creates; expected the id of a clone created outside kvmha`,
      );
  }
  // VirtualDomain's config is unique: two resources on one domain XML would start one guest twice.
  const configs = new Map<string, string>();
  for (const g of guests) {
    const other = configs.get(g.value.config);
    if (other !== undefined && g.value.config !== "")
      v.error(
        g.at,
        `guests.${g.value.name}: config ${g.value.config} is already the config of guest '${other}'; expected one guest per domain XML`,
      );
    else configs.set(g.value.config, g.value.name);
  }
}
