// A real BMC for tests: OpenIPMI's ipmi_sim on a loopback UDP port, with
// its chassis power state kept in a file the test can read and write.
//
// Each BMC gets a private directory (under $KVMHA_LAB_DIR, else the OS temp
// dir) holding its config, its chassis hook, its persistent state and its
// log. Nothing outside that directory is written, and stop() kills only the
// ipmi_sim process it started, then removes the directory.

import dgram from "node:dgram";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { requireProgram } from "./bins.js";
import { LAB_USERS, type LabUser, type Privilege } from "./ipmi-users.js";
import { authCapsRequest, isAuthCapsAnswer } from "./ipmi-wire.js";
import {
  abandon,
  BIND_RETRIES,
  cleanupAtExit,
  cmdlineOf,
  deathReason,
  isLoopback,
  killAndRemoveSync,
  labBaseDir,
  makeLabDir,
  orphanReaper,
  readLogSync,
  readPid,
  removeLabDir,
  sleep,
  spawnLogged,
  startFailure,
  takeUdpPort,
  terminate,
  writeAtomic,
} from "./daemon.js";
import { releasePort } from "./ports.js";

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
}

export interface Bmc {
  host: string;
  port: number;
  /** The BMC's private directory. */
  dir: string;
  /** Process id of ipmi_sim. */
  pid: number;
  /** File holding the chassis power state: "1" on, "0" off. */
  powerFile: string;
  readPower(): Promise<PowerState>;
  /** Change the power state behind the BMC's back (as if a person pressed the button). */
  setPower(state: PowerState): Promise<void>;
  /** Switch the "stuck" fault mode on or off. */
  setStuck(on: boolean): Promise<void>;
  /** Calls ipmi_sim made to the chassis hook, oldest first, e.g. "set power 0". */
  chassisCalls(): Promise<string[]>;
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
  const ipv6 = host.includes(":");
  const sock = dgram.createSocket(ipv6 ? "udp6" : "udp4");
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(0, ipv6 ? "::1" : "127.0.0.1", () => {
        sock.off("error", reject);
        resolve();
      });
    });
    let answered = false;
    sock.on("message", (buf) => {
      if (isAuthCapsAnswer(buf)) answered = true;
    });
    sock.on("error", () => {
      // ICMP port unreachable while the daemon starts: keep polling
    });
    const request = authCapsRequest();
    while (!answered && !shouldStop() && Date.now() < deadline) {
      sock.send(request, port, host);
      const until = Math.min(deadline, Date.now() + 200);
      while (!answered && Date.now() < until) await sleep(10);
    }
    return answered;
  } finally {
    sock.close();
  }
}

async function readPowerFile(file: string): Promise<PowerState> {
  const text = (await fsp.readFile(file, "utf8")).trim();
  if (text === "1") return "on";
  if (text === "0") return "off";
  throw new Error(`power file ${file} holds '${text}', expected 0 or 1`);
}

/** Start a simulated BMC; resolves once it answers IPMI on its UDP port. */
export async function startBmc(opts: BmcOptions = {}): Promise<Bmc> {
  const ipmiSim = requireProgram("ipmi_sim");
  const host = opts.host ?? "127.0.0.1";
  if (!isLoopback(host))
    throw new Error(`lab BMC host must be a 127.0.0.0/8 address, got '${host}'`);
  const users = opts.users ?? LAB_USERS;
  checkUsers(users);
  const guid = (opts.guid ?? LAB_GUID).toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(guid))
    throw new Error(`BMC guid must be 32 hex digits, got '${guid}'`);
  const timeoutMs = opts.startTimeoutMs ?? 15_000;

  const base = labBaseDir();
  orphans.once(base);
  const dir = await makeLabDir(base, "kvmha-lab-", "ipmi_sim's config");
  const powerFile = path.join(dir, "power");
  const logFile = path.join(dir, "ipmi_sim.log");
  try {
    await fsp.mkdir(path.join(dir, "state"));
    await fsp.copyFile(HOOK_SOURCE, path.join(dir, "chassis-control.sh"));
    await fsp.writeFile(powerFile, (opts.initialPower ?? "on") === "on" ? "1\n" : "0\n");
    await fsp.writeFile(path.join(dir, "chassis.log"), "");
    if (opts.stuck) await fsp.writeFile(path.join(dir, "stuck"), "");
    await fsp.writeFile(path.join(dir, "bmc.emu"), emuCommands(guid));
  } catch (err) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }

  for (let attempt = 1; ; attempt++) {
    const port = await takeUdpPort(host, opts.port);
    await fsp.writeFile(path.join(dir, "lan.conf"), lanConf({ dir, host, port, guid, users }));
    const sim = spawnLogged(
      ipmiSim,
      ["-c", `${dir}/lan.conf`, "-f", `${dir}/bmc.emu`, "-s", `${dir}/state`, "-n"],
      { cwd: dir, env: { ...process.env, LC_ALL: "C" }, logFile },
    );
    const { child } = sim;
    if (child.pid !== undefined) fs.writeFileSync(path.join(dir, "ipmi_sim.pid"), `${child.pid}\n`);
    const untrack = cleanupAtExit(() => killAndRemoveSync(child, dir));

    const ready = await waitForIpmi(
      host,
      port,
      Date.now() + timeoutMs,
      () => sim.dead || !!sim.spawnError,
    );
    if (ready && !sim.dead) {
      const pid = child.pid!;
      let stopped: Promise<void> | undefined;
      const bmc: Bmc = {
        host,
        port,
        dir,
        pid,
        powerFile,
        readPower: () => readPowerFile(powerFile),
        setPower: (state) => writeAtomic(powerFile, state === "on" ? "1\n" : "0\n"),
        async setStuck(on) {
          const flag = path.join(dir, "stuck");
          if (on) await fsp.writeFile(flag, "");
          else await fsp.rm(flag, { force: true });
        },
        async chassisCalls() {
          const text = await fsp.readFile(path.join(dir, "chassis.log"), "utf8");
          return text.split("\n").filter((l) => l.length > 0);
        },
        output: () => fsp.readFile(logFile, "utf8"),
        stop() {
          stopped ??= (async () => {
            await terminate(sim, "ipmi_sim");
            untrack();
            releasePort(port);
            await removeLabDir(dir);
          })();
          return stopped;
        },
      };
      return bmc;
    }

    // Not ready: find out why, clean up this attempt.
    await abandon(sim);
    untrack();
    releasePort(port);
    const output = readLogSync(logFile);
    const inUse = /address already in use/i.test(output);
    if (inUse && opts.port === undefined && attempt < BIND_RETRIES) continue;
    await fsp.rm(dir, { recursive: true, force: true });
    const why =
      deathReason(sim, "ipmi_sim", ipmiSim) ??
      `ipmi_sim did not answer on ${host}:${port} within ${timeoutMs} ms`;
    throw startFailure("lab BMC", why, "ipmi_sim", output);
  }
}
