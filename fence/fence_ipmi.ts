/**
 * fence_ipmi: a drop-in for fence_ipmilan that speaks IPMI over LAN itself (no ipmitool).
 * Same option names; IPMI 2.0 (RMCP+) unless lanplus=0 is given explicitly.
 */
import { UsageError } from "../lib/errors.js";
import type { FenceAgent, FenceRegistration } from "../lib/fence/agent.js";
import { type OptionSpec, standard } from "../lib/fence/options.js";
import { chassisControl, getChassisStatus } from "../lib/ipmi/chassis.js";
import { type IpmiSession, type IpmiTarget, openSession } from "../lib/ipmi/client.js";

const PRIVILEGES = ["callback", "user", "operator", "administrator"] as const;
type Privilege = (typeof PRIVILEGES)[number];
const AUTH_TYPES = ["md5", "password", "none"] as const;
type AuthType = (typeof AUTH_TYPES)[number];
const NATIVE = "fence_ipmi speaks IPMI itself and runs no ipmitool";

/** The Kg key's bytes, from hexadecimal_kg (given, or printed by hexadecimal_kg_script). */
function kgKey(hex: string | undefined): Buffer | undefined {
  if (hex === undefined) return undefined;
  if (!/^(0x)?([0-9a-fA-F]{2}){1,20}$/.test(hex))
    throw new UsageError("Failed: hexadecimal_kg must be up to 20 bytes written in hexadecimal");
  return Buffer.from(hex.replace(/^0x/, ""), "hex");
}

const ipmiOptions: readonly OptionSpec[] = [
  { ...standard.ip, required: true },
  { ...standard.ipport, default: "623" },
  standard.username,
  standard.password,
  standard.password_script,
  {
    name: "lanplus",
    short: "P",
    type: "boolean",
    default: "1",
    shortdesc:
      "Use IPMI 2.0 (RMCP+, authenticated and encrypted). On by default; lanplus=0 selects IPMI 1.5 for old BMCs",
    order: 1,
  },
  {
    name: "cipher",
    short: "C",
    value: "cipher",
    type: "integer",
    shortdesc:
      "Cipher suite (as ipmitool -C): 17 (HMAC-SHA256, AES-128) or 3 (HMAC-SHA1, AES-128). Unset: 17, falling back to 3 at once",
    order: 1,
  },
  {
    name: "privlvl",
    short: "L",
    value: "level",
    type: "select",
    choices: PRIVILEGES,
    default: "administrator",
    shortdesc: "Privilege level on IPMI device",
    order: 1,
  },
  {
    ...standard.method,
    shortdesc:
      "Method to fence: onoff (verified off, then on) or cycle (the BMC's own power cycle, which is NOT verified)",
  },
  {
    name: "hexadecimal_kg",
    long: "hexadecimal-kg",
    value: "key",
    type: "string",
    secret: true,
    shortdesc: "Hexadecimal-encoded Kg key for IPMIv2 authentication",
    order: 1,
  },
  {
    // Not in fence_ipmilan: lets the CIB hold a reference instead of the Kg key itself.
    name: "hexadecimal_kg_script",
    value: "script",
    type: "string",
    scriptFor: "hexadecimal_kg",
    shortdesc:
      "Script to run to retrieve the hexadecimal Kg key (its first output line; wins over hexadecimal_kg)",
    order: 1,
  },
  {
    name: "auth",
    short: "A",
    value: "auth",
    type: "select",
    choices: AUTH_TYPES,
    shortdesc: "IPMI 1.5 authentication type (only with lanplus=0)",
    order: 1,
  },
  // One rule for the waits (docs/fence_ipmi.md, "How long it waits"): a BMC silent for 1 s is
  // dead; one that has answered gets ipmitool_timeout a request, login_timeout for the login.
  {
    name: "ipmitool_timeout",
    value: "timeout",
    type: "second",
    default: "2",
    shortdesc:
      "Seconds for one IPMI request to a BMC that has answered before, retransmissions included",
    order: 200,
  },
  {
    ...standard.login_timeout,
    shortdesc:
      "Seconds to reach the BMC and log in, all of it. A BMC that has not answered its first request within 1 s is taken for dead (off or unreachable) and fails the run then",
  },
  {
    ...standard.shell_timeout,
    shortdesc:
      "No shell here: bounds only password_script (at least 5 s). Requests wait ipmitool_timeout",
  },
  {
    ...standard.plug,
    shortdesc: "IP address or hostname of fencing device (together with --port-as-ip)",
  },
  // Advertised by fence_ipmilan, so accepted; with one target it changes nothing.
  standard.plug_separator,
  standard.port_as_ip,
  {
    name: "target",
    value: "targetaddress",
    type: "string",
    shortdesc: "Bridge IPMI requests to the remote target address (not supported by fence_ipmi)",
    order: 1,
  },
  {
    name: "ipmitool_path",
    value: "path",
    type: "string",
    shortdesc: "Accepted for compatibility; unused",
    order: 200,
    ignored: NATIVE,
  },
  {
    name: "use_sudo",
    aliases: ["sudo"],
    type: "boolean",
    shortdesc: "Accepted for compatibility; unused",
    order: 205,
    ignored: NATIVE,
  },
  {
    name: "sudo_path",
    value: "path",
    type: "string",
    shortdesc: "Accepted for compatibility; unused",
    order: 205,
    ignored: NATIVE,
  },
];

const SUPPORTED_CIPHERS = new Set([3, 17]);

export const fenceIpmi: FenceAgent<IpmiSession> = {
  docs: {
    name: "fence_ipmi",
    shortdesc: "Fence agent for IPMI (native IPMI 2.0, no ipmitool)",
    longdesc:
      "fence_ipmi is a fence agent for machines controlled by an IPMI BMC. It speaks IPMI over LAN itself (RMCP+ with cipher suite 17 or 3; IPMI 1.5 only when lanplus=0) and reports success only for a power state read back from the BMC. It accepts fence_ipmilan's parameters.",
    vendorUrl: "https://www.intel.com/content/www/us/en/products/docs/servers/ipmi/ipmi-home.html",
  },
  // fence-agents ships these as links to fence_ipmilan (fence_ilo3 also sets power_wait=4, and
  // fence_ilo3/4/5 and fence_ipmilanplus lanplus=1). lanplus is our default under every name.
  aliases: [
    {
      name: "fence_ipmilanplus",
      shortdesc: "Fence agent for IPMI 2.0 (lanplus) BMCs, native (fence_ipmi)",
      note: "the same as fence_ipmi, whose default is already IPMI 2.0.",
    },
    {
      name: "fence_idrac",
      shortdesc: "Fence agent for Dell iDRAC over IPMI 2.0, native (fence_ipmi)",
      note: "IPMI over LAN must be enabled on the iDRAC. IPMI 2.0 by default (fence-agents' fence_idrac uses IPMI 1.5 unless lanplus=1).",
    },
    {
      name: "fence_ilo3",
      shortdesc: "Fence agent for HP iLO3 over IPMI 2.0, native (fence_ipmi; power_wait 4 s)",
      note: "power_wait defaults to 4 seconds, as in fence-agents' fence_ilo3.",
      defaults: { power_wait: "4" },
    },
    {
      name: "fence_ilo4",
      shortdesc: "Fence agent for HP iLO4 over IPMI 2.0, native (fence_ipmi)",
      note: "IPMI/DCMI over LAN must be enabled on the iLO.",
    },
    {
      name: "fence_ilo5",
      shortdesc: "Fence agent for HPE iLO5 over IPMI 2.0, native (fence_ipmi)",
      note: "IPMI/DCMI over LAN must be enabled on the iLO (it is off by default on iLO5).",
    },
    {
      name: "fence_imm",
      shortdesc:
        "Fence agent for IBM/Lenovo Integrated Management Module over IPMI 2.0, native (fence_ipmi)",
      note: "IPMI 2.0 by default (fence-agents' fence_imm uses IPMI 1.5 unless lanplus=1).",
    },
  ],
  options: ipmiOptions,
  plugs: "none",
  required: ["ip"],
  needsPassword: false,
  extraActions: ["diag"],
  commandTimeoutMs: (options) => options.seconds("ipmitool_timeout") * 1000,
  validate(options) {
    if (options.isGiven("target"))
      throw new UsageError("Failed: target (IPMI bridging) is not supported by fence_ipmi");
    const cipher = options.integer("cipher");
    if (cipher !== undefined && !SUPPORTED_CIPHERS.has(cipher)) {
      throw new UsageError(`Failed: cipher suite ${cipher} is not supported; use 17 or 3`);
    }
    if (options.flag("lanplus") && options.isGiven("auth")) {
      throw new UsageError("Failed: auth applies to IPMI 1.5 only; give lanplus=0 to use it");
    }
    kgKey(options.secret("hexadecimal_kg")?.reveal());
    if (options.host() === "") throw new UsageError("Failed: You have to enter fence address");
  },
  device: {
    async connect(ctx) {
      const { options } = ctx;
      // Checked again here: a hexadecimal_kg_script's output is only known now.
      const kg = kgKey(options.secret("hexadecimal_kg")?.reveal());
      const cipher = options.integer("cipher");
      const auth = options.string("auth");
      const target: IpmiTarget = {
        host: options.host(),
        port: options.integer("ipport") ?? 623,
        username: options.string("username") ?? "",
        password: options.secret("password")?.reveal() ?? "",
        privilege: (options.string("privlvl") ?? "administrator") as Privilege,
        lanplus: options.flag("lanplus"),
        ...(kg === undefined ? {} : { kg }),
        ...(cipher === undefined ? {} : { cipher }),
        ...(auth === undefined ? {} : { auth: auth as AuthType }),
      };
      ctx.log.step(
        `Logging in to BMC ${ctx.device} as user '${target.username}' (${target.lanplus ? `IPMI 2.0, cipher suite ${cipher ?? "17, else 3"}` : "IPMI 1.5"}, privilege ${target.privilege})`,
      );
      return openSession(
        target,
        { loginDeadline: ctx.loginDeadline.at, requestTimeoutMs: ctx.commandTimeoutMs },
        (line) => ctx.log.debug(line),
      );
    },
    async getPowerState(session) {
      const status = await getChassisStatus(session);
      return status.powerOn ? "on" : "off";
    },
    async setPowerState(session, _plug, target) {
      await chassisControl(session, target);
    },
    async powerCycle(session) {
      await chassisControl(session, "cycle");
    },
    async diag(session) {
      await chassisControl(session, "diag");
    },
    async disconnect(session) {
      await session.close();
    },
  },
};

/** What kvmha reads from this file (fence/registry.ts). */
export const registration: FenceRegistration<IpmiSession> = {
  agent: fenceIpmi,
  shipped: true,
  replaces: { agent: "fence_ipmilan", package: "fence-agents-ipmilan" },
  topology: {
    level: "bmc",
    protocol: "ipmi",
    recognises: ["fence_ipmilan"],
    probes: ["fence_ipmilan"],
  },
  warmUp: async () => (await import("../lib/ipmi/warm-up.js")).exerciseIpmiClient(),
};
