/**
 * Every id the rendered configuration puts in a CIB, with the inventory entry it comes from, so
 * that what cibadmin, pcs or crmsh would refuse at apply time is refused at the inventory's line
 * instead: an id that is not an XML ID (Pacemaker's rule: a letter or _ first, then letters,
 * digits, '.', '_', '-'), an id made twice by different objects (node `a` has the constraint
 * `fence-ipmi-a-avoids-a`, node `a-avoids-a` the device of the same id), and an id that the
 * cluster's tools make for themselves (a guest named `cib-bootstrap-options`, or `fencing-1`,
 * crmsh's name for a fencing level). Each format names some things its own way, so the ids of all
 * three are listed (docs/templates.md#ids); unit tests hold this list to the rendered CIB XML, and
 * the integration tests to what pcs and crmsh create. Pure.
 */
import type { Inventory } from "../inventory/model.js";
import { avoidId } from "./common.js";
import { DEVICE_MONITOR_INTERVAL, type Pair, type Plan, deviceId } from "./plan.js";

export type IdFormat = "cib" | "pcs" | "crmsh";
const ALL: readonly IdFormat[] = ["cib", "pcs", "crmsh"];

export interface GeneratedId {
  readonly id: string;
  /** The inventory entry it comes from: `nodes.hv1`, `pdus.pdu-a`, `guests.web1`, `cluster`. */
  readonly owner: string;
  /** What carries the id, for messages: "the fencing device fence-ipmi-hv1". */
  readonly what: string;
  /** The formats whose CIB has it. */
  readonly formats: readonly IdFormat[];
}

/** Pacemaker's ids are XML IDs; pcs and crmsh accept this ASCII subset of them. */
export const PACEMAKER_ID = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Ids the cluster's tools make for themselves, from what the inventory does not name. */
const TOOLS_IDS: readonly (readonly [RegExp, string])[] = [
  [/^cib-bootstrap-options(-|$)/, "Pacemaker's cluster options set (cib-bootstrap-options)"],
  [
    /^(nodes|status)-\d/,
    "a node's attribute sets (nodes-<node id>-…), as pcs and Pacemaker name them",
  ],
  [/^fencing(-\d+)?$/, "a fencing level as crmsh names it (fencing, fencing-0, …)"],
  [/^(rsc|op)-options(-|$)/, "the resource and operation defaults as crmsh names them"],
  [
    /^(rsc|op)_defaults-meta_attributes(-|$)/,
    "the resource and operation defaults as pcs names them",
  ],
  [/^build-resource-defaults(-|$)/, "the resource defaults pcs cluster setup creates"],
];

/** The tool-made ids `id` would collide with, said in words; undefined when it is free. */
export function toolsIdClash(id: string): string | undefined {
  return TOOLS_IDS.find(([re]) => re.test(id))?.[1];
}

/** The ids of every object the plan creates, each with its inventory entry. */
export function generatedIds(plan: Plan, inventory: Inventory): GeneratedId[] {
  const out: GeneratedId[] = [];
  const add = (id: string, owner: string, what: string, formats = ALL): void => {
    out.push({ id, owner, what, formats });
  };
  const sets = (owner: string, of: string, set: string, pairs: readonly Pair[], label: string) => {
    if (pairs.length === 0) return;
    add(`${of}-${set}`, owner, `the ${label} set of ${of}`);
    for (const [name] of pairs) add(`${of}-${set}-${name}`, owner, `${of}'s ${label} ${name}`);
  };
  const ops = (owner: string, of: string, list: readonly { name: string; interval: number }[]) => {
    for (const o of list) {
      const what = `${of}'s ${o.name} operation`;
      add(`${of}-${o.name}-interval-${o.interval}s`, owner, what, ["cib", "pcs"]);
      add(`${of}-${o.name}-${o.interval}s`, owner, what, ["crmsh"]);
    }
  };

  add("cib-bootstrap-options", "cluster", "the cluster options set");
  for (const [name] of plan.properties)
    add(`cib-bootstrap-options-${name}`, "cluster", `the cluster option ${name}`);

  const owners = new Map<string, string>();
  for (const n of inventory.nodes)
    owners.set(deviceId.bmc(n.name, n.bmc?.protocol ?? "ipmi"), `nodes.${n.name}`);
  for (const p of inventory.pdus) owners.set(deviceId.pdu(p.name), `pdus.${p.name}`);
  owners.set(deviceId.sbd, "cluster.sbd");
  for (const d of plan.devices) {
    const owner = owners.get(d.id) ?? "cluster";
    add(d.id, owner, `the fencing device ${d.id}`);
    sets(owner, d.id, "instance_attributes", d.params, "parameter");
    sets(owner, d.id, "meta_attributes", d.meta, "meta attribute");
    ops(owner, d.id, [{ name: "monitor", interval: DEVICE_MONITOR_INTERVAL }]);
    if (d.avoids !== undefined)
      add(
        avoidId(d.id, d.avoids),
        `nodes.${d.avoids}`,
        `the constraint keeping ${d.id} off ${d.avoids}`,
      );
  }
  for (const l of plan.levels)
    add(
      `fl-${l.target}-${l.index}`,
      `nodes.${l.target}`,
      `fencing level ${l.index} of ${l.target}`,
      ["cib", "pcs"],
    );
  for (const r of plan.remotes) {
    const owner = `nodes.${r.id}`;
    add(r.id, owner, `the connection of remote node ${r.id}`);
    sets(owner, r.id, "instance_attributes", [["server", r.server], ...r.params], "parameter");
    ops(owner, r.id, r.ops);
  }
  for (const g of plan.guests) {
    const owner = `guests.${g.id}`;
    add(g.id, owner, `the guest ${g.id}`);
    sets(owner, g.id, "instance_attributes", g.params, "parameter");
    sets(owner, g.id, "meta_attributes", g.meta, "meta attribute");
    sets(owner, g.id, "utilization", g.utilization, "utilization");
    ops(owner, g.id, g.ops);
  }
  for (const d of plan.dependencies) {
    const owner = `guests.${d.guest}`;
    add(d.orderId, owner, `the order of ${d.guest} after ${d.clone}`);
    add(d.colocationId, owner, `the colocation of ${d.guest} with ${d.clone}`);
  }
  // crmsh names a node's utilization after the node (pcs and crm_attribute after its corosync id);
  // a remote node's entry is in the CIB XML too, and its id is its name for pcs as well.
  for (const n of plan.nodeUtilization) {
    const formats: readonly IdFormat[] = n.remote ? ["cib", "crmsh"] : ["crmsh"];
    const owner = `nodes.${n.node}`;
    const what = `the utilization of node ${n.node}`;
    add(`${n.node}-utilization`, owner, what, formats);
    if (n.remote) add(`nodes-${n.node}-utilization`, owner, what, ["pcs"]);
    for (const [name] of n.attributes) {
      const attr = `node ${n.node}'s utilization ${name}`;
      add(`${n.node}-utilization-${name}`, owner, attr, formats);
      if (n.remote) add(`nodes-${n.node}-utilization-${name}`, owner, attr, ["pcs"]);
    }
  }
  // rsc_defaults: crmsh's name for the set, which the CIB XML uses too; pcs names it its own way.
  if (plan.resourceDefaults.length > 0) {
    const sets: readonly (readonly [string, readonly IdFormat[]])[] = [
      ["rsc-options", ["cib", "crmsh"]],
      ["rsc_defaults-meta_attributes", ["pcs"]],
    ];
    for (const [set, formats] of sets) {
      add(set, "cluster", "the resource defaults", formats);
      for (const [name] of plan.resourceDefaults)
        add(`${set}-${name}`, "cluster", `the resource default ${name}`, formats);
    }
  }
  for (const w of plan.waivers)
    add(w.tag, "cluster", `the tag ${w.tag} (what kvmha check accepts on purpose)`);
  if (plan.managed.ids.length > 0)
    add(plan.managed.tag, "cluster", "the tag listing what kvmha manages (kvmha-managed)");
  return out;
}

export interface IdProblem {
  /** The inventory entry to report it at. */
  readonly owner: string;
  readonly message: string;
}

const clusterWide = (owner: string): boolean => owner === "cluster" || owner.startsWith("cluster.");

/**
 * What is wrong with the ids: one problem per inventory entry at most (its first). Two entries
 * whose ids collide: reported at the one later in the file (`line`: where an entry is), or at
 * the one that is not the cluster's own.
 */
export function idProblems(
  ids: readonly GeneratedId[],
  line: (owner: string) => number,
): IdProblem[] {
  const problems = new Map<string, string>();
  const report = (owner: string, message: string): void => {
    if (!problems.has(owner)) problems.set(owner, `${owner}: ${message}`);
  };
  const first = new Map<string, GeneratedId>();
  for (const g of ids) {
    if (!PACEMAKER_ID.test(g.id)) {
      report(
        g.owner,
        `the CIB id '${g.id}' (${g.what}) is not a valid Pacemaker id; expected names that make ids of a letter or _ first, then letters, digits, '.', '_' and '-'`,
      );
      continue;
    }
    const other = first.get(g.id);
    if (other === undefined) {
      first.set(g.id, g);
      const clash = clusterWide(g.owner) ? undefined : toolsIdClash(g.id);
      if (clash !== undefined)
        report(
          g.owner,
          `the CIB id '${g.id}' (${g.what}) is one the cluster's tools make for ${clash}; expected another name`,
        );
      continue;
    }
    if (other.what === g.what) continue; // one object, named alike by several formats
    const gLater = clusterWide(other.owner)
      ? true
      : clusterWide(g.owner)
        ? false
        : line(g.owner) >= line(other.owner);
    const [later, earlier] = gLater ? [g, other] : [other, g];
    const where =
      earlier.owner === later.owner
        ? ""
        : clusterWide(earlier.owner)
          ? ""
          : ` (${earlier.owner}, line ${line(earlier.owner)})`;
    report(
      later.owner,
      `the CIB id '${g.id}' of ${later.what} is also the id of ${earlier.what}${where}, and a CIB cannot hold both; expected names whose ids differ`,
    );
  }
  return [...problems].map(([owner, message]) => ({ owner, message }));
}
