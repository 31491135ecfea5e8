// Why one file: the nodes' life (namespaces, boot, power cut, reaping) all follow the lab
// directory's one layout, described below.
// The cluster lab's nodes: three (or more) simulated hypervisors on this one
// machine. Each node is a network namespace plugged into a bridge in a hub
// namespace, and, inside it, a PID + mount + UTS namespace whose PID 1 is
// node-init.sh: it mounts the node's own directories over corosync's,
// Pacemaker's and libvirt's system paths, starts corosync, pacemakerd and
// libvirtd, and reaps. Killing that PID 1 from outside kills every process of
// the node at once (the kernel tears a PID namespace down with its init):
// that is a power cut. boot() starts it again; its disk (CIB, logs) stays.
//
// Layout of the lab directory (<base>/kvmha-cluster-XXXXXX):
//   owner.pid          the test process (orphan reaping, daemon.ts)
//   netns              the network namespaces we created, one per line
//   hosts              /etc/hosts of every node (node names resolve, for migration)
//   agents/kvmha       a copy of dist/bin/kvmha (a rebuild during a run does not change it)
//   shared/            what every node sees at the same path: guests' XML, kernels, consoles
//   nodeN/             the node's disk: etc/corosync, lib/{corosync,pacemaker}, log, libvirt/...,
//                      ovl/ (upper layers of the /usr/sbin and OCF overlays), init.pid, pidns

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { agentPath } from "../agents.js";
import { corosyncConf, seedCib } from "./node-files.js";
import { libvirtdConf, qemuConf, withQemuUser } from "../libvirt-daemon.js";
import { requireProgram } from "../bins.js";
import type { LabGeneration } from "../generation.js";
import { run, type RunResult } from "../clients.js";
import {
  cleanupAtExit,
  cmdlineOf,
  exitPromise,
  isRunning,
  labBaseDir,
  makeLabDir,
  namespaceOf,
  orphanReaper,
  pidsInNamespace,
  readOr,
  readPid,
  removeLabDir,
  safeKill,
  sleep,
  tail,
  waitExit,
} from "../daemon.js";

const NODE_INIT = fileURLToPath(new URL("./node-init.sh", import.meta.url));
const DIR_PREFIX = "kvmha-cluster-";
/** /var/cache/libvirt of every lab libvirtd, as libvirt-daemon.ts shares it (QEMU capability probes cost seconds). */
const LIBVIRT_CACHE = "kvmha-cache-libvirt";
/**
 * pacemaker-remoted, from the Debian package pacemaker-remote that scripts/lab-deps.sh unpacks
 * (it conflicts with pacemaker, so it is never installed); a remote node's /usr/sbin overlay
 * links it.
 */
export const PACEMAKER_REMOTED = "/var/lib/kvmha-lab/pacemaker-remote/usr/sbin/pacemaker-remoted";
const ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C", HOME: "/root" };

export interface NodeSpec {
  name: string;
  address: string;
  /** A Pacemaker Remote node: pacemaker-remoted instead of corosync + pacemakerd (not in corosync's nodelist). */
  remote?: boolean;
}

export interface ClusterNode {
  readonly name: string;
  /** The node's address on the cluster network (its corosync ring0 address). */
  readonly address: string;
  /** Its network namespace (`ip netns` name). */
  readonly netns: string;
  /** A Pacemaker Remote node (pacemaker-remoted), not a corosync member. */
  readonly remote: boolean;
  /** The node's disk (see the layout above). */
  readonly dir: string;
  /** PID 1 of the node's PID namespace as the host sees it; undefined while powered off. */
  readonly initPid: number | undefined;
  /** Its PID 1 runs (false from the moment a power cut killed it). */
  readonly running: boolean;
  /** Start the node's init (corosync, pacemakerd, libvirtd); resolves once init runs. */
  boot(): Promise<void>;
  /** Power cut: SIGKILL the node's PID 1 and wait until no process of the node is left. */
  powerOff(): Promise<void>;
  /** Run a program inside the node's namespaces (network, mount, UTS, PID), bounded. */
  exec(
    program: string,
    args: readonly string[],
    opts?: { killAfterMs?: number; input?: string; env?: NodeJS.ProcessEnv },
  ): Promise<RunResult>;
  /** Like exec(), but throws with the output unless it exits 0; returns stdout. */
  execOk(
    program: string,
    args: readonly string[],
    opts?: { killAfterMs?: number; input?: string },
  ): Promise<string>;
  /** Pacemaker's log (the tail). */
  log(lines?: number): Promise<string>;
  /** SIGKILL this node's processes whose name (comm) matches: a hang or crash of those daemons. Returns their pids. */
  killProcesses(comm: RegExp): number[];
}

export interface Nodes {
  /** The generation the nodes run (undefined: the host's). */
  readonly generation?: LabGeneration;
  readonly dir: string;
  readonly hubNetns: string;
  /** Host path seen by every node at the same place (the lab's "cluster filesystem"). */
  readonly sharedDir: string;
  readonly nodes: readonly ClusterNode[];
  node(name: string): ClusterNode;
  /** Run a program in the hub's network namespace (where the BMCs and PDUs answer), bounded. */
  hubExec(
    program: string,
    args: readonly string[],
    opts?: { killAfterMs?: number },
  ): Promise<RunResult>;
  /** Cut (or restore) a node's cable: its veth end in the hub goes down (up). */
  setLink(name: string, up: boolean): Promise<void>;
  /** Power every node off, delete the namespaces, remove the directory. */
  stop(): Promise<void>;
}

export interface NodesOptions {
  /** Node names and addresses; default node1..node3 at 10.77.0.1..3. */
  nodes?: NodeSpec[];
  /** The network's prefix length; default 24. */
  prefix?: number;
  /** Hub (bridge) addresses, e.g. where BMCs and PDUs answer; each gets `/prefix`. */
  hubAddresses?: string[];
  /** corosync totem token timeout (ms); default 2000. */
  tokenMs?: number;
  /** Extra cluster properties for the seed CIB (name → value). */
  properties?: Record<string, string>;
  /**
   * The lab generation whose corosync, Pacemaker, libvirtd and QEMU the nodes run (generation.ts):
   * Debian 13's run chrooted in its root (node-init.sh). Default the host's.
   */
  generation?: LabGeneration;
}

export const DEFAULT_NODES: readonly NodeSpec[] = Object.freeze([
  { name: "node1", address: "10.77.0.1" },
  { name: "node2", address: "10.77.0.2" },
  { name: "node3", address: "10.77.0.3" },
]);

function readCommSync(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** Pids in the PID namespace `ns` ("pid:[4026...]"), never this process's own namespace. */
export function pidsInPidNs(ns: string): number[] {
  return pidsInNamespace(ns, "pid");
}

/** SIGKILL every process of every node recorded under `dir` (synchronous; for exit and orphan cleanup). */
function killNodesSync(dir: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const ns = (() => {
      try {
        return fs.readFileSync(path.join(dir, n, "pidns"), "utf8").trim();
      } catch {
        return "";
      }
    })();
    if (!/^pid:\[\d+\]$/.test(ns)) continue;
    for (const pid of pidsInPidNs(ns)) safeKill(pid, "SIGKILL");
  }
  // Helpers started by the lab outside the nodes (the hub relay) name the directory.
  const relay = readPid(path.join(dir, "relay.pid"));
  if (relay !== undefined && cmdlineOf(relay).includes(`${dir}/`)) safeKill(relay, "SIGKILL");
}

/** The network namespaces recorded in the lab directory (ours: kvmha-…). */
function recordedNetns(dir: string): string[] {
  try {
    return fs
      .readFileSync(path.join(dir, "netns"), "utf8")
      .split("\n")
      .filter((l) => /^kvmha-[A-Za-z0-9_-]+$/.test(l));
  } catch {
    return [];
  }
}

function deleteNetnsSync(dir: string): void {
  for (const ns of recordedNetns(dir)) {
    // `ip netns delete` unmounts /run/netns/NAME; the namespace dies with its last process.
    spawn("ip", ["netns", "delete", ns], { stdio: "ignore" }).unref();
  }
}

const orphans = orphanReaper(DIR_PREFIX, (dir) => {
  killNodesSync(dir);
  for (const ns of recordedNetns(dir)) {
    try {
      fs.rmSync(`/run/netns/${ns}`); // fails while mounted; ip netns delete below
    } catch {
      // mounted
    }
  }
  deleteNetnsSync(dir);
});

/** Clean up cluster labs left by test processes that died without stop() (done by startNodes too). */
export function reapOrphanClusters(): void {
  orphans.now();
}

async function ipOk(args: readonly string[]): Promise<void> {
  const r = await run(requireProgram("ip"), args, { env: ENV, killAfterMs: 10_000 });
  if (r.code !== 0)
    throw new Error(`ip ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim()}`);
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await fsp.chown(dir, uid, gid);
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await chownTree(p, uid, gid);
    else await fsp.chown(p, uid, gid);
  }
}

function idsOf(user: string, group: string, root = "/"): { uid: number; gid: number } {
  const pw = fs
    .readFileSync(path.join(root, "etc/passwd"), "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${user}:`));
  const gr = fs
    .readFileSync(path.join(root, "etc/group"), "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${group}:`));
  const uid = Number(pw?.split(":")[2]);
  const gid = Number(gr?.split(":")[2]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new Error(
      `user ${user} / group ${group} missing: is pacemaker installed? (scripts/lab-deps.sh)`,
    );
  }
  return { uid, gid };
}

/** /etc/pacemaker/authkey as Pacemaker wants it: root:haclient, 0640. */
async function writeAuthkey(dir: string, key: Buffer, haclient: number): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o750 });
  await fsp.chown(dir, 0, haclient);
  const file = path.join(dir, "authkey");
  await fsp.writeFile(file, key, { mode: 0o640 });
  await fsp.chown(file, 0, haclient);
}

/** Create the hub and the nodes' namespaces and disks, and boot every node. */
export async function startNodes(opts: NodesOptions = {}): Promise<Nodes> {
  const gen = opts.generation;
  const root = gen?.root ?? "/";
  for (const p of ["unshare", "nsenter"] as const) requireProgram(p);
  for (const p of ["ip", "libvirtd", "virsh", "qemu-system-x86_64"] as const)
    if (gen === undefined) requireProgram(p);
    else gen.requireProgram(p);
  for (const p of ["corosync", "pacemakerd", "crm_mon", "cibadmin"]) {
    if (!fs.existsSync(path.join(root, "usr/sbin", p)))
      throw new Error(
        `lab program '${p}' is not installed in ${root} (Debian packages corosync, pacemaker); run ${gen === undefined ? "scripts/lab-deps.sh" : "scripts/lab-root.sh"}`,
      );
  }
  if (process.getuid?.() !== 0) throw new Error("the cluster lab needs root (namespaces, mounts)");
  const specs = opts.nodes ?? DEFAULT_NODES;
  if (specs.some((s) => s.remote) && gen !== undefined)
    throw new Error(
      `a Pacemaker Remote node runs the host's pacemaker-remoted only, not in the ${gen.name} root`,
    );
  if (specs.some((s) => s.remote) && !fs.existsSync(PACEMAKER_REMOTED))
    throw new Error(
      `lab program '${PACEMAKER_REMOTED}' is missing (Debian package pacemaker-remote, unpacked: it conflicts with pacemaker); run scripts/lab-deps.sh`,
    );
  const prefix = opts.prefix ?? 24;
  const tokenMs = opts.tokenMs ?? 2000;
  const hacluster = idsOf("hacluster", "haclient", root);
  const kvmha = agentPath("kvmha");

  const base = labBaseDir();
  orphans.once(base);
  const dir = await makeLabDir(base, DIR_PREFIX, "mount options");
  // Pacemaker's controller (user hacluster) stats the agents through this directory.
  await fsp.chmod(dir, 0o755);
  const tag = path
    .basename(dir)
    .slice(DIR_PREFIX.length)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "x");
  const hubNetns = `kvmha-${tag}-hub`;
  const netnsFile = path.join(dir, "netns");
  const sharedDir = path.join(dir, "shared");
  const created: string[] = [];
  const recordNetns = async (ns: string): Promise<void> => {
    created.push(ns);
    await fsp.appendFile(netnsFile, `${ns}\n`);
  };

  const untrack = cleanupAtExit(() => {
    killNodesSync(dir);
    deleteNetnsSync(dir);
  });

  type NodeState = {
    spec: NodeSpec;
    netns: string;
    dir: string;
    unshare?: ChildProcess;
    exited?: Promise<void>;
    initPid?: number;
    pidns?: string;
  };
  const states: NodeState[] = specs.map((spec) => ({
    spec,
    netns: `kvmha-${tag}-${spec.name}`,
    dir: path.join(dir, spec.name),
  }));

  const stopAll = async (): Promise<void> => {
    await Promise.all(states.map((s) => powerOff(s)));
    for (const ns of created)
      await run(requireProgram("ip"), ["netns", "delete", ns], { env: ENV, killAfterMs: 10_000 });
  };

  async function powerOff(s: NodeState): Promise<void> {
    const { initPid, pidns, exited } = s;
    if (initPid === undefined) return;
    safeKill(initPid, "SIGKILL");
    if (exited) await waitExit(exited, 10_000);
    const deadline = Date.now() + 10_000;
    // The kernel kills the namespace's processes asynchronously after its init dies.
    while (pidns && pidsInPidNs(pidns).length > 0) {
      if (Date.now() > deadline)
        throw new Error(
          `node ${s.spec.name}: processes left in ${pidns} after power off: ${pidsInPidNs(pidns).join(" ")}`,
        );
      for (const pid of pidsInPidNs(pidns)) safeKill(pid, "SIGKILL");
      await sleep(50);
    }
    s.initPid = undefined;
    s.unshare = undefined;
    s.exited = undefined;
  }

  async function boot(s: NodeState): Promise<void> {
    if (s.initPid !== undefined) return;
    const logFd = fs.openSync(path.join(s.dir, "init.log"), "a");
    const child = spawn(
      requireProgram("nsenter"),
      [
        `--net=/run/netns/${s.netns}`,
        "--",
        requireProgram("unshare"),
        "--pid",
        "--fork",
        "--kill-child",
        "--mount",
        "--uts",
        "--propagation",
        "private",
        "--mount-proc",
        "--",
        "/bin/bash",
        NODE_INIT,
        s.dir,
        s.spec.name,
        root,
        s.spec.remote ? "remote" : "member",
      ],
      { cwd: s.dir, stdio: ["ignore", logFd, logFd], env: ENV },
    );
    fs.closeSync(logFd);
    const exited = exitPromise(child);
    s.unshare = child;
    s.exited = exited;
    // nsenter execs unshare (same pid), which forks the namespace's PID 1.
    const deadline = Date.now() + 10_000;
    let init: number | undefined;
    while (
      init === undefined &&
      Date.now() < deadline &&
      child.exitCode === null &&
      child.signalCode === null
    ) {
      const kids = (await readOr(`/proc/${child.pid}/task/${child.pid}/children`)).trim();
      const first = Number(kids.split(/\s+/)[0]);
      if (kids && Number.isInteger(first) && first > 0 && /node-init/.test(cmdlineOf(first)))
        init = first;
      else await sleep(20);
    }
    const pidns = init === undefined ? undefined : namespaceOf(init, "pid");
    if (init === undefined || pidns === undefined || pidns === namespaceOf(process.pid, "pid")) {
      safeKill(child.pid, "SIGKILL");
      await waitExit(exited, 5_000);
      throw new Error(
        `node ${s.spec.name} did not boot\n--- init.log ---\n${tail(await readOr(path.join(s.dir, "init.log")), 30)}`,
      );
    }
    s.initPid = init;
    s.pidns = pidns;
    await fsp.writeFile(path.join(s.dir, "init.pid"), `${init}\n`);
    await fsp.writeFile(path.join(s.dir, "pidns"), `${pidns}\n`);
  }

  try {
    // The hub: a bridge, and its own addresses (BMCs, PDUs answer there).
    await ipOk(["netns", "add", hubNetns]);
    await recordNetns(hubNetns);
    await ipOk(["-n", hubNetns, "link", "set", "lo", "up"]);
    await ipOk(["-n", hubNetns, "link", "add", "br0", "type", "bridge"]);
    await ipOk(["-n", hubNetns, "link", "set", "br0", "up"]);
    for (const a of opts.hubAddresses ?? [])
      await ipOk(["-n", hubNetns, "addr", "add", `${a}/${prefix}`, "dev", "br0"]);

    await fsp.mkdir(path.join(dir, "agents"));
    await fsp.copyFile(kvmha, path.join(dir, "agents", "kvmha"));
    await fsp.chmod(path.join(dir, "agents", "kvmha"), 0o755);
    await fsp.mkdir(sharedDir);
    await fsp.writeFile(
      path.join(dir, "hosts"),
      `127.0.0.1 localhost\n${specs.map((n) => `${n.address} ${n.name}`).join("\n")}\n`,
    );
    const passwd = withQemuUser(await readOr(path.join(root, "etc/passwd")), "passwd");
    const group = withQemuUser(await readOr(path.join(root, "etc/group")), "group");
    const cache = path.join(
      base,
      gen === undefined ? LIBVIRT_CACHE : `${LIBVIRT_CACHE}-${gen.name}`,
    );
    await fsp.mkdir(cache, { recursive: true });
    const properties = { "dc-deadtime": "5s", "stonith-enabled": "false", ...opts.properties };
    // Pacemaker Remote's shared key (members' controllers and pacemaker-remoted alike).
    const authkey = randomBytes(4096);

    for (const [i, s] of states.entries()) {
      await ipOk(["netns", "add", s.netns]);
      await recordNetns(s.netns);
      await ipOk([
        "-n",
        hubNetns,
        "link",
        "add",
        s.spec.name,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        s.netns,
      ]);
      await ipOk(["-n", hubNetns, "link", "set", s.spec.name, "master", "br0", "up"]);
      await ipOk(["-n", s.netns, "addr", "add", `${s.spec.address}/${prefix}`, "dev", "eth0"]);
      await ipOk(["-n", s.netns, "link", "set", "eth0", "up"]);

      const d = s.dir;
      for (const sub of [
        "etc/corosync",
        "lib/corosync",
        "lib/pacemaker/cib",
        "lib/pacemaker/pengine",
        "lib/pacemaker/blackbox",
        "lib/pacemaker/cores",
        "log/pacemaker",
        "log/cluster",
        "log/libvirt/qemu",
        "ovl/sbin",
        "ovl/sbin.work",
        "ovl/ocf/kvmha",
        "ovl/ocf.work",
        "libvirt/etc",
        "libvirt/lib",
      ]) {
        await fsp.mkdir(path.join(d, sub), { recursive: true });
      }
      await fsp.writeFile(path.join(d, "etc/corosync/corosync.conf"), corosyncConf(specs, tokenMs));
      await writeAuthkey(path.join(d, "etc/pacemaker"), authkey, hacluster.gid);
      await fsp.writeFile(path.join(d, "lib/pacemaker/cib/cib.xml"), seedCib(properties), {
        mode: 0o600,
      });
      await chownTree(path.join(d, "lib/pacemaker"), hacluster.uid, hacluster.gid);
      await chownTree(path.join(d, "log/pacemaker"), hacluster.uid, hacluster.gid);
      await fsp.writeFile(
        path.join(d, "libvirt/etc/libvirtd.conf"),
        libvirtdConf({
          hostUuid: `6b766d68-612d-4c61-8200-${String(i + 1).padStart(12, "0")}`,
          listenTcp: { address: s.spec.address },
        }),
      );
      await fsp.writeFile(
        path.join(d, "libvirt/etc/qemu.conf"),
        qemuConf({ migrationAddress: s.spec.address }),
      );
      await fsp.writeFile(path.join(d, "libvirt/etc/libvirt.conf"), "# kvmha cluster lab\n");
      await fsp.symlink(cache, path.join(d, "libvirt/cache"));
      await fsp.writeFile(path.join(d, "passwd"), passwd);
      await fsp.writeFile(path.join(d, "group"), group);
      // The agents, as a package would install them: links to the multi-call binary.
      const bin = path.join(dir, "agents", "kvmha");
      for (const a of ["fence_ipmi", "fence_pdu", "fence_redfish"])
        await fsp.symlink(bin, path.join(d, "ovl/sbin", a));
      await fsp.symlink(bin, path.join(d, "ovl/ocf/kvmha/VirtualDomain"));
      if (s.spec.remote)
        await fsp.symlink(PACEMAKER_REMOTED, path.join(d, "ovl/sbin/pacemaker-remoted"));
    }
    for (const s of states) await boot(s);
  } catch (err) {
    await stopAll().catch(() => undefined);
    untrack();
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }

  const nsenterArgs = (s: NodeState): string[] => {
    if (s.initPid === undefined) throw new Error(`node ${s.spec.name} is powered off`);
    // In a generation's root: the node's init's root (and working directory) too.
    return [
      "-t",
      String(s.initPid),
      "-n",
      "-m",
      "-u",
      "-p",
      ...(gen === undefined ? [] : ["-r", "-w"]),
      "--",
    ];
  };

  const nodes: ClusterNode[] = states.map((s) => {
    const exec: ClusterNode["exec"] = (program, args, o = {}) =>
      run(requireProgram("nsenter"), [...nsenterArgs(s), program, ...args], {
        env: { ...ENV, ...o.env },
        killAfterMs: o.killAfterMs ?? 30_000,
        ...(o.input === undefined ? {} : { input: o.input }),
      });
    return {
      name: s.spec.name,
      address: s.spec.address,
      netns: s.netns,
      remote: s.spec.remote === true,
      dir: s.dir,
      get initPid() {
        return s.initPid;
      },
      get running() {
        // Not just "not yet cleaned up": a killed PID 1 is not running.
        return s.initPid !== undefined && isRunning(s.initPid);
      },
      boot: () => boot(s),
      powerOff: () => powerOff(s),
      exec,
      async execOk(program, args, o = {}) {
        const r = await exec(program, args, o);
        if (r.code !== 0) {
          throw new Error(
            `on ${s.spec.name}: ${program} ${args.join(" ")} failed (exit ${r.code}${r.timedOut ? ", timed out" : ""}): ${r.stderr.trim() || r.stdout.trim()}`,
          );
        }
        return r.stdout;
      },
      killProcesses(comm) {
        if (s.pidns === undefined || s.initPid === undefined) return [];
        const pids = pidsInPidNs(s.pidns).filter(
          (pid) => pid !== s.initPid && comm.test(readCommSync(pid)),
        );
        for (const pid of pids) safeKill(pid, "SIGKILL");
        return pids;
      },
      async log(lines = 60) {
        return tail(await readOr(path.join(s.dir, "log/pacemaker/pacemaker.log")), lines);
      },
    };
  });

  let stopped: Promise<void> | undefined;
  return {
    ...(gen === undefined ? {} : { generation: gen }),
    dir,
    hubNetns,
    sharedDir,
    nodes,
    node(name) {
      const n = nodes.find((x) => x.name === name);
      if (!n) throw new Error(`no node '${name}' in the lab`);
      return n;
    },
    hubExec: (program, args, o = {}) =>
      run(requireProgram("nsenter"), [`--net=/run/netns/${hubNetns}`, "--", program, ...args], {
        env: ENV,
        killAfterMs: o.killAfterMs ?? 30_000,
      }),
    async setLink(name, up) {
      await ipOk(["-n", hubNetns, "link", "set", name, up ? "up" : "down"]);
    },
    stop() {
      stopped ??= (async () => {
        await stopAll();
        untrack();
        await removeLabDir(dir);
      })();
      return stopped;
    },
  };
}
