/**
 * What kvmha check's rules work from: the CIB (cib.ts) plus what is derived from it once (the nodes
 * fencing must cover, the devices), and how Pacemaker would resolve what the rules ask about: meta
 * attributes with their inheritance, the levels that apply to a node, location scores (rules
 * included, as far as they can be evaluated without a clock). Pure.
 */
import { type Cib, type CibNode, type FencingLevel, type Primitive, addScores } from "./cib.js";
import type { CorosyncQuorum } from "./corosync.js";
import { claimOf, isStonith, sameNode } from "./devices.js";
import { cibGeneration } from "./pacemaker3.js";

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
  /** corosync.conf's quorum settings, when it was read (the live cluster's, or --corosync-conf). */
  readonly corosync: { readonly file: string; readonly quorum: CorosyncQuorum } | undefined;
  /** Which Pacemaker runs this CIB (undefined: the CIB does not say). */
  readonly pacemaker: { readonly major: 2 | 3 | undefined; readonly from: string };
}

/** What a check knows besides the CIB. */
export interface CheckInputs {
  readonly corosync?: { readonly file: string; readonly quorum: CorosyncQuorum } | undefined;
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

export function contextOf(cib: Cib, inputs: CheckInputs = {}): CheckContext {
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
  const generation = cibGeneration(cib.validateWith, cib.properties.get("dc-version"));
  return {
    cib,
    nodes,
    members,
    nodesFrom,
    devices,
    deviceById: new Map(devices.map((d) => [d.id, d])),
    corosync: inputs.corosync,
    pacemaker: { major: generation.pacemaker, from: generation.from },
  };
}

const TRUE_WORDS = new Set(["true", "yes", "on", "1", "y"]);
const FALSE_WORDS = new Set(["false", "no", "off", "0", "n"]);

export function isFalse(v: string | undefined): boolean {
  return v !== undefined && FALSE_WORDS.has(v.trim().toLowerCase());
}
export function isTrue(v: string | undefined): boolean {
  return v !== undefined && TRUE_WORDS.has(v.trim().toLowerCase());
}

/** A meta attribute as Pacemaker resolves it: the resource's, its parents', then rsc_defaults. */
export function metaOf(cib: Cib, p: Primitive, name: string): string | undefined {
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

export function describeTarget(level: FencingLevel): string {
  const t = level.target;
  return t.kind === "node"
    ? t.node
    : t.kind === "pattern"
      ? `pattern '${t.pattern}'`
      : `${t.name}=${t.value}`;
}

export function levelName(level: FencingLevel): string {
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

export function allowedOn(ctx: CheckContext, p: Primitive, node: string): boolean {
  const { score, constrained } = locationScore(ctx, p, node);
  if (isFalse(ctx.cib.properties.get("symmetric-cluster"))) return constrained && score >= 0;
  return score !== -Infinity;
}
