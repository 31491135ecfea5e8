// A private libvirtd for tests: a lab generation's monolithic libvirtd (Debian
// 12's 9.0 on the host, Debian 13's 11.3 in its root: neither ships
// virtqemud), started by hand (no systemd) in its own mount namespace, where
// the lab's directory is bind-mounted over /etc/libvirt, /run/libvirt,
// /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt
// (test/lab/libvirt/ns-start.sh; in the root's, then in-root.sh chroots). Its
// socket is libvirtd's, /run/libvirt/libvirt-sock, which the host sees at
// <dir>/run/libvirt-sock:
//
//   qemu+unix:///system?socket=<dir>/run/libvirt-sock   the QEMU driver
//   test+unix:///default?socket=<dir>/run/libvirt-sock  the test driver
//
// The test driver's "default" node lives inside libvirtd and is shared by
// every connection while at least one is open; holdTestDriver() keeps one
// open so that separate `virsh -c <testUri>` runs see the same state.
//
// Every process in the namespace (libvirtd, the QEMUs it starts, their
// helpers) is ours: stop() destroys the running guests, stops libvirtd, then
// kills whatever is left in that mount namespace (identified by its inode,
// recorded in <dir>/mntns, so a reused pid is never touched). A test process
// that died without stop() leaves a directory whose owner.pid is dead: the
// next startLibvirt() (or reapOrphanLibvirts()) kills its namespace and
// removes it.

import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { requireProgram } from "./bins.js";
import { run, type RunResult } from "./clients.js";
import {
  cleanupAtExit,
  deathReason,
  exitPromise,
  labBaseDir,
  makeLabDir,
  namespaceOf,
  orphanReaper,
  pidsInNamespace,
  readOr,
  removeLabDir,
  safeKill,
  sleep,
  spawnLogged,
  startFailure,
  tail,
  terminate,
  waitExit,
} from "./daemon.js";
import type { LabGeneration } from "./generation.js";
import { requireQemuDriver } from "./libvirt-bins.js";

export interface LibvirtOptions {
  /** host_uuid in libvirtd.conf (migration refuses two hosts with the same one); default random. */
  hostUuid?: string;
  /** Run libvirtd inside this network namespace (`ip netns` name, /run/netns/NAME). */
  netns?: string;
  /** Also listen on TCP (libvirtd --listen, auth_tcp "none", no TLS): for migration between lab nodes. */
  listenTcp?: { address: string; port?: number };
  /** How long to wait for libvirtd to answer; default 20 s. */
  startTimeoutMs?: number;
  /**
   * The lab generation whose libvirtd, QEMU and virsh to run (generation.ts); default the host's.
   * Debian 13's run chrooted in its root, which sees the lab directory, the project and /boot
   * (the guests' kernel) at the same paths.
   */
  generation?: LabGeneration;
}

export interface VirshOptions {
  /** Connection URI; default the QEMU driver's `uri`. */
  uri?: string;
  /** Kill virsh (only it) after this long; default 30 s. */
  killAfterMs?: number;
  input?: string;
}

export interface Libvirt {
  /** The lab directory (config, runtime, state, logs, guests). */
  dir: string;
  /** libvirtd's pid (the same process that ran unshare and ns-start.sh). */
  pid: number;
  /** The read-write UNIX socket, as the host sees it. */
  socket: string;
  /** QEMU driver: qemu+unix:///system?socket=... */
  uri: string;
  /** Test driver, served by this libvirtd: test+unix:///default?socket=... */
  testUri: string;
  /** qemu+tcp://ADDRESS:PORT/system when started with listenTcp. */
  tcpUri?: string;
  hostUuid: string;
  netns?: string;
  /** The generation it runs (undefined: the host's). */
  generation?: LabGeneration;
  /** `name` of this generation (a path inside its root), throwing with the fix when missing. */
  requireProgram(name: LibvirtProgram): string;
  /** Where the guests' kernels, initramfs, XML and console logs go (a directory under `dir`). */
  guestDir: string;
  /**
   * Prefix to run a command inside libvirtd's mount (and network) namespace, and its root:
   * `[...nsenter, prog, ...args]`.
   */
  nsenter: string[];
  /** `virsh -c <uri> ARGS` with a time limit (LC_ALL=C). */
  virsh(args: readonly string[], opts?: VirshOptions): Promise<RunResult>;
  /** Like virsh(), but throws (with virsh's output and libvirtd's log tail) unless it exits 0. */
  virshOk(args: readonly string[], opts?: VirshOptions): Promise<string>;
  /** Run a program inside libvirtd's namespaces (nsenter), with a time limit. */
  exec(
    program: string,
    args: readonly string[],
    opts?: { killAfterMs?: number; input?: string },
  ): Promise<RunResult>;
  /**
   * Open a long-lived connection to the test driver (an interactive virsh
   * fed through a pipe) so its state outlives single virsh runs. Idempotent;
   * resolves once the connection is open. Released by stop() or releaseTestDriver().
   */
  holdTestDriver(): Promise<void>;
  releaseTestDriver(): Promise<void>;
  /** libvirtd's output (its log goes to stderr, warnings and errors only). */
  output(): Promise<string>;
  /** A guest's QEMU log (/var/log/libvirt/qemu/NAME.log inside the namespace). */
  qemuLog(name: string): Promise<string>;
  /** Destroy running guests, stop libvirtd, kill what is left in its namespace, remove the directory. */
  stop(): Promise<void>;
}

const NS_START = fileURLToPath(new URL("./libvirt/ns-start.sh", import.meta.url));
const DIR_PREFIX = "kvmha-libvirt-";
/** /var/cache/libvirt of every lab libvirtd (not a DIR_PREFIX name: never reaped). */
const CACHE_NAME = "kvmha-cache-libvirt";
const NETNS_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const VIRSH_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C", HOME: os.tmpdir() };

/** SIGKILL every process left in the lab's recorded mount namespace (synchronous). */
function killNamespace(dir: string): number[] {
  let ns: string;
  try {
    ns = fs.readFileSync(path.join(dir, "mntns"), "utf8").trim();
  } catch {
    return [];
  }
  if (!/^mnt:\[\d+\]$/.test(ns)) return [];
  const pids = pidsInNamespace(ns, "mnt");
  for (const pid of pids) safeKill(pid, "SIGKILL");
  return pids;
}

const orphans = orphanReaper(DIR_PREFIX, killNamespace);

/** Clean up lab libvirtds (and their guests) left by test processes that died without stop(). */
export function reapOrphanLibvirts(): void {
  orphans.now();
}

/**
 * The lab's libvirtd.conf (also the cluster lab's nodes'): its socket without authentication,
 * warnings and errors to stderr, its own host UUID; and, for migration between lab nodes, plain
 * TCP without TLS or authentication (a network of the lab's own).
 */
export function libvirtdConf(o: {
  hostUuid: string;
  listenTcp?: { address: string; port?: number };
}): string {
  const lines = [
    "# Generated by kvmha test/lab/libvirt-daemon.ts",
    'unix_sock_group = "root"',
    'unix_sock_ro_perms = "0770"',
    'unix_sock_rw_perms = "0770"',
    'auth_unix_ro = "none"',
    'auth_unix_rw = "none"',
    // Warnings and errors to stderr (our log file); no journald, no syslog.
    'log_outputs = "3:stderr"',
    `host_uuid = "${o.hostUuid}"`,
  ];
  if (o.listenTcp) {
    lines.push(
      "listen_tls = 0",
      "listen_tcp = 1",
      `listen_addr = "${o.listenTcp.address}"`,
      ...(o.listenTcp.port === undefined ? [] : [`tcp_port = "${o.listenTcp.port}"`]),
      'auth_tcp = "none"',
      "mdns_adv = 0",
    );
  }
  lines.push("");
  return lines.join("\n");
}

/** The lab's qemu.conf (also the cluster lab's nodes'): guests as root, nothing labelled or confined. */
export function qemuConf(o: { migrationAddress?: string }): string {
  const lines = [
    "# Generated by kvmha test/lab/libvirt-daemon.ts",
    // No libvirt-qemu user on this host: run guests as root, label nothing.
    'user = "root"',
    'group = "root"',
    "dynamic_ownership = 0",
    "remember_owner = 0",
    'security_driver = "none"',
    // No systemd, no cgroup delegation: do not touch cgroups.
    "cgroup_controllers = [ ]",
    // No private /dev per guest (needs nothing from the host's udev then).
    "namespaces = [ ]",
    // The guests' stdout/stderr straight to /var/log/libvirt/qemu/NAME.log, no virtlogd.
    'stdio_handler = "file"',
    'vnc_listen = "127.0.0.1"',
    'spice_listen = "127.0.0.1"',
  ];
  if (o.migrationAddress) lines.push(`migration_address = "${o.migrationAddress}"`);
  lines.push("");
  return lines.join("\n");
}

/** passwd/group text with the libvirt-qemu user Debian's QEMU driver looks up. */
export function withQemuUser(text: string, file: "passwd" | "group"): string {
  const has = text.split("\n").some((l) => l.startsWith("libvirt-qemu:"));
  if (has) return text;
  const body = text.endsWith("\n") || text === "" ? text : `${text}\n`;
  return file === "passwd"
    ? `${body}libvirt-qemu:x:64055:64055:kvmha lab (unused, guests run as root):/var/lib/libvirt:/usr/sbin/nologin\n`
    : `${body}libvirt-qemu:x:64055:\n`;
}

/** Start a private libvirtd; resolves once `virsh -c <uri> version` answers. */
export type LibvirtProgram = "virsh" | "qemu-system-x86_64" | "libvirtd";

export async function startLibvirt(opts: LibvirtOptions = {}): Promise<Libvirt> {
  const gen = opts.generation;
  const genProgram = (name: LibvirtProgram): string =>
    gen === undefined ? requireProgram(name) : gen.requireProgram(name);
  const libvirtd = genProgram("libvirtd");
  const virsh = genProgram("virsh");
  const unshare = requireProgram("unshare");
  const nsenterBin = requireProgram("nsenter");
  genProgram("qemu-system-x86_64");
  requireQemuDriver(gen?.root ?? "/");
  if (process.getuid?.() !== 0)
    throw new Error("the libvirt lab needs root (mount namespaces, a system-mode libvirtd)");
  const hostUuid = opts.hostUuid ?? randomUUID();
  if (!UUID.test(hostUuid)) throw new Error(`hostUuid '${hostUuid}' is not a UUID`);
  const netns = opts.netns;
  if (netns !== undefined) {
    if (!NETNS_NAME.test(netns)) throw new Error(`bad netns name '${netns}'`);
    if (!fs.existsSync(`/run/netns/${netns}`))
      throw new Error(`network namespace '${netns}' does not exist (/run/netns/${netns})`);
  }
  let listenTcp: { address: string; port: number } | undefined;
  if (opts.listenTcp) {
    if (!/^[0-9.]+$/.test(opts.listenTcp.address))
      throw new Error(`listenTcp.address must be an IPv4 address`);
    listenTcp = { address: opts.listenTcp.address, port: opts.listenTcp.port ?? 16509 };
  }
  const timeoutMs = opts.startTimeoutMs ?? 20_000;

  const base = labBaseDir();
  orphans.once(base);
  const dir = await makeLabDir(base, DIR_PREFIX, "libvirt's URIs");
  const logFile = path.join(dir, "libvirtd.log");
  const guestDir = path.join(dir, "guests");
  try {
    for (const sub of ["etc", "run", "lib", "log", "guests"]) await fsp.mkdir(path.join(dir, sub));
    // QEMU capability probing costs seconds per libvirtd; its cache (keyed by
    // the binaries' timestamps) is shared by all lab libvirtds.
    const cache = path.join(base, gen === undefined ? CACHE_NAME : `${CACHE_NAME}-${gen.name}`);
    await fsp.mkdir(cache, { recursive: true });
    await fsp.symlink(cache, path.join(dir, "cache"));
    await fsp.writeFile(
      path.join(dir, "etc", "libvirtd.conf"),
      libvirtdConf({ hostUuid, listenTcp }),
    );
    await fsp.writeFile(
      path.join(dir, "etc", "qemu.conf"),
      qemuConf({ migrationAddress: listenTcp?.address }),
    );
    // Clients inside the namespace (virsh run through exec()) read this.
    await fsp.writeFile(path.join(dir, "etc", "libvirt.conf"), "# kvmha lab\n");
    await fsp.writeFile(
      path.join(dir, "passwd"),
      withQemuUser(await readOr(gen?.hostPath("/etc/passwd") ?? "/etc/passwd"), "passwd"),
    );
    await fsp.writeFile(
      path.join(dir, "group"),
      withQemuUser(await readOr(gen?.hostPath("/etc/group") ?? "/etc/group"), "group"),
    );
  } catch (err) {
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }

  const socket = path.join(dir, "run", "libvirt-sock");
  const uri = `qemu+unix:///system?socket=${socket}`;
  const testUri = `test+unix:///default?socket=${socket}`;
  const daemonArgs = [
    libvirtd,
    "--config",
    "/etc/libvirt/libvirtd.conf",
    "--pid-file",
    "/run/libvirt/libvirtd.pid",
  ];
  if (listenTcp) daemonArgs.push("--listen");
  // In a generation's root: in-root.sh binds /proc, /dev, /sys, the lab and project directories
  // and /boot (the guests' kernel is the host's), then chroots: the same pid becomes libvirtd.
  const inRoot = gen?.enter(libvirtd, daemonArgs.slice(1), ["/boot"]);
  const argv = [
    unshare,
    "--mount",
    "--propagation",
    "private",
    "--",
    "/bin/sh",
    NS_START,
    dir,
    gen?.root ?? "/",
    ...(inRoot === undefined ? daemonArgs : [inRoot.program, ...inRoot.args]),
  ];
  const [program, args] =
    netns === undefined
      ? [argv[0]!, argv.slice(1)]
      : [nsenterBin, [`--net=/run/netns/${netns}`, "--", ...argv]];

  const started = Date.now();
  const daemon = spawnLogged(program, args, {
    cwd: dir,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C", HOME: dir },
    logFile,
  });
  const { child } = daemon;
  const holders = new Set<ChildProcess>();
  const untrack = cleanupAtExit(() => {
    // Last resort if a test forgot stop(): synchronous, our own namespaces only.
    for (const h of holders) safeKill(h.pid, "SIGKILL");
    killNamespace(dir);
    safeKill(child.pid, "SIGKILL");
    if (!process.env.KVMHA_LAB_KEEP) {
      try {
        fs.rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort (a mount point still busy, say)
      }
    }
  });
  const pid = child.pid;

  // The generation's own virsh (in its root, which sees the socket at the same path).
  const virshCommand = (a: readonly string[]): { program: string; args: string[] } =>
    gen === undefined ? { program: virsh, args: [...a] } : gen.command(virsh, a);
  const runVirsh = (a: readonly string[], o: VirshOptions = {}): Promise<RunResult> => {
    const c = virshCommand(["-q", "-c", o.uri ?? uri, ...a]);
    return run(c.program, c.args, {
      env: VIRSH_ENV,
      killAfterMs: o.killAfterMs ?? 30_000,
      ...(o.input === undefined ? {} : { input: o.input }),
    });
  };

  // Readiness: the namespace exists (recorded for cleanup) and libvirtd answers.
  const hostNs = namespaceOf(process.pid, "mnt");
  let recorded = false;
  let lastTry: RunResult | undefined;
  let ready = false;
  const deadline = started + timeoutMs;
  while (!daemon.dead && !daemon.spawnError && Date.now() < deadline) {
    if (!recorded && pid !== undefined) {
      const ns = namespaceOf(pid, "mnt");
      // nsenter (netns) and unshare exec in place: same pid, new namespace once unshared.
      if (ns !== undefined && ns !== hostNs && /libvirtd/.test(await readOr(`/proc/${pid}/comm`))) {
        await fsp.writeFile(path.join(dir, "mntns"), `${ns}\n`);
        recorded = true;
      }
    }
    if (recorded && fs.existsSync(socket)) {
      // The first answer can take seconds: libvirtd probes QEMU's capabilities when its cache is stale.
      lastTry = await runVirsh(["version"], {
        killAfterMs: Math.max(1_000, deadline - Date.now()),
      });
      if (lastTry.code === 0) {
        ready = true;
        break;
      }
    }
    await sleep(50);
  }

  if (!ready || daemon.dead) {
    if (!daemon.dead && !daemon.spawnError) child.kill("SIGKILL");
    await waitExit(daemon.exited, 5_000);
    killNamespace(dir);
    untrack();
    const output = tail(await readOr(logFile), 60);
    await fsp.rm(dir, { recursive: true, force: true });
    const why =
      deathReason(daemon, "libvirtd", program) ??
      `libvirtd did not answer on ${socket} within ${timeoutMs} ms` +
        (lastTry ? ` (last virsh: exit ${lastTry.code}: ${lastTry.stderr.trim()})` : "");
    throw startFailure("lab libvirtd", why, "libvirtd", output);
  }

  const nsenter = [
    nsenterBin,
    `--mount=/proc/${pid}/ns/mnt`,
    ...(netns ? [`--net=/run/netns/${netns}`] : []),
    // libvirtd's root: the generation's (chrooted), or the namespace's own.
    ...(gen === undefined ? [] : [`--root=/proc/${pid}/root`, `--wd=/proc/${pid}/root`]),
    "--",
  ];
  let holder: ChildProcess | undefined;
  let stopped: Promise<void> | undefined;

  const lv: Libvirt = {
    dir,
    pid: pid!,
    socket,
    uri,
    testUri,
    ...(listenTcp ? { tcpUri: `qemu+tcp://${listenTcp.address}:${listenTcp.port}/system` } : {}),
    hostUuid,
    ...(netns ? { netns } : {}),
    ...(gen === undefined ? {} : { generation: gen }),
    requireProgram: genProgram,
    guestDir,
    nsenter,
    virsh: runVirsh,
    async virshOk(a, o = {}) {
      const r = await runVirsh(a, o);
      if (r.code !== 0) {
        throw new Error(
          `virsh ${a.join(" ")} failed (exit ${r.code}${r.timedOut ? ", timed out" : ""} in ${r.ms} ms): ` +
            `${r.stderr.trim() || r.stdout.trim()}\n--- libvirtd output (tail) ---\n${tail(await readOr(logFile), 20)}`,
        );
      }
      return r.stdout;
    },
    exec(program2, args2, o = {}) {
      return run(nsenter[0]!, [...nsenter.slice(1), program2, ...args2], {
        env: VIRSH_ENV,
        killAfterMs: o.killAfterMs ?? 30_000,
        ...(o.input === undefined ? {} : { input: o.input }),
      });
    },
    async holdTestDriver() {
      if (holder && holder.exitCode === null && holder.signalCode === null) return;
      const c = virshCommand(["-c", testUri]);
      const h = spawn(c.program, c.args, { stdio: ["pipe", "pipe", "pipe"], env: VIRSH_ENV });
      holders.add(h);
      holder = h;
      let out = "";
      let err = "";
      h.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
      h.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
      h.once("error", (e) => (err += `\n${e.message}`));
      const hExited = exitPromise(h);
      h.once("exit", () => holders.delete(h));
      // Ask it something: its answer proves the connection is open.
      h.stdin.write("uri\n");
      const until = Date.now() + 10_000;
      while (
        !out.includes("test+unix://") &&
        Date.now() < until &&
        h.exitCode === null &&
        h.signalCode === null
      ) {
        await sleep(20);
      }
      if (!out.includes("test+unix://")) {
        h.kill("SIGKILL");
        await waitExit(hExited, 2_000);
        throw new Error(
          `could not hold a test driver connection: virsh said ${JSON.stringify(out + err)}`,
        );
      }
    },
    async releaseTestDriver() {
      const h = holder;
      holder = undefined;
      if (!h || h.exitCode !== null || h.signalCode !== null) return;
      const hExited = exitPromise(h);
      h.stdin!.end("quit\n");
      if (!(await waitExit(hExited, 3_000))) {
        h.kill("SIGKILL");
        await waitExit(hExited, 2_000);
      }
    },
    output: () => readOr(logFile),
    qemuLog: (name) => readOr(path.join(dir, "log", "qemu", `${name}.log`)),
    stop() {
      stopped ??= (async () => {
        await lv.releaseTestDriver();
        if (!daemon.dead) {
          // Guests outlive libvirtd by design: destroy them first (politeness; the
          // namespace sweep below would kill their QEMUs anyway).
          const list = await runVirsh(["list", "--name"], { killAfterMs: 5_000 });
          if (list.code === 0) {
            for (const name of list.stdout
              .split("\n")
              .map((s) => s.trim())
              .filter(Boolean)) {
              await runVirsh(["destroy", name], { killAfterMs: 10_000 });
            }
          }
        }
        await terminate(daemon, "libvirtd", 10_000);
        // Anything still in the namespace (a QEMU, a helper) is ours.
        const until = Date.now() + 5_000;
        while (killNamespace(dir).length > 0 && Date.now() < until) await sleep(50);
        untrack();
        await removeLabDir(dir);
      })();
      return stopped;
    },
  };
  return lv;
}
