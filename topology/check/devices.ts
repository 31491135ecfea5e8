/**
 * Fencing devices as the fencer sees them: what kind of device an agent drives, which nodes a
 * device claims (pcmk_host_list, pcmk_host_map, pcmk_host_check), which plug it passes for each,
 * and how long its agent may take. Devices are recognized by agent and host lists, never by id.
 */
import { registrationFor } from "../agents.js";
import type { Cib, Primitive } from "./cib.js";
import { parseDurationMs, parseFencerSeconds } from "./duration.js";

/**
 * What a device is, by its agent: a BMC (the family is its protocol: "ipmi", "redfish"), a PDU, or
 * other. Known from the agents' registrations (topology/agents.ts): ours, their aliases, and the
 * fence-agents agents each registers as the same kind (fence_ipmilan, fence_eaton_snmp, ...).
 */
export type DeviceFamily = string;

const LANPLUS_OFF_BY_DEFAULT = new Set(["fence_ipmilan"]);

export function familyOf(agent: string): DeviceFamily {
  const t = registrationFor(agent)?.topology;
  if (t === undefined) return "other";
  return t.level === "pdu" ? "pdu" : t.protocol;
}

/** A BMC's family: the node's own management controller (level 1), whatever its protocol. */
export function isBmc(family: DeviceFamily): boolean {
  return family !== "pdu" && family !== "other";
}

/** A family as messages name it: IPMI, Redfish, PDU. */
export function familyLabel(family: DeviceFamily): string {
  return family === "redfish" ? "Redfish" : family.toUpperCase();
}

/** The default port of a family's protocol. */
const DEFAULT_PORTS: Readonly<Record<string, string>> = { ipmi: "623", redfish: "443" };

/**
 * SBD: fence_sbd (and fence_watchdog) list the nodes they serve from the shared disk's slots (or
 * the watchdog list), so their dynamic list is reliable; watchdog-only SBD has no device at all.
 */
export function selfListing(d: Primitive): boolean {
  return d.type === "fence_sbd" || d.type === "fence_watchdog";
}

export function isStonith(p: Primitive): boolean {
  return p.class === "stonith";
}

/** Which nodes a device claims. */
export type Claim =
  /** static-list: exactly these nodes (as written, case kept), each with its plug. */
  | { readonly kind: "static"; readonly targets: ReadonlyMap<string, string | undefined> }
  /** pcmk_host_check=none, or an agent without list/status and no list: every node. */
  | { readonly kind: "all"; readonly why: string }
  /** dynamic-list or status: decided at fencing time by asking the agent. */
  | { readonly kind: "dynamic"; readonly why: string };

/** pcmk_host_list: the fencer splits on whitespace, commas and semicolons. */
export function parseHostList(text: string): string[] {
  return text.split(/[\s,;]+/).filter((t) => t !== "");
}

/**
 * pcmk_host_map as the fencer parses it: entries end at ';', space or tab; '=' or ':' separates
 * node from plug; ',' belongs to the plug ("node1:3,4" is plug "3,4"); '\' escapes a character.
 */
export function parseHostMap(text: string): Map<string, string> {
  const map = new Map<string, string>();
  let name: string | undefined;
  let current = "";
  const end = (): void => {
    if (name !== undefined) map.set(name, current);
    name = undefined;
    current = "";
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === "\\") {
      i++;
      if (i < text.length) current += text[i];
      continue;
    }
    if ((ch === "=" || ch === ":") && name === undefined) {
      name = current;
      current = "";
      continue;
    }
    if (ch === ";" || ch === " " || ch === "\t" || ch === "\n") {
      end();
      continue;
    }
    current += ch;
  }
  end();
  return map;
}

/** The plug argument the device takes, when its agent takes one. */
function staticPlug(device: Primitive): string | undefined {
  const hostArgument = device.instance.get("pcmk_host_argument");
  if (hostArgument !== undefined && hostArgument !== "none")
    return device.instance.get(hostArgument);
  return device.instance.get("plug") ?? device.instance.get("port");
}

function agentHasPlugs(family: DeviceFamily): boolean {
  return family === "pdu";
}

export function claimOf(device: Primitive): Claim {
  const family = familyOf(device.type);
  const check = device.instance.get("pcmk_host_check")?.toLowerCase();
  const list = device.instance.get("pcmk_host_list");
  const mapText = device.instance.get("pcmk_host_map");
  if (check === "none") return { kind: "all", why: "pcmk_host_check=none" };
  if (check === "dynamic-list" || check === "status")
    return { kind: "dynamic", why: `pcmk_host_check=${check}` };
  if (list !== undefined || mapText !== undefined) {
    const targets = new Map<string, string | undefined>();
    const map = parseHostMap(mapText ?? "");
    const fixed = staticPlug(device);
    for (const node of parseHostList(list ?? ""))
      targets.set(node, map.get(node) ?? fixed ?? (agentHasPlugs(family) ? node : undefined));
    for (const [node, plug] of map) if (!targets.has(node)) targets.set(node, plug);
    return { kind: "static", targets };
  }
  // No list: the fencer asks the agent. An IPMI agent answers "status" for any node name (it has
  // no plugs), so it claims every node; a PDU agent looks the node name up among its outlets.
  if (isBmc(family))
    return {
      kind: "all",
      why: "no pcmk_host_list or pcmk_host_map: the agent's status succeeds for any node name",
    };
  return { kind: "dynamic", why: "no pcmk_host_list or pcmk_host_map" };
}

/** Case-insensitive, as the fencer compares node names. */
export function sameNode(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Whether the device's claim includes the node, and with which plug. */
export function claims(
  device: Primitive,
  node: string,
): { claimed: "yes" | "no" | "maybe"; plug: string | undefined } {
  const claim = claimOf(device);
  if (claim.kind === "all") return { claimed: "yes", plug: undefined };
  if (claim.kind === "dynamic") return { claimed: "maybe", plug: undefined };
  for (const [target, plug] of claim.targets)
    if (sameNode(target, node)) return { claimed: "yes", plug };
  return { claimed: "no", plug: undefined };
}

/** Outlets of a plug value: "3,4" → ["3", "4"]; leading zeros dropped from plain numbers. */
export function outletsOf(plug: string | undefined, device: Primitive): string[] {
  if (plug === undefined) return [];
  const sep = device.instance.get("plug_separator") ?? ",";
  return plug
    .split(sep)
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map((p) => p.replace(/(^|:)0+(?=\d)/g, "$1"));
}

/** Where a device's box is: ip and port (what makes two device definitions the same hardware). */
export function endpointOf(device: Primitive): string | undefined {
  const ip = device.instance.get("ip") ?? device.instance.get("ipaddr");
  if (ip === undefined || ip === "") return undefined;
  const family = familyOf(device.type);
  const snmp = device.type === "fence_pdu" || device.type.endsWith("_snmp");
  const port = device.instance.get("ipport") ?? DEFAULT_PORTS[family] ?? (snmp ? "161" : "");
  return `${ip.toLowerCase()}${port === "" ? "" : `:${port}`}`;
}

export function lanplusDefaultOff(agent: string): boolean {
  return LANPLUS_OFF_BY_DEFAULT.has(agent);
}

/** Agents' defaults for the options that make their run time (seconds). */
const TIMING_DEFAULTS: Readonly<
  Record<string, { login: number; power: number; wait: number; shell: number }>
> = {
  fence_ipmi: { login: 5, power: 20, wait: 0, shell: 3 },
  fence_pdu: { login: 5, power: 20, wait: 0, shell: 3 },
  fence_ipmilan: { login: 5, power: 20, wait: 2, shell: 3 },
  fence_ilo3: { login: 5, power: 20, wait: 4, shell: 3 },
  fence_redfish: { login: 5, power: 20, wait: 0, shell: 10 },
};
const GENERIC_TIMING = { login: 5, power: 20, wait: 0, shell: 3 };

function seconds(device: Primitive, name: string, fallback: number): number {
  const v = device.instance.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

export type FenceAction = "reboot" | "off" | "on";

/**
 * The longest an agent may take for one action, in seconds, from its own options: login_timeout
 * (the SNMP agents have no login: their first request's shell_timeout stands for it), then
 * power_wait + power_timeout per power change (reboot: a verified off, then on); the agent's own
 * `delay` before off and reboot.
 */
export function agentWorstSeconds(device: Primitive, action: FenceAction): number {
  const family = familyOf(device.type);
  const d =
    TIMING_DEFAULTS[device.type] ??
    (family === "ipmi"
      ? (TIMING_DEFAULTS.fence_ipmilan ?? GENERIC_TIMING)
      : family === "redfish"
        ? (TIMING_DEFAULTS.fence_redfish ?? GENERIC_TIMING)
        : family === "pdu"
          ? (TIMING_DEFAULTS.fence_pdu ?? GENERIC_TIMING)
          : GENERIC_TIMING);
  const snmp = device.type === "fence_pdu" || device.type.endsWith("_snmp");
  const login = snmp
    ? seconds(device, "shell_timeout", d.shell)
    : seconds(device, "login_timeout", d.login);
  const change = seconds(device, "power_wait", d.wait) + seconds(device, "power_timeout", d.power);
  const delay = action === "on" ? 0 : seconds(device, "delay", 0);
  return delay + login + change * (action === "reboot" ? 2 : 1);
}

/** The cluster's default fencing action (stonith-action: reboot or off; poweroff is off). */
export function stonithAction(cib: Cib): "reboot" | "off" {
  const v = cib.properties.get("stonith-action")?.toLowerCase();
  return v === "off" || v === "poweroff" ? "off" : "reboot";
}

/** stonith-timeout in ms (Pacemaker's default 60 s). */
export function stonithTimeoutMs(cib: Cib): number {
  return parseDurationMs(cib.properties.get("stonith-timeout")) ?? 60_000;
}

/**
 * How long the fencer lets this device run the action: pcmk_<action>_timeout (read by the fencer
 * as whole seconds, atoi), else stonith-timeout.
 */
export function fencerTimeoutSeconds(
  device: Primitive,
  action: FenceAction,
  cib: Cib,
): { seconds: number; from: string; ignoredUnit: string | undefined } {
  const name = `pcmk_${action}_timeout`;
  const parsed = parseFencerSeconds(device.instance.get(name));
  if (parsed !== undefined && parsed.seconds > 0)
    return { seconds: parsed.seconds, from: name, ignoredUnit: parsed.ignoredUnit };
  return { seconds: stonithTimeoutMs(cib) / 1000, from: "stonith-timeout", ignoredUnit: undefined };
}

/**
 * Delays before fencing `node` with this device: the fencer's pcmk_delay_base (possibly per node,
 * "node1:5s;node2:0") and pcmk_delay_max (random, up to), and the agent's own `delay` option.
 */
export function delayOf(
  device: Primitive,
  node: string,
): { pcmkBaseSeconds: number; randomMaxSeconds: number; agentSeconds: number } {
  let pcmkBaseSeconds = 0;
  const base = device.instance.get("pcmk_delay_base");
  if (base !== undefined) {
    if (base.includes(":")) {
      for (const entry of base.split(/[;\s]+/)) {
        const at = entry.indexOf(":");
        if (at > 0 && sameNode(entry.slice(0, at), node))
          pcmkBaseSeconds = (parseDurationMs(entry.slice(at + 1)) ?? 0) / 1000;
      }
    } else {
      pcmkBaseSeconds = (parseDurationMs(base) ?? 0) / 1000;
    }
  }
  const randomMaxSeconds = (parseDurationMs(device.instance.get("pcmk_delay_max")) ?? 0) / 1000;
  return { pcmkBaseSeconds, randomMaxSeconds, agentSeconds: seconds(device, "delay", 0) };
}
