/**
 * The plan of `kvmha plan` / `kvmha apply`: the CIB read from the cluster, with the objects kvmha
 * owns made as the inventory renders them, and nothing else touched. Pure: the live CIB's XML and
 * the rendered configuration (render's cib.xml) in, the changes and the planned CIB out.
 *
 * What kvmha owns (docs/templates.md#day-2):
 * - the resources listed in the tag `kvmha-managed` (fencing devices, remote connections, guests):
 *   every format's render creates that tag, and the planned CIB carries the new list;
 * - constraints and fencing levels whose id is one kvmha makes for such a resource
 *   (`<device>-avoids-<node>`, `<guest>-after-<clone>`, `<guest>-with-<clone>`, `fl-<node>-<n>`
 *   with only kvmha's devices), and tags named `kvmha-…`;
 * - the cluster options and resource defaults the inventory sets: set, never removed (an option
 *   kvmha no longer sets may be the admin's now).
 * An object the rendered configuration has is made as rendered (an admin's object of that id in
 * another place is an error, never replaced); one kvmha owned that the inventory dropped is
 * removed. A guest's target-role and is-managed are kept as the cluster has them unless the
 * inventory sets them (`pcs resource disable` is the admin's to undo), and so is utilization
 * (VirtualDomain's own, with update_utilization).
 */
import { KvmhaError } from "../../lib/errors.js";
import { XmlError, parseXml } from "../check/xml.js";
import { MANAGED_TAG } from "../render/plan.js";
import { type Node, child, copyTree, differences, ensureChild, indexIds } from "./tree.js";

export type Kind =
  "property" | "rsc_defaults" | "device" | "remote" | "guest" | "constraint" | "level" | "tag";

/** The order of the plan's table. */
export const KINDS: readonly Kind[] = [
  "property",
  "rsc_defaults",
  "device",
  "remote",
  "guest",
  "constraint",
  "level",
  "tag",
];

export interface Change {
  readonly kind: Kind;
  readonly id: string;
  readonly action: "add" | "change" | "remove";
  /** What differs, one item a line (`+name=value`, `-name`, `name: old → new`). */
  readonly details: readonly string[];
}

export interface CibPlan {
  readonly changes: readonly Change[];
  /** The CIB read, as written here (the diff's original). */
  readonly original: Node;
  /** The CIB after the plan (epoch one higher when anything changes). */
  readonly planned: Node;
  /** Guests the plan removes: stopped before they are deleted. */
  readonly removedGuests: readonly string[];
}

/** The CIB or the plan cannot be made: one line, exit 1. */
export class ApplyError extends KvmhaError {
  readonly exitCode = 1;
}

function parse(xml: string, what: string, root: string): Node {
  let tree: Node;
  try {
    tree = copyTree(parseXml(xml));
  } catch (err) {
    if (err instanceof XmlError) throw new ApplyError(`${what}: ${err.message}`);
    throw err;
  }
  if (tree.name !== root) throw new ApplyError(`${what}: expected <${root}>, got <${tree.name}>`);
  return tree;
}

function primitiveKind(p: Node): Kind {
  if (p.attrs.class === "stonith") return "device";
  if (p.attrs.provider === "pacemaker" && p.attrs.type === "remote") return "remote";
  return "guest";
}

/** The constraints and levels kvmha makes for the resources in `owned`, by their ids. */
function kvmhaMade(n: Node, owned: ReadonlySet<string>): boolean {
  const a = n.attrs;
  const id = a.id ?? "";
  switch (n.name) {
    case "rsc_location":
      return owned.has(a.rsc ?? "") && a.node !== undefined && id === `${a.rsc}-avoids-${a.node}`;
    case "rsc_order":
      return owned.has(a.then ?? "") && id === `${a.then}-after-${a.first}`;
    case "rsc_colocation":
      return owned.has(a.rsc ?? "") && id === `${a.rsc}-with-${a["with-rsc"]}`;
    case "fencing-level":
      return (
        id === `fl-${a.target}-${a.index}` &&
        (a.devices ?? "").split(",").every((d) => d !== "" && owned.has(d))
      );
    case "tag":
      return id.startsWith("kvmha-");
    default:
      return false;
  }
}

/**
 * What a resource keeps from the cluster unless the inventory sets it: meta target-role and
 * is-managed (the admin's `pcs resource disable`), and utilization (VirtualDomain writes its
 * guest's cpu and memory there when it starts, with update_utilization).
 */
const KEPT: readonly (readonly [string, (name: string) => boolean])[] = [
  ["meta_attributes", (name) => name === "target-role" || name === "is-managed"],
  ["utilization", () => true],
];

/** `desired` with what the live resource keeps (KEPT) where the inventory sets nothing. */
function keepClusterOwned(live: Node, desired: Node): Node {
  if (desired.name !== "primitive") return desired;
  const out = structuredClone(desired);
  for (const [section, kept] of KEPT) {
    const liveSet = child(live, section);
    if (liveSet === undefined) continue;
    for (const pair of liveSet.children) {
      const name = pair.attrs.name ?? "";
      if (pair.name !== "nvpair" || !kept(name)) continue;
      const set = ensureChild(out, section, {
        id: liveSet.attrs.id ?? `${out.attrs.id}-${section}`,
      });
      if (set.children.some((c) => c.attrs.name === name)) continue;
      set.children.push(structuredClone(pair));
    }
  }
  return out;
}

/** The resources the tag kvmha-managed of a CIB (`cib`) lists. */
export function managedResources(cib: Node): Set<string> {
  const conf = child(cib, "configuration");
  return conf === undefined ? new Set() : managedIn(conf);
}

/** What kvmha owns in `conf`: the managed tag's resources. */
function managedIn(conf: Node): Set<string> {
  const tag = child(conf, "tags")?.children.find((t) => t.attrs.id === MANAGED_TAG);
  return new Set((tag?.children ?? []).map((r) => r.attrs.id ?? "").filter((id) => id !== ""));
}

/** The attributes through which one CIB object names another. */
const REFERENCES = ["rsc", "with-rsc", "first", "then", "devices"];

export function planCib(liveXml: string, desiredXml: string): CibPlan {
  const original = parse(liveXml, "the CIB", "cib");
  const planned = structuredClone(original);
  const desired = parse(desiredXml, "the rendered configuration", "configuration");
  const conf = child(planned, "configuration");
  if (conf === undefined) throw new ApplyError("the CIB: it has no <configuration>");
  const owned = managedIn(conf);
  const ids = indexIds(conf);
  const changes: Change[] = [];
  const note = (kind: Kind, id: string, action: Change["action"], details: string[] = []) => {
    changes.push({ kind, id, action, details });
  };

  // Cluster options and resource defaults: by name, set where the cluster has them.
  const options = (section: "crm_config" | "rsc_defaults", kind: Kind, setId: string) => {
    const want = child(desired, section)?.children.flatMap((s) => s.children) ?? [];
    if (want.length === 0) return;
    const liveSection = ensureChild(conf, section);
    const setName = section === "crm_config" ? "cluster_property_set" : "meta_attributes";
    const plainSets = liveSection.children.filter(
      (s) => s.name === setName && !s.children.some((c) => c.name === "rule"),
    );
    for (const pair of want) {
      const name = pair.attrs.name ?? "";
      const sets =
        section === "crm_config" ? plainSets.filter((s) => s.attrs.id === setId) : plainSets;
      const found = sets.flatMap((s) => s.children).find((c) => c.attrs.name === name);
      if (found === undefined) {
        let set = liveSection.children.find((s) => s.attrs.id === setId);
        if (set === undefined) {
          set = { name: setName, attrs: { id: setId }, children: [] };
          liveSection.children.push(set);
        }
        set.children.push(structuredClone(pair));
        note(kind, name, "add", [`${name}=${pair.attrs.value ?? ""}`]);
      } else if (found.attrs.value !== pair.attrs.value) {
        note(kind, name, "change", [
          `${name}: ${found.attrs.value ?? ""} → ${pair.attrs.value ?? ""}`,
        ]);
        found.attrs.value = pair.attrs.value ?? "";
      }
    }
  };
  options("crm_config", "property", "cib-bootstrap-options");
  options("rsc_defaults", "rsc_defaults", "rsc-options");

  // Resources, constraints, levels, tags: by id, in their section.
  const desiredIds = new Set<string>();
  const sections: readonly (readonly [string, (n: Node) => Kind])[] = [
    ["resources", primitiveKind],
    ["constraints", () => "constraint"],
    ["fencing-topology", () => "level"],
    ["tags", () => "tag"],
  ];
  for (const [section, kindOf] of sections) {
    for (const want of child(desired, section)?.children ?? []) {
      const id = want.attrs.id ?? "";
      desiredIds.add(id);
      const container = ensureChild(conf, section);
      const found = ids.get(id);
      if (found === undefined) {
        container.children.push(structuredClone(want));
        note(kindOf(want), id, "add");
        continue;
      }
      if (found.parent !== container || found.node.name !== want.name)
        throw new ApplyError(
          `the CIB already has an object with id '${id}' (a <${found.node.name}> in <${found.parent.name}>) where kvmha makes a <${want.name}> in <${section}>: kvmha replaces none of the admin's objects; rename or remove it`,
        );
      const next = keepClusterOwned(found.node, want);
      const diff = differences(found.node, next);
      if (diff.length === 0) continue;
      container.children[container.children.indexOf(found.node)] = structuredClone(next);
      note(kindOf(want), id, "change", diff);
    }
  }

  // What kvmha made before and the inventory no longer has.
  const removed: string[] = [];
  const removedGuests: string[] = [];
  for (const [section, kindOf] of sections) {
    const container = child(conf, section);
    if (container === undefined) continue;
    container.children = container.children.filter((n) => {
      const id = n.attrs.id ?? "";
      const ours = section === "resources" ? owned.has(id) : kvmhaMade(n, owned);
      if (!ours || desiredIds.has(id)) return true;
      const kind = kindOf(n);
      note(kind, id, "remove");
      removed.push(id);
      if (kind === "guest") removedGuests.push(id);
      return false;
    });
  }
  // An admin's object that names a removed one: the CIB would not validate; said plainly.
  if (removed.length > 0) {
    const gone = new Set(removed);
    for (const [id, { node }] of indexIds(conf)) {
      const names = REFERENCES.flatMap((a) => (node.attrs[a] ?? "").split(","));
      if (node.name === "tag") names.push(...node.children.map((c) => c.attrs.id ?? ""));
      const hit = names.find((n) => gone.has(n));
      if (hit !== undefined)
        throw new ApplyError(
          `the inventory removes '${hit}', but '${id}' (a <${node.name}>, not kvmha's) refers to it: remove or change '${id}' first`,
        );
    }
  }

  if (changes.length > 0) {
    planned.attrs.epoch = String(Number(original.attrs.epoch ?? "0") + 1);
    planned.attrs.num_updates = "0";
  }
  const order = (c: Change) => KINDS.indexOf(c.kind);
  changes.sort((a, b) => order(a) - order(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { changes, original, planned, removedGuests };
}
