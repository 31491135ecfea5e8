/**
 * A CIB as a tree that a plan may change: copied from check's read-only element tree
 * (topology/check/xml.ts), written back as XML. Text and comments are not kept: the CIB holds
 * everything in attributes, and the push is a diff between two documents both written here, so
 * what the tree drops never shows as a change. Pure.
 */
import { xmlEscape } from "../../lib/xml.js";
import type { Element } from "../check/xml.js";

export interface Node {
  readonly name: string;
  attrs: Record<string, string>;
  children: Node[];
}

export function copyTree(el: Element): Node {
  return { name: el.name, attrs: { ...el.attrs }, children: el.children.map(copyTree) };
}

export function child(parent: Node, name: string): Node | undefined {
  return parent.children.find((c) => c.name === name);
}

/** The child named `name`, created (appended) when missing. */
export function ensureChild(parent: Node, name: string, attrs: Record<string, string> = {}): Node {
  const found = child(parent, name);
  if (found !== undefined) return found;
  const made: Node = { name, attrs, children: [] };
  parent.children.push(made);
  return made;
}

/** Every element with an id, anywhere below `root`, with its parent. */
export function indexIds(root: Node): Map<string, { node: Node; parent: Node }> {
  const out = new Map<string, { node: Node; parent: Node }>();
  const walk = (n: Node): void => {
    for (const c of n.children) {
      const id = c.attrs.id;
      if (id !== undefined && !out.has(id)) out.set(id, { node: c, parent: n });
      walk(c);
    }
  };
  walk(root);
  return out;
}

export function serialize(n: Node, depth = 0): string {
  const pad = "  ".repeat(depth);
  const attrs = Object.entries(n.attrs)
    .map(([k, v]) => ` ${k}="${xmlEscape(v)}"`)
    .join("");
  if (n.children.length === 0) return `${pad}<${n.name}${attrs}/>\n`;
  return `${pad}<${n.name}${attrs}>\n${n.children.map((c) => serialize(c, depth + 1)).join("")}${pad}</${n.name}>\n`;
}

/**
 * An element as name → value lines, ids left out: two spellings of one object (pcs's set ids,
 * ours) compare equal, and a change is said as the lines that differ (`meta_attributes
 * target-role=Started`, `op monitor 10s timeout=30s`).
 */
export function flatten(n: Node): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (e: Node, prefix: string): void => {
    for (const [k, v] of Object.entries(e.attrs)) if (k !== "id") out.set(`${prefix}@${k}`, v);
    const seen = new Map<string, number>();
    for (const c of e.children) {
      let key: string;
      if (c.name === "nvpair") {
        out.set(`${prefix}${c.attrs.name ?? ""}`, c.attrs.value ?? "");
        continue;
      }
      if (c.name === "op") key = `op ${c.attrs.name ?? ""} ${c.attrs.interval ?? ""}`;
      else if (c.name === "obj_ref") {
        out.set(`${prefix}ref ${c.attrs.id ?? ""}`, "");
        continue;
      } else key = c.name;
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      walk(c, `${prefix}${key}${n > 1 ? `#${n}` : ""} `);
    }
  };
  walk(n, "");
  return out;
}

/** Parameter names whose values are secrets (passwd, community, kg, key…). */
const SECRET_NAME = /pass|community|secret|_kg\b|kg$|key/i;

/** What differs between two elements, as flatten's lines (`name: old → new`), sorted. */
export function differences(before: Node, after: Node): string[] {
  const a = flatten(before);
  const b = flatten(after);
  const out: string[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key);
    const y = b.get(key);
    if (x === y) continue;
    const name = key.replace(/@/g, "").trim();
    // A secret an admin put into the CIB by hand is never printed (kvmha renders none).
    const shown = (v: string) =>
      SECRET_NAME.test(name) && !/_script$/.test(name) ? "[hidden]" : v;
    if (x === undefined) out.push(`+${name}${y === "" || y === undefined ? "" : `=${shown(y)}`}`);
    else if (y === undefined) out.push(`-${name}`);
    else out.push(`${name}: ${shown(x)} → ${shown(y)}`);
  }
  return out.sort();
}
