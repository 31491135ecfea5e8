// A real BMC for tests: OpenIPMI's ipmi_sim on a loopback UDP port, with
// its chassis power state kept in a file the test can read and write.
//
// Each BMC gets a private directory (under $KVMHA_LAB_DIR, else the OS temp
// dir) holding its config, its chassis hook, its persistent state and its
// log. Nothing outside that directory is written, and stop() kills only the
// ipmi_sim process it started, then removes the directory.

import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { requireProgram } from "./bins.js";
import {
  cmdlineOf,
  isLoopback,
  labBaseDir,
  makeLabDir,
  type OrphanReaper,
  orphanReaper,
  readPid,
  spawnLogged,
  startUdpDaemon,
} from "./daemon.js";
import { type ChassisFiles, chassisFiles, initChassisFiles } from "./bmc-chassis.js";
import type { LabGeneration } from "./generation.js";
import { LAB_USERS, type LabUser, type Privilege } from "./ipmi-users.js";
import { authCapsRequest, isAuthCapsAnswer } from "./ipmi-wire.js";
import { pollUdp } from "./ports.js";

export type PowerState = "on" | "off";
export type { LabUser, Privilege } from "./ipmi-users.js";
// The lab's users live in ipmi-users.ts (every lab BMC has them); named here too for the tests
// that start an ipmi_sim BMC and log in to it.
export { ADMIN_USER, LAB_USERS, OPERATOR_USER, VIEWER_USER } from "./ipmi-users.js";

/** RMCP+ cipher suite to use: RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128. */
export const LAB_CIPHER_SUITE = 3;
/** The BMC's GUID (ASCII "kvmha-lab-bmc-01"), fixed so captures are reproducible. */
export const LAB_GUID = "6b766d68612d6c61622d626d632d3031";
/** IPMI LAN channel number of the simulated BMC. */
export const LAB_LAN_CHANNEL = 1;

export interface BmcOptions {
  /** Users of the BMC; default {@link LAB_USERS}. */
  users?: readonly LabUser[];
  /** Start in the "stuck" fault mode: power changes are accepted, not applied. */
  stuck?: boolean;
  /** Chassis power at start; default 'on'. */
  initialPower?: PowerState;
  /** UDP port; default a free one. */
  port?: number;
  /** Loopback address to listen on; default 127.0.0.1. */
  host?: string;
  /** BMC GUID as 32 hex digits; default {@link LAB_GUID}. */
  guid?: string;
  /** How long to wait for the BMC to answer; default 15 s. */
  startTimeoutMs?: number;
  /**
   * The lab generation whose ipmi_sim to run (generation.ts: Debian 13's runs in its root, which
   * sees the BMC's directory at the same path); default the host's.
   */
  generation?: LabGeneration;
}

export interface Bmc extends ChassisFiles {
  host: string;
  port: number;
  /** The BMC's private directory. */
  dir: string;
  /** Process id of ipmi_sim. */
  pid: number;
  /** What ipmi_sim printed (startup errors; runtime errors go to syslog). */
  output(): Promise<string>;
  /** Kill this BMC's ipmi_sim (only its pid), wait for it, remove its directory. */
  stop(): Promise<void>;
}

const HOOK_SOURCE = fileURLToPath(new URL("./chassis-control.sh", import.meta.url));
// Paths go into ipmi_sim's config and through popen()'s shell unquoted: daemon.ts's SAFE_PATH.
const SAFE_CRED = /^[\x21\x23-\x7e]+$/; // printable ASCII without space or '"'
const PRIVILEGES: readonly Privilege[] = ["callback", "user", "operator", "admin"];

function checkUsers(users: readonly LabUser[]): void {
  if (users.length === 0 || users.length > 62) throw new Error("a lab BMC needs 1-62 users");
  const seen = new Set<string>();
  for (const u of users) {
    if (!SAFE_CRED.test(u.name) || u.name.length > 16) {
      throw new Error(
        `bad lab user name '${u.name}': 1-16 printable characters, no space or quote`,
      );
    }
    if (!SAFE_CRED.test(u.password) || u.password.length > 20) {
      throw new Error(
        `bad password for lab user '${u.name}': 1-20 printable characters, no space or quote`,
      );
    }
    if (!PRIVILEGES.includes(u.privilege))
      throw new Error(`bad privilege '${u.privilege}' for '${u.name}'`);
    if (seen.has(u.name)) throw new Error(`duplicate lab user '${u.name}'`);
    seen.add(u.name);
  }
}

/**
 * A test process killed by a signal cannot stop its BMCs. Clean up after
 * such runs: for each lab directory whose owning process is gone, kill the
 * ipmi_sim it recorded (only if that pid still runs with this directory on
 * its command line, so a reused pid is never touched) and remove the
 * directory.
 */
const orphans = orphanReaper("kvmha-lab-", (dir) => {
  const sim = readPid(path.join(dir, "ipmi_sim.pid"));
  if (sim !== undefined && cmdlineOf(sim).includes(`${dir}/lan.conf`)) {
    try {
      process.kill(sim, "SIGKILL");
    } catch {
      // raced with its exit
    }
  }
});

/** Clean up BMCs left by test processes that died without stop() (done once by startBmc too). */
export function reapOrphanBmcs(): void {
  orphans.now();
}

function lanConf(o: {
  dir: string;
  host: string;
  port: number;
  guid: string;
  users: readonly LabUser[];
}): string {
  const lines = [
    "# Generated by kvmha test/lab/ipmi-bmc.ts",
    'name "kvmha-lab"',
    "set_working_mc 0x20",
    `  startlan ${LAB_LAN_CHANNEL}`,
    `    addr ${o.host} ${o.port}`,
    "    priv_limit admin",
    // IPMI 1.5 sessions: MD5 and straight password; RMCP+ is always on once
    // a GUID is set (ipmi_sim refuses RMCP+ without one).
    "    allowed_auths_callback md5 straight",
    "    allowed_auths_user md5 straight",
    "    allowed_auths_operator md5 straight",
    "    allowed_auths_admin md5 straight",
    `    guid ${o.guid}`,
    "  endlan",
    `  chassis_control "/bin/sh ${o.dir}/chassis-control.sh ${o.dir}"`,
    // user <id> <enabled> <name> <password> <max-priv> <max-sessions>
    ...o.users.map((u, i) => `  user ${i + 2} true "${u.name}" "${u.password}" ${u.privilege} 10`),
    "",
  ];
  return lines.join("\n");
}

function emuCommands(guid: string): string {
  return [
    "# Generated by kvmha test/lab/ipmi-bmc.ts: one BMC at IPMB 0x20",
    "mc_setbmc 0x20",
    // ipmb dev-id sdrs dev-rev fw-major fw-minor(BCD) support(chassis+sensor)
    // manufacturer (IANA 32473, for documentation) product
    "mc_add 0x20 0x01 no-device-sdrs 0x01 0x01 0x00 0x81 0x007ed9 0x0001",
    `mc_set_guid 0x20 ${guid}`,
    "mc_enable 0x20",
    "",
  ].join("\n");
}

/** Wait until an IPMI LAN endpoint answers Get Channel Auth Caps; false if `deadline` passes first. */
export async function waitForIpmi(
  host: string,
  port: number,
  deadline: number,
  shouldStop: () => boolean = () => false,
): Promise<boolean> {
  const ok = (buf: Buffer) => (isAuthCapsAnswer(buf) ? true : undefined);
  return (await pollUdp(host, port, authCapsRequest(), ok, deadline, shouldStop, 200)) ?? false;
}

/** How to start a BMC daemon (ipmi_sim, pyghmi's BMC) on a loopback UDP port. */
export interface BmcDaemonSpec {
  /** Its name: `<dir>/<name>.pid` and `<dir>/<name>.log`, and in messages. */
  name: string;
  program: string;
  /** Its private directory is `<lab base>/<dirPrefix>XXXXXX`; `reaper` cleans up after dead tests. */
  dirPrefix: string;
  reaper: OrphanReaper;
  host: string;
  /** A fixed port, else a free one. */
  port: number | undefined;
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
  /** Writes its files in its directory, once, before the first start. */
  prepare(dir: string): Promise<void>;
  /** Its argv on `port` (its configuration for that port written first). */
  args(port: number, dir: string): Promise<string[]>;
}

/** A started BMC daemon. */
export interface BmcDaemon {
  host: string;
  port: number;
  dir: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Starts a BMC daemon in a new lab directory and resolves once it answers Get Channel
 * Authentication Capabilities (daemon.ts's startUdpDaemon does the rest: port retries, stop by
 * its own pid, cleanup on failure).
 */
export async function startBmcDaemon(spec: BmcDaemonSpec): Promise<BmcDaemon> {
  const base = labBaseDir();
  spec.reaper.once(base);
  const dir = await makeLabDir(base, spec.dirPrefix, `${spec.name}'s config`);
  const logFile = path.join(dir, `${spec.name}.log`);
  try {
    await spec.prepare(dir);
  } catch (err) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }
  const daemon = await startUdpDaemon({
    what: "lab BMC",
    name: spec.name,
    program: spec.program,
    host: spec.host,
    port: spec.port,
    dir,
    logFile,
    timeoutMs: spec.timeoutMs,
    inUse: /address already in use/i,
    async spawn(port) {
      const p = spawnLogged(spec.program, await spec.args(port, dir), {
        cwd: dir,
        env: spec.env,
        logFile,
      });
      const pid = p.child.pid;
      if (pid !== undefined) fs.writeFileSync(path.join(dir, `${spec.name}.pid`), `${pid}\n`);
      return p;
    },
    ready: async (port, deadline, gone) =>
      (await waitForIpmi(spec.host, port, deadline, gone)) ? true : undefined,
  });
  return {
    host: spec.host,
    port: daemon.port,
    dir,
    pid: daemon.process.child.pid ?? 0,
    logFile,
    stop: daemon.stop,
  };
}

/** Start a simulated BMC; resolves once it answers IPMI on its UDP port. */
export async function startBmc(opts: BmcOptions = {}): Promise<Bmc> {
  const gen = opts.generation;
  const ipmiSim = gen === undefined ? requireProgram("ipmi_sim") : gen.requireProgram("ipmi_sim");
  // The same pid runs ipmi_sim in a generation's root (unshare and chroot exec in place).
  const command = (args: string[]): { program: string; args: string[] } =>
    gen === undefined ? { program: ipmiSim, args } : gen.command(ipmiSim, args);
  const host = opts.host ?? "127.0.0.1";
  if (!isLoopback(host))
    throw new Error(`lab BMC host must be a 127.0.0.0/8 address, got '${host}'`);
  const users = opts.users ?? LAB_USERS;
  checkUsers(users);
  const guid = (opts.guid ?? LAB_GUID).toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(guid))
    throw new Error(`BMC guid must be 32 hex digits, got '${guid}'`);
  const timeoutMs = opts.startTimeoutMs ?? 15_000;

  const daemon = await startBmcDaemon({
    name: "ipmi_sim",
    program: command([]).program,
    dirPrefix: "kvmha-lab-",
    reaper: orphans,
    host,
    port: opts.port,
    timeoutMs,
    env: { ...process.env, LC_ALL: "C" },
    async prepare(dir) {
      await fsp.mkdir(path.join(dir, "state"));
      await fsp.copyFile(HOOK_SOURCE, path.join(dir, "chassis-control.sh"));
      await initChassisFiles(dir, opts.initialPower ?? "on", opts.stuck);
      await fsp.writeFile(path.join(dir, "bmc.emu"), emuCommands(guid));
    },
    async args(port, dir) {
      await fsp.writeFile(path.join(dir, "lan.conf"), lanConf({ dir, host, port, guid, users }));
      return command(["-c", `${dir}/lan.conf`, "-f", `${dir}/bmc.emu`, "-s", `${dir}/state`, "-n"])
        .args;
    },
  });
  return {
    ...daemon,
    ...chassisFiles(daemon.dir),
    output: () => fsp.readFile(daemon.logFile, "utf8"),
  };
}
