/**
 * The fencing part of the plan: one BMC device per node (fence_ipmi, or fence_redfish for
 * `protocol: redfish`), one fence_pdu device per PDU, SBD; the levels (the BMC, then every PDU of
 * the node in one level, then SBD) of every node, members and
 * Pacemaker Remote nodes alike; each device's timeouts from its agent's worst case, and
 * stonith-timeout from the longest fencing of any node. Pure: Inventory in, devices and levels out.
 */
import {
  type Bmc,
  DEFAULTS,
  type Inventory,
  type Node,
  type Pdu,
  type SecretRef,
  type TwoNode,
} from "../inventory/model.js";
import { bmcAgent } from "../agents.js";
import { type Generation, hostMapFor } from "./generation.js";

export type Pair = readonly [name: string, value: string];

/** A secret given to the agent by reference: a command the agent runs (password_script and kin). */
export function secretCommand(ref: SecretRef): string {
  // /bin/cat with an absolute path: the agents run password_script through /bin/sh, and the path
  // is validated to plain characters, so no quoting is needed inside the command.
  return ref.kind === "file" ? `/bin/cat ${ref.path}` : ref.command;
}

export interface StonithDevice {
  readonly id: string;
  /** fence_pdu, fence_sbd, or the agent a BMC's protocol registers (fence_ipmi, fence_redfish). */
  readonly agent: string;
  readonly params: readonly Pair[];
  /** Meta attributes of the device's resource (failure-timeout). */
  readonly meta: readonly Pair[];
  /** The node this device must not run on (IPMI: the member it fences; devices never run on remote nodes). */
  readonly avoids: string | undefined;
  /** How the timeouts were reached, for the comments. */
  readonly budget: string;
}

export interface FencingLevel {
  readonly target: string;
  readonly index: number;
  readonly devices: readonly string[];
}

/** The fencing device ids: stable, documented in docs/templates.md, used in levels and constraints. */
export const deviceId = {
  ipmi: (node: string): string => `fence-ipmi-${node}`,
  /** A node's BMC device: fence-ipmi-NODE, fence-redfish-NODE (its protocol). */
  bmc: (node: string, protocol: string): string => `fence-${protocol}-${node}`,
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

/** The option that bounds one request of a BMC's agent: fence_ipmi's and fence_redfish's. */
function requestOption(bmc: Bmc): string {
  return bmc.protocol === "redfish" ? "shell_timeout" : "ipmitool_timeout";
}

/** fence_ipmi or fence_redfish. Alone in its level, the fencer asks it for a reboot. */
function bmcBudgets(bmc: Bmc): Budgets {
  const req = bmc.requestTimeout;
  const scripts = [bmc.password, bmc.kg].filter((r) => r !== undefined).length * SCRIPT_SECONDS;
  const fixed = START_SECONDS + scripts + bmc.loginTimeout + 2 * req;
  const change = bmc.powerTimeout + 2 * req;
  return budgets(
    fixed,
    `(start ${START_SECONDS} + scripts ${scripts} + login_timeout ${bmc.loginTimeout} + status, close 2 x ${requestOption(bmc)} ${req})`,
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

export class PlanError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly col: number,
  ) {
    super(message);
  }
}

/**
 * A two-node cluster's fence race, as delays: which node's fencing waits, through which parameter.
 * preferred: pcmk_delay_base on the preferred node's devices (a per-target map on the PDUs);
 * random: pcmk_delay_max on every device; priority: the cluster's priority-fencing-delay, which the
 * fencer applies once, before the first device, to the node with the higher-priority resources.
 */
interface Race {
  /** The delay before fencing `node` with one device of its levels (each level's devices wait). */
  perDevice(node: string): number;
  /** A delay before the first device only (priority-fencing-delay), whichever node it is. */
  readonly once: number;
}

function raceOf(twoNode: TwoNode | undefined): Race {
  if (twoNode === undefined) return { perDevice: () => 0, once: 0 };
  switch (twoNode.strategy) {
    case "preferred":
      return {
        perDevice: (node) => (node === twoNode.preferred ? twoNode.delay : 0),
        once: 0,
      };
    case "random":
      return { perDevice: () => twoNode.delay, once: 0 };
    case "priority":
      return { perDevice: () => 0, once: twoNode.delay };
  }
}

export interface Fencing {
  readonly devices: readonly StonithDevice[];
  readonly levels: readonly FencingLevel[];
  readonly stonithTimeout: {
    readonly seconds: number;
    readonly worstNode: string;
    readonly sum: string;
  };
  /** Cluster properties the fence race needs (priority-fencing-delay). */
  readonly properties: readonly Pair[];
}

/** The agent's options for a BMC, by its protocol. */
function bmcParams(bmc: Bmc): Pair[] {
  const params: Pair[] = [["ip", bmc.address]];
  if (bmc.port !== undefined) params.push(["ipport", String(bmc.port)]);
  if (bmc.user !== undefined) params.push(["username", bmc.user]);
  if (bmc.password !== undefined) params.push(["password_script", secretCommand(bmc.password)]);
  if (bmc.protocol === "redfish") {
    if (bmc.tls.insecure === true) params.push(["ssl_insecure", "1"]);
    if (bmc.tls.cacert !== undefined) params.push(["ssl_cacert", bmc.tls.cacert]);
    if (bmc.tls.fingerprint !== undefined) params.push(["ssl_fingerprint", bmc.tls.fingerprint]);
    if (bmc.systemsUri !== undefined) params.push(["systems_uri", bmc.systemsUri]);
  } else {
    if (bmc.kg !== undefined) params.push(["hexadecimal_kg_script", secretCommand(bmc.kg)]);
    if (bmc.lanplus !== undefined) params.push(["lanplus", bmc.lanplus ? "1" : "0"]);
    if (bmc.cipher !== undefined) params.push(["cipher", String(bmc.cipher)]);
    if (bmc.privlvl !== undefined) params.push(["privlvl", bmc.privlvl]);
  }
  if (bmc.method !== undefined) params.push(["method", bmc.method]);
  if (bmc.loginTimeout !== DEFAULTS.ipmiLoginTimeout)
    params.push(["login_timeout", String(bmc.loginTimeout)]);
  if (bmc.powerTimeout !== DEFAULTS.ipmiPowerTimeout)
    params.push(["power_timeout", String(bmc.powerTimeout)]);
  const defaultRequest =
    bmc.protocol === "redfish" ? DEFAULTS.redfishRequestTimeout : DEFAULTS.ipmiRequestTimeout;
  if (bmc.requestTimeout !== defaultRequest)
    params.push([requestOption(bmc), String(bmc.requestTimeout)]);
  return params;
}

function bmcDevice(node: Node, bmc: Bmc, twoNode: TwoNode | undefined, race: Race) {
  const b = bmcBudgets(bmc);
  const delay = race.perDevice(node.name);
  const wait = delay + race.once;
  const params = bmcParams(bmc);
  params.push(["pcmk_host_list", node.name]);
  if (delay > 0)
    params.push([
      twoNode?.strategy === "random" ? "pcmk_delay_max" : "pcmk_delay_base",
      `${delay}s`,
    ]);
  params.push(
    ["pcmk_off_timeout", `${b.off + wait}s`],
    ["pcmk_reboot_timeout", `${b.twice + wait}s`],
  );
  params.push(["pcmk_off_retries", IPMI_TRIES], ["pcmk_reboot_retries", IPMI_TRIES]);
  const device: StonithDevice = {
    id: deviceId.bmc(node.name, bmc.protocol),
    agent: bmcAgent(bmc.protocol),
    params,
    meta: DEVICE_META,
    // Fencing devices never run on a Pacemaker Remote node: only a member needs keeping off.
    avoids: node.remote === undefined ? node.name : undefined,
    budget: `${b.how}${wait > 0 ? `; off and reboot + fencing delay ${wait} s` : ""}`,
  };
  // Level 1 holds this device alone: the fencer asks it for a reboot.
  return { device, seconds: b.twice + delay };
}

interface PduSeconds {
  readonly off: number;
  readonly on: number;
  readonly reboot: number;
  /** The delay before fencing each node it feeds (pcmk_delay_base/max). */
  readonly delay: ReadonlyMap<string, number>;
}

function pduDevice(inv: Inventory, pdu: Pdu, generation: Generation, race: Race) {
  const twoNode = inv.cluster.twoNode;
  const fed = inv.nodes.flatMap((n) =>
    n.power.filter((s) => s.pdu === pdu.name).map((s) => ({ node: n.name, outlets: s.outlets })),
  );
  if (fed.length === 0) return undefined;
  const most = Math.max(...fed.map((f) => f.outlets.length));
  const b = pduBudgets(pdu, most);
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
  params.push(["pcmk_host_map", hostMapFor(generation, fed)]);
  // Two-node: the preferred node's outlets also wait (a per-target map), so it wins at level 2
  // too; random: every outlet waits up to the delay.
  const delays = new Map(fed.map((f) => [f.node, race.perDevice(f.node)]));
  const delay = Math.max(0, ...delays.values());
  if (delay > 0 && twoNode?.strategy === "random") params.push(["pcmk_delay_max", `${delay}s`]);
  else if (delay > 0)
    params.push([
      "pcmk_delay_base",
      fed.map((f) => `${f.node}:${delays.get(f.node) ?? 0}s`).join(";"),
    ]);
  const wait = delay + race.once;
  params.push(
    ["pcmk_off_timeout", `${b.off + wait}s`],
    ["pcmk_on_timeout", `${b.off}s`],
    ["pcmk_reboot_timeout", `${b.twice + wait}s`],
  );
  const device: StonithDevice = {
    id: deviceId.pdu(pdu.name),
    agent: "fence_pdu",
    params,
    meta: DEVICE_META,
    avoids: undefined,
    budget: `${most} outlet(s) per node at most; ${b.how}${wait > 0 ? `; off and reboot + fencing delay ${wait} s` : ""}`,
  };
  const seconds: PduSeconds = { off: b.off, on: b.off, reboot: b.twice, delay: delays };
  return { device, seconds };
}

export function planFencing(inv: Inventory, generation: Generation): Fencing {
  const devices: StonithDevice[] = [];
  const levels: FencingLevel[] = [];
  const twoNode = inv.cluster.twoNode;
  const race = raceOf(twoNode);
  const ipmiSeconds = new Map<string, number>();

  for (const node of inv.nodes) {
    if (node.bmc === undefined) continue;
    const { device, seconds } = bmcDevice(node, node.bmc, twoNode, race);
    devices.push(device);
    ipmiSeconds.set(node.name, seconds);
  }

  const pduSeconds = new Map<string, PduSeconds>();
  for (const pdu of inv.pdus) {
    const planned = pduDevice(inv, pdu, generation, race);
    if (planned === undefined) continue;
    devices.push(planned.device);
    pduSeconds.set(pdu.name, planned.seconds);
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
    if (race.once > 0) {
      total += race.once;
      parts.push(`priority-fencing-delay ${race.once}`);
    }
    if (node.bmc !== undefined) {
      index += 1;
      levels.push({
        target: node.name,
        index,
        devices: [deviceId.bmc(node.name, node.bmc.protocol)],
      });
      const s = ipmiSeconds.get(node.name) ?? 0;
      total += s;
      parts.push(`${node.bmc.protocol === "redfish" ? "Redfish" : "IPMI"} reboot ${s}`);
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
        const t = pduSeconds.get(s.pdu);
        if (t === undefined) continue;
        // A reboot through a level of several devices is an off of each, then an on of each; a
        // device alone in its level is asked for the reboot itself. The delay is taken before the
        // off (or reboot).
        const d = t.delay.get(node.name) ?? 0;
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
  const properties: Pair[] = race.once > 0 ? [["priority-fencing-delay", `${race.once}s`]] : [];
  return {
    devices,
    levels,
    stonithTimeout: {
      seconds: given?.seconds ?? computed,
      worstNode: worst.node,
      sum: worst.sum,
    },
    properties,
  };
}
