/**
 * The lab's second, independent BMC: pyghmi's (Debian python3-pyghmi, `pyghmi.ipmi.bmc`), on a
 * loopback UDP port. Its protocol code is pyghmi's; test/lab/pyghmi-bmc.py only keeps the chassis
 * power in a file, as ipmi_sim's chassis hook does. It behaves as pyghmi does, not as our tests
 * might wish: IPMI 2.0 only (IPMI 1.5 requests go unanswered), every Open Session answered with
 * cipher suite 3's algorithms, RAKP 1 for an unknown user dropped without an answer, users without
 * privilege limits.
 */
import fsp from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type ChassisFiles, chassisFiles, initChassisFiles } from "./bmc-chassis.js";
import { requireProgram } from "./bins.js";
import { cmdlineOf, isLoopback, orphanReaper, readPid } from "./daemon.js";
import { startBmcDaemon } from "./ipmi-bmc.js";
import { LAB_USERS, type LabUser } from "./ipmi-users.js";

const LAUNCHER = fileURLToPath(new URL("./pyghmi-bmc.py", import.meta.url));

export interface PyghmiBmcOptions {
  /** Default: the lab's users; pyghmi knows only names and passwords. */
  users?: readonly Readonly<LabUser>[];
  initialPower?: "on" | "off";
  /** Loopback address; default 127.0.0.1. */
  host?: string;
  startTimeoutMs?: number;
}

export interface PyghmiBmc extends ChassisFiles {
  host: string;
  port: number;
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

const orphans = orphanReaper("kvmha-pyghmi-", (dir) => {
  const pid = readPid(path.join(dir, "pyghmi.pid"));
  if (pid !== undefined && cmdlineOf(pid).includes(dir)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // raced with its exit
    }
  }
});

export async function startPyghmiBmc(opts: PyghmiBmcOptions = {}): Promise<PyghmiBmc> {
  requireProgram("fakebmc"); // python3-pyghmi installed
  const host = opts.host ?? "127.0.0.1";
  if (!isLoopback(host)) throw new Error(`lab BMC host must be loopback, got '${host}'`);
  const daemon = await startBmcDaemon({
    name: "pyghmi",
    program: LAUNCHER,
    dirPrefix: "kvmha-pyghmi-",
    reaper: orphans,
    host,
    port: undefined,
    timeoutMs: opts.startTimeoutMs ?? 15_000,
    env: process.env,
    async prepare(dir) {
      const users = Object.fromEntries((opts.users ?? LAB_USERS).map((u) => [u.name, u.password]));
      await fsp.writeFile(path.join(dir, "users.json"), JSON.stringify(users));
      await initChassisFiles(dir, opts.initialPower ?? "on");
    },
    args: (port, dir) => Promise.resolve(["--address", host, "--port", String(port), "--dir", dir]),
  });
  return { ...daemon, ...chassisFiles(daemon.dir) };
}
