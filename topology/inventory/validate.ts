// Why one file: the walk over the document, section by section; each part is a few lines of the
// same walk.
/**
 * Inventory validation: our own walk over the parsed YAML document, so that every problem is
 * reported at its line and column with what was expected, and all of them at once. Each field's
 * rules are the field table's (fields.ts, read through walker.ts); the sections' structure is here,
 * the checks across sections in cross-check.ts. Pure: text in, an Inventory or a list of issues out
 * (load.ts does the file I/O and formatting). Subjects are named by their names (`nodes.hv2.bmc`),
 * by their place in a list only where they have none yet.
 */
import { bmcAgent } from "../agents.js";
import { isScalar, isSeq, LineCounter, type Node as YamlNode, parseDocument } from "yaml";
import { crossCheck } from "./cross-check.js";
import {
  type GuestDefaults,
  dependencies,
  guestDefaults,
  guestPolicy,
  remoteConnection,
} from "./policy.js";
import { ID_NAME, MAX_OUTLETS, NODE_NAME, OUTLET, keysOf } from "./fields.js";
import {
  type Bmc,
  type Cluster,
  DEFAULTS,
  type Dependencies,
  type FenceRace,
  type Guest,
  type GuestTimeouts,
  type Inventory,
  type Migration,
  type Node,
  type Pdu,
  type Sbd,
  type SnmpVersion,
  type Supply,
  type TwoNode,
  type Utilization,
} from "./model.js";
import {
  type InventoryIssue,
  type MapView,
  type Named,
  Walker,
  type Where,
  describe,
  didYouMean,
  itemName,
  printable,
} from "./walker.js";

export { didYouMean };
export { isAddress } from "./fields.js";
export type { InventoryIssue };

export type ValidationResult =
  | {
      readonly ok: true;
      readonly inventory: Inventory;
      readonly warnings: readonly InventoryIssue[];
      /** Where each entry is (`nodes.hv1`, `guests.web1`, `cluster`…), for errors found later. */
      readonly places: ReadonlyMap<string, Place>;
    }
  | {
      readonly ok: false;
      readonly errors: readonly InventoryIssue[];
      readonly warnings: readonly InventoryIssue[];
    };

/** An XML document (a CIB, a domain) given where the inventory was expected. */
const XML_START = /^\uFEFF?\s*<(?:\?xml|!--|!DOCTYPE|[A-Za-z_])/;

/** Parses and validates inventory text. Never throws on bad input. */
export function validateInventory(text: string): ValidationResult {
  if (XML_START.test(text)) {
    // YAML would read it as text and report each line it cannot make a key of.
    const before = text.slice(0, text.indexOf("<")).split("\n");
    const at = {
      line: before.length,
      col: (before.at(-1) ?? "").replace(/^\uFEFF/, "").length + 1,
    };
    return {
      ok: false,
      errors: [
        {
          ...at,
          message:
            "this is XML, not a YAML inventory; expected the inventory kvmha render reads (docs/templates.md), or give a CIB to kvmha check --cib FILE",
        },
      ],
      warnings: [],
    };
  }
  const lineCounter = new LineCounter();
  const v = new InventoryWalker(lineCounter);
  // Duplicate keys are found by the walk, which can name the key and where it is.
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: false,
    strict: true,
  });
  // A TAB in the indentation makes the parser misread everything after it: that one is the error.
  const tabs = doc.errors.filter((e) => e.code === "TAB_AS_INDENT");
  for (const e of tabs)
    v.errorAt(
      e.pos[0],
      "a TAB in the indentation; expected spaces (YAML indents with spaces only)",
    );
  if (tabs.length === 0)
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
  return { ok: true, inventory, warnings, places: v.places };
}

/** yaml's message without its own position and source excerpt (ours comes first on the line). */
function oneLine(s: string): string {
  const first = s.split("\n")[0] ?? s;
  return first.replace(/ at line \d+, column \d+:?\s*$/, "").replace(/\s+$/, "");
}

/** A line and column of the inventory. */
export interface Place {
  readonly line: number;
  readonly col: number;
}

/** Where a supply's outlets and pdu were written, for the errors across sections. */
export interface SupplyPlaces {
  readonly outlets: Where;
  readonly pdu: Where;
}

class InventoryWalker extends Walker {
  /** Keyed by the supply's outlets array. */
  readonly supplyAt = new WeakMap<readonly string[], SupplyPlaces>();
  /** Nodes whose bmc was written, even if wrong: "no way to fence" would only repeat its errors. */
  readonly bmcWritten = new Set<string>();
  /** Where each named entry is: `nodes.hv1` (its name), `cluster`, `cluster.sbd`. */
  readonly places = new Map<string, Place>();

  inventory(root: Where): Inventory | undefined {
    if (root === undefined || (isScalar(root) && root.value === null)) {
      this.errorAt(
        0,
        `the inventory is empty; expected a mapping with keys ${keysOf("inventory").join(", ")}`,
      );
      return undefined;
    }
    const m = this.map(root, "inventory", "");
    if (m === undefined) return undefined;
    const clusterNode = m.get("cluster");
    if (clusterNode === undefined)
      this.error(
        m.node,
        `cluster is missing; expected a mapping with keys ${keysOf("cluster").join(", ")}`,
      );
    const nodeList = this.list(m, "nodes");
    const pdus = this.named(this.list(m, "pdus"), "pdus", ID_NAME, (n, p) => this.pdu(n, p));
    const nodes = this.named(nodeList, "nodes", NODE_NAME, (n, p) => this.node(n, p));
    const deps = dependencies(this, m.get("dependencies"));
    const defaults = guestDefaults(this, m.get("guest_defaults"));
    const guests = this.named(this.list(m, "guests"), "guests", ID_NAME, (n, p) =>
      this.guest(n, p, defaults, deps.value),
    );
    // Pacemaker Remote nodes fence no one: the cluster is its corosync members.
    const members = nodes.filter((n) => n.value.remote === undefined);
    if (nodeList !== undefined && nodeList.value.length === 0)
      this.error(nodeList.at, "nodes: the list is empty; expected at least two nodes");
    else if (nodeList !== undefined && nodeList.value.length === 1)
      this.error(nodeList.at, "nodes: a cluster needs at least two nodes to fence one another");
    else if (nodeList !== undefined && nodes.length >= 2 && members.length < 2)
      this.error(
        nodeList.at,
        `nodes: ${members.length === 0 ? "no node is" : "only one node is"} a cluster member (the others are remote); expected at least two members, which fence the remote nodes and one another`,
      );
    const cluster =
      clusterNode === undefined ? undefined : this.cluster(clusterNode, members, guests);
    crossCheck(this, { nodes, pdus, guests, cluster, dependencies: deps });
    if (cluster === undefined) return undefined;
    return {
      cluster: cluster.value,
      nodes: nodes.map((n) => n.value),
      pdus: pdus.map((p) => p.value),
      guests: guests.map((g) => g.value),
      dependencies: deps.value,
    };
  }

  /** Each list item parsed, under its name where it has a valid one; names unique within the list. */
  private named<T extends { readonly name: string }>(
    list: Named<YamlNode[]> | undefined,
    path: string,
    pattern: RegExp,
    item: (n: YamlNode, path: string) => Named<T> | undefined,
  ): Named<T>[] {
    const out: Named<T>[] = [];
    if (list === undefined) return out;
    const seen = new Map<string, YamlNode | undefined>();
    for (const [i, n] of list.value.entries()) {
      const name = itemName(n, pattern);
      const at = name === undefined ? `${path}[${i}]` : `${path}.${name}`;
      const parsed = item(n, at);
      if (parsed === undefined) continue;
      const first = seen.get(parsed.value.name);
      if (seen.has(parsed.value.name)) {
        this.error(
          parsed.at,
          `${at}.name: '${parsed.value.name}' is already used at line ${this.lineOf(first)}; expected unique names`,
        );
        continue;
      }
      seen.set(parsed.value.name, parsed.at);
      this.places.set(`${path}.${parsed.value.name}`, this.place(parsed.at));
      out.push(parsed);
    }
    return out;
  }

  private cluster(
    node: YamlNode,
    nodes: readonly Named<Node>[],
    guests: readonly Named<Guest>[],
  ): Named<Cluster> | undefined {
    const m = this.map(node, "cluster", "cluster");
    if (m === undefined) return undefined;
    this.places.set("cluster", this.place(node));
    const name = this.text(m, "name");
    const stonithTimeout = this.integer(m, "stonith_timeout");
    const placement = this.choice(m, "placement_strategy");
    const pacemaker = this.choice(m, "pacemaker")?.value;
    const stickiness = this.integer(m, "resource_stickiness");
    const waive = this.words(m, "waive")?.value ?? [];
    let twoNode: TwoNode | undefined;
    const twoNodeNode = m.get("two_node");
    if (nodes.length === 2) {
      const first = nodes[0]?.value.name ?? "";
      twoNode = { preferred: first, delay: DEFAULTS.twoNodeDelay, strategy: "preferred" };
      const t =
        twoNodeNode === undefined
          ? undefined
          : this.map(twoNodeNode, "two_node", m.field("two_node"));
      if (t !== undefined) {
        const strategy = (this.choice(t, "strategy")?.value ?? "preferred") as FenceRace;
        const preferred = this.text(t, "preferred");
        const delay = this.integer(t, "delay");
        const names = nodes.map((n) => n.value.name);
        if (preferred !== undefined && !names.includes(preferred.value))
          this.error(
            preferred.at,
            `cluster.two_node.preferred: node '${preferred.value}' is not defined${didYouMean(preferred.value, names)}; expected one of ${names.join(", ")}`,
          );
        if (preferred !== undefined && strategy !== "preferred")
          this.error(
            preferred.at,
            `cluster.two_node.preferred: only with strategy preferred (this cluster's is ${strategy}); expected no preferred node`,
          );
        if (strategy === "priority" && !guests.some((g) => (g.value.priority ?? 0) > 0))
          this.error(
            t.get("strategy"),
            "cluster.two_node.strategy: priority needs guests with a priority (priority-fencing-delay delays fencing the node whose resources have the higher priority; with none, both nodes fence each other at once); expected priority on the guests that matter most",
          );
        twoNode = {
          preferred: preferred?.value ?? first,
          delay: delay?.value ?? DEFAULTS.twoNodeDelay,
          strategy,
        };
      }
    } else if (twoNodeNode !== undefined && nodes.length > 2) {
      this.error(
        twoNodeNode,
        `cluster.two_node: the cluster has ${nodes.length} member nodes; expected two_node only in a two-node cluster`,
      );
    }
    let sbd: Sbd | undefined;
    const sbdNode = m.get("sbd");
    const s = sbdNode === undefined ? undefined : this.map(sbdNode, "sbd", m.field("sbd"));
    if (s !== undefined) this.places.set("cluster.sbd", this.place(sbdNode));
    if (s !== undefined)
      sbd = {
        devices: this.paths(s, "devices") ?? [],
        msgwait: this.integer(s, "msgwait")?.value ?? DEFAULTS.sbdMsgwait,
      };
    if (name === undefined) return undefined;
    return {
      value: {
        name: name.value,
        stonithTimeout:
          stonithTimeout === undefined
            ? undefined
            : { seconds: stonithTimeout.value, ...this.place(stonithTimeout.at) },
        placementStrategy: placement?.value as Cluster["placementStrategy"],
        twoNode,
        sbd,
        pacemaker: pacemaker === "2" ? 2 : pacemaker === "3" ? 3 : undefined,
        resourceStickiness: stickiness?.value ?? DEFAULTS.resourceStickiness,
        waive,
      },
      at: node,
    };
  }

  private node(item: YamlNode, path: string): Named<Node> | undefined {
    const m = this.map(item, "node", path);
    if (m === undefined) return undefined;
    const name = this.text(m, "name");
    const bmcNode = m.get("bmc");
    const bmc = bmcNode === undefined ? undefined : this.bmc(bmcNode, m.field("bmc"));
    const supplies: Supply[] = [];
    for (const [i, s] of (this.list(m, "power")?.value ?? []).entries()) {
      const supply = this.supply(s, `${m.field("power")}[${i}]`);
      if (supply !== undefined) supplies.push(supply);
    }
    const capacityNode = m.get("capacity");
    const capacity =
      capacityNode === undefined ? undefined : this.utilization(capacityNode, m.field("capacity"));
    const remoteNode = m.get("remote");
    const remote =
      remoteNode === undefined ? undefined : remoteConnection(this, remoteNode, m.field("remote"));
    if (name === undefined) return undefined;
    // A remote node's name is its connection resource's id too: an XML ID.
    if (remote !== undefined && !ID_NAME.test(name.value))
      this.error(
        m.get("name"),
        `${path}.name: '${name.value}' cannot be a remote node's name (it is the id of its connection resource); expected a letter or _ first`,
      );
    if (bmcNode !== undefined) this.bmcWritten.add(name.value);
    return {
      value: { name: name.value, bmc, power: supplies, capacity, remote },
      at: m.get("name"),
    };
  }

  private bmc(node: YamlNode, path: string): Bmc | undefined {
    const m = this.map(node, "bmc", path);
    if (m === undefined) return undefined;
    const address = this.text(m, "address");
    const port = this.integer(m, "port");
    const user = this.text(m, "user");
    const password = this.secret(m, "password");
    const cipher = this.integer(m, "cipher");
    const lanplus = this.flag(m, "lanplus");
    const privlvl = this.choice(m, "privlvl");
    const login = this.integer(m, "login_timeout");
    const powerT = this.integer(m, "power_timeout");
    const request = this.integer(m, "ipmitool_timeout");
    const method = this.choice(m, "method")?.value;
    const kg = this.secret(m, "hexadecimal_kg");
    const protocol = this.choice(m, "protocol")?.value ?? "ipmi";
    const insecure = this.flag(m, "ssl_insecure");
    const cacert = this.text(m, "ssl_cacert")?.value;
    const fingerprint = this.text(m, "ssl_fingerprint")?.value;
    const systemsUri = this.text(m, "systems_uri")?.value;
    const shell = this.integer(m, "shell_timeout");
    // Each protocol's own keys: another's would be silently dropped, and the admin misled.
    const only: Readonly<Record<string, readonly string[]>> = {
      ipmi: [
        "cipher",
        "lanplus",
        "privlvl",
        "ipmitool_timeout",
        "hexadecimal_kg_file",
        "hexadecimal_kg_script",
      ],
      redfish: ["ssl_insecure", "ssl_cacert", "ssl_fingerprint", "systems_uri", "shell_timeout"],
    };
    for (const [owner, keys] of Object.entries(only)) {
      if (owner === protocol) continue;
      for (const key of keys)
        if (m.get(key) !== undefined)
          this.error(
            m.get(key),
            `${m.field(key)}: ${key} is for protocol ${owner}, and this BMC's protocol is ${protocol}`,
          );
    }
    if (insecure === true && (cacert !== undefined || fingerprint !== undefined))
      this.error(
        m.get("ssl_insecure"),
        `${m.field("ssl_insecure")}: ssl_insecure turns off the certificate check that ssl_cacert and ssl_fingerprint ask for; expected one or the other`,
      );
    if (method === "cycle")
      this.warn(
        m.get("method"),
        `${m.field("method")}: cycle asks the BMC for a power cycle, which ${bmcAgent(protocol)} cannot read back: the node may never have been off (onoff, the default, proves it)`,
      );
    if (address === undefined) return undefined;
    return {
      protocol,
      address: address.value,
      port: port?.value,
      user: user?.value,
      password,
      cipher: cipher?.value === 3 || cipher?.value === 17 ? cipher.value : undefined,
      lanplus,
      privlvl: privlvl?.value as Bmc["privlvl"],
      loginTimeout: login?.value ?? DEFAULTS.ipmiLoginTimeout,
      powerTimeout: powerT?.value ?? DEFAULTS.ipmiPowerTimeout,
      requestTimeout:
        protocol === "redfish"
          ? (shell?.value ?? DEFAULTS.redfishRequestTimeout)
          : (request?.value ?? DEFAULTS.ipmiRequestTimeout),
      method: method === "onoff" || method === "cycle" ? method : undefined,
      kg,
      tls: { insecure, cacert, fingerprint },
      systemsUri,
    };
  }

  private supply(node: YamlNode, path: string): Supply | undefined {
    const m = this.map(node, "supply", path);
    if (m === undefined) return undefined;
    const pdu = this.text(m, "pdu");
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
      if (items.length > MAX_OUTLETS)
        this.error(
          outletsNode,
          `${m.field("outlets")}: ${items.length} outlets; expected at most ${MAX_OUTLETS} for one supply`,
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
    this.supplyAt.set(outlets, { outlets: outletsNode, pdu: m.get("pdu") });
    return { pdu: pdu.value, outlets };
  }

  private utilization(node: YamlNode, path: string): Utilization | undefined {
    const m = this.map(node, "utilization", path);
    if (m === undefined) return undefined;
    const cpu = this.integer(m, "cpu");
    const memory = this.integer(m, "memory");
    if (!m.has("cpu") && !m.has("memory"))
      this.error(m.node, `${path}: empty; expected cpu and/or memory`);
    return { cpu: cpu?.value, memory: memory?.value };
  }

  private pdu(item: YamlNode, path: string): Named<Pdu> | undefined {
    const m = this.map(item, "pdu", path);
    if (m === undefined) return undefined;
    const name = this.text(m, "name");
    const address = this.text(m, "address");
    const port = this.integer(m, "port");
    const version = this.choice(m, "snmp_version")?.value as SnmpVersion | undefined;
    const community = this.secret(m, "community");
    const user = this.text(m, "user");
    const authProtocol = this.choice(m, "auth_protocol");
    const authPassword = this.secret(m, "auth_password");
    const privProtocol = this.choice(m, "priv_protocol");
    const privPassword = this.secret(m, "priv_password");
    const device = this.choice(m, "device");
    const login = this.integer(m, "login_timeout");
    const shell = this.integer(m, "shell_timeout");
    const powerT = this.integer(m, "power_timeout");
    if (version !== undefined) this.snmpCredentials(m, version, authPassword, privPassword);
    // An item with a name counts as defined even when other fields are wrong: references to it are
    // not reported again (the inventory is refused anyway).
    if (name === undefined) return undefined;
    return {
      value: {
        name: name.value,
        address: address?.value ?? "",
        port: port?.value,
        snmpVersion: version ?? "1",
        community: version === "3" ? undefined : community,
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

  /** A PDU's credentials as its SNMP version wants them: a community, or a v3 user. */
  private snmpCredentials(
    m: MapView,
    version: SnmpVersion,
    authPassword: unknown,
    privPassword: unknown,
  ): void {
    const given = (prefix: string) => m.has(`${prefix}_file`) || m.has(`${prefix}_script`);
    if (version !== "3") {
      for (const k of [
        "user",
        "auth_protocol",
        "auth_password_file",
        "auth_password_script",
        "priv_protocol",
        "priv_password_file",
        "priv_password_script",
      ])
        if (m.has(k))
          this.error(
            m.get(k),
            `${m.field(k)}: only for snmp_version 3 (this PDU uses ${version}); expected community_file or community_script`,
          );
      if (!given("community"))
        this.error(
          m.node,
          `${m.path}: the SNMP v${version} community is missing; expected community_file (a root-only file holding it) or community_script (a command printing it)`,
        );
      return;
    }
    for (const k of ["community_file", "community_script"])
      if (m.has(k))
        this.error(
          m.get(k),
          `${m.field(k)}: SNMPv3 has no community; expected user with auth_password_file/auth_password_script`,
        );
    if (!m.has("user"))
      this.error(
        m.node,
        `${m.field("user")} is missing; expected the SNMPv3 user name (snmp_version is 3)`,
      );
    if (authPassword === undefined && !given("auth_password"))
      this.warn(
        m.node,
        `${m.path}: SNMPv3 without authentication (noAuthNoPriv); anyone on the network can switch this PDU's outlets`,
      );
    else if (privPassword === undefined && !given("priv_password"))
      this.warn(
        m.node,
        `${m.path}: SNMPv3 without privacy (authNoPriv): the outlet commands travel unencrypted`,
      );
    if (given("priv_password") && !given("auth_password"))
      this.error(
        m.node,
        `${m.path}: a privacy password needs an authentication password; expected auth_password_file or auth_password_script too`,
      );
  }

  private guest(
    item: YamlNode,
    path: string,
    defaults: GuestDefaults,
    deps: Dependencies,
  ): Named<Guest> | undefined {
    const m = this.map(item, "guest", path);
    if (m === undefined) return undefined;
    const name = this.text(m, "name");
    const config = this.text(m, "config");
    const hypervisor = this.text(m, "hypervisor");
    const allowMigrate = this.flag(m, "allow_migrate");
    let migration: Migration = {
      transport: undefined,
      user: undefined,
      networkSuffix: undefined,
      speed: undefined,
      downtime: undefined,
      uri: undefined,
      port: undefined,
    };
    const migNode = m.get("migration");
    const g =
      migNode === undefined ? undefined : this.map(migNode, "migration", m.field("migration"));
    if (g !== undefined)
      migration = {
        transport: this.choice(g, "transport")?.value,
        user: this.text(g, "user")?.value,
        networkSuffix: this.text(g, "network_suffix")?.value,
        speed: this.integer(g, "speed")?.value,
        downtime: this.integer(g, "downtime")?.value,
        uri: this.text(g, "uri")?.value,
        port: this.integer(g, "port")?.value,
      };
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
    const tm = tNode === undefined ? undefined : this.map(tNode, "timeouts", m.field("timeouts"));
    if (tm !== undefined) {
      t.start = this.integer(tm, "start")?.value ?? t.start;
      t.stop = this.integer(tm, "stop")?.value ?? t.stop;
      t.monitor = this.integer(tm, "monitor")?.value ?? t.monitor;
      t.monitorInterval = this.integer(tm, "monitor_interval")?.value ?? t.monitorInterval;
      t.migrateTo = this.integer(tm, "migrate_to")?.value ?? t.migrateTo;
      t.migrateFrom = this.integer(tm, "migrate_from")?.value ?? t.migrateFrom;
    }
    const policy = guestPolicy(this, m, defaults, deps);
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
        ...policy,
      },
      at: m.get("name"),
    };
  }
}

export type { InventoryWalker };
