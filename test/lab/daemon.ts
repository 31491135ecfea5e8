// The lifecycle every lab daemon shares (ipmi-bmc.ts, pdu-sim.ts,
// libvirt-daemon.ts): a private directory owned by this test process, a
// daemon spawned with its output in a log file and watched for its exit,
// a bounded stop that kills only its own pid, a last-resort cleanup when the
// test process exits, and the reaping of directories whose owner died.

import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { claimPort, pidAlive, releasePort, reserveUdpPort } from "./ports.js";

/** Paths that go unquoted into daemons' configs, shell commands and URIs. */
export const SAFE_PATH = /^[A-Za-z0-9_./+-]+$/;

/** Starts of a daemon on a reserved port that another process took meanwhile ("address in use"). */
export const BIND_RETRIES = 3;

export function isLoopback(host: string): boolean {
  const parts = host.split(".");
  return (
    parts.length === 4 &&
    parts[0] === "127" &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)
  );
}

/** Where lab directories go: $KVMHA_LAB_DIR, else the OS temp dir (created if missing). */
export function labBaseDir(): string {
  const base = process.env.KVMHA_LAB_DIR ? path.resolve(process.env.KVMHA_LAB_DIR) : os.tmpdir();
  fs.mkdirSync(base, { recursive: true });
  return base;
}

export function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, "utf8"), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** A process's command line, arguments joined by spaces; '' when it is gone. */
export function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/**
 * SIGKILL the live processes (other than this one) whose command line names something inside
 * `dir`: a lab daemon and its helpers, found by what only they run from, so a reused pid is never
 * touched. For orphan reapers.
 */
export function killProcessesUsing(dir: string): void {
  let pids: string[];
  try {
    pids = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return;
  }
  for (const p of pids) {
    const pid = Number(p);
    if (pid === process.pid || !cmdlineOf(pid).includes(`${dir}/`)) continue;
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // raced with its exit
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function exitPromise(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

/** Whether `exited` resolves within `ms`. */
export async function waitExit(exited: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const done = await Promise.race([exited.then(() => true as const), timeout]);
  clearTimeout(timer);
  return done;
}

export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${path.dirname(file)}/.${path.basename(file)}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, text);
  await fsp.rename(tmp, file);
}

export async function readOr(file: string, fallback = ""): Promise<string> {
  try {
    return await fsp.readFile(file, "utf8");
  } catch {
    return fallback;
  }
}

/** A log file's text, trimmed; '' when there is none. */
export function readLogSync(file: string): string {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : "";
}

/** `fixed` (marked as ours), else a free UDP port on `host` reserved for this process. */
export async function takeUdpPort(host: string, fixed: number | undefined): Promise<number> {
  if (fixed === undefined) return reserveUdpPort(host);
  claimPort(fixed);
  return fixed;
}

/**
 * A new private directory `<base>/<prefix>XXXXXX` with owner.pid naming this
 * process. Removed again, with an error, if its path has characters that
 * `consumer` (the daemon's config, say) cannot carry.
 */
export async function makeLabDir(base: string, prefix: string, consumer: string): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(base, prefix));
  await fsp.writeFile(path.join(dir, "owner.pid"), `${process.pid}\n`);
  if (!SAFE_PATH.test(dir)) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw new Error(
      `lab directory '${dir}' has characters ${consumer} cannot carry; set KVMHA_LAB_DIR to a plain path`,
    );
  }
  return dir;
}

/** Remove a stopped daemon's directory, unless $KVMHA_LAB_KEEP asks to keep it. */
export async function removeLabDir(dir: string): Promise<void> {
  if (!process.env.KVMHA_LAB_KEEP) await fsp.rm(dir, { recursive: true, force: true });
}

export interface OrphanReaper {
  /** Reap, unless this process did already (each daemon start calls this). */
  once(base: string): void;
  /** Reap now, in labBaseDir(). */
  now(): void;
}

/**
 * A test process killed by a signal cannot stop its daemons. For each lab
 * directory `<prefix>*` whose owner.pid is dead, `killLeftovers(dir)` kills
 * what still runs from it (only processes proven to be that directory's, so
 * a reused pid is never touched), then the directory is removed.
 */
export function orphanReaper(prefix: string, killLeftovers: (dir: string) => void): OrphanReaper {
  let reaped = false;
  const reap = (base: string): void => {
    reaped = true;
    let names: string[];
    try {
      names = fs.readdirSync(base).filter((n) => n.startsWith(prefix));
    } catch {
      return;
    }
    for (const name of names) {
      const dir = path.join(base, name);
      const owner = readPid(path.join(dir, "owner.pid"));
      if (owner === undefined || pidAlive(owner)) continue;
      killLeftovers(dir);
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort
      }
    }
  };
  return {
    once(base) {
      if (!reaped) reap(base);
    },
    now() {
      reap(labBaseDir());
    },
  };
}

const exitCleanups = new Set<() => void>();
process.once("exit", () => {
  for (const cleanup of exitCleanups) cleanup();
});

/**
 * Run `cleanup` (synchronous; our own processes only) if this process exits
 * before the returned function is called: the last resort when a test forgot stop().
 */
export function cleanupAtExit(cleanup: () => void): () => void {
  exitCleanups.add(cleanup);
  return () => {
    exitCleanups.delete(cleanup);
  };
}

/** The usual last resort: SIGKILL the daemon (only its pid), remove its directory. */
export function killAndRemoveSync(child: ChildProcess, dir: string): void {
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // best effort
  }
}

export interface LabProcess {
  readonly child: ChildProcess;
  /** Resolves once the process has exited. */
  readonly exited: Promise<void>;
  /** It has exited. */
  readonly dead: boolean;
  /** spawn() failed (no such program, say). */
  readonly spawnError: Error | undefined;
}

/** Spawn `program` in `cwd`, its stdout and stderr to `logFile` (truncated), and watch for its exit. */
export function spawnLogged(
  program: string,
  args: readonly string[],
  o: { cwd: string; env: NodeJS.ProcessEnv; logFile: string },
): LabProcess {
  const logFd = fs.openSync(o.logFile, "w");
  const child = spawn(program, args, { cwd: o.cwd, stdio: ["ignore", logFd, logFd], env: o.env });
  fs.closeSync(logFd);
  const p = {
    child,
    exited: exitPromise(child),
    dead: false,
    spawnError: undefined as Error | undefined,
  };
  child.once("error", (err) => {
    p.spawnError = err;
  });
  void p.exited.then(() => {
    p.dead = true;
  });
  return p;
}

/** Give up on a start attempt: SIGKILL `p` (only its pid) if it runs, and wait up to 5 s for it. */
export async function abandon(p: LabProcess): Promise<void> {
  if (!p.dead && !p.spawnError) {
    p.child.kill("SIGKILL");
    await waitExit(p.exited, 5_000);
  }
}

/** Why `p` does not run, if it does not: `program` could not run, or `name` exited. */
export function deathReason(p: LabProcess, name: string, program: string): string | undefined {
  if (p.spawnError) return `could not run ${program}: ${p.spawnError.message}`;
  if (p.dead)
    return `${name} exited (code ${p.child.exitCode ?? "none"}, signal ${p.child.signalCode ?? "none"})`;
  return undefined;
}

/** Stop `p` (only its pid): SIGTERM, SIGKILL after `termMs`; throws if it outlives SIGKILL by 5 s. */
export async function terminate(p: LabProcess, name: string, termMs = 5_000): Promise<void> {
  if (p.dead) return;
  p.child.kill("SIGTERM");
  if (!(await waitExit(p.exited, termMs))) {
    p.child.kill("SIGKILL");
    if (!(await waitExit(p.exited, 5_000)))
      throw new Error(`${name} pid ${p.child.pid} did not exit after SIGKILL`);
  }
}

/** The error of a daemon that did not come up, with what it printed (and `more`, appended as is). */
export function startFailure(
  what: string,
  why: string,
  name: string,
  output: string,
  more = "",
): Error {
  return new Error(
    `${what} failed to start: ${why}\n--- ${name} output ---\n${output || "(none)"}${more}`,
  );
}

/** A lab daemon on a UDP port (ipmi-bmc.ts, pdu-sim.ts): how to start it and see it ready. */
export interface UdpDaemonSpec {
  /** What it stands for, for the start failure: "lab BMC". */
  readonly what: string;
  /** The daemon's name in messages: "ipmi_sim". */
  readonly name: string;
  readonly program: string;
  readonly host: string;
  /** A fixed port (never retried), else a port reserved for each attempt. */
  readonly port: number | undefined;
  /** Its lab directory (removed when the start fails, or at stop). */
  readonly dir: string;
  readonly logFile: string;
  readonly timeoutMs: number;
  /** What it logs when its port was taken meanwhile: the start is tried again on another. */
  readonly inUse: RegExp;
  /** Starts it on `port`, its configuration for that port written first. */
  spawn(port: number): Promise<LabProcess>;
  /** true once it answers; undefined: no answer by `deadline`; else why the answer is wrong. */
  ready(port: number, deadline: number, gone: () => boolean): Promise<true | string | undefined>;
  /** What else goes with it (helper processes), after it is stopped or abandoned. */
  cleanup?(): Promise<void>;
  /** More for a start failure's text (a helper's errors), read before the directory goes. */
  moreOutput?(): string;
}

export interface UdpDaemon {
  readonly port: number;
  readonly process: LabProcess;
  /** Stops it (only its pid), then its helpers; releases the port, removes the directory. */
  readonly stop: () => Promise<void>;
}

/**
 * Starts a UDP lab daemon, waits until it answers, and tries again on another port when its port
 * was taken meanwhile. A daemon that does not come up is killed and its directory removed, and
 * the error has its output.
 */
export async function startUdpDaemon(spec: UdpDaemonSpec): Promise<UdpDaemon> {
  for (let attempt = 1; ; attempt++) {
    const port = await takeUdpPort(spec.host, spec.port);
    const p = await spec.spawn(port);
    const untrack = cleanupAtExit(() => killAndRemoveSync(p.child, spec.dir));
    const ready = await spec.ready(
      port,
      Date.now() + spec.timeoutMs,
      () => p.dead || !!p.spawnError,
    );
    if (ready === true && !p.dead) {
      let stopped: Promise<void> | undefined;
      return {
        port,
        process: p,
        stop: () => {
          stopped ??= (async () => {
            await terminate(p, spec.name);
            await spec.cleanup?.();
            untrack();
            releasePort(port);
            await removeLabDir(spec.dir);
          })();
          return stopped;
        },
      };
    }
    // Not ready: find out why, clean up this attempt.
    await abandon(p);
    await spec.cleanup?.();
    untrack();
    releasePort(port);
    const output = readLogSync(spec.logFile);
    if (spec.inUse.test(output) && spec.port === undefined && attempt < BIND_RETRIES) continue;
    const more = spec.moreOutput?.() ?? "";
    await fsp.rm(spec.dir, { recursive: true, force: true });
    const why =
      deathReason(p, spec.name, spec.program) ??
      (typeof ready === "string"
        ? ready
        : `${spec.name} did not answer on ${spec.host}:${port} within ${spec.timeoutMs} ms`);
    throw startFailure(spec.what, why, spec.name, output, more);
  }
}

/** Sends `signal` to `pid` (only it), if there is one and it still runs. */
export function safeKill(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** The last `lines` lines of a log's text. */
export function tail(text: string, lines = 40): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** A process's namespace of `kind` ("mnt:[4026532…]"), undefined when it is gone. */
export function namespaceOf(pid: number, kind: "pid" | "mnt"): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${kind}`);
  } catch {
    return undefined;
  }
}

/** The pids in namespace `ns` of `kind`: never this process, never when `ns` is this process's own. */
export function pidsInNamespace(ns: string, kind: "pid" | "mnt"): number[] {
  if (ns === namespaceOf(process.pid, kind)) return [];
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  return entries.map(Number).filter((pid) => pid !== process.pid && namespaceOf(pid, kind) === ns);
}

/** True while `pid` runs (a zombie waiting for its reaper counts as gone). */
export function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/**
 * For the orphan-reaping tests: runs `script` (an ES module body that starts a lab daemon and
 * prints `{"pid":…,"dir":…}` on one line) in a child process, then SIGKILLs that child so its exit
 * handler never runs, and returns what the daemon left behind.
 */
export async function orphanedByKilledOwner(script: string): Promise<{ pid: number; dir: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", `${script}\nsetInterval(() => {}, 1000);`],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  try {
    let line = "";
    for await (const chunk of child.stdout) {
      line += String(chunk);
      if (line.includes("\n")) break;
    }
    const left = JSON.parse(line) as { pid: number; dir: string };
    child.kill("SIGKILL"); // no chance to run its exit handler
    await exitPromise(child);
    return left;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}
