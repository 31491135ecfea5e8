/**
 * Starting a BMC daemon (ipmi_sim, pyghmi's BMC) on a loopback UDP port: spawn it with its output
 * in a log file, wait until it answers Get Channel Authentication Capabilities, retry on another
 * port when the one taken turned out busy, and stop it by its pid only. The daemon's own files
 * (config, state) are the caller's, in `dir`.
 */
import dgram from "node:dgram";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import {
  BIND_RETRIES,
  abandon,
  cleanupAtExit,
  deathReason,
  killAndRemoveSync,
  labBaseDir,
  makeLabDir,
  type OrphanReaper,
  readLogSync,
  removeLabDir,
  spawnLogged,
  startFailure,
  sleep,
  takeUdpPort,
  terminate,
  writeAtomic,
} from "./daemon.js";
import { authCapsRequest, isAuthCapsAnswer } from "./ipmi-wire.js";
import { releasePort } from "./ports.js";

export interface BmcProcessSpec {
  /** The daemon's name, for messages and its files: `<dir>/<name>.pid`, `<dir>/<name>.log`. */
  name: string;
  program: string;
  /**
   * The daemon's private directory, made here (`<lab base>/<dirPrefix>XXXXXX`): removed by stop(),
   * and at once if the start fails. `reaper` cleans up after test processes that died.
   */
  dirPrefix: string;
  reaper: OrphanReaper;
  /** Writes the daemon's files in its directory (once, before the first start). */
  prepare(dir: string): Promise<void>;
  host: string;
  /** UDP port; default a free one. */
  port?: number;
  startTimeoutMs: number;
  /** The daemon's argv for a port (write its config first, if it has one). */
  args(port: number, dir: string): Promise<string[]>;
  env?: NodeJS.ProcessEnv;
  /** What a start attempt that failed printed when the port was busy. */
  portInUse: RegExp;
}

export interface BmcProcess {
  host: string;
  port: number;
  /** The daemon's private directory. */
  dir: string;
  pid: number;
  logFile: string;
  /** Kill the daemon (only its pid), wait for it, remove its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Starts the daemon; resolves once it answers IPMI on its UDP port. */
export async function startBmcProcess(spec: BmcProcessSpec): Promise<BmcProcess> {
  const base = labBaseDir();
  spec.reaper.once(base);
  const dir = await makeLabDir(base, spec.dirPrefix, `${spec.name}'s config`);
  try {
    await spec.prepare(dir);
    return await launch(spec, dir);
  } catch (err) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function launch(spec: BmcProcessSpec, dir: string): Promise<BmcProcess> {
  const logFile = path.join(dir, `${spec.name}.log`);
  for (let attempt = 1; ; attempt++) {
    const port = await takeUdpPort(spec.host, spec.port);
    const proc = spawnLogged(spec.program, await spec.args(port, dir), {
      cwd: dir,
      env: spec.env ?? { ...process.env, LC_ALL: "C" },
      logFile,
    });
    const { child } = proc;
    if (child.pid !== undefined)
      fs.writeFileSync(path.join(dir, `${spec.name}.pid`), `${child.pid}\n`);
    const untrack = cleanupAtExit(() => killAndRemoveSync(child, dir));
    const ready = await waitForIpmi(
      spec.host,
      port,
      Date.now() + spec.startTimeoutMs,
      () => proc.dead || !!proc.spawnError,
    );
    if (ready && !proc.dead && child.pid !== undefined) {
      let stopped: Promise<void> | undefined;
      return {
        host: spec.host,
        port,
        dir,
        pid: child.pid,
        logFile,
        stop() {
          stopped ??= (async () => {
            await terminate(proc, spec.name);
            untrack();
            releasePort(port);
            await removeLabDir(dir);
          })();
          return stopped;
        },
      };
    }
    // Not ready: find out why, clean up this attempt.
    await abandon(proc);
    untrack();
    releasePort(port);
    const output = readLogSync(logFile);
    if (spec.portInUse.test(output) && spec.port === undefined && attempt < BIND_RETRIES) continue;
    const why =
      deathReason(proc, spec.name, spec.program) ??
      `${spec.name} did not answer on ${spec.host}:${port} within ${spec.startTimeoutMs} ms`;
    throw startFailure("lab BMC", why, spec.name, output);
  }
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

/**
 * The chassis of a lab BMC, as files in its directory that the daemon's glue and the tests share:
 * `power` ("1" on, "0" off), `stuck` (present: power commands acknowledged, not carried out) and
 * `chassis.log` (one line per command, e.g. "set power 0").
 */
export interface ChassisFiles {
  /** File holding the chassis power state: "1" on, "0" off. */
  powerFile: string;
  readPower(): Promise<"on" | "off">;
  /** Change the power state behind the BMC's back (as if a person pressed the button). */
  setPower(state: "on" | "off"): Promise<void>;
  /** Switch the "stuck" fault mode on or off. */
  setStuck(on: boolean): Promise<void>;
  /** Chassis commands the BMC carried out or acknowledged, oldest first. */
  chassisCalls(): Promise<string[]>;
}

/** Writes the chassis files in `dir`: power `initial`, stuck or not, an empty log. */
export async function initChassisFiles(
  dir: string,
  initial: "on" | "off",
  stuck = false,
): Promise<void> {
  const chassis = chassisFiles(dir);
  await chassis.setPower(initial);
  await chassis.setStuck(stuck);
  await fsp.writeFile(path.join(dir, "chassis.log"), "");
}

/** The chassis files of the lab BMC in `dir` (see {@link initChassisFiles}). */
export function chassisFiles(dir: string): ChassisFiles {
  const powerFile = path.join(dir, "power");
  const stuckFile = path.join(dir, "stuck");
  const logFile = path.join(dir, "chassis.log");
  return {
    powerFile,
    async readPower() {
      const text = (await fsp.readFile(powerFile, "utf8")).trim();
      if (text === "1") return "on";
      if (text === "0") return "off";
      throw new Error(`power file ${powerFile} holds '${text}', expected 0 or 1`);
    },
    setPower: (state) => writeAtomic(powerFile, state === "on" ? "1\n" : "0\n"),
    async setStuck(on) {
      if (on) await fsp.writeFile(stuckFile, "");
      else await fsp.rm(stuckFile, { force: true });
    },
    async chassisCalls() {
      const text = await fsp.readFile(logFile, "utf8");
      return text.split("\n").filter((l) => l.length > 0);
    },
  };
}
