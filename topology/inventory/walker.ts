/**
 * Walking a parsed YAML inventory: issues at their line and column, every one at once, and each
 * field read by the rules the field table (fields.ts) gives it. The sections' own logic is in
 * validate.ts; this is how any mapping, list and value is read.
 */
import {
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node as YamlNode,
  type Scalar,
  type YAMLMap,
} from "yaml";
import {
  MAX_ITEMS,
  MAX_TEXT,
  SAFE_PATH,
  type Section,
  fieldOf,
  keysOf,
  SECTIONS,
} from "./fields.js";
import type { SecretRef } from "./model.js";

export interface InventoryIssue {
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export type Where = YamlNode | undefined;

export interface Named<T> {
  readonly value: T;
  readonly at: Where;
}

/**
 * Control characters, and the characters XML cannot carry at all (U+FFFE, U+FFFF, a surrogate
 * without its pair): a CIB holding one is refused by every tool, so the inventory is refused first.
 */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\u0000-\u001f\u007f\ufffe\uffff\p{Cs}]/u;

/** The first character CONTROL finds, as U+XXXX. */
function codePointOf(s: string): string {
  const c = CONTROL.exec(s)?.[0] ?? "";
  return `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Levenshtein distance, for did-you-mean on keys and names. */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const up = prev[j] ?? 0;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

/** " (did you mean 'x'?)" when one candidate is close, else "". */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const extended = candidates.find(
    (c) => c.toLowerCase().startsWith(word.toLowerCase()) && c.length > word.length,
  );
  if (extended !== undefined && word.length > 0) return ` (did you mean '${extended}'?)`;
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3))
    ? ` (did you mean '${best}'?)`
    : "";
}

/** A value as a message may show it: control characters replaced, long ones cut. */
export function printable(s: string): string {
  const shown = s.length > 60 ? `${s.slice(0, 57)}...` : s;
  return shown.replace(new RegExp(CONTROL.source, "gu"), "?");
}

/** What a node is, in words: "a mapping", "the number 3", "empty". */
export function describe(node: Where): string {
  if (node === undefined) return "nothing";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return "empty";
    if (typeof v === "string") return v === "" ? "an empty string" : `the text '${printable(v)}'`;
    if (typeof v === "number") return `the number ${v}`;
    if (typeof v === "boolean") return `the boolean ${v}`;
  }
  return "an unexpected value";
}

/** A mapping whose keys have been checked against its section's table. */
export class MapView {
  constructor(
    readonly node: YAMLMap,
    readonly path: string,
    readonly section: Section,
  ) {}
  /** The value node (an empty value is a null Scalar, so a position is always known). */
  get(key: string): YamlNode | undefined {
    for (const pair of this.node.items) {
      if (isScalar(pair.key) && pair.key.value === key)
        return (pair.value as YamlNode | null) ?? pair.key;
    }
    return undefined;
  }
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }
  field(key: string): string {
    return this.path === "" ? key : `${this.path}.${key}`;
  }
}

/** The `name` a list item gives itself, when it is a plain one (the item's path then uses it). */
export function itemName(item: YamlNode, pattern: RegExp): string | undefined {
  if (!isMap(item)) return undefined;
  const name = item.items.find((p) => isScalar(p.key) && p.key.value === "name")?.value;
  return isScalar(name) && typeof name.value === "string" && pattern.test(name.value)
    ? name.value
    : undefined;
}

export class Walker {
  readonly errors: InventoryIssue[] = [];
  readonly warnings: InventoryIssue[] = [];
  constructor(protected readonly lines: LineCounter) {}

  errorAt(offset: number, message: string): void {
    const { line, col } = this.lines.linePos(offset);
    this.errors.push({ line, col, message });
  }
  warnAt(offset: number, message: string): void {
    const { line, col } = this.lines.linePos(offset);
    this.warnings.push({ line, col, message });
  }
  error(at: Where, message: string): void {
    this.errorAt(at?.range?.[0] ?? 0, message);
  }
  warn(at: Where, message: string): void {
    this.warnAt(at?.range?.[0] ?? 0, message);
  }
  place(n: Where): { line: number; col: number } {
    return this.lines.linePos(n?.range?.[0] ?? 0);
  }
  lineOf(n: Where): number {
    return this.place(n).line;
  }

  /** A mapping of `section`: every key known, none twice. */
  map(node: Where, section: Section, path: string): MapView | undefined {
    const allowed = keysOf(section);
    const where = path || "the inventory";
    if (!isMap(node)) {
      this.error(
        node,
        `${where}: ${describe(node)}, expected a mapping with keys ${allowed.join(", ")}`,
      );
      return undefined;
    }
    const seen = new Map<string, YamlNode>();
    for (const pair of node.items) {
      const key = pair.key as YamlNode | null;
      if (!isScalar(key) || typeof key.value !== "string") {
        this.error(
          key ?? undefined,
          `${where}: a key must be a plain word, expected one of ${allowed.join(", ")}`,
        );
        continue;
      }
      const first = seen.get(key.value);
      if (first !== undefined) {
        this.error(
          key,
          `${where}: key '${printable(key.value)}' is given twice (first at line ${this.lineOf(first)}); expected each key once`,
        );
        continue;
      }
      seen.set(key.value, key);
      if (!allowed.includes(key.value)) {
        const inside = path === "" ? "" : ` in ${path}`;
        this.error(
          key,
          `unknown key '${printable(key.value)}'${inside}${didYouMean(key.value, allowed)}; expected one of ${allowed.join(", ")}`,
        );
      }
    }
    return new MapView(node, path, section);
  }

  /** A list field: its items, or undefined (missing, or not a list: reported). */
  list(m: MapView, key: string): Named<YamlNode[]> | undefined {
    const f = fieldOf(m.section, key);
    if (f.kind !== "list" && f.kind !== "paths") throw new Error(`${key} is not a list`);
    const node = m.get(key);
    if (node === undefined) {
      if (f.required === true)
        this.error(m.node, `${m.field(key)} is missing; expected a list of ${f.what}`);
      return undefined;
    }
    if (!isSeq(node)) {
      this.error(node, `${m.field(key)}: ${describe(node)}, expected a list of ${f.what}`);
      return undefined;
    }
    if (node.items.length > MAX_ITEMS) {
      this.error(
        node,
        `${m.field(key)}: ${node.items.length} items; expected at most ${MAX_ITEMS} ${f.what}`,
      );
      return undefined;
    }
    return { value: node.items as YamlNode[], at: node };
  }

  private scalar(m: MapView, key: string, required: boolean, expected: string): Scalar | undefined {
    const node = m.get(key);
    if (node === undefined) {
      if (required) this.error(m.node, `${m.field(key)} is missing; expected ${expected}`);
      return undefined;
    }
    if (!isScalar(node) || node.value === null) {
      this.error(node, `${m.field(key)}: ${describe(node)}, expected ${expected}`);
      return undefined;
    }
    return node;
  }

  private textWith(
    m: MapView,
    key: string,
    required: boolean,
    expected: string,
    valid: (s: string) => boolean,
  ): Named<string> | undefined {
    const node = this.scalar(m, key, required, expected);
    if (node === undefined) return undefined;
    if (typeof node.value !== "string" || node.value === "") {
      this.error(node, `${m.field(key)}: ${describe(node)}, expected ${expected}`);
      return undefined;
    }
    if (node.value.length > MAX_TEXT) {
      this.error(
        node,
        `${m.field(key)}: ${node.value.length} characters long; expected at most ${MAX_TEXT}: ${expected}`,
      );
      return undefined;
    }
    if (CONTROL.test(node.value)) {
      this.error(
        node,
        `${m.field(key)}: '${printable(node.value)}' holds the character ${codePointOf(node.value)}, which a CIB cannot hold; expected ${expected}`,
      );
      return undefined;
    }
    if (!valid(node.value)) {
      this.error(
        node,
        `${m.field(key)}: '${printable(node.value)}' is not valid, expected ${expected}`,
      );
      return undefined;
    }
    return { value: node.value, at: node };
  }

  /** A text field, by the table's rules. */
  text(m: MapView, key: string): Named<string> | undefined {
    const f = fieldOf(m.section, key);
    if (f.kind !== "text") throw new Error(`${key} is not a text field`);
    return this.textWith(
      m,
      key,
      f.required === true,
      f.expected,
      (s) => (f.pattern === undefined || f.pattern.test(s)) && (f.check?.(s) ?? true),
    );
  }

  /** An integer field, by the table's rules (range, and the values allowed in it). */
  integer(m: MapView, key: string): Named<number> | undefined {
    const f = fieldOf(m.section, key);
    if (f.kind !== "integer") throw new Error(`${key} is not an integer field`);
    const expected = `an integer from ${f.min} to ${f.max}${f.unit ?? ""}`;
    const node = this.scalar(m, key, f.required === true, expected);
    if (node === undefined) return undefined;
    if (typeof node.value !== "number" || !Number.isInteger(node.value)) {
      this.error(node, `${m.field(key)}: ${describe(node)}, expected ${expected}`);
      return undefined;
    }
    if (node.value < f.min || node.value > f.max) {
      this.error(node, `${m.field(key)}: ${node.value} is out of range, expected ${expected}`);
      return undefined;
    }
    if (f.values !== undefined && !f.values.includes(node.value)) {
      this.error(
        node,
        `${m.field(key)}: ${node.value} is not supported, expected ${f.values.join(" or ")}`,
      );
      return undefined;
    }
    return { value: node.value, at: node };
  }

  flag(m: MapView, key: string): boolean | undefined {
    const node = this.scalar(m, key, false, "true or false");
    if (node === undefined) return undefined;
    if (typeof node.value !== "boolean") {
      this.error(node, `${m.field(key)}: ${describe(node)}, expected true or false`);
      return undefined;
    }
    return node.value;
  }

  /** One of the field's choices (a number YAML read is compared as its text). */
  choice(m: MapView, key: string): Named<string> | undefined {
    const f = fieldOf(m.section, key);
    if (f.kind !== "choice") throw new Error(`${key} is not a choice`);
    const choices = f.choices();
    const expected = `one of ${choices.join(", ")}`;
    const node = this.scalar(m, key, f.required === true, expected);
    if (node === undefined) return undefined;
    const text =
      typeof node.value === "number" || typeof node.value === "string"
        ? String(node.value)
        : undefined;
    const found = choices.find((c) => c === text);
    if (found === undefined) {
      const hint = text === undefined ? "" : didYouMean(text, choices);
      this.error(
        node,
        `${m.field(key)}: ${text === undefined ? describe(node) : `'${printable(text)}'`} is not valid${hint}; expected ${expected}`,
      );
      return undefined;
    }
    return { value: found, at: node };
  }

  /** `<prefix>_file` or `<prefix>_script` (the section's secret `prefix`): at most one, exactly one when required. */
  secret(m: MapView, prefix: string): SecretRef | undefined {
    const spec = SECTIONS[m.section].secrets?.find((s) => s.prefix === prefix);
    if (spec === undefined) throw new Error(`${m.section} has no secret ${prefix}`);
    const fileKey = `${prefix}_file`;
    const scriptKey = `${prefix}_script`;
    const file = this.textWith(
      m,
      fileKey,
      false,
      "an absolute path of a root-only file (letters, digits, ._/+@%:=-)",
      (s) => SAFE_PATH.test(s),
    );
    const script = this.textWith(
      m,
      scriptKey,
      false,
      "a shell command that prints the secret on its first line",
      () => true,
    );
    if (m.has(fileKey) && m.has(scriptKey)) {
      this.error(
        m.get(scriptKey),
        `${m.field(scriptKey)}: give either ${fileKey} or ${scriptKey} for ${spec.what}, not both`,
      );
      return undefined;
    }
    if (spec.required && !m.has(fileKey) && !m.has(scriptKey)) {
      this.error(
        m.node,
        `${m.path}: ${spec.what} is missing; expected ${fileKey} (a root-only file) or ${scriptKey} (a command printing it)`,
      );
      return undefined;
    }
    if (file !== undefined) return { kind: "file", path: file.value };
    if (script !== undefined) return { kind: "script", command: script.value };
    return undefined;
  }

  /** A list of names (resource ids, finding ids), by the table's pattern or choices; none twice. */
  words(m: MapView, key: string): Named<string[]> | undefined {
    const f = fieldOf(m.section, key);
    if (f.kind !== "words") throw new Error(`${key} is not a list of names`);
    const node = m.get(key);
    if (node === undefined) return undefined;
    if (!isSeq(node)) {
      this.error(node, `${m.field(key)}: ${describe(node)}, expected a list of ${f.what}`);
      return undefined;
    }
    const choices = f.choices?.();
    const expected = choices === undefined ? f.item : `${f.item}: one of ${choices.join(", ")}`;
    const words: string[] = [];
    for (const [i, item] of (node.items as YamlNode[]).entries()) {
      const at = `${m.field(key)}[${i}]`;
      const text = isScalar(item) && typeof item.value === "string" ? item.value : undefined;
      if (text === undefined) {
        this.error(item, `${at}: ${describe(item)}, expected ${expected}`);
        continue;
      }
      const valid =
        !CONTROL.test(text) &&
        (f.pattern === undefined || f.pattern.test(text)) &&
        (choices === undefined || choices.includes(text));
      if (!valid) {
        const hint = choices === undefined ? "" : didYouMean(text, choices);
        this.error(item, `${at}: '${printable(text)}' is not valid${hint}; expected ${expected}`);
        continue;
      }
      if (words.includes(text)) {
        this.error(item, `${at}: '${text}' is listed twice; expected each once`);
        continue;
      }
      words.push(text);
    }
    return { value: words, at: node };
  }

  /** A list of absolute paths (SBD's devices), by the table's bounds. */
  paths(m: MapView, key: string): string[] | undefined {
    const f = fieldOf(m.section, key);
    if (f.kind !== "paths") throw new Error(`${key} is not a list of paths`);
    const list = this.list(m, key);
    if (list === undefined) return undefined;
    const paths: string[] = [];
    for (const [i, d] of list.value.entries()) {
      if (
        !isScalar(d) ||
        typeof d.value !== "string" ||
        !SAFE_PATH.test(d.value) ||
        d.value.length > MAX_TEXT
      )
        this.error(
          d,
          `${m.field(key)}[${i}]: ${describe(d)}, expected an absolute device path such as /dev/disk/by-id/…`,
        );
      else paths.push(d.value);
    }
    const bounds = `${f.minItems} to ${f.maxItems}`;
    if (list.value.length < f.minItems)
      this.error(list.at, `${m.field(key)}: the list is empty; expected ${bounds} ${f.item}s`);
    if (paths.length > f.maxItems)
      this.error(list.at, `${m.field(key)}: at most ${f.maxItems} ${f.item}s; expected ${bounds}`);
    return paths;
  }
}
