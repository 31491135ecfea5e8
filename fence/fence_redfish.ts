/**
 * fence_redfish: a drop-in for fence-agents' fence_redfish (same parameters, same defaults) that
 * speaks HTTPS itself (lib/redfish), verifies the BMC's certificate unless told not to, finds the
 * system once, reads PowerState back until it proves the change, and bounds every wait.
 */
import { readFileSync } from "node:fs";
import { Deadline } from "../lib/deadline.js";
import { UsageError } from "../lib/errors.js";
import type { FenceAgent, FenceContext, FenceRegistration } from "../lib/fence/agent.js";
import { type OptionSpec, standard } from "../lib/fence/options.js";
import type { FenceOptions } from "../lib/fence/values.js";
import { type AuthMode, RedfishClient } from "../lib/redfish/client.js";
import type { Trust } from "../lib/redfish/connection.js";
import { normaliseRoot } from "../lib/redfish/resources.js";
import { RedfishSystem } from "../lib/redfish/system.js";
import { endpointOf, parseFingerprints } from "../lib/redfish/target.js";

const redfishOptions: readonly OptionSpec[] = [
  standard.ip,
  { ...standard.ipport, default: "443" },
  { ...standard.username, required: true },
  standard.password,
  standard.password_script,
  {
    name: "redfish_uri",
    aliases: ["redfish-uri"],
    value: "uri",
    type: "string",
    default: "/redfish/v1",
    shortdesc: "Base or starting Redfish URI",
    order: 1,
  },
  {
    name: "systems_uri",
    aliases: ["systems-uri"],
    value: "uri",
    type: "string",
    shortdesc:
      "Redfish Systems resource URI, i.e. /redfish/v1/Systems/System.Embedded.1 (unset: the one member of the Systems collection)",
    order: 1,
  },
  {
    name: "auth",
    value: "method",
    type: "select",
    choices: ["session", "basic"],
    default: "session",
    shortdesc:
      "Authentication: session (a Redfish session, deleted at the end; basic when the BMC offers none) or basic (HTTP Basic on every request, as fence-agents' agent)",
    order: 1,
  },
  {
    ...standard.method,
    shortdesc:
      "Method to fence: onoff (verified off, then on) or cycle (the BMC's ForceRestart, which is NOT verified)",
  },
  {
    ...standard.plug,
    value: "ip",
    shortdesc: "IP address or hostname of fencing device (together with --port-as-ip)",
  },
  standard.plug_separator,
  standard.port_as_ip,
  {
    ...standard.shell_timeout,
    default: "10",
    shortdesc: "Wait X seconds for the BMC to answer one HTTPS request",
  },
];

/** Where Debian, Red Hat and SUSE keep the system's trusted CAs (fence-agents trusts those). */
const SYSTEM_CA_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/ca-bundle.pem",
];

function readPem(file: string, option: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(
      `Failed: ${option} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? "error"})`,
    );
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----"))
    throw new UsageError(`Failed: ${option} ${file} holds no PEM certificate`);
  return text;
}

/** How the certificate is trusted: ssl_insecure, ssl_fingerprint, ssl_cacert, or the system's CAs. */
function trustOf(options: FenceOptions): Trust {
  if (options.flag("ssl_insecure")) return { kind: "insecure" };
  const pins = options.string("ssl_fingerprint");
  if (pins !== undefined) return { kind: "pinned", fingerprints: parseFingerprints(pins) ?? [] };
  const cacert = options.string("ssl_cacert");
  if (cacert !== undefined) return { kind: "verify", ca: readPem(cacert, "ssl_cacert") };
  for (const bundle of SYSTEM_CA_BUNDLES) {
    try {
      return { kind: "verify", ca: readFileSync(bundle, "utf8") };
    } catch {
      // not this distribution's place
    }
  }
  return { kind: "verify" };
}

function uriOption(options: FenceOptions, name: string): string | undefined {
  const value = options.string(name);
  if (value !== undefined && !value.trim().startsWith("/"))
    throw new UsageError(`Failed: ${name} must be a path beginning with '/' (got '${value}')`);
  return value?.trim();
}

interface RedfishSession {
  readonly client: RedfishClient;
  readonly system: RedfishSystem;
}

function powerBudget(ctx: FenceContext): Deadline {
  return Deadline.inSeconds(ctx.options.seconds("power_timeout"));
}

export const fenceRedfish: FenceAgent<RedfishSession> = {
  docs: {
    name: "fence_redfish",
    shortdesc: "Fence agent for Redfish BMCs (native HTTPS, verified power state)",
    longdesc:
      "fence_redfish is a fence agent for servers whose BMC speaks Redfish (Dell iDRAC, HPE iLO, Lenovo XCC, Supermicro, OpenBMC, ...). It speaks HTTPS itself, checks the BMC's certificate (against the system's CAs, ssl_cacert or ssl_fingerprint; ssl_insecure turns the check off), sends ForceOff and On as the system's reset action allows, and reports success only for a PowerState read back from the BMC. It accepts fence-agents' fence_redfish parameters.",
    vendorUrl: "http://www.dmtf.org",
  },
  options: redfishOptions,
  groups: ["ssl"],
  plugs: "none",
  required: ["username"],
  needsPassword: true,
  extraActions: ["diag"],
  validate(options) {
    const ip = options.host();
    if (ip === "") throw new UsageError("Failed: You have to enter fence address");
    if (endpointOf(ip, options.integer("ipport") ?? 443) === undefined)
      throw new UsageError(`Failed: '${ip}' is not a host, host:port or [IPv6]:port`);
    const port = options.integer("ipport");
    if (port !== undefined && (port < 1 || port > 65535))
      throw new UsageError(`Failed: ipport ${port} is not a TCP port`);
    const pins = options.string("ssl_fingerprint");
    if (pins !== undefined && parseFingerprints(pins) === undefined)
      throw new UsageError(
        "Failed: ssl_fingerprint must be SHA-256 fingerprints (64 hexadecimal digits each, colons allowed)",
      );
    const insecure = options.flag("ssl_insecure");
    if (insecure && (pins !== undefined || options.isGiven("ssl_cacert")))
      throw new UsageError(
        "Failed: ssl_insecure turns off the certificate check that ssl_cacert and ssl_fingerprint ask for: give one or the other",
      );
    if (insecure && options.flag("ssl_secure"))
      throw new UsageError("Failed: ssl_secure and ssl_insecure contradict each other");
    const cacert = options.string("ssl_cacert");
    if (cacert !== undefined) readPem(cacert, "ssl_cacert");
    uriOption(options, "redfish_uri");
    uriOption(options, "systems_uri");
  },
  device: {
    async connect(ctx) {
      const { options } = ctx;
      const endpoint = endpointOf(options.host(), options.integer("ipport") ?? 443);
      if (endpoint === undefined) throw new UsageError("Failed: You have to enter fence address");
      const root = normaliseRoot(uriOption(options, "redfish_uri") ?? "/redfish/v1");
      const log = (line: string): void => ctx.log.debug(line);
      const client = await RedfishClient.open(
        {
          endpoint,
          trust: trustOf(options),
          username: options.string("username") ?? "",
          password: options.secret("password")?.reveal() ?? "",
          auth: (options.string("auth") ?? "session") as AuthMode,
          root,
        },
        { loginDeadline: ctx.loginDeadline, requestTimeoutMs: ctx.commandTimeoutMs },
        log,
      );
      return {
        client,
        system: new RedfishSystem(client, root, uriOption(options, "systems_uri"), log),
      };
    },
    async getPowerState(session) {
      return (await session.system.read()).state;
    },
    async setPowerState(session, _plug, target, ctx) {
      await session.system.reset(target, target, powerBudget(ctx));
    },
    async powerCycle(session, _plug, ctx) {
      await session.system.reset("cycle", undefined, powerBudget(ctx));
    },
    async diag(session, ctx) {
      await session.system.reset("diag", undefined, powerBudget(ctx));
    },
    async disconnect(session) {
      await session.client.close();
    },
  },
};

/** What kvmha reads from this file (fence/registry.ts). */
export const registration: FenceRegistration<RedfishSession> = {
  agent: fenceRedfish,
  // Its name is fence-agents' own: packaged in kvmha-fence-aliases, as fence-agents' names are.
  shipped: true,
  replaces: { agent: "fence_redfish", package: "fence-agents-redfish" },
  topology: { level: "bmc", protocol: "redfish", recognises: [], probes: [] },
  warmUp: async () => (await import("../lib/redfish/warm-up.js")).exerciseRedfishClient(),
};
