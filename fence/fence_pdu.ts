// Why one file: this is the agent: its options and the device callbacks they drive (recognition,
// the fallback to the vendor's other tables, outlet reads and writes), each used only here;
// read top-down it is the agent. SNMP and the profiles' data live in lib/.
/**
 * fence_pdu: switches the outlets of a switched PDU off and on over SNMP v1, v2c or v3, and
 * reports success only for outlet states read back. Takes fence_apc_snmp's parameters; the
 * device is recognised by its sysObjectID (or named with device=) among the profiles in
 * lib/pdu-profiles/; when the recognised profile's outlet table does not answer, the vendor's
 * other profiles are tried, and a device with no outlet table is an error, never an empty list.
 */
import { UsageError } from "../lib/errors.js";
import type { FenceAgent, FenceRegistration, PlugInfo, PowerState } from "../lib/fence/agent.js";
import { FenceFailure } from "../lib/fence/errors.js";
import type { Logger } from "../lib/log.js";
import { type OptionSpec, standard } from "../lib/fence/options.js";
import { plugList } from "../lib/fence/run.js";
import type { FenceOptions } from "../lib/fence/values.js";
import {
  type SnmpAuthProtocol,
  type SnmpClient,
  type SnmpPrivProtocol,
  type SnmpSecurityLevel,
  type SnmpTarget,
  type SnmpVersion,
  openSnmp,
} from "../lib/snmp/client.js";
import { SnmpRequestError } from "../lib/snmp/errors.js";
import { type SnmpValue, describeValue, indexOf, isUnder } from "../lib/snmp/values.js";
import {
  PDU_PROFILES,
  type PduOutlet,
  type PduProfile,
  controlWrite,
  outletOfRow,
  profileById,
  profileForSysObjectId,
  rowIndex,
  vendorAlternatives,
} from "../lib/pdu-profiles/index.js";

const SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0";
/** More outlets than any PDU has: a walk that goes on longer is a broken agent. */
const MAX_OUTLETS = 1024;

const AUTH_PROTOCOLS: Record<string, SnmpAuthProtocol> = {
  MD5: "md5",
  SHA: "sha",
  SHA224: "sha224",
  SHA256: "sha256",
  SHA384: "sha384",
  SHA512: "sha512",
};
const PRIV_PROTOCOLS: Record<string, SnmpPrivProtocol> = {
  DES: "des",
  AES: "aes",
  AES256: "aes256b",
  AES256C: "aes256r",
};

const pduOptions: readonly OptionSpec[] = [
  { ...standard.ip, required: true },
  {
    name: "device",
    value: "profile",
    type: "select",
    choices: PDU_PROFILES.map((p) => p.id),
    shortdesc:
      "The PDU's device profile, when its sysObjectID does not say it (default: recognised by sysObjectID, then the vendor's other profiles)",
    order: 1,
  },
];

interface PduSession {
  readonly snmp: SnmpClient;
  readonly log: Logger;
  /** The profile in use: the one recognised or named, or the vendor's other whose table answered. */
  profile: PduProfile;
  /** How the profile was chosen ("sysObjectID …", "device=…") and every profile to be tried, for messages. */
  readonly chosen: { readonly by: string; readonly candidates: readonly PduProfile[] };
  /** Profiles still to try if `profile`'s outlet table does not answer (none after device=). */
  alternatives: readonly PduProfile[];
  /** Has `profile`'s outlet table answered (a row read, or a walk found one)? */
  tableAnswered: boolean;
  /** Outlet names → the outlets so named, read once when a plug is given by name. */
  names?: Map<string, PduOutlet[]>;
  /** Outlet states read together with the sysObjectID; each serves only the first read of its OID. */
  prefetched?: Map<string, SnmpValue>;
}

/** Above this many plugs the combined first GET could grow past one datagram: read them one by one. */
const PREFETCH_MAX_PLUGS = 2;

/**
 * The state OIDs of the numbered plugs under every profile, to be read in the same GET as the
 * sysObjectID (SNMP v2c/v3, where an object the PDU lacks is a per-value "no such object", not an
 * error of the whole request as in v1). Saves a round trip on every status, off and reboot, and
 * the probe of an alternative profile's table when the recognised one does not answer.
 */
function prefetchOids(options: FenceOptions): string[] {
  if (options.string("snmp_version") === "1") return [];
  const plugs = plugList(options);
  if (plugs.length === 0 || plugs.length > PREFETCH_MAX_PLUGS) return [];
  const oids = new Set<string>();
  for (const plug of plugs) {
    const address = numberedOutlet(plug);
    if (address === undefined || outOfRange(address)) return [];
    for (const profile of PDU_PROFILES) oids.add(stateOid(profile, address));
  }
  return [...oids];
}

function snmpTarget(options: FenceOptions): SnmpTarget {
  const host = options.string("ip") ?? "";
  const version = (options.string("snmp_version") ?? "1") as SnmpVersion;
  const transport =
    options.flag("inet6_only") || (host.includes(":") && !options.flag("inet4_only"))
      ? "udp6"
      : "udp4";
  const base = { host, port: options.integer("ipport") ?? 161, version, transport } as const;
  if (version !== "3")
    return { ...base, community: options.secret("community")?.reveal() ?? "private" };
  const password = options.secret("password")?.reveal();
  const privPassword = options.secret("snmp_priv_passwd")?.reveal();
  const level = (options.string("snmp_sec_level") ??
    (privPassword !== undefined
      ? "authPriv"
      : password !== undefined
        ? "authNoPriv"
        : "noAuthNoPriv")) as SnmpSecurityLevel;
  return {
    ...base,
    user: {
      name: options.string("username") ?? "",
      level,
      authProtocol: AUTH_PROTOCOLS[options.string("snmp_auth_prot") ?? "MD5"] ?? "md5",
      ...(password === undefined ? {} : { authPassword: password }),
      privProtocol: PRIV_PROTOCOLS[options.string("snmp_priv_prot") ?? "DES"] ?? "des",
      ...(privPassword === undefined ? {} : { privPassword }),
    },
  };
}

function plugId(address: PduOutlet): string {
  return address.switchNo === 1 ? String(address.outlet) : `${address.switchNo}:${address.outlet}`;
}

function stateOid(profile: PduProfile, address: PduOutlet): string {
  return `${profile.state.oid}.${rowIndex(profile, address)}`;
}

/** The largest OID sub-identifier (unsigned 32 bits): no outlet or switch number goes beyond. */
const MAX_NUMBER = 4294967295;

/** `3` → outlet 3 of switch 1; `2:3` → outlet 3 of switch 2; anything else is a name (undefined). */
function numberedOutlet(plug: string): PduOutlet | undefined {
  const m = /^(?:(\d+):)?(\d+)$/.exec(plug);
  return m === null ? undefined : { switchNo: Number(m[1] ?? 1), outlet: Number(m[2]) };
}

function outOfRange(address: PduOutlet): boolean {
  return [address.switchNo, address.outlet].some((n) => !(n >= 1 && n <= MAX_NUMBER));
}

/** Refuses numbered plugs no PDU can have (0, or past an OID sub-identifier), before any request. */
function checkPlugNumbers(options: FenceOptions): void {
  for (const plug of plugList(options)) {
    const address = numberedOutlet(plug);
    if (address !== undefined && outOfRange(address))
      throw new UsageError(
        `Failed: plug ${plug}: outlet and switch numbers go from 1 to ${MAX_NUMBER}`,
      );
  }
}

/** "no outlet table answered …": the PDU does not switch outlets under any profile tried. */
function noOutletTable(session: PduSession): FenceFailure {
  const [first, ...others] = session.chosen.candidates.map((p) => p.id);
  return new FenceFailure(
    `Failed: no outlet table answered under profile ${first ?? "?"}${
      others.length > 0 ? ` (nor under ${others.join(", ")})` : ""
    } at PDU ${session.snmp.peer} (${session.chosen.by}); is this a switched PDU? If it is, set device= to its profile (one of ${PDU_PROFILES.map((p) => p.id).join(", ")})`,
  );
}

/** Does `profile`'s state column have a row? One GETNEXT. */
async function tableAnswers(session: PduSession, profile: PduProfile): Promise<boolean> {
  const rows = await session.snmp.walk(
    profile.state.oid,
    1,
    `looking for the ${profile.id} outlet table`,
  );
  return rows.length > 0;
}

function adopt(session: PduSession, profile: PduProfile): void {
  if (profile !== session.profile)
    session.log.debug(
      `PDU ${session.snmp.peer}: the ${session.profile.id} outlet table does not answer; the ${profile.id} one does`,
    );
  session.profile = profile;
  session.alternatives = [];
  session.tableAnswered = true;
  session.names = undefined;
}

/**
 * Makes sure the profile in use has an outlet table, moving to the first alternative whose table
 * answers (an object prefetched for it proves that without a request); fails when none does.
 */
async function settleProfile(session: PduSession): Promise<void> {
  if (session.tableAnswered) return;
  if (await tableAnswers(session, session.profile)) return adopt(session, session.profile);
  for (const profile of session.alternatives) {
    const prefetched = [...(session.prefetched?.entries() ?? [])].some(
      ([oid, value]) => isUnder(oid, profile.state.oid) && value.kind !== "missing",
    );
    if (prefetched || (await tableAnswers(session, profile))) return adopt(session, profile);
  }
  throw noOutletTable(session);
}

async function outletNames(session: PduSession): Promise<Map<string, PduOutlet[]>> {
  if (session.names !== undefined) return session.names;
  const names = new Map<string, PduOutlet[]>();
  const column = session.profile.name?.oid;
  if (column !== undefined) {
    for (const row of await session.snmp.walk(column, MAX_OUTLETS, "reading the outlet names")) {
      const index = indexOf(row.oid, column);
      const address = index === undefined ? undefined : outletOfRow(session.profile, index);
      if (address !== undefined && row.value.kind === "string" && row.value.value !== "")
        names.set(row.value.value, [...(names.get(row.value.value) ?? []), address]);
    }
  }
  session.names = names;
  return names;
}

/** A plug as the admin writes it: `3`, `2:3` (outlet 3 of switch 2), or an outlet's name. */
async function resolvePlug(session: PduSession, plug: string | undefined): Promise<PduOutlet> {
  if (plug === undefined)
    throw new UsageError("Failed: You have to enter plug number or machine identification");
  const address = numberedOutlet(plug);
  if (address !== undefined) {
    if (address.switchNo !== 1 && !session.profile.switches) {
      throw new UsageError(
        `Failed: plug ${plug} names switch ${address.switchNo}, but ${session.profile.id} PDUs have one switch`,
      );
    }
    return address;
  }
  // Names live in the outlet table's profile: find the table first, or say it is missing.
  await settleProfile(session);
  const named = (await outletNames(session)).get(plug) ?? [];
  const [first, second] = named;
  if (first === undefined)
    throw new FenceFailure(`Failed: PDU ${session.snmp.peer} has no outlet named '${plug}'`);
  if (second !== undefined)
    throw new FenceFailure(
      `Failed: PDU ${session.snmp.peer} has ${named.length} outlets named '${plug}' (${named.map(plugId).join(", ")}): give the outlet number`,
    );
  return first;
}

function stateOf(profile: PduProfile, value: SnmpValue): PowerState {
  if (value.kind !== "integer") return "unknown";
  if (profile.state.on.includes(value.value)) return "on";
  if (profile.state.off.includes(value.value)) return "off";
  return "unknown";
}

const WRITE_REFUSALS = new Set([
  "noAccess",
  "notWritable",
  "readOnly",
  "authorizationError",
  "noSuchName",
]);

/** The outlet's state value, or why there is none ("noSuchInstance", "noSuchName" under v1). */
async function readStateValue(
  session: PduSession,
  address: PduOutlet,
): Promise<SnmpValue | { readonly kind: "absent"; readonly why: string }> {
  const oid = stateOid(session.profile, address);
  const prefetched = session.prefetched?.get(oid);
  session.prefetched?.delete(oid);
  try {
    const value =
      prefetched ?? (await session.snmp.get([oid], `reading outlet ${plugId(address)}'s state`))[0];
    if (value === undefined) return { kind: "absent", why: "no value" };
    return value.kind === "missing" ? { kind: "absent", why: value.reason } : value;
  } catch (err) {
    // SNMP v1 has no "no such instance" value: the whole GET fails with noSuchName instead.
    if (err instanceof SnmpRequestError && err.status === "noSuchName")
      return { kind: "absent", why: err.status };
    throw err;
  }
}

async function readOutlet(session: PduSession, plug: string | undefined): Promise<PowerState> {
  const address = await resolvePlug(session, plug);
  let value = await readStateValue(session, address);
  if (value.kind === "absent" && !session.tableAnswered) {
    // An outlet the table lacks, or no such table at all (then perhaps another profile's)?
    const before = session.profile;
    await settleProfile(session);
    if (session.profile !== before) value = await readStateValue(session, address);
  }
  if (value.kind === "absent") {
    throw new FenceFailure(
      `Failed: PDU ${session.snmp.peer} has no outlet ${plugId(address)} (${value.why} at ${stateOid(session.profile, address)})`,
    );
  }
  session.tableAnswered = true;
  const state = stateOf(session.profile, value);
  if (state === "unknown") {
    // Said here rather than by the framework, so that the one line names the value read.
    throw new FenceFailure(
      `Failed: outlet ${plugId(address)} of PDU ${session.snmp.peer} reads ${describeValue(value)}, which is neither on nor off for ${session.profile.id}`,
    );
  }
  return state;
}

/** Every outlet of the table in use (the first that answers), with names and states. */
async function listOutlets(session: PduSession): Promise<PlugInfo[]> {
  const walkStates = (profile: PduProfile) =>
    session.snmp.walk(profile.state.oid, MAX_OUTLETS, `listing the ${profile.id} outlet states`);
  let states = await walkStates(session.profile);
  if (states.length > 0) adopt(session, session.profile);
  for (const profile of states.length > 0 ? [] : session.alternatives) {
    states = await walkStates(profile);
    if (states.length === 0) continue;
    adopt(session, profile);
    break;
  }
  if (states.length === 0) throw noOutletTable(session);
  const profile = session.profile;
  const names = new Map<string, string>();
  if (profile.name !== undefined) {
    for (const row of await session.snmp.walk(
      profile.name.oid,
      MAX_OUTLETS,
      "reading the outlet names",
    )) {
      const index = indexOf(row.oid, profile.name.oid);
      if (index !== undefined && row.value.kind === "string") names.set(index, row.value.value);
    }
  }
  const plugs: PlugInfo[] = [];
  for (const row of states) {
    const index = indexOf(row.oid, profile.state.oid);
    const address = index === undefined ? undefined : outletOfRow(profile, index);
    if (index === undefined || address === undefined) continue;
    plugs.push({
      plug: plugId(address),
      alias: names.get(index) ?? "",
      state: stateOf(profile, row.value),
    });
  }
  // Rows fence_pdu cannot address (another unit's, a second input cord's) are not outlets to list.
  if (plugs.length === 0)
    throw new FenceFailure(
      `Failed: the ${profile.id} outlet table of PDU ${session.snmp.peer} answered, but none of its rows is an outlet ${profile.id} addresses (row index ${profile.index}, first row ${states[0]?.oid ?? "?"})`,
    );
  return plugs;
}

export const fencePdu: FenceAgent<PduSession> = {
  docs: {
    name: "fence_pdu",
    shortdesc:
      "Fence agent for switched PDUs over SNMP (APC, Eaton, Raritan, Server Technology, Tripp Lite, CyberPower)",
    longdesc:
      "fence_pdu switches the outlets of a switched PDU off and on over SNMP v1, v2c or v3, spoken in-process. The PDU is recognised by its sysObjectID (or named with device=); when that profile's outlet table does not answer, the vendor's other profiles are tried, and a device with no outlet table (a metered unit, a UPS card) is an error for every action, list and monitor included. Every outlet of a plug list is switched and read back one by one; only an explicit off counts as off; an outlet that does not exist is an error with every SNMP version; reboot is a verified off, then on, never the PDU's own reboot command. It accepts fence_apc_snmp's parameters.",
    vendorUrl: "https://www.apc.com",
  },
  // fence-agents' SNMP PDU agents served by these profiles. Not fence_eaton_snmp: it drives the
  // older Eaton Managed ePDU and Pulizzi tables, which no profile here covers.
  aliases: [
    {
      name: "fence_apc_snmp",
      shortdesc:
        "Fence agent for APC and Tripp Lite switched PDUs over SNMP, verified per outlet (fence_pdu)",
      note: "every profile is recognised by its sysObjectID; an unrecognised PDU is an error, never taken for an APC MasterSwitch (device=apc-masterswitch selects that on purpose).",
    },
    {
      name: "fence_tripplite_snmp",
      shortdesc:
        "Fence agent for Tripp Lite switched PDUs over SNMP, verified per outlet (fence_pdu)",
      note: "Tripp Lite PDUs with LX network cards (TRIPPLITE-PRODUCTS); every other profile is recognised too.",
    },
  ],
  options: pduOptions,
  groups: ["snmp"],
  plugs: "many",
  required: ["ip"],
  needsPassword: false,
  validate(options, log) {
    if (options.flag("inet4_only") && options.flag("inet6_only"))
      throw new UsageError("Failed: inet4_only and inet6_only exclude each other");
    checkPlugNumbers(options);
    if (options.string("snmp_version") === "3" && !options.string("username"))
      throw new UsageError("Failed: SNMPv3 needs username");
    if (options.isGiven("community_script")) {
      // Refused rather than run for nothing: a failing script would fail a fence that needs no community.
      if (options.string("snmp_version") === "3")
        throw new UsageError(
          "Failed: community_script is for SNMP v1 and v2c; SNMPv3 uses username and password_script",
        );
      // As password_script over password (fence-agents): the script wins.
      if (options.isGiven("community"))
        log.warning("community is ignored: community_script is set and wins");
    }
    const level = snmpTarget(options).user?.level;
    if (
      level !== undefined &&
      level !== "noAuthNoPriv" &&
      !options.has("password") &&
      !options.has("password_script")
    ) {
      throw new UsageError(`Failed: security level ${level} needs password or password_script`);
    }
    if (
      level === "authPriv" &&
      !options.has("snmp_priv_passwd") &&
      !options.has("snmp_priv_passwd_script")
    ) {
      throw new UsageError(
        "Failed: security level authPriv needs snmp_priv_passwd or snmp_priv_passwd_script",
      );
    }
  },
  device: {
    async connect(ctx) {
      const target = snmpTarget(ctx.options);
      const snmp = openSnmp(
        target,
        Math.min(ctx.commandTimeoutMs, ctx.loginDeadline.remainingMs()),
        (line) => ctx.log.debug(line),
      );
      try {
        const named = ctx.options.string("device");
        if (named !== undefined) {
          const profile = profileById(named) as PduProfile;
          return {
            snmp,
            log: ctx.log,
            profile,
            chosen: { by: `device=${profile.id}`, candidates: [profile] },
            alternatives: [],
            tableAnswered: false,
          };
        }
        let states = prefetchOids(ctx.options);
        let answer: SnmpValue[];
        try {
          answer = await snmp.get(
            [SYS_OBJECT_ID, ...states],
            states.length > 0
              ? "reading the sysObjectID and the outlets' states"
              : "reading the sysObjectID",
          );
        } catch (err) {
          // Some agents fail a whole v2c GET over one unknown object, as v1 does: ask again plainly.
          if (!(err instanceof SnmpRequestError) || states.length === 0) throw err;
          ctx.log.debug(
            `PDU ${snmp.peer} refused the combined GET (${err.status}); reading the sysObjectID alone`,
          );
          states = [];
          answer = await snmp.get([SYS_OBJECT_ID], "reading the sysObjectID");
        }
        const [id, ...values] = answer;
        if (id?.kind !== "oid")
          throw new FenceFailure(
            `Failed: PDU ${snmp.peer} did not say what it is (sysObjectID is ${id === undefined ? "absent" : describeValue(id)}); set device=`,
          );
        const profile = profileForSysObjectId(id.value);
        if (profile === undefined) {
          throw new FenceFailure(
            `Failed: unrecognised PDU at ${snmp.peer} (sysObjectID ${id.value}); if it is one of ${PDU_PROFILES.map((p) => p.id).join(", ")}, set device=`,
          );
        }
        ctx.log.step(`PDU ${snmp.peer} is ${profile.id} (sysObjectID ${id.value})`);
        const prefetched = new Map<string, SnmpValue>();
        states.forEach((oid, i) => {
          if (values[i] !== undefined) prefetched.set(oid, values[i]);
        });
        const alternatives = vendorAlternatives(profile);
        return {
          snmp,
          log: ctx.log,
          profile,
          chosen: { by: `sysObjectID ${id.value}`, candidates: [profile, ...alternatives] },
          alternatives,
          tableAnswered: false,
          prefetched,
        };
      } catch (err) {
        snmp.close();
        throw err;
      }
    },
    getPowerState: (session, plug) => readOutlet(session, plug),
    async setPowerState(session, plug, target) {
      const address = await resolvePlug(session, plug);
      const write = controlWrite(session.profile, target);
      try {
        await session.snmp.setInteger(
          `${write.oid}.${rowIndex(session.profile, address)}`,
          write.value,
          `switching outlet ${plugId(address)} ${target}`,
        );
      } catch (err) {
        if (err instanceof SnmpRequestError && WRITE_REFUSALS.has(err.status)) {
          throw new FenceFailure(
            `Failed: PDU ${session.snmp.peer} refused to switch outlet ${plugId(address)} ${target}: the community or user is read-only (${err.status})`,
          );
        }
        throw err;
      }
    },
    listPlugs: (session) => listOutlets(session),
    async disconnect(session) {
      session.snmp.close();
    },
  },
};

/** What kvmha reads from this file (fence/registry.ts). */
export const registration: FenceRegistration<PduSession> = {
  agent: fencePdu,
  shipped: true,
  replaces: { agent: "fence_apc_snmp", package: "fence-agents-apc-snmp" },
  // fence-agents' other PDU agents: kvmha check counts their devices as the PDU level; --probe
  // asks fence_eaton_snmp's through fence_pdu (one of its profiles), the others it cannot.
  topology: {
    level: "pdu",
    protocol: "snmp",
    recognises: [
      "fence_eaton_snmp",
      "fence_apc",
      "fence_cdu",
      "fence_eaton_ssh",
      "fence_emerson",
      "fence_eps",
      "fence_ipdu",
      "fence_lindypdu",
      "fence_netio",
      "fence_raritan",
      "fence_raritan_px3",
      "fence_wti",
      "fence_cyberpower_ssh",
    ],
    probes: ["fence_eaton_snmp"],
  },
  warmUp: async () => (await import("../lib/snmp/client.js")).exerciseSnmpCodec(),
};
