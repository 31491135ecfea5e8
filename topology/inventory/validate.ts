/**
 * Inventory validation: our own walk over the parsed YAML document, so that every problem is
 * reported at its line and column with what was expected, and all of them at once. Pure: text in,
 * an Inventory or a list of issues out (load.ts does the file I/O and formatting).
 */
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node as YamlNode,
  parseDocument,
  type Scalar,
  type YAMLMap,
} from "yaml";
import {
  INVENTORY_KEYS,
  pduDevices,
  type Section,
  SNMP_AUTH_PROTOCOLS,
  SNMP_PRIV_PROTOCOLS,
} from "./keys.js";
import {
  type Bmc,
  type Cluster,
  DEFAULTS,
  type Guest,
  type GuestTimeouts,
  type Inventory,
  type Migration,
  type Node,
  type Pdu,
  type Sbd,
  type SecretRef,
  type Supply,
  type TwoNode,
  type Utilization,
} from "./model.js";

export interface InventoryIssue {
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export type ValidationResult =
  | {
      readonly ok: true;
      readonly inventory: Inventory;
      readonly warnings: readonly InventoryIssue[];
    }
  | {
      readonly ok: false;
      readonly errors: readonly InventoryIssue[];
      readonly warnings: readonly InventoryIssue[];
    };

// Pacemaker node names as corosync/uname give them; device ids are built from them.
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
// PDU names and guest names become (parts of) CIB ids, which are XML IDs: a letter or _ first.
const ID_NAME = /^[A-Za-z_][A-Za-z0-9._-]{0,62}$/;
// Paths are rendered inside password_script commands (run by /bin/sh) and pcs/crmsh words: a
// plain character set keeps them one shell word without quoting inside quoting.
const SAFE_PATH = /^\/[A-Za-z0-9._/+@%:=-]*$/;
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const OUTLET = /^(?:\d+|\d+:\d+|[A-Za-z_][A-Za-z0-9_.-]*)$/;
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Parses and validates inventory text. Never throws on bad input. */
export function validateInventory(text: string): ValidationResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
  });
  const v = new Walker(lineCounter);
  for (const e of doc.errors)
    v.errorAt(e.pos[0], `${oneLine(e.message)}; expected well-formed YAML`);
  for (const w of doc.warnings) v.warnAt(w.pos[0], oneLine(w.message));
  if (doc.errors.length > 0) return { ok: false, errors: v.errors, warnings: v.warnings };
  const inventory = v.inventory(doc.contents ?? undefined);
  const byPlace = (a: InventoryIssue, b: InventoryIssue): number =>
    a.line - b.line || a.col - b.col;
  const warnings = [...v.warnings].sort(byPlace);
  if (inventory === undefined || v.errors.length > 0)
    return { ok: false, errors: [...v.errors].sort(byPlace), warnings };
  return { ok: true, inventory, warnings };
}

/** yaml's message without its own position and source excerpt (ours comes first on the line). */
function oneLine(s: string): string {
  const first = s.split("\n")[0] ?? s;
  return first.replace(/ at line \d+, column \d+:?\s*$/, "").replace(/\s+$/, "");
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

function isIPv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

function isIPv6(s: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || !s.includes(":")) return false;
  let rest = s;
  let groups = 8;
  const lastColon = rest.lastIndexOf(":");
  const tail = rest.slice(lastColon + 1);
  if (tail.includes(".")) {
    if (!isIPv4(tail)) return false;
    rest = `${rest.slice(0, lastColon + 1)}0:0`;
  }
  const halves = rest.split("::");
  if (halves.length > 2) return false;
  const count = (h: string): number | undefined => {
    if (h === "") return 0;
    const gs = h.split(":");
    return gs.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g)) ? gs.length : undefined;
  };
  const a = count(halves[0] ?? "");
  const b = halves.length === 2 ? count(halves[1] ?? "") : 0;
  if (a === undefined || b === undefined) return false;
  return halves.length === 2 ? a + b < groups : a === (groups = 8);
}

/** An IPv4 or IPv6 address or a DNS host name; digits-and-dots that are not IPv4 are refused. */
export function isAddress(s: string): boolean {
  if (isIPv4(s) || isIPv6(s)) return true;
  if (/^[\d.]+$/.test(s)) return false;
  return HOSTNAME.test(s);
}

type Where = YamlNode | undefined;

interface Named<T> {
  readonly value: T;
  readonly at: Where;
}

/** A mapping whose keys have been checked against its section's table. */
class MapView {
  constructor(
    readonly node: YAMLMap,
    readonly path: string,
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

class Walker {
  readonly errors: InventoryIssue[] = [];
  readonly warnings: InventoryIssue[] = [];
  // Where a supply's outlets and pdu were written, for the cross-section errors (keyed by the outlets array).
  private readonly outletAt = new WeakMap<readonly string[], YamlNode | undefined>();
  private readonly pduAt = new WeakMap<readonly string[], YamlNode | undefined>();
  // Nodes whose bmc was written, even if wrong: "no way to fence" would only repeat its errors.
  private readonly bmcWritten = new Set<string>();
  constructor(private readonly lines: LineCounter) {}

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

  // ---- shapes ----

  map(node: Where, section: Section, path: string): MapView | undefined {
    if (!isMap(node)) {
      this.error(
        node,
        `${path || "the inventory"}: ${describe(node)}, expected a mapping with keys ${INVENTORY_KEYS[section].join(", ")}`,
      );
      return undefined;
    }
    const allowed: readonly string[] = INVENTORY_KEYS[section];
    for (const pair of node.items) {
      const key = pair.key as YamlNode | null;
      if (!isScalar(key) || typeof key.value !== "string") {
        this.error(
          key ?? undefined,
          `${path || "the inventory"}: a key must be a plain word, expected one of ${allowed.join(", ")}`,
        );
        continue;
      }
      if (!allowed.includes(key.value)) {
        const where = path === "" ? "" : ` in ${path}`;
        this.error(
          key,
          `unknown key '${key.value}'${where}${didYouMean(key.value, allowed)}; expected one of ${allowed.join(", ")}`,
        );
      }
    }
    return new MapView(node, path);
  }

  list(m: MapView, key: string, required: boolean, what: string): Named<YamlNode[]> | undefined {
    const node = m.get(key);
    if (node === undefined) {
      if (required) this.error(m.node, `${m.field(key)} is missing; expected a list of ${what}`);
      return undefined;
    }
    if (!isSeq(node)) {
      this.error(node, `${m.field(key)}: ${describe(node)}, expected a list of ${what}`);
      return undefined;
    }
    return { value: node.items as YamlNode[], at: node };
  }

  scalar(m: MapView, key: string, required: boolean, expected: string): Scalar | undefined {
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

  string(
    m: MapView,
    key: string,
    required: boolean,
    expected: string,
    check?: (s: string) => boolean,
  ): Named<string> | undefined {
    const node = this.scalar(m, key, required, expected);
    if (node === undefined) return undefined;
    if (typeof node.value !== "string" || node.value === "") {
      this.error(node, `${m.field(key)}: ${describe(node)}, expected ${expected}`);
      return undefined;
    }
    if (CONTROL.test(node.value) || (check !== undefined && !check(node.value))) {
      this.error(
        node,
        `${m.field(key)}: '${printable(node.value)}' is not valid, expected ${expected}`,
      );
      return undefined;
    }
    return { value: node.value, at: node };
  }

  integer(
    m: MapView,
    key: string,
    required: boolean,
    min: number,
    max: number,
    unit = "",
  ): Named<number> | undefined {
    const expected = `an integer from ${min} to ${max}${unit}`;
    const node = this.scalar(m, key, required, expected);
    if (node === undefined) return undefined;
    if (typeof node.value !== "number" || !Number.isInteger(node.value)) {
      this.error(node, `${m.field(key)}: ${describe(node)}, expected ${expected}`);
      return undefined;
    }
    if (node.value < min || node.value > max) {
      this.error(node, `${m.field(key)}: ${node.value} is out of range, expected ${expected}`);
      return undefined;
    }
    return { value: node.value, at: node };
  }

  boolean(m: MapView, key: string): boolean | undefined {
    const node = this.scalar(m, key, false, "true or false");
    if (node === undefined) return undefined;
    if (typeof node.value !== "boolean") {
      this.error(node, `${m.field(key)}: ${describe(node)}, expected true or false`);
      return undefined;
    }
    return node.value;
  }

  choice<T extends string>(
    m: MapView,
    key: string,
    required: boolean,
    choices: readonly T[],
  ): Named<T> | undefined {
    const expected = `one of ${choices.join(", ")}`;
    const node = this.scalar(m, key, required, expected);
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

  /** `<prefix>_file` or `<prefix>_script`: at most one (exactly one when required). */
  secret(m: MapView, prefix: string, required: boolean, what: string): SecretRef | undefined {
    const fileKey = `${prefix}_file`;
    const scriptKey = `${prefix}_script`;
    const file = this.string(
      m,
      fileKey,
      false,
      "an absolute path of a root-only file (letters, digits, ._/+@%:=-)",
      (s) => SAFE_PATH.test(s),
    );
    const script = this.string(
      m,
      scriptKey,
      false,
      "a shell command that prints the secret on its first line",
    );
    if (m.has(fileKey) && m.has(scriptKey)) {
      this.error(
        m.get(scriptKey),
        `${m.field(scriptKey)}: give either ${fileKey} or ${scriptKey} for ${what}, not both`,
      );
      return undefined;
    }
    if (required && !m.has(fileKey) && !m.has(scriptKey)) {
      this.error(
        m.node,
        `${m.path}: ${what} is missing; expected ${fileKey} (a root-only file) or ${scriptKey} (a command printing it)`,
      );
      return undefined;
    }
    if (file !== undefined) return { kind: "file", path: file.value };
    if (script !== undefined) return { kind: "script", command: script.value };
    return undefined;
  }

  // ---- sections ----

  inventory(root: Where): Inventory | undefined {
    if (root === undefined || (isScalar(root) && root.value === null)) {
      this.errorAt(
        0,
        `the inventory is empty; expected a mapping with keys ${INVENTORY_KEYS.inventory.join(", ")}`,
      );
      return undefined;
    }
    const m = this.map(root, "inventory", "");
    if (m === undefined) return undefined;
    const clusterNode = m.get("cluster");
    if (clusterNode === undefined)
      this.error(
        m.node,
        `cluster is missing; expected a mapping with keys ${INVENTORY_KEYS.cluster.join(", ")}`,
      );
    const nodeList = this.list(m, "nodes", true, "nodes (name, bmc, power)");
    const pduList = this.list(m, "pdus", false, "PDUs (name, address, snmp_version, …)");
    const guestList = this.list(m, "guests", false, "guests (name, config, …)");

    const pdus = this.named(pduList, "pdus", (n, p) => this.pdu(n, p));
    const nodes = this.named(nodeList, "nodes", (n, p) => this.node(n, p));
    const guests = this.named(guestList, "guests", (n, p) => this.guest(n, p));
    if (nodeList !== undefined && nodeList.value.length === 0)
      this.error(nodeList.at, "nodes: the list is empty; expected at least two nodes");
    else if (nodeList !== undefined && nodeList.value.length === 1)
      this.error(nodeList.at, "nodes: a cluster needs at least two nodes to fence one another");
    const cluster = clusterNode === undefined ? undefined : this.cluster(clusterNode, nodes);
    this.crossCheck(nodes, pdus, guests, cluster);
    if (cluster === undefined) return undefined;
    return {
      cluster: cluster.value,
      nodes: nodes.map((n) => n.value),
      pdus: pdus.map((p) => p.value),
      guests: guests.map((g) => g.value),
    };
  }

  /** Each list item parsed; names unique within the list. */
  private named<T extends { readonly name: string }>(
    list: Named<YamlNode[]> | undefined,
    path: string,
    item: (n: YamlNode, path: string) => Named<T> | undefined,
  ): Named<T>[] {
    const out: Named<T>[] = [];
    if (list === undefined) return out;
    const seen = new Map<string, YamlNode | undefined>();
    for (const [i, n] of list.value.entries()) {
      const parsed = item(n, `${path}[${i}]`);
      if (parsed === undefined) continue;
      const first = seen.get(parsed.value.name);
      if (seen.has(parsed.value.name)) {
        this.error(
          parsed.at,
          `${path}[${i}].name: '${parsed.value.name}' is already used at line ${this.lineOf(first)}; expected unique names`,
        );
        continue;
      }
      seen.set(parsed.value.name, parsed.at);
      out.push(parsed);
    }
    return out;
  }

  private place(n: Where): { line: number; col: number } {
    return this.lines.linePos(n?.range?.[0] ?? 0);
  }

  private lineOf(n: Where): number {
    return this.lines.linePos(n?.range?.[0] ?? 0).line;
  }

  private cluster(node: YamlNode, nodes: readonly Named<Node>[]): Named<Cluster> | undefined {
    const m = this.map(node, "cluster", "cluster");
    if (m === undefined) return undefined;
    const name = this.string(m, "name", true, "a cluster name (letters, digits, ._-)", (s) =>
      NODE_NAME.test(s),
    );
    const stonithTimeout = this.integer(m, "stonith_timeout", false, 10, 3600, " seconds");
    const placement = this.choice(m, "placement_strategy", false, [
      "utilization",
      "minimal",
      "balanced",
    ] as const);
    let twoNode: TwoNode | undefined;
    const twoNodeNode = m.get("two_node");
    if (nodes.length === 2) {
      const first = nodes[0]?.value.name ?? "";
      twoNode = { preferred: first, delay: DEFAULTS.twoNodeDelay };
      if (twoNodeNode !== undefined) {
        const t = this.map(twoNodeNode, "two_node", "cluster.two_node");
        if (t !== undefined) {
          const preferred = this.string(t, "preferred", false, "the name of one of the two nodes");
          const delay = this.integer(t, "delay", false, 1, 120, " seconds");
          const names = nodes.map((n) => n.value.name);
          if (preferred !== undefined && !names.includes(preferred.value)) {
            this.error(
              preferred.at,
              `cluster.two_node.preferred: node '${preferred.value}' is not defined${didYouMean(preferred.value, names)}; expected one of ${names.join(", ")}`,
            );
          }
          twoNode = {
            preferred: preferred?.value ?? first,
            delay: delay?.value ?? DEFAULTS.twoNodeDelay,
          };
        }
      }
    } else if (twoNodeNode !== undefined && nodes.length > 2) {
      this.error(
        m.get("two_node"),
        `cluster.two_node: the cluster has ${nodes.length} nodes; expected two_node only in a two-node cluster`,
      );
    }
    let sbd: Sbd | undefined;
    const sbdNode = m.get("sbd");
    if (sbdNode !== undefined) {
      const s = this.map(sbdNode, "sbd", "cluster.sbd");
      if (s !== undefined) {
        const devices = this.list(s, "devices", true, "shared block devices (/dev/disk/by-id/…)");
        const paths: string[] = [];
        for (const [i, d] of (devices?.value ?? []).entries()) {
          if (!isScalar(d) || typeof d.value !== "string" || !SAFE_PATH.test(d.value)) {
            this.error(
              d,
              `cluster.sbd.devices[${i}]: ${describe(d)}, expected an absolute device path such as /dev/disk/by-id/…`,
            );
          } else paths.push(d.value);
        }
        if (devices !== undefined && devices.value.length === 0)
          this.error(
            devices.at,
            "cluster.sbd.devices: the list is empty; expected 1 to 3 shared devices",
          );
        if (paths.length > 3)
          this.error(
            devices?.at,
            "cluster.sbd.devices: SBD uses at most 3 devices; expected 1 to 3",
          );
        const msgwait = this.integer(
          s,
          "msgwait",
          false,
          2,
          300,
          " seconds (as sbd -d DEV dump shows)",
        );
        sbd = { devices: paths, msgwait: msgwait?.value ?? DEFAULTS.sbdMsgwait };
      }
    }
    if (name === undefined) return undefined;
    return {
      value: {
        name: name.value,
        stonithTimeout:
          stonithTimeout === undefined
            ? undefined
            : { seconds: stonithTimeout.value, ...this.place(stonithTimeout.at) },
        placementStrategy: placement?.value,
        twoNode,
        sbd,
      },
      at: node,
    };
  }

  private node(item: YamlNode, path: string): Named<Node> | undefined {
    const m = this.map(item, "node", path);
    if (m === undefined) return undefined;
    const name = this.string(
      m,
      "name",
      true,
      "a node name as Pacemaker knows it (letters, digits, ._-)",
      (s) => NODE_NAME.test(s),
    );
    const bmcNode = m.get("bmc");
    const bmc = bmcNode === undefined ? undefined : this.bmc(bmcNode, m.field("bmc"));
    const supplies: Supply[] = [];
    const power = this.list(m, "power", false, "power supplies (pdu, outlets)");
    for (const [i, s] of (power?.value ?? []).entries()) {
      const supply = this.supply(s, `${m.field("power")}[${i}]`);
      if (supply !== undefined) supplies.push(supply);
    }
    const capacityNode = m.get("capacity");
    const capacity =
      capacityNode === undefined ? undefined : this.utilization(capacityNode, m.field("capacity"));
    if (name === undefined) return undefined;
    if (bmcNode !== undefined) this.bmcWritten.add(name.value);
    return { value: { name: name.value, bmc, power: supplies, capacity }, at: m.get("name") };
  }

  private bmc(node: YamlNode, path: string): Bmc | undefined {
    const m = this.map(node, "bmc", path);
    if (m === undefined) return undefined;
    const address = this.string(
      m,
      "address",
      true,
      "the BMC's IPv4/IPv6 address or host name",
      isAddress,
    );
    const port = this.integer(m, "port", false, 1, 65535);
    const user = this.string(m, "user", false, "the BMC user name");
    const password = this.secret(m, "password", true, "the BMC password");
    const cipher = this.integer(m, "cipher", false, 0, 17);
    if (cipher !== undefined && cipher.value !== 3 && cipher.value !== 17)
      this.error(
        cipher.at,
        `${m.field("cipher")}: ${cipher.value} is not supported by fence_ipmi, expected 3 or 17`,
      );
    const lanplus = this.boolean(m, "lanplus");
    const privlvl = this.choice(m, "privlvl", false, ["operator", "administrator"] as const);
    const login = this.integer(m, "login_timeout", false, 1, 120, " seconds");
    const powerT = this.integer(m, "power_timeout", false, 1, 600, " seconds");
    if (address === undefined) return undefined;
    return {
      address: address.value,
      port: port?.value,
      user: user?.value,
      password,
      cipher: cipher?.value === 3 || cipher?.value === 17 ? cipher.value : undefined,
      lanplus,
      privlvl: privlvl?.value,
      loginTimeout: login?.value ?? DEFAULTS.ipmiLoginTimeout,
      powerTimeout: powerT?.value ?? DEFAULTS.ipmiPowerTimeout,
    };
  }

  private supply(node: YamlNode, path: string): Supply | undefined {
    const m = this.map(node, "supply", path);
    if (m === undefined) return undefined;
    const pdu = this.string(m, "pdu", true, "the name of a PDU defined under pdus");
    const outletsNode = m.get("outlets");
    const outlets: string[] = [];
    const expected = "an outlet number, unit:outlet, or an outlet name";
    if (outletsNode === undefined)
      this.error(
        m.node,
        `${m.field("outlets")} is missing; expected a list of outlets (${expected})`,
      );
    else {
      const items = isSeq(outletsNode) ? (outletsNode.items as YamlNode[]) : [outletsNode];
      if (items.length === 0)
        this.error(
          outletsNode,
          `${m.field("outlets")}: the list is empty; expected at least one outlet`,
        );
      for (const [i, o] of items.entries()) {
        const at = isSeq(outletsNode) ? `${m.field("outlets")}[${i}]` : m.field("outlets");
        const text =
          isScalar(o) && (typeof o.value === "number" || typeof o.value === "string")
            ? String(o.value)
            : undefined;
        if (text === undefined || !OUTLET.test(text) || text === "0") {
          this.error(
            o,
            `${at}: ${text === undefined ? describe(o) : `'${printable(text)}'`} is not an outlet; expected ${expected}`,
          );
          continue;
        }
        if (outlets.includes(text))
          this.error(
            o,
            `${at}: outlet ${text} is listed twice for this supply; expected each outlet once`,
          );
        else outlets.push(text);
      }
    }
    if (pdu === undefined) return undefined;
    this.outletAt.set(outlets, outletsNode);
    this.pduAt.set(outlets, m.get("pdu"));
    return { pdu: pdu.value, outlets };
  }

  private utilization(node: YamlNode, path: string): Utilization | undefined {
    const m = this.map(node, "utilization", path);
    if (m === undefined) return undefined;
    const cpu = this.integer(m, "cpu", false, 1, 100_000, " (cores)");
    const memory = this.integer(m, "memory", false, 1, 1_000_000_000, " MiB");
    if (!m.has("cpu") && !m.has("memory"))
      this.error(m.node, `${path}: empty; expected cpu and/or memory`);
    return { cpu: cpu?.value, memory: memory?.value };
  }

  private pdu(item: YamlNode, path: string): Named<Pdu> | undefined {
    const m = this.map(item, "pdu", path);
    if (m === undefined) return undefined;
    const name = this.string(
      m,
      "name",
      true,
      "a PDU name (a letter or _ first, then letters, digits, ._-)",
      (s) => ID_NAME.test(s),
    );
    const address = this.string(
      m,
      "address",
      true,
      "the PDU's IPv4/IPv6 address or host name",
      isAddress,
    );
    const port = this.integer(m, "port", false, 1, 65535);
    const version = this.choice(m, "snmp_version", true, ["1", "2c", "3"] as const);
    const community = this.secret(m, "community", false, "the SNMP community");
    const user = this.string(m, "user", false, "the SNMPv3 user name");
    const authProtocol = this.choice(m, "auth_protocol", false, SNMP_AUTH_PROTOCOLS);
    const authPassword = this.secret(
      m,
      "auth_password",
      false,
      "the SNMPv3 authentication password",
    );
    const privProtocol = this.choice(m, "priv_protocol", false, SNMP_PRIV_PROTOCOLS);
    const privPassword = this.secret(m, "priv_password", false, "the SNMPv3 privacy password");
    const devices = pduDevices();
    const device = this.choice(m, "device", false, devices);
    const login = this.integer(m, "login_timeout", false, 1, 120, " seconds");
    const shell = this.integer(m, "shell_timeout", false, 1, 60, " seconds");
    const powerT = this.integer(m, "power_timeout", false, 1, 600, " seconds");
    if (version !== undefined) {
      const v3Keys = [
        "user",
        "auth_protocol",
        "auth_password_file",
        "auth_password_script",
        "priv_protocol",
        "priv_password_file",
        "priv_password_script",
      ];
      if (version.value === "3") {
        for (const k of ["community_file", "community_script"]) {
          if (m.has(k))
            this.error(
              m.get(k),
              `${m.field(k)}: SNMPv3 has no community; expected user with auth_password_file/auth_password_script`,
            );
        }
        if (!m.has("user"))
          this.error(
            m.node,
            `${m.field("user")} is missing; expected the SNMPv3 user name (snmp_version is 3)`,
          );
        if (
          authPassword === undefined &&
          !m.has("auth_password_file") &&
          !m.has("auth_password_script")
        ) {
          this.warn(
            m.node,
            `${m.path}: SNMPv3 without authentication (noAuthNoPriv); anyone on the network can switch this PDU's outlets`,
          );
        } else if (
          privPassword === undefined &&
          !m.has("priv_password_file") &&
          !m.has("priv_password_script")
        ) {
          this.warn(
            m.node,
            `${m.path}: SNMPv3 without privacy (authNoPriv): the outlet commands travel unencrypted`,
          );
        }
        if (
          (m.has("priv_password_file") || m.has("priv_password_script")) &&
          !m.has("auth_password_file") &&
          !m.has("auth_password_script")
        ) {
          this.error(
            m.node,
            `${m.path}: a privacy password needs an authentication password; expected auth_password_file or auth_password_script too`,
          );
        }
      } else {
        for (const k of v3Keys)
          if (m.has(k))
            this.error(
              m.get(k),
              `${m.field(k)}: only for snmp_version 3 (this PDU uses ${version.value}); expected community_file or community_script`,
            );
        if (!m.has("community_file") && !m.has("community_script")) {
          this.error(
            m.node,
            `${m.path}: the SNMP v${version.value} community is missing; expected community_file (a root-only file holding it) or community_script (a command printing it)`,
          );
        }
      }
    }
    // An item with a name counts as defined even when other fields are wrong: references to it are
    // not reported again (the inventory is refused anyway).
    if (name === undefined) return undefined;
    return {
      value: {
        name: name.value,
        address: address?.value ?? "",
        port: port?.value,
        snmpVersion: version?.value ?? "1",
        community: version?.value === "3" ? undefined : community,
        user: user?.value,
        authProtocol: authProtocol?.value,
        authPassword,
        privProtocol: privProtocol?.value,
        privPassword,
        device: device?.value,
        loginTimeout: login?.value ?? DEFAULTS.pduLoginTimeout,
        shellTimeout: shell?.value ?? DEFAULTS.pduShellTimeout,
        powerTimeout: powerT?.value ?? DEFAULTS.pduPowerTimeout,
      },
      at: m.get("name"),
    };
  }

  private guest(item: YamlNode, path: string): Named<Guest> | undefined {
    const m = this.map(item, "guest", path);
    if (m === undefined) return undefined;
    const name = this.string(
      m,
      "name",
      true,
      "a resource name (a letter or _ first, then letters, digits, ._-)",
      (s) => ID_NAME.test(s),
    );
    const config = this.string(
      m,
      "config",
      true,
      "the absolute path of the domain XML on shared storage",
      (s) => s.startsWith("/"),
    );
    const hypervisor = this.string(
      m,
      "hypervisor",
      false,
      "a libvirt URI such as qemu:///system",
      (s) => /^[a-z][a-z0-9+]*:\/\//.test(s) && !/\s/.test(s),
    );
    const allowMigrate = this.boolean(m, "allow_migrate");
    let migration: Migration = {
      transport: undefined,
      user: undefined,
      networkSuffix: undefined,
      speed: undefined,
      downtime: undefined,
    };
    const migNode = m.get("migration");
    if (migNode !== undefined) {
      const g = this.map(migNode, "migration", m.field("migration"));
      if (g !== undefined) {
        const transport = this.choice(g, "transport", false, [
          "ssh",
          "tcp",
          "tls",
          "libssh2",
          "libssh",
        ] as const);
        const user = this.string(g, "user", false, "a user name", (s) =>
          /^[A-Za-z_][A-Za-z0-9._-]*$/.test(s),
        );
        const suffix = this.string(
          g,
          "network_suffix",
          false,
          "a host name suffix such as -mig",
          (s) => /^[A-Za-z0-9._-]+$/.test(s),
        );
        const speed = this.integer(g, "speed", false, 1, 100_000, " MiB/s");
        const downtime = this.integer(g, "downtime", false, 1, 60_000, " ms");
        migration = {
          transport: transport?.value,
          user: user?.value,
          networkSuffix: suffix?.value,
          speed: speed?.value,
          downtime: downtime?.value,
        };
      }
    }
    const utilNode = m.get("utilization");
    const utilization =
      utilNode === undefined ? undefined : this.utilization(utilNode, m.field("utilization"));
    const t: { -readonly [K in keyof GuestTimeouts]: number } = {
      start: DEFAULTS.guestStart,
      stop: DEFAULTS.guestStop,
      monitor: DEFAULTS.guestMonitor,
      monitorInterval: DEFAULTS.guestMonitorInterval,
      migrateTo: DEFAULTS.guestMigrateTo,
      migrateFrom: DEFAULTS.guestMigrateFrom,
    };
    const tNode = m.get("timeouts");
    if (tNode !== undefined) {
      const tm = this.map(tNode, "timeouts", m.field("timeouts"));
      if (tm !== undefined) {
        t.start = this.integer(tm, "start", false, 5, 3600, " seconds")?.value ?? t.start;
        // VirtualDomain keeps 15 s of its stop for destroy: a shorter stop never shuts down gracefully.
        t.stop =
          this.integer(
            tm,
            "stop",
            false,
            20,
            3600,
            " seconds (VirtualDomain keeps 15 s of it for destroy)",
          )?.value ?? t.stop;
        t.monitor = this.integer(tm, "monitor", false, 5, 600, " seconds")?.value ?? t.monitor;
        t.monitorInterval =
          this.integer(tm, "monitor_interval", false, 1, 3600, " seconds")?.value ??
          t.monitorInterval;
        t.migrateTo =
          this.integer(tm, "migrate_to", false, 10, 86_400, " seconds")?.value ?? t.migrateTo;
        t.migrateFrom =
          this.integer(tm, "migrate_from", false, 5, 3600, " seconds")?.value ?? t.migrateFrom;
      }
    }
    if (name === undefined) return undefined;
    return {
      value: {
        name: name.value,
        config: config?.value ?? "",
        hypervisor: hypervisor?.value ?? DEFAULTS.hypervisor,
        allowMigrate: allowMigrate ?? true,
        migration,
        utilization,
        timeouts: t,
      },
      at: m.get("name"),
    };
  }

  // ---- across sections ----

  private crossCheck(
    nodes: readonly Named<Node>[],
    pdus: readonly Named<Pdu>[],
    guests: readonly Named<Guest>[],
    cluster: Named<Cluster> | undefined,
  ): void {
    const pduNames = pdus.map((p) => p.value.name);
    // outlet → the node that has it, per PDU
    const used = new Map<string, Map<string, string>>();
    const fedBy = new Map<string, number>();
    for (const { value: node } of nodes) {
      const seenPdus = new Set<string>();
      for (const supply of node.power) {
        const at = this.pduAt.get(supply.outlets);
        if (!pduNames.includes(supply.pdu)) {
          this.error(
            at,
            `nodes.${node.name}: PDU '${supply.pdu}' is not defined${didYouMean(supply.pdu, pduNames)}; expected one of the names under pdus${pduNames.length === 0 ? " (there are none)" : `: ${pduNames.join(", ")}`}`,
          );
          continue;
        }
        if (seenPdus.has(supply.pdu))
          this.error(
            at,
            `nodes.${node.name}: two supplies on PDU '${supply.pdu}'; expected each supply on its own PDU (list several outlets in one entry if both are on it)`,
          );
        seenPdus.add(supply.pdu);
        fedBy.set(supply.pdu, (fedBy.get(supply.pdu) ?? 0) + 1);
        const outletsOf = used.get(supply.pdu) ?? new Map<string, string>();
        used.set(supply.pdu, outletsOf);
        const list = this.outletAt.get(supply.outlets);
        for (const [i, outlet] of supply.outlets.entries()) {
          const owner = outletsOf.get(outlet);
          const itemAt = isSeq(list) ? (list.items[i] as YamlNode | undefined) : list;
          if (owner !== undefined && owner !== node.name)
            this.error(
              itemAt,
              `nodes.${node.name}: outlet ${outlet} of PDU '${supply.pdu}' is already used by node '${owner}'; expected each outlet on one node only`,
            );
          else outletsOf.set(outlet, node.name);
        }
      }
      if (pdus.length > 0 && node.power.length === 0)
        this.error(
          nodes.find((n) => n.value === node)?.at,
          `nodes.${node.name}: power is missing; expected the node's supplies (pdu, outlets): with PDUs defined, every node needs fencing level 2`,
        );
      if (
        !this.bmcWritten.has(node.name) &&
        node.power.length === 0 &&
        cluster?.value.sbd === undefined
      ) {
        this.error(
          nodes.find((n) => n.value === node)?.at,
          `nodes.${node.name}: no way to fence this node; expected bmc, power or cluster.sbd`,
        );
      }
    }
    for (const p of pdus)
      if (!fedBy.has(p.value.name))
        this.warn(
          p.at,
          `pdus.${p.value.name}: no node's supply is on this PDU; it gets no fencing device`,
        );
    if (
      pdus.length === 0 &&
      cluster !== undefined &&
      cluster.value.sbd === undefined &&
      nodes.length > 0
    ) {
      this.warn(
        cluster.at,
        "no PDUs and no SBD: a node that loses all power (its BMC with it) cannot be fenced, and its guests stay down until an admin confirms it is off (stonith_admin --confirm)",
      );
    }
    // capacities: all or none, and needed by guest utilization
    const withCap = nodes.filter((n) => n.value.capacity !== undefined);
    if (withCap.length > 0 && withCap.length < nodes.length) {
      for (const n of nodes)
        if (n.value.capacity === undefined)
          this.error(
            n.at,
            `nodes.${n.value.name}: capacity is missing; expected capacity on every node once one node has it`,
          );
    }
    for (const g of guests) {
      if (g.value.utilization !== undefined && withCap.length === 0) {
        this.error(
          g.at,
          `guests.${g.value.name}: utilization needs node capacities; expected capacity (cpu, memory) on every node`,
        );
      }
    }
    if (cluster?.value.placementStrategy !== undefined && withCap.length === 0) {
      this.error(
        cluster.at,
        `cluster.placement_strategy: set without node capacities; expected capacity (cpu, memory) on every node`,
      );
    }
    // resource ids must not collide
    const ids = new Set<string>();
    for (const n of nodes) if (n.value.bmc !== undefined) ids.add(`fence-ipmi-${n.value.name}`);
    for (const p of pdus) ids.add(`fence-pdu-${p.value.name}`);
    if (cluster?.value.sbd !== undefined) ids.add("fence-sbd");
    for (const g of guests)
      if (ids.has(g.value.name))
        this.error(
          g.at,
          `guests: '${g.value.name}' is the id of a fencing device; expected another guest name`,
        );
    // VirtualDomain's config is unique: two resources on one domain XML would start one guest twice.
    const configs = new Map<string, string>();
    for (const g of guests) {
      const other = configs.get(g.value.config);
      if (other !== undefined && g.value.config !== "")
        this.error(
          g.at,
          `guests.${g.value.name}: config ${g.value.config} is already the config of guest '${other}'; expected one guest per domain XML`,
        );
      else configs.set(g.value.config, g.value.name);
    }
  }
}

function printable(s: string): string {
  const shown = s.length > 60 ? `${s.slice(0, 57)}...` : s;
  return shown.replace(new RegExp(CONTROL.source, "g"), "?");
}

function describe(node: Where): string {
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
