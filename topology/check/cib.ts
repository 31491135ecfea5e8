/**
 * The CIB as `kvmha check` sees it: nodes, resources (stonith devices and guests among them),
 * fencing topology, location constraints, cluster properties and the status section's
 * membership. Pure: CIB XML text in, a typed model out. Attribute sets with rules are not
 * evaluated (their ids are kept so a finding can say it ignored them); id-refs and templates are
 * resolved.
 */
import { type Element, XmlError, childrenNamed, firstChild, parseXml } from "./xml.js";
import { parseDurationMs } from "./duration.js";
import { type Removal, scanPacemaker3 } from "./pacemaker3.js";

export type Attrs = ReadonlyMap<string, string>;

export interface CibNode {
  readonly id: string;
  readonly uname: string;
  /** member (also when absent), remote or ping. */
  readonly type: string;
  readonly attributes: Attrs;
  readonly utilization: Attrs;
}

export interface Op {
  readonly id: string;
  readonly name: string;
  readonly intervalMs: number;
  /** The op's own timeout; undefined: op_defaults or Pacemaker's 20 s apply. */
  readonly timeoutMs: number | undefined;
  readonly role: string | undefined;
  readonly enabled: boolean;
}

export interface ParentRef {
  readonly kind: "group" | "clone" | "master" | "bundle";
  readonly id: string;
}

export interface Primitive {
  readonly id: string;
  /** stonith, ocf, systemd, lsb, … */
  readonly class: string;
  readonly provider: string | undefined;
  readonly type: string;
  readonly instance: Attrs;
  readonly meta: Attrs;
  readonly utilization: Attrs;
  readonly ops: readonly Op[];
  /** Innermost first. */
  readonly parents: readonly ParentRef[];
  /** Ids of attribute sets with rules: not evaluated, so not in instance/meta. */
  readonly ruledSets: readonly string[];
}

export interface Container {
  readonly kind: ParentRef["kind"];
  readonly id: string;
  readonly meta: Attrs;
}

export type LevelTarget =
  | { readonly kind: "node"; readonly node: string }
  | { readonly kind: "pattern"; readonly pattern: string }
  | { readonly kind: "attribute"; readonly name: string; readonly value: string };

export interface FencingLevel {
  readonly id: string;
  readonly index: number;
  readonly target: LevelTarget;
  readonly devices: readonly string[];
}

export interface Expression {
  readonly attribute: string;
  readonly operation: string;
  readonly value: string | undefined;
}

export interface LocationRule {
  readonly id: string;
  readonly score: number;
  readonly booleanOp: "and" | "or";
  readonly expressions: readonly Expression[];
  /** The rule has parts we do not evaluate (date expressions, nested rules, score-attribute). */
  readonly opaque: boolean;
}

export interface LocationConstraint {
  readonly id: string;
  readonly rsc: string | undefined;
  readonly rscPattern: string | undefined;
  readonly node: string | undefined;
  readonly score: number | undefined;
  readonly rules: readonly LocationRule[];
  readonly role: string | undefined;
}

export interface NodeState {
  readonly id: string;
  readonly uname: string;
  readonly online: boolean;
}

export interface Cib {
  readonly nodes: readonly CibNode[];
  /** cluster_property_set values (crm_config), first set first. */
  readonly properties: Attrs;
  readonly rscDefaults: Attrs;
  readonly opDefaults: Attrs;
  readonly primitives: readonly Primitive[];
  readonly containers: readonly Container[];
  readonly levels: readonly FencingLevel[];
  readonly locations: readonly LocationConstraint[];
  /** The status section's node states; undefined when it has none (a configuration file). */
  readonly status: readonly NodeState[] | undefined;
  /** Tags: each tag's id and the ids it lists (obj_ref), in document order. */
  readonly tags: ReadonlyMap<string, readonly string[]>;
  /** The schema the CIB declares (the root's validate-with); undefined for a configuration alone. */
  readonly validateWith: string | undefined;
  /** What it uses that Pacemaker 3 removed or deprecated (pacemaker3.ts). */
  readonly removals: readonly Removal[];
}

/** A document that is XML but not a CIB we can read. */
export class CibError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CibError";
  }
}

export { XmlError };

/** Pacemaker scores: integers, ±INFINITY (±1000000 and beyond clamp to it). */
export function parseScore(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = text.trim().toLowerCase();
  if (v === "inf" || v === "+inf" || v === "infinity" || v === "+infinity") return Infinity;
  if (v === "-inf" || v === "-infinity") return -Infinity;
  if (v === "red" || v === "yellow" || v === "green") return undefined;
  if (!/^[+-]?\d+$/.test(v)) return undefined;
  const n = Number(v);
  if (n >= 1_000_000) return Infinity;
  if (n <= -1_000_000) return -Infinity;
  return n;
}

/** Score addition as Pacemaker does it: -INFINITY wins over everything. */
export function addScores(a: number, b: number): number {
  if (a === -Infinity || b === -Infinity) return -Infinity;
  if (a === Infinity || b === Infinity) return Infinity;
  return a + b;
}

class Reader {
  private readonly byId = new Map<string, Element>();

  constructor(root: Element) {
    const walk = (e: Element): void => {
      const id = e.attrs.id;
      if (id !== undefined && !this.byId.has(id)) this.byId.set(id, e);
      for (const c of e.children) walk(c);
    };
    walk(root);
  }

  /** An element, or the one its id-ref names. */
  resolve(el: Element): Element {
    const ref = el.attrs["id-ref"];
    if (ref === undefined) return el;
    const target = this.byId.get(ref);
    if (target === undefined)
      throw new CibError(`<${el.name}> refers to id '${ref}', which does not exist`);
    return target;
  }

  /**
   * Merged nvpairs of every set named `setName` under `el`, highest score first, then document
   * order (Pacemaker's precedence for sets without rules): the first value of a name wins.
   */
  nvsets(
    els: readonly Element[],
    setName: string,
  ): { values: Map<string, string>; ruled: string[] } {
    const sets: { score: number; order: number; set: Element }[] = [];
    const ruled: string[] = [];
    let order = 0;
    for (const el of els) {
      for (const raw of childrenNamed(el, setName)) {
        const set = this.resolve(raw);
        if (firstChild(set, "rule") !== undefined) {
          ruled.push(set.attrs.id ?? raw.attrs.id ?? "(no id)");
          continue;
        }
        const score = parseScore(set.attrs.score ?? raw.attrs.score) ?? 0;
        sets.push({ score, order: order++, set });
      }
    }
    sets.sort((a, b) => (b.score === a.score ? a.order - b.order : b.score > a.score ? 1 : -1));
    const values = new Map<string, string>();
    for (const { set } of sets) {
      for (const rawPair of childrenNamed(set, "nvpair")) {
        const pair = this.resolve(rawPair);
        const name = pair.attrs.name;
        if (name === undefined || values.has(name)) continue;
        values.set(name, pair.attrs.value ?? "");
      }
    }
    return { values, ruled };
  }
}

function required(el: Element, attr: string, what: string): string {
  const v = el.attrs[attr];
  if (v === undefined || v === "") throw new CibError(`${what} without ${attr}`);
  return v;
}

function readOps(reader: Reader, el: Element): Op[] {
  const ops: Op[] = [];
  const opsEl = firstChild(el, "operations");
  if (opsEl === undefined) return ops;
  const resolved = reader.resolve(opsEl);
  for (const raw of childrenNamed(resolved, "op")) {
    const op = reader.resolve(raw);
    const metaTimeout = reader.nvsets([op], "meta_attributes").values.get("timeout");
    ops.push({
      id: op.attrs.id ?? "",
      name: op.attrs.name ?? "",
      intervalMs: parseDurationMs(op.attrs.interval ?? "0") ?? 0,
      timeoutMs: parseDurationMs(op.attrs.timeout ?? metaTimeout),
      role: op.attrs.role,
      enabled: (op.attrs.enabled ?? "true").toLowerCase() !== "false",
    });
  }
  return ops;
}

function readPrimitive(
  reader: Reader,
  el: Element,
  parents: ParentRef[],
  templates: Map<string, Element>,
): Primitive {
  const id = required(el, "id", "<primitive>");
  const templateId = el.attrs.template;
  const template = templateId === undefined ? undefined : templates.get(templateId);
  if (templateId !== undefined && template === undefined)
    throw new CibError(`primitive '${id}' uses template '${templateId}', which does not exist`);
  const source = template === undefined ? [el] : [el, template];
  const cls = el.attrs.class ?? template?.attrs.class;
  const type = el.attrs.type ?? template?.attrs.type;
  if (cls === undefined || type === undefined)
    throw new CibError(`primitive '${id}' has no class or type`);
  const instance = reader.nvsets(source, "instance_attributes");
  const meta = reader.nvsets(source, "meta_attributes");
  const utilization = reader.nvsets(source, "utilization");
  const ops = readOps(reader, el);
  if (ops.length === 0 && template !== undefined) ops.push(...readOps(reader, template));
  return {
    id,
    class: cls,
    provider: el.attrs.provider ?? template?.attrs.provider,
    type,
    instance: instance.values,
    meta: meta.values,
    utilization: utilization.values,
    ops,
    parents: [...parents].reverse(),
    ruledSets: [...instance.ruled, ...meta.ruled, ...utilization.ruled],
  };
}

function readResources(
  reader: Reader,
  resources: Element,
): { primitives: Primitive[]; containers: Container[] } {
  const primitives: Primitive[] = [];
  const containers: Container[] = [];
  const templates = new Map<string, Element>();
  for (const t of childrenNamed(resources, "template"))
    if (t.attrs.id !== undefined) templates.set(t.attrs.id, t);
  const walk = (el: Element, parents: ParentRef[]): void => {
    for (const child of el.children) {
      switch (child.name) {
        case "primitive":
          primitives.push(readPrimitive(reader, child, parents, templates));
          break;
        case "group":
        case "clone":
        case "master":
        case "bundle": {
          const id = required(child, "id", `<${child.name}>`);
          containers.push({
            kind: child.name,
            id,
            meta: reader.nvsets([child], "meta_attributes").values,
          });
          walk(child, [...parents, { kind: child.name, id }]);
          break;
        }
        default:
          break;
      }
    }
  };
  walk(resources, []);
  return { primitives, containers };
}

function readLevels(topology: Element | undefined): FencingLevel[] {
  if (topology === undefined) return [];
  return childrenNamed(topology, "fencing-level").map((el) => {
    const id = el.attrs.id ?? "";
    const indexText = required(el, "index", `fencing-level '${id}'`);
    const index = Number(indexText);
    if (!Number.isInteger(index) || index < 1 || index > 9)
      throw new CibError(`fencing-level '${id}' has index '${indexText}' (1 to 9)`);
    let target: LevelTarget;
    if (el.attrs.target !== undefined) target = { kind: "node", node: el.attrs.target };
    else if (el.attrs["target-pattern"] !== undefined)
      target = { kind: "pattern", pattern: el.attrs["target-pattern"] };
    else if (el.attrs["target-attribute"] !== undefined)
      target = {
        kind: "attribute",
        name: el.attrs["target-attribute"],
        value: el.attrs["target-value"] ?? "",
      };
    else
      throw new CibError(`fencing-level '${id}' has no target, target-pattern or target-attribute`);
    const devices = (el.attrs.devices ?? "")
      .split(",")
      .map((d) => d.trim())
      .filter((d) => d !== "");
    return { id, index, target, devices };
  });
}

function readRule(reader: Reader, raw: Element): LocationRule {
  const rule = reader.resolve(raw);
  const expressions: Expression[] = [];
  let opaque = rule.attrs["score-attribute"] !== undefined;
  for (const c of rule.children) {
    if (c.name === "expression") {
      const e = reader.resolve(c);
      expressions.push({
        attribute: e.attrs.attribute ?? "",
        operation: e.attrs.operation ?? "",
        value: e.attrs.value,
      });
    } else {
      opaque = true;
    }
  }
  const op = (rule.attrs["boolean-op"] ?? "and").toLowerCase();
  return {
    id: rule.attrs.id ?? "",
    score: parseScore(rule.attrs.score) ?? 0,
    booleanOp: op === "or" ? "or" : "and",
    expressions,
    opaque,
  };
}

function readLocations(reader: Reader, constraints: Element | undefined): LocationConstraint[] {
  if (constraints === undefined) return [];
  const out: LocationConstraint[] = [];
  for (const el of childrenNamed(constraints, "rsc_location")) {
    const base = {
      id: el.attrs.id ?? "",
      node: el.attrs.node,
      score: parseScore(el.attrs.score),
      rules: childrenNamed(el, "rule").map((r) => readRule(reader, r)),
      role: el.attrs.role,
    };
    if (el.attrs.rsc !== undefined || el.attrs["rsc-pattern"] !== undefined) {
      out.push({ ...base, rsc: el.attrs.rsc, rscPattern: el.attrs["rsc-pattern"] });
      continue;
    }
    // Resource sets: one constraint per member, same placement.
    for (const set of childrenNamed(el, "resource_set")) {
      for (const ref of childrenNamed(reader.resolve(set), "resource_ref")) {
        if (ref.attrs.id !== undefined)
          out.push({ ...base, rsc: ref.attrs.id, rscPattern: undefined });
      }
    }
  }
  return out;
}

/** Pacemaker ≥ 2.1.7 writes join timestamps where older ones wrote "true"/"online". */
function truthyState(v: string | undefined, word: string): boolean {
  if (v === undefined) return false;
  return v === word || v === "true" || (/^\d+$/.test(v) && v !== "0");
}

function readStatus(status: Element | undefined): NodeState[] | undefined {
  if (status === undefined) return undefined;
  const states = childrenNamed(status, "node_state");
  if (states.length === 0) return undefined;
  return states.map((s) => ({
    id: s.attrs.id ?? "",
    uname: s.attrs.uname ?? "",
    online:
      truthyState(s.attrs.in_ccm, "true") &&
      truthyState(s.attrs.crmd, "online") &&
      (s.attrs.join ?? "member") === "member",
  }));
}

function readTags(tags: Element | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const tag of tags === undefined ? [] : childrenNamed(tags, "tag")) {
    const id = tag.attrs.id;
    if (id === undefined) continue;
    out.set(
      id,
      childrenNamed(tag, "obj_ref")
        .map((r) => r.attrs.id)
        .filter((r): r is string => r !== undefined),
    );
  }
  return out;
}

/** Parses CIB XML (a whole `cibadmin -Q` document, or a `<configuration>` alone). */
export function parseCib(xml: string): Cib {
  const root = parseXml(xml);
  let configuration: Element | undefined;
  let status: Element | undefined;
  if (root.name === "cib") {
    configuration = firstChild(root, "configuration");
    status = firstChild(root, "status");
    if (configuration === undefined) throw new CibError("<cib> has no <configuration>");
  } else if (root.name === "configuration") {
    configuration = root;
  } else {
    throw new CibError(`the root element is <${root.name}>, not <cib>`);
  }
  const reader = new Reader(root);
  const nodesEl = firstChild(configuration, "nodes");
  const nodes: CibNode[] = (nodesEl === undefined ? [] : childrenNamed(nodesEl, "node")).map(
    (n) => {
      const id = n.attrs.id ?? "";
      return {
        id,
        uname: n.attrs.uname ?? id,
        type: n.attrs.type ?? "member",
        attributes: reader.nvsets([n], "instance_attributes").values,
        utilization: reader.nvsets([n], "utilization").values,
      };
    },
  );
  const crmConfig = firstChild(configuration, "crm_config");
  const properties =
    crmConfig === undefined
      ? new Map<string, string>()
      : reader.nvsets([crmConfig], "cluster_property_set").values;
  const rscDefaultsEl = firstChild(configuration, "rsc_defaults");
  const opDefaultsEl = firstChild(configuration, "op_defaults");
  const resourcesEl = firstChild(configuration, "resources");
  const { primitives, containers } =
    resourcesEl === undefined
      ? { primitives: [], containers: [] }
      : readResources(reader, resourcesEl);
  return {
    nodes,
    properties,
    rscDefaults:
      rscDefaultsEl === undefined
        ? new Map()
        : reader.nvsets([rscDefaultsEl], "meta_attributes").values,
    opDefaults:
      opDefaultsEl === undefined
        ? new Map()
        : reader.nvsets([opDefaultsEl], "meta_attributes").values,
    primitives,
    containers,
    levels: readLevels(firstChild(configuration, "fencing-topology")),
    locations: readLocations(reader, firstChild(configuration, "constraints")),
    status: readStatus(status),
    tags: readTags(firstChild(configuration, "tags")),
    validateWith: root.name === "cib" ? root.attrs["validate-with"] : undefined,
    removals: scanPacemaker3(root, configuration),
  };
}
