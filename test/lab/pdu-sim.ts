// Why one file: one lab device: its configuration, process, handler and state file belong together.
// A switched PDU for tests: Net-SNMP's snmpd on a loopback UDP port,
// serving a device profile's outlet tables through a pass_persist handler
// (pdu-handler.mjs) whose outlet states live in a JSON file the test can
// read and write.
//
// Each PDU gets a private directory (under $KVMHA_LAB_DIR, else the OS temp
// dir) holding snmpd.conf, snmpd's persistent store, the handler and its
// files, and the logs. snmpd runs with -C (no system configuration), in the
// foreground, with a pid file. stop() kills only the snmpd it started (and,
// if it outlives snmpd, the handler snmpd started for it), then removes the
// directory.

import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import type { PduProfile } from "../../lib/pdu-profiles/profile.js";
import { findProgram, requireProgram } from "./bins.js";
import {
  cmdlineOf,
  isLoopback,
  killProcessesUsing,
  labBaseDir,
  makeLabDir,
  orphanReaper,
  readLogSync,
  readOr,
  readPid,
  SAFE_PATH,
  sleep,
  spawnLogged,
  startUdpDaemon,
  writeAtomic,
} from "./daemon.js";
import { probeGet } from "./pdu-probe.js";
import { pidAlive } from "./ports.js";

export type OutletState = "on" | "off";

/** v1/v2c communities of every lab PDU, both limited to 127.0.0.0/8 sources. */
export const PDU_COMMUNITIES = Object.freeze({ readOnly: "public", readWrite: "private" });

export type PduAuthProtocol = "MD5" | "SHA" | "SHA-256" | "SHA-512";
/** AES is AES-128-CFB (RFC 3826); AES-256 is the Blumenthal draft's key extension (net-snmp's only one). */
export type PduPrivProtocol = "AES" | "AES-256";

export interface PduV3User {
  readonly name: string;
  /** The lowest security level snmpd accepts from this user. */
  readonly level: "authNoPriv" | "authPriv";
  /** Spelled as net-snmp spells it (createUser, snmpget -a). */
  readonly auth: PduAuthProtocol;
  /** Authentication pass phrase (8 characters or more). */
  readonly password: string;
  /** Privacy protocol (net-snmp spelling, snmpget -x); absent for authNoPriv users. */
  readonly priv?: PduPrivProtocol;
  readonly privPassword?: string;
  /** rw: rwuser (GET and SET); ro: rouser (SET answers noAccess). */
  readonly access: "rw" | "ro";
}

/** The SNMPv3 USM users of every lab PDU. */
export const PDU_V3_USERS = Object.freeze({
  /** authPriv, SHA-1 + AES-128, read-write. */
  rwAuthPriv: Object.freeze({
    name: "pdu-admin",
    level: "authPriv",
    auth: "SHA",
    password: "admin-auth-pass",
    priv: "AES",
    privPassword: "admin-priv-pass",
    access: "rw",
  }),
  /** authPriv, SHA-1 + AES-128, read-only. */
  roAuthPriv: Object.freeze({
    name: "pdu-viewer",
    level: "authPriv",
    auth: "SHA",
    password: "viewer-auth-pass",
    priv: "AES",
    privPassword: "viewer-priv-pass",
    access: "ro",
  }),
  /** authNoPriv, MD5, read-write: has no privacy key at all. */
  rwAuthNoPriv: Object.freeze({
    name: "pdu-operator",
    level: "authNoPriv",
    auth: "MD5",
    password: "operator-auth-pass",
    access: "rw",
  }),
  /** authPriv, HMAC-SHA-256 + AES-256 (Blumenthal), read-write. */
  rwSha256: Object.freeze({
    name: "pdu-sha256",
    level: "authPriv",
    auth: "SHA-256",
    password: "sha256-auth-pass",
    priv: "AES-256",
    privPassword: "sha256-priv-pass",
    access: "rw",
  }),
  /** authPriv, HMAC-SHA-512 + AES-256 (Blumenthal), read-write. */
  rwSha512: Object.freeze({
    name: "pdu-sha512",
    level: "authPriv",
    auth: "SHA-512",
    password: "sha512-auth-pass",
    priv: "AES-256",
    privPassword: "sha512-priv-pass",
    access: "rw",
  }),
} satisfies Record<string, PduV3User>);

/** An outlet for fault lists: a number is that outlet on switch 1; "2:5" is switch 2, outlet 5. */
export type OutletRef = number | `${number}:${number}`;

export interface PduFaults {
  /** SETs on these outlets are accepted (and logged) but the outlet does not change. */
  stuck?: OutletRef[];
  /**
   * Reads of the state (and control) column answer nonsense: true or 'type'
   * gives an OCTET STRING ("on"/"off") where an INTEGER belongs; 'range' an
   * INTEGER outside the profile's state values (7, or the next free one).
   */
  garbage?: boolean | "type" | "range";
  /**
   * Walks (GETNEXT) see only the first half (rounded up) of each switch's
   * outlets in every column, and GETs of the other outlets' names answer
   * "no such instance". GETs and SETs of state and control still work.
   */
  truncated?: boolean;
}

export interface PduOptions {
  profile: PduProfile;
  /** Outlets per switch; default 8. */
  outlets?: number;
  /** Switches (daisy-chained units); default 1. More than 1 needs a profile with switches. */
  switches?: number;
  /** Outlet names, switch 1's outlets first; default "Outlet N" (switch 1), "Switch S Outlet N". */
  names?: string[];
  /** UDP port; default a free one. */
  port?: number;
  /** Loopback address to listen on; default 127.0.0.1. */
  host?: string;
  /** sysObjectID to report; default the profile's first one (required if it has none). */
  sysObjectId?: string;
  /** State of every outlet at start; default 'on'. */
  initialState?: OutletState;
  /** How long to wait for snmpd and the handler to answer; default 15 s. */
  startTimeoutMs?: number;
}

export interface Pdu {
  host: string;
  port: number;
  /** The PDU's private directory. */
  dir: string;
  profile: PduProfile;
  /** The sysObjectID snmpd reports. */
  sysObjectId: string;
  outlets: number;
  switches: number;
  /** Process id of snmpd. */
  pid: number;
  /** state.json: { switches: [ { outlets: [ { name, state } ] } ] }, switch 1 first. */
  stateFile: string;
  readOutlet(outlet: number, sw?: number): Promise<OutletState>;
  /** Change an outlet behind the PDU's back (as if someone pressed its button). */
  setOutlet(outlet: number, state: OutletState, sw?: number): Promise<void>;
  /** Replace the fault modes; what is not given is off. `setFault({})` clears all. */
  setFault(f: PduFaults): Promise<void>;
  /**
   * SETs received on the control column, oldest first, plugs written as fence
   * agents do: "3 off" (switch 1), "2:5 on" (switch 2), "3 refused 7" (a value
   * that is neither on nor off), '3 refused string "off"' (wrong type). SETs
   * of outlets that do not exist never reach the handler (snmpd refuses them).
   */
  sets(): Promise<string[]>;
  /** snmpd's output (startup errors, shutdown) and the handler's error log. */
  output(): Promise<string>;
  /** Kill this PDU's snmpd (only its pid) and its handler, wait, remove the directory. */
  stop(): Promise<void>;
}

/**
 * The full OID of one outlet's cell in a profile column (no leading dot).
 * 'controlOn' is the column written to switch on: control.onOid if the
 * profile has one, else the control column.
 */
export function outletOid(
  profile: PduProfile,
  column: "state" | "control" | "controlOn" | "name",
  outlet: number,
  sw = 1,
): string {
  const base =
    column === "controlOn" ? (profile.control.onOid ?? profile.control.oid) : profile[column]?.oid;
  if (base === undefined) throw new Error(`profile ${profile.id} has no ${column} column`);
  return `${base}.${fillIndex(profile.index, sw, outlet)}`;
}

const HANDLER_SOURCE = fileURLToPath(new URL("./pdu-handler.mjs", import.meta.url));
// Paths go into snmpd.conf, whose pass_persist splits its command on spaces: daemon.ts's SAFE_PATH.
const SAFE_CRED = /^[\x21-\x7e]{8,64}$/; // printable ASCII, no space
const SAFE_NAME = /^[A-Za-z0-9._-]{1,32}$/;
const NUMERIC_OID = /^\d+(\.\d+)+$/;
const DIR_PREFIX = "kvmha-pdu-";

/**
 * For each PDU directory whose owning test process is gone, kill the
 * processes that run from it (snmpd and its handler: only pids whose command
 * line names that directory, so a reused pid is never touched) and remove it.
 */
const orphans = orphanReaper(DIR_PREFIX, killProcessesUsing);

/** Clean up PDUs left by test processes that died without stop() (done once by startPdu too). */
export function reapOrphanPdus(): void {
  orphans.now();
}

/** Node for the handler: the one running the tests (absolute), else `node` on PATH. */
function handlerNode(): string {
  if (path.isAbsolute(process.execPath) && SAFE_PATH.test(process.execPath))
    return process.execPath;
  const found = findProgram("node");
  if (found && SAFE_PATH.test(found)) return found;
  throw new Error(
    `no node binary with a plain path for the PDU handler (process.execPath is '${process.execPath}')`,
  );
}

/** Fill an index template: {switch}, {switch-1} (units counted from 0), {outlet}. */
function fillIndex(template: string, sw: number, outlet: number): string {
  return template
    .replaceAll("{switch-1}", String(sw - 1))
    .replaceAll("{switch}", String(sw))
    .replaceAll("{outlet}", String(outlet));
}

function checkProfile(p: PduProfile, switches: number): void {
  const bad = (what: string) => new Error(`PDU profile ${p.id}: ${what}`);
  for (const id of p.sysObjectIds)
    if (!NUMERIC_OID.test(id)) throw bad(`sysObjectId '${id}' is not a numeric OID`);
  if (!p.index.includes("{outlet}")) throw bad(`index '${p.index}' has no {outlet}`);
  if (!NUMERIC_OID.test(`1.${fillIndex(p.index, 1, 1)}`))
    throw bad(`index '${p.index}' is not numeric`);
  const columns = [
    p.state.oid,
    p.control.oid,
    ...(p.control.onOid ? [p.control.onOid] : []),
    ...(p.name ? [p.name.oid] : []),
  ];
  for (const oid of columns)
    if (!NUMERIC_OID.test(oid)) throw bad(`column '${oid}' is not a numeric OID`);
  if (p.outletCount && !NUMERIC_OID.test(fillIndex(p.outletCount.oid, 1, 1))) {
    throw bad(`outletCount '${p.outletCount.oid}' is not a numeric OID`);
  }
  if (p.state.on.length === 0 || p.state.off.length === 0)
    throw bad("state needs on and off values");
  if (switches > 1 && (!p.switches || !/\{switch(-1)?\}/.test(p.index))) {
    throw bad(`has no switches (index '${p.index}'), cannot simulate ${switches}`);
  }
}

function arcsOf(oid: string): number[] {
  return oid.split(".").map(Number);
}

/**
 * The subtrees to hand to the handler: the longest common prefix of every
 * OID the PDU serves, if that is at least an enterprise (1.3.6.1.4.1.N);
 * otherwise one subtree per column (each gets its own handler process).
 */
function passRoots(p: PduProfile): string[] {
  // A per-switch count ("...{switch}...") is served from the arcs before its first placeholder.
  const countRoot = p.outletCount?.oid.split(".{")[0];
  const bases = [
    p.state.oid,
    p.control.oid,
    ...(p.control.onOid ? [p.control.onOid] : []),
    ...(p.name ? [p.name.oid] : []),
    ...(countRoot ? [countRoot] : []),
  ];
  let prefix = arcsOf(bases[0]!);
  for (const b of bases.slice(1)) {
    const arcs = arcsOf(b);
    let i = 0;
    while (i < prefix.length && i < arcs.length && prefix[i] === arcs[i]) i++;
    prefix = prefix.slice(0, i);
  }
  if (prefix.length >= 7 && prefix.slice(0, 6).join(".") === "1.3.6.1.4.1")
    return [prefix.join(".")];
  // Distinct, none inside another.
  const roots = [...new Set(bases)].sort();
  return roots.filter((r) => !roots.some((o) => o !== r && r.startsWith(`${o}.`)));
}

function defaultName(sw: number, outlet: number): string {
  return sw === 1 ? `Outlet ${outlet}` : `Switch ${sw} Outlet ${outlet}`;
}

interface StateFile {
  switches: { outlets: { name: string; state: OutletState }[] }[];
}

function engineIdFor(dir: string): string {
  // Unique per PDU, like real devices: text engine ID (format 4), at most 27 characters.
  return `kvmha-${path.basename(dir).slice(DIR_PREFIX.length)}`
    .slice(0, 27)
    .replace(/[^A-Za-z0-9-]/g, "x");
}

function snmpdConf(o: {
  dir: string;
  profile: PduProfile;
  sysObjectId: string;
  node: string;
}): string {
  const p = o.profile;
  const oneLine = (s: string) => s.replace(/[\r\n]+/g, " ");
  const lines = [
    "# Generated by kvmha test/lab/pdu-sim.ts",
    // Before createUser: the users' keys are localized to this engine ID.
    `engineID ${engineIdFor(o.dir)}`,
    `sysObjectID .${o.sysObjectId}`,
    oneLine(`sysDescr kvmha lab PDU ${p.id}: ${p.vendor} ${p.description}`),
    "sysName kvmha-lab-pdu",
    "sysContact kvmha tests",
    "sysLocation kvmha lab",
    "dontLogTCPWrappersConnects yes",
    `rocommunity ${PDU_COMMUNITIES.readOnly} 127.0.0.0/8`,
    `rwcommunity ${PDU_COMMUNITIES.readWrite} 127.0.0.0/8`,
  ];
  for (const u of Object.values(PDU_V3_USERS) as PduV3User[]) {
    lines.push(
      u.priv
        ? `createUser ${u.name} ${u.auth} ${u.password} ${u.priv} ${u.privPassword}`
        : `createUser ${u.name} ${u.auth} ${u.password}`,
    );
    lines.push(
      `${u.access === "rw" ? "rwuser" : "rouser"} ${u.name} ${u.level === "authPriv" ? "priv" : "auth"}`,
    );
  }
  for (const root of passRoots(p)) {
    lines.push(`pass_persist .${root} ${o.node} ${o.dir}/pdu-handler.mjs ${o.dir} ${root}`);
  }
  lines.push("");
  return lines.join("\n");
}

function checkUsers(): void {
  for (const u of Object.values(PDU_V3_USERS) as PduV3User[]) {
    if (
      !SAFE_NAME.test(u.name) ||
      !SAFE_CRED.test(u.password) ||
      (u.privPassword && !SAFE_CRED.test(u.privPassword))
    ) {
      throw new Error(
        `lab PDU user '${u.name}': names are [A-Za-z0-9._-], pass phrases 8-64 printable characters`,
      );
    }
  }
}

/** Handlers snmpd started for this PDU that still run (their pid files name them). */
function handlerPids(dir: string): number[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => /^handler-\d+\.pid$/.test(n));
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const n of names) {
    const pid = readPid(path.join(dir, n));
    if (pid !== undefined && pidAlive(pid) && cmdlineOf(pid).includes(`${dir}/pdu-handler.mjs`))
      pids.push(pid);
  }
  return pids;
}

/** Wait for the handlers to leave (they exit when snmpd closes their stdin); SIGKILL stragglers. */
async function stopHandlers(dir: string): Promise<void> {
  const deadline = Date.now() + 3_000;
  let pids = handlerPids(dir);
  while (pids.length > 0 && Date.now() < deadline) {
    await sleep(20);
    pids = handlerPids(dir);
  }
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  const killDeadline = Date.now() + 2_000;
  while (handlerPids(dir).length > 0 && Date.now() < killDeadline) await sleep(20);
}

function parseRef(ref: OutletRef, pdu: { outlets: number; switches: number }): string {
  const m = /^(?:(\d+):)?(\d+)$/.exec(String(ref));
  const sw = Number(m?.[1] ?? 1);
  const outlet = Number(m?.[2]);
  if (!m || !(sw >= 1 && sw <= pdu.switches && outlet >= 1 && outlet <= pdu.outlets)) {
    throw new Error(
      `no outlet ${String(ref)} on this PDU (${pdu.switches} switch(es) of ${pdu.outlets} outlets)`,
    );
  }
  return `${sw}:${outlet}`;
}

/** Start a simulated PDU; resolves once snmpd answers sysObjectID and outlet 1's state. */
export async function startPdu(opts: PduOptions): Promise<Pdu> {
  const snmpd = requireProgram("snmpd");
  const node = handlerNode();
  const host = opts.host ?? "127.0.0.1";
  if (!isLoopback(host))
    throw new Error(`lab PDU host must be a 127.0.0.0/8 address, got '${host}'`);
  const profile = opts.profile;
  const outlets = opts.outlets ?? 8;
  const switches = opts.switches ?? 1;
  if (!Number.isInteger(outlets) || outlets < 1 || outlets > 512)
    throw new Error(`outlets must be 1-512, got ${outlets}`);
  if (!Number.isInteger(switches) || switches < 1 || switches > 16)
    throw new Error(`switches must be 1-16, got ${switches}`);
  checkProfile(profile, switches);
  checkUsers();
  const wantedId = opts.sysObjectId ?? profile.sysObjectIds[0];
  if (wantedId === undefined)
    throw new Error(`PDU profile ${profile.id} has no sysObjectIds: give sysObjectId`);
  const sysObjectId = wantedId.replace(/^\./, "");
  if (!NUMERIC_OID.test(sysObjectId))
    throw new Error(`sysObjectId '${sysObjectId}' is not a numeric OID`);
  const names = opts.names ?? [];
  if (names.length > outlets * switches)
    throw new Error(`${names.length} names for ${outlets * switches} outlets`);
  for (const n of names) {
    if (/[\r\n]/.test(n) || n.length > 255) throw new Error(`bad outlet name ${JSON.stringify(n)}`);
  }
  const timeoutMs = opts.startTimeoutMs ?? 15_000;

  const base = labBaseDir();
  orphans.once(base);
  const dir = await makeLabDir(base, DIR_PREFIX, "snmpd.conf");
  const stateFile = path.join(dir, "state.json");
  const faultFile = path.join(dir, "faults.json");
  const setsFile = path.join(dir, "sets.log");
  const logFile = path.join(dir, "snmpd.log");
  const handlerLog = path.join(dir, "handler.log");
  const initial = opts.initialState ?? "on";
  const state: StateFile = { switches: [] };
  for (let sw = 1; sw <= switches; sw++) {
    const row = [];
    for (let o = 1; o <= outlets; o++) {
      row.push({ name: names[(sw - 1) * outlets + o - 1] ?? defaultName(sw, o), state: initial });
    }
    state.switches.push({ outlets: row });
  }
  try {
    await fsp.mkdir(path.join(dir, "persist"));
    await fsp.copyFile(HANDLER_SOURCE, path.join(dir, "pdu-handler.mjs"));
    await fsp.writeFile(
      path.join(dir, "pdu.json"),
      `${JSON.stringify({ profile, outlets, switches }, null, 2)}\n`,
    );
    await fsp.writeFile(stateFile, `${JSON.stringify(state, null, 2)}\n`);
    await fsp.writeFile(faultFile, "{}\n");
    await fsp.writeFile(setsFile, "");
    await fsp.writeFile(
      path.join(dir, "snmpd.conf"),
      snmpdConf({ dir, profile, sysObjectId, node }),
      { mode: 0o600 },
    );
  } catch (err) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }

  const layout = { outlets, switches };
  const readState = async (): Promise<StateFile> =>
    JSON.parse(await fsp.readFile(stateFile, "utf8")) as StateFile;
  const rowOf = (s: StateFile, outlet: number, sw: number) => {
    const row = s.switches[sw - 1]?.outlets[outlet - 1];
    if (!row)
      throw new Error(
        `no outlet ${sw}:${outlet} on this PDU (${switches} switch(es) of ${outlets} outlets)`,
      );
    return row;
  };
  const probeOids = ["1.3.6.1.2.1.1.2.0", outletOid(profile, "state", 1, 1)];

  const started = await startUdpDaemon({
    what: "lab PDU",
    name: "snmpd",
    program: snmpd,
    host,
    port: opts.port,
    dir,
    logFile,
    timeoutMs,
    inUse: /Error opening specified endpoint/i,
    // The handler exits by itself when snmpd's end of its pipe closes.
    spawn: (port) =>
      Promise.resolve(
        spawnLogged(
          snmpd,
          [
            "-f", // foreground: this process is snmpd, the pid we kill
            "-Lo", // log to stdout (our log file)
            "-C", // no system configuration: only -c
            "-c",
            `${dir}/snmpd.conf`,
            "-p",
            `${dir}/snmpd.pid`,
            "-I",
            "-smux", // SMUX would listen on TCP 199, shared by all PDUs
            `udp:${host}:${port}`,
          ],
          {
            cwd: dir,
            logFile,
            // A clean environment: no MIB loading (MIBS empty), persistent store in
            // the PDU's directory, nothing like NODE_OPTIONS reaching the handler.
            env: {
              PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
              LC_ALL: "C",
              MIBS: "",
              SNMP_PERSISTENT_DIR: `${dir}/persist`,
            },
          },
        ),
      ),
    async ready(port, deadline, gone) {
      const answer = await probeGet(
        host,
        port,
        PDU_COMMUNITIES.readOnly,
        probeOids,
        deadline,
        gone,
      );
      if (answer === undefined) return undefined;
      const good =
        answer.errorStatus === 0 &&
        answer.varbinds.length === 2 &&
        answer.varbinds[0]!.value === sysObjectId &&
        answer.varbinds[1]!.tag === 0x02;
      return good || `snmpd answered the readiness GET wrongly: ${JSON.stringify(answer)}`;
    },
    cleanup: () => stopHandlers(dir),
    moreOutput: () => {
      const handlerErrors = readLogSync(handlerLog);
      return handlerErrors ? `\n--- handler errors ---\n${handlerErrors}` : "";
    },
  });
  const pdu: Pdu = {
    host,
    port: started.port,
    dir,
    profile,
    sysObjectId,
    outlets,
    switches,
    pid: started.process.child.pid!,
    stateFile,
    async readOutlet(outlet, sw = 1) {
      return rowOf(await readState(), outlet, sw).state;
    },
    async setOutlet(outlet, value, sw = 1) {
      if (value !== "on" && value !== "off")
        throw new Error(`outlet state must be on or off, got '${String(value)}'`);
      const s = await readState();
      rowOf(s, outlet, sw).state = value;
      await writeAtomic(stateFile, `${JSON.stringify(s, null, 2)}\n`);
    },
    async setFault(f) {
      const faults = {
        stuck: (f.stuck ?? []).map((r) => parseRef(r, layout)),
        garbage: f.garbage === true ? "type" : (f.garbage ?? false),
        truncated: f.truncated ?? false,
      };
      if (faults.garbage !== false && faults.garbage !== "type" && faults.garbage !== "range") {
        throw new Error(`garbage must be a boolean, 'type' or 'range', got '${String(f.garbage)}'`);
      }
      await writeAtomic(faultFile, `${JSON.stringify(faults)}\n`);
    },
    async sets() {
      const text = await fsp.readFile(setsFile, "utf8");
      return text.split("\n").filter((l) => l.length > 0);
    },
    async output() {
      const handler = await readOr(handlerLog);
      return `${await readOr(logFile)}${handler ? `--- handler errors ---\n${handler}` : ""}`;
    },
    stop: started.stop,
  };
  return pdu;
}
