/**
 * What the inventory becomes in Pacemaker's terms, before any syntax: fencing devices with their
 * parameters, fencing levels, constraints, guest resources, properties. The three formats (pcs,
 * crmsh, CIB XML) are only different spellings of this one plan, which is what keeps them
 * equivalent. Pure: Inventory in, Plan out.
 */
import {
  type Bmc,
  DEFAULTS,
  type Guest,
  type Inventory,
  type Pdu,
  type SecretRef,
} from "../inventory/model.js";

export type Pair = readonly [name: string, value: string];

/** A secret given to the agent by reference: a command the agent runs (password_script and kin). */
export function secretCommand(ref: SecretRef): string {
  // /bin/cat with an absolute path: the agents run password_script through /bin/sh, and the path
  // is validated to plain characters, so no quoting is needed inside the command.
  return ref.kind === "file" ? `/bin/cat ${ref.path}` : ref.command;
}

export interface StonithDevice {
  readonly id: string;
  readonly agent: "fence_ipmi" | "fence_pdu" | "fence_sbd";
  readonly params: readonly Pair[];
  /** Meta attributes of the device's resource (failure-timeout). */
  readonly meta: readonly Pair[];
  /** The node this device must not run on (IPMI: the node it fences). */
  readonly avoids: string | undefined;
  /** How the timeouts were reached, for the comments. */
  readonly budget: string;
}

export interface FencingLevel {
  readonly target: string;
  readonly index: number;
  readonly devices: readonly string[];
}

export interface Op {
  readonly name: string;
  readonly interval: number;
  readonly timeout: number;
}

export interface GuestResource {
  readonly id: string;
  readonly params: readonly Pair[];
  readonly meta: readonly Pair[];
  readonly ops: readonly Op[];
  readonly utilization: readonly Pair[];
}

export interface NodeUtilization {
  readonly node: string;
  readonly attributes: readonly Pair[];
}

export interface Plan {
  readonly cluster: string;
  readonly nodes: readonly string[];
  readonly devices: readonly StonithDevice[];
  readonly levels: readonly FencingLevel[];
  readonly guests: readonly GuestResource[];
  readonly nodeUtilization: readonly NodeUtilization[];
  readonly properties: readonly Pair[];
  /** Two-node clusters: corosync.conf's quorum section needs two_node (pcs cannot set it in the CIB). */
  readonly twoNode: { readonly preferred: string; readonly delay: number } | undefined;
  readonly stonithTimeout: {
    readonly seconds: number;
    readonly worstNode: string;
    readonly sum: string;
  };
}

/** The fencing device ids: stable, documented in docs/templates.md, used in levels and constraints. */
export const deviceId = {
  ipmi: (node: string): string => `fence-ipmi-${node}`,
  pdu: (pdu: string): string => `fence-pdu-${pdu}`,
  sbd: "fence-sbd",
} as const;

/** The monitor of every fencing device (pcs's default interval, spelt out so all formats agree). */
export const DEVICE_MONITOR_INTERVAL = 60;

/**
 * How long a fencing device's failures count (its meta failure-timeout). After a total power loss
 * the dead node's BMC fails the device's start on every survivor, and without an expiry it stays
 * "cannot run anywhere" until someone runs a cleanup. Two monitor intervals: a device whose BMC is
 * still dead is retried at most every 2 minutes per node (each try costs a failed start, about a
 * login_timeout), and one whose BMC is back is started and monitored again within about 2 minutes.
 * The fencer uses a registered device even while its resource is failed, so this is about
 * monitoring and the fencer's preference for verified devices, not about whether fencing works.
 */
export const DEVICE_FAILURE_TIMEOUT = 2 * DEVICE_MONITOR_INTERVAL;

/** The meta attributes every fencing device gets. */
const DEVICE_META: readonly Pair[] = [["failure-timeout", `${DEVICE_FAILURE_TIMEOUT}s`]];

/**
 * pcmk_off_retries / pcmk_reboot_retries of the IPMI devices: one try. A BMC that did not answer
 * within login_timeout (a dead node's, after a total power loss) will not answer a second try;
 * Pacemaker's default of 2 only delays level 2, the PDUs. Retries happen inside the device's
 * pcmk_<action>_timeout (the fencer retries only while 70% of it is left), so the timeouts below
 * do not change. The PDU devices keep Pacemaker's default: an SNMP agent may meet a busy PDU.
 */
const IPMI_TRIES = "1";

const roundUp = (seconds: number, step: number): number => Math.ceil(seconds / step) * step;

// Time for the agent's process to start and for a password_script (bounded by the agents at
// max(5 s, shell_timeout)) on top of the protocol's own timeouts.
const START_SECONDS = 5;
const SCRIPT_SECONDS = 5;

/**
 * An agent's worst case, in seconds: a fixed part (process start, scripts, login, the first status
 * read, a closing request), then per power change its switch request(s), the power_timeout window,
 * and the read-back request(s) that may still be under way when the window closes. Our agents
 * wait the whole window for the off and again for the on: a reboot is two changes.
 */
interface Budgets {
  readonly off: number;
  /** Two changes: reboot (off, then on). An on alone is one change, as an off (retry_on=1: one try). */
  readonly twice: number;
  /** How, for the comment above the device. */
  readonly how: string;
}

function budgets(
  fixed: number,
  fixedHow: string,
  change: number,
  changeHow: string,
  twiceIs: string,
): Budgets {
  const off = roundUp(fixed + change, 5);
  const twice = roundUp(fixed + 2 * change, 5);
  return {
    off,
    twice,
    how: `fixed ${fixedHow} = ${fixed} s; per power change ${changeHow} = ${change} s; off or on = ${fixed} + ${change} = ${fixed + change} -> ${off} s; ${twiceIs} = ${fixed} + 2 x ${change} = ${fixed + 2 * change} -> ${twice} s (rounded up to 5 s)`,
  };
}

/** fence_ipmi. Alone in its level, the fencer asks it for a reboot. */
function ipmiBudgets(bmc: Bmc): Budgets {
  const req = DEFAULTS.ipmiRequestTimeout;
  const scripts = bmc.password === undefined ? 0 : SCRIPT_SECONDS;
  const fixed = START_SECONDS + scripts + bmc.loginTimeout + 2 * req;
  const change = bmc.powerTimeout + 2 * req;
  return budgets(
    fixed,
    `(start ${START_SECONDS} + password_script ${scripts} + login_timeout ${bmc.loginTimeout} + status, close 2 x ipmitool_timeout ${req})`,
    change,
    `(power_timeout ${bmc.powerTimeout} + switch, last read 2 x ${req})`,
    "reboot (off, then on)",
  );
}

/**
 * fence_pdu for `outlets` outlets per node. In a level with other devices the fencer asks each
 * for off, then each for on; alone in its level, for reboot.
 */
function pduBudgets(pdu: Pdu, outlets: number): Budgets {
  const t = pdu.shellTimeout;
  const scripts =
    [pdu.authPassword, pdu.privPassword, pdu.community].filter((r) => r !== undefined).length *
    SCRIPT_SECONDS;
  const fixed = START_SECONDS + scripts + pdu.loginTimeout + outlets * t;
  const change = pdu.powerTimeout + 2 * outlets * t;
  return budgets(
    fixed,
    `(start ${START_SECONDS} + scripts ${scripts} + login_timeout ${pdu.loginTimeout} + status ${outlets} x shell_timeout ${t})`,
    change,
    `(power_timeout ${pdu.powerTimeout} + switch, last read 2 x ${outlets} x ${t})`,
    "reboot (off, then on)",
  );
}

/** pcmk_host_map: `node:outlet,outlet;node:…`. A ':' inside an outlet (unit:outlet) is escaped for Pacemaker's parser. */
export function hostMap(entries: readonly { node: string; outlets: readonly string[] }[]): string {
  return entries
    .map((e) => `${e.node}:${e.outlets.map((o) => o.replace(/:/g, "\\:")).join(",")}`)
    .join(";");
}

export class PlanError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly col: number,
  ) {
    super(message);
  }
}

export function planCluster(inv: Inventory): Plan {
  const devices: StonithDevice[] = [];
  const levels: FencingLevel[] = [];
  const twoNode = inv.cluster.twoNode;
  const ipmiSeconds = new Map<string, number>();

  for (const node of inv.nodes) {
    const bmc = node.bmc;
    if (bmc === undefined) continue;
    const b = ipmiBudgets(bmc);
    const delay = twoNode !== undefined && twoNode.preferred === node.name ? twoNode.delay : 0;
    // Level 1 holds this device alone: the fencer asks it for a reboot.
    ipmiSeconds.set(node.name, b.twice + delay);
    const params: Pair[] = [["ip", bmc.address]];
    if (bmc.port !== undefined) params.push(["ipport", String(bmc.port)]);
    if (bmc.user !== undefined) params.push(["username", bmc.user]);
    if (bmc.password !== undefined) params.push(["password_script", secretCommand(bmc.password)]);
    if (bmc.lanplus !== undefined) params.push(["lanplus", bmc.lanplus ? "1" : "0"]);
    if (bmc.cipher !== undefined) params.push(["cipher", String(bmc.cipher)]);
    if (bmc.privlvl !== undefined) params.push(["privlvl", bmc.privlvl]);
    if (bmc.loginTimeout !== DEFAULTS.ipmiLoginTimeout)
      params.push(["login_timeout", String(bmc.loginTimeout)]);
    if (bmc.powerTimeout !== DEFAULTS.ipmiPowerTimeout)
      params.push(["power_timeout", String(bmc.powerTimeout)]);
    params.push(["pcmk_host_list", node.name]);
    if (delay > 0) params.push(["pcmk_delay_base", `${delay}s`]);
    params.push(
      ["pcmk_off_timeout", `${b.off + delay}s`],
      ["pcmk_reboot_timeout", `${b.twice + delay}s`],
    );
    params.push(["pcmk_off_retries", IPMI_TRIES], ["pcmk_reboot_retries", IPMI_TRIES]);
    devices.push({
      id: deviceId.ipmi(node.name),
      agent: "fence_ipmi",
      params,
      meta: DEVICE_META,
      avoids: node.name,
      budget: `${b.how}${delay > 0 ? `; off and reboot + pcmk_delay_base ${delay} s` : ""}`,
    });
  }

  const pduSeconds = new Map<string, { off: number; on: number; reboot: number }>();
  const pduDelay = new Map<string, number>();
  for (const pdu of inv.pdus) {
    const fed = inv.nodes.flatMap((n) =>
      n.power.filter((s) => s.pdu === pdu.name).map((s) => ({ node: n.name, outlets: s.outlets })),
    );
    if (fed.length === 0) continue;
    const most = Math.max(...fed.map((f) => f.outlets.length));
    const b = pduBudgets(pdu, most);
    pduSeconds.set(pdu.name, { off: b.off, on: b.off, reboot: b.twice });
    const params: Pair[] = [["ip", pdu.address]];
    if (pdu.port !== undefined) params.push(["ipport", String(pdu.port)]);
    params.push(["snmp_version", pdu.snmpVersion]);
    // v1/v2c: by reference too (fence_pdu's community_script), so the CIB never holds the community.
    if (pdu.snmpVersion !== "3" && pdu.community !== undefined)
      params.push(["community_script", secretCommand(pdu.community)]);
    if (pdu.snmpVersion === "3") {
      if (pdu.user !== undefined) params.push(["username", pdu.user]);
      if (pdu.authProtocol !== undefined) params.push(["snmp_auth_prot", pdu.authProtocol]);
      if (pdu.authPassword !== undefined)
        params.push(["password_script", secretCommand(pdu.authPassword)]);
      if (pdu.privProtocol !== undefined) params.push(["snmp_priv_prot", pdu.privProtocol]);
      if (pdu.privPassword !== undefined)
        params.push(["snmp_priv_passwd_script", secretCommand(pdu.privPassword)]);
    }
    if (pdu.device !== undefined) params.push(["device", pdu.device]);
    if (pdu.loginTimeout !== DEFAULTS.pduLoginTimeout)
      params.push(["login_timeout", String(pdu.loginTimeout)]);
    if (pdu.shellTimeout !== DEFAULTS.pduShellTimeout)
      params.push(["shell_timeout", String(pdu.shellTimeout)]);
    if (pdu.powerTimeout !== DEFAULTS.pduPowerTimeout)
      params.push(["power_timeout", String(pdu.powerTimeout)]);
    params.push(["pcmk_host_map", hostMap(fed)]);
    // Two-node: the preferred node's outlets also wait (a per-target map), so it wins at level 2 too.
    const delay =
      twoNode !== undefined && fed.some((f) => f.node === twoNode.preferred) ? twoNode.delay : 0;
    if (delay > 0 && twoNode !== undefined)
      params.push([
        "pcmk_delay_base",
        fed.map((f) => `${f.node}:${f.node === twoNode.preferred ? delay : 0}s`).join(";"),
      ]);
    pduDelay.set(pdu.name, delay);
    params.push(
      ["pcmk_off_timeout", `${b.off + delay}s`],
      ["pcmk_on_timeout", `${b.off}s`],
      ["pcmk_reboot_timeout", `${b.twice + delay}s`],
    );
    devices.push({
      id: deviceId.pdu(pdu.name),
      agent: "fence_pdu",
      params,
      meta: DEVICE_META,
      avoids: undefined,
      budget: `${most} outlet(s) per node at most; ${b.how}${delay > 0 ? `; off and reboot + pcmk_delay_base ${delay} s` : ""}`,
    });
  }

  const sbd = inv.cluster.sbd;
  let sbdSeconds = 0;
  if (sbd !== undefined) {
    // fence_sbd writes the poison pill and waits for msgwait (read from the disk's header); twice
    // msgwait leaves room for the write on a slow or busy disk.
    const raw = sbd.msgwait * 2 + START_SECONDS;
    sbdSeconds = roundUp(raw, 5);
    const t = `${sbdSeconds}s`;
    devices.push({
      id: deviceId.sbd,
      agent: "fence_sbd",
      params: [
        ["devices", sbd.devices.join(",")],
        ["pcmk_host_list", inv.nodes.map((n) => n.name).join(",")],
        ["pcmk_off_timeout", t],
        ["pcmk_reboot_timeout", t],
      ],
      meta: DEVICE_META,
      avoids: undefined,
      budget: `2 x msgwait ${sbd.msgwait} + start ${START_SECONDS} = ${raw} s, rounded up to ${sbdSeconds} s`,
    });
  }

  // Levels: 1 = IPMI; 2 = every PDU feeding the node, in one level, so Pacemaker switches all of
  // its outlets off before any on; then SBD. Levels are numbered without gaps.
  let worst = { seconds: 0, node: "", sum: "" };
  for (const node of inv.nodes) {
    let index = 0;
    const parts: string[] = [];
    let total = 0;
    if (node.bmc !== undefined) {
      index += 1;
      levels.push({ target: node.name, index, devices: [deviceId.ipmi(node.name)] });
      const s = ipmiSeconds.get(node.name) ?? 0;
      total += s;
      parts.push(`IPMI reboot ${s}`);
    }
    if (node.power.length > 0) {
      index += 1;
      levels.push({
        target: node.name,
        index,
        devices: node.power.map((s) => deviceId.pdu(s.pdu)),
      });
      const alone = node.power.length === 1;
      for (const s of node.power) {
        const t = pduSeconds.get(s.pdu) ?? { off: 0, on: 0, reboot: 0 };
        // A reboot through a level of several devices is an off of each, then an on of each; a
        // device alone in its level is asked for the reboot itself. The delay is taken before the
        // off (or reboot) of the preferred node only.
        const d =
          twoNode !== undefined && twoNode.preferred === node.name ? (pduDelay.get(s.pdu) ?? 0) : 0;
        total += (alone ? t.reboot : t.off + t.on) + d;
        const what = alone ? `${s.pdu} reboot ${t.reboot}` : `${s.pdu} off ${t.off} + on ${t.on}`;
        parts.push(d > 0 ? `${what} + delay ${d}` : what);
      }
    }
    if (sbd !== undefined) {
      index += 1;
      levels.push({ target: node.name, index, devices: [deviceId.sbd] });
      total += sbdSeconds;
      parts.push(`SBD ${sbdSeconds}`);
    }
    if (total > worst.seconds)
      worst = { seconds: total, node: node.name, sum: `${parts.join(" + ")} = ${total} s` };
  }
  // 20% above the sum, as Pacemaker's fencer pads a topology's total timeout.
  const computed = roundUp(worst.seconds * 1.2, 10);
  const given = inv.cluster.stonithTimeout;
  if (given !== undefined && given.seconds < computed) {
    throw new PlanError(
      `cluster.stonith_timeout: ${given.seconds} s is shorter than fencing ${worst.node} can take (${worst.sum}, + 20% = ${computed} s); expected at least ${computed}, or leave it out`,
      given.line,
      given.col,
    );
  }
  const stonithTimeout = given?.seconds ?? computed;

  const hasCapacity = inv.nodes.some((n) => n.capacity !== undefined);
  const properties: Pair[] = [
    ["stonith-enabled", "true"],
    ["stonith-timeout", `${stonithTimeout}s`],
  ];
  if (hasCapacity)
    properties.push(["placement-strategy", inv.cluster.placementStrategy ?? "balanced"]);

  const nodeUtilization: NodeUtilization[] = inv.nodes
    .filter((n) => n.capacity !== undefined)
    .map((n) => ({ node: n.name, attributes: utilizationPairs(n.capacity) }));

  return {
    cluster: inv.cluster.name,
    nodes: inv.nodes.map((n) => n.name),
    devices,
    levels,
    guests: inv.guests.map(guestResource),
    nodeUtilization,
    properties,
    twoNode,
    stonithTimeout: { seconds: stonithTimeout, worstNode: worst.node, sum: worst.sum },
  };
}

function utilizationPairs(
  u: { cpu: number | undefined; memory: number | undefined } | undefined,
): Pair[] {
  const out: Pair[] = [];
  if (u?.cpu !== undefined) out.push(["cpu", String(u.cpu)]);
  if (u?.memory !== undefined) out.push(["memory", String(u.memory)]);
  return out;
}

function guestResource(g: Guest): GuestResource {
  const params: Pair[] = [
    ["config", g.config],
    ["hypervisor", g.hypervisor],
  ];
  const m = g.migration;
  if (m.transport !== undefined) params.push(["migration_transport", m.transport]);
  if (m.user !== undefined) params.push(["migration_user", m.user]);
  if (m.networkSuffix !== undefined) params.push(["migration_network_suffix", m.networkSuffix]);
  if (m.speed !== undefined) params.push(["migration_speed", String(m.speed)]);
  if (m.downtime !== undefined) params.push(["migration_downtime", String(m.downtime)]);
  const t = g.timeouts;
  const ops: Op[] = [
    { name: "start", interval: 0, timeout: t.start },
    { name: "stop", interval: 0, timeout: t.stop },
    { name: "monitor", interval: t.monitorInterval, timeout: t.monitor },
  ];
  if (g.allowMigrate)
    ops.push(
      { name: "migrate_to", interval: 0, timeout: t.migrateTo },
      { name: "migrate_from", interval: 0, timeout: t.migrateFrom },
    );
  return {
    id: g.name,
    params,
    meta: [["allow-migrate", g.allowMigrate ? "true" : "false"]],
    ops,
    utilization: utilizationPairs(g.utilization),
  };
}
