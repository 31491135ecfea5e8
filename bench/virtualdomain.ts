// Why one file: every comparison runs on the one private libvirtd and guest it starts, in one
// hyperfine run.
/**
 * ocf:kvmha:VirtualDomain (dist/bin/VirtualDomain) against ocf:heartbeat:VirtualDomain
 * (resource-agents) on the same QEMU (TCG) guest of a private lab libvirtd, in one run:
 *
 * - monitor (hyperfine): heartbeat with its defaults, without a CIB, with utilization off, and
 *   ours; CPU time (user + system of the agent and its children) beside the wall time;
 * - processes spawned per monitor, counted apart from the timing (strace -f of two monitors; ours
 *   spawns none where libvirtd's socket is local: lib/libvirt/remote.ts);
 * - libvirtd's own CPU time per monitor (its /proc stat over a loop of monitors), the CPU time of
 *   the pieces of our monitor, and where one of ours spends its wall time (strace -ttt);
 * - start and stop (graceful ACPI shutdown, force_stop) of the same guest (hyperfine, the guest
 *   destroyed or booted again before every run, untimed);
 * - live migration back and forth between the two-node netns lab (docs/lab.md), both agents in
 *   turn on the same guest.
 *
 * Heartbeat's monitor reads and sets the resource's utilization with crm_resource. Both agents get
 * a CIB_file holding the resource, so they do what they do on a cluster node once the values are
 * recorded (heartbeat: three crm_resource reads, no write; ours: nothing); the "no CIB" rows show
 * what they do where no CIB answers. Parts: `node --import tsx bench/virtualdomain.ts [monitor]
 * [startstop] [migration]`
 * (default all). Needs `npm run build` and root.
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { agentPath } from "../test/lab/agents.js";
import { findProgram, missingProgram, requireProgram } from "../test/lab/bins.js";
import { type Libvirt, startLibvirt } from "../test/lab/libvirt-daemon.js";
import { defineGuest, type Guest } from "../test/lab/libvirt-guest.js";
import { type BenchCase, benchmark, saveResult } from "./hyperfine.js";
import { messageOf } from "../lib/errors.js";

const HEARTBEAT = "/usr/lib/ocf/resource.d/heartbeat/VirtualDomain";
const INSTANCE = "vd-bench";
const AGENT_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
const PARTS = ["monitor", "startstop", "migration"] as const;
type Part = (typeof PARTS)[number];

type Env = Record<string, string>;

/** One way of running an agent: program and the environment it gets beyond the common one. */
interface Variant {
  readonly label: string;
  readonly program: string;
  readonly env: Env;
}

const shq = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;
const command = (v: Variant, action: string, extra: Env = {}): string =>
  [
    ...Object.entries({ ...v.env, ...extra }).map(([k, val]) => `${k}=${shq(val)}`),
    v.program,
    action,
  ].join(" ");

function requireFile(file: string, pkg: string): string {
  if (!fs.existsSync(file)) throw missingProgram(file, pkg);
  return file;
}

function requireExtra(name: string, pkg: string): string {
  const found = findProgram(name);
  if (found === undefined) throw missingProgram(name, pkg);
  return found;
}

const UTILIZATION_OFF: Env = {
  OCF_RESKEY_autoset_utilization_cpu: "false",
  OCF_RESKEY_autoset_utilization_host_memory: "false",
  OCF_RESKEY_autoset_utilization_hv_memory: "false",
};

/** A CIB holding only the resource (crm_resource fills its utilization on heartbeat's first monitor). */
function writeCib(file: string): void {
  const empty = execFileSync(requireExtra("cibadmin", "pacemaker-cli-utils"), ["--empty"], {
    encoding: "utf8",
  });
  const primitive = `<resources>\n      <primitive id="${INSTANCE}" class="ocf" provider="heartbeat" type="VirtualDomain"/>\n    </resources>`;
  if (!empty.includes("<resources/>"))
    throw new Error(`cibadmin --empty gave no <resources/>: ${empty}`);
  fs.writeFileSync(file, empty.replace("<resources/>", primitive));
}

// --- counting processes (strace) ---

export interface SpawnCount {
  /** fork, vfork, clone and clone3 that made a process (not a thread). */
  processes: number;
  /** Programs executed by those processes (the traced agent's own exec excluded), in order. */
  programs: string[];
}

/** Reads an `strace -f -e trace=execve,clone,clone3,fork,vfork` log. */
export function countSpawns(trace: string): SpawnCount {
  interface Call {
    call: string;
    thread: boolean;
    program?: string;
  }
  const pending = new Map<string, Call>();
  let processes = 0;
  const programs: string[] = [];
  let first: string | undefined;
  let topExecSeen = false;
  const finish = (pid: string, c: Call, rest: string): void => {
    const m = /=\s+(-?\d+)(?:\s|$)[^=]*$/.exec(rest);
    if (m === null || Number(m[1]) < 0) return; // failed (e.g. execve ENOENT while searching PATH)
    if (c.call === "execve") {
      if (pid === first && !topExecSeen) topExecSeen = true;
      else programs.push(path.basename(c.program ?? "?"));
    } else if (!c.thread) processes++;
  };
  for (const line of trace.split("\n")) {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const [, pid, rest] = m as unknown as [string, string, string];
    first ??= pid;
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    if (resumed !== null) {
      const c = pending.get(pid);
      pending.delete(pid);
      if (c !== undefined) finish(pid, c, resumed[2]!);
      continue;
    }
    const call = /^(execve|clone3?|v?fork)\((.*)$/.exec(rest);
    if (call === null) continue;
    const c: Call = {
      call: call[1]!,
      thread: /CLONE_THREAD/.test(rest),
      ...(call[1] === "execve" ? { program: /^"([^"]*)"/.exec(call[2]!)?.[1] } : {}),
    };
    if (rest.endsWith("<unfinished ...>")) pending.set(pid, c);
    else finish(pid, c, rest);
  }
  return { processes, programs };
}

function summarize(programs: readonly string[]): string {
  const n = new Map<string, number>();
  for (const p of programs) n.set(p, (n.get(p) ?? 0) + 1);
  return [...n].map(([p, k]) => (k === 1 ? p : `${p} ×${k}`)).join(", ") || "none";
}

function straceOnce(
  strace: string,
  dir: string,
  env: Env,
  v: Variant,
  action: string,
  extra: Env,
): SpawnCount {
  const file = path.join(dir, "strace.log");
  const r = spawnSync(
    strace,
    [
      "-f",
      "-qq",
      "-e",
      "trace=execve,clone,clone3,fork,vfork",
      "-e",
      "signal=none",
      "-o",
      file,
      v.program,
      action,
    ],
    {
      env: { ...env, ...v.env, ...extra },
      encoding: "utf8",
      timeout: 60_000,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  if (r.status !== 0)
    throw new Error(`${v.label} ${action} under strace: exit ${r.status ?? r.signal}: ${r.stderr}`);
  const count = countSpawns(fs.readFileSync(file, "utf8"));
  fs.rmSync(file);
  return count;
}

/**
 * Where one run's wall time goes, from an `strace -f -ttt` log that also traces exit_group: from
 * the agent's exec to its first child, each child's life (spawn to exit, named by what it ran), and
 * from the last child's exit to the agent's own exit. strace slows every traced call: indicative.
 */
export function timeline(trace: string): string {
  interface Child {
    spawned: number;
    program?: string;
    exited?: number;
  }
  let top: string | undefined;
  let t0 = 0;
  let end: number | undefined;
  const children = new Map<string, Child>();
  const pendingClone = new Map<string, boolean>();
  const spawnedBy = (pid: string, rest: string, ts: number, thread: boolean): void => {
    const m = /=\s+(\d+)\s*$/.exec(rest);
    if (m !== null && !thread) children.set(m[1]!, { spawned: ts });
  };
  for (const line of trace.split("\n")) {
    const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const [, pid, tsText, rest] = m as unknown as [string, string, string, string];
    const ts = Number(tsText) * 1000;
    if (top === undefined) {
      top = pid;
      t0 = ts;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    if (resumed !== null) {
      if (pendingClone.has(pid)) {
        spawnedBy(pid, resumed[2]!, ts, pendingClone.get(pid)!);
        pendingClone.delete(pid);
      }
      continue;
    }
    if (/^(clone3?|v?fork)\(/.test(rest)) {
      const thread = /CLONE_THREAD/.test(rest);
      if (rest.endsWith("<unfinished ...>")) pendingClone.set(pid, thread);
      else spawnedBy(pid, rest, ts, thread);
    } else if (rest.startsWith("execve(")) {
      const c = children.get(pid);
      const prog = /^execve\("([^"]*)"/.exec(rest)?.[1];
      if (c !== undefined && prog !== undefined && !/= -1/.test(rest))
        c.program = path.basename(prog);
    } else if (rest.startsWith("exit_group(")) {
      if (pid === top) end = ts;
      const c = children.get(pid);
      if (c !== undefined) c.exited = ts;
    }
  }
  if (end === undefined) return "(no exit seen)";
  const list = [...children.values()].sort((a, b) => a.spawned - b.spawned);
  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  const parts: string[] = [];
  let at = t0;
  for (const c of list) {
    parts.push(`${ms(c.spawned - at)} before ${c.program ?? "a child"}`);
    const exited = c.exited ?? c.spawned;
    parts.push(`${c.program ?? "child"} ${ms(exited - c.spawned)}`);
    at = Math.max(at, exited);
  }
  parts.push(`${ms(end - at)} ${list.length === 0 ? "in all" : "after the last child"}`);
  return `${parts.join(", ")} (total ${ms(end - t0)} under strace)`;
}

function straceTimeline(
  strace: string,
  dir: string,
  env: Env,
  v: Variant,
  action: string,
  extra: Env,
): string {
  const file = path.join(dir, "strace-t.log");
  const r = spawnSync(
    strace,
    [
      "-f",
      "-qq",
      "-ttt",
      "-e",
      "trace=execve,clone,clone3,fork,vfork,exit_group",
      "-e",
      "signal=none",
      "-o",
      file,
      v.program,
      action,
    ],
    {
      env: { ...env, ...v.env, ...extra },
      encoding: "utf8",
      timeout: 60_000,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  if (r.status !== 0)
    throw new Error(`${v.label} ${action} under strace: exit ${r.status ?? r.signal}: ${r.stderr}`);
  const t = timeline(fs.readFileSync(file, "utf8"));
  fs.rmSync(file);
  return t;
}

// --- CPU time of libvirtd and of the agent over a loop ---

function clockTicks(): number {
  const t = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  return Number.isFinite(t) && t > 0 ? t : 100;
}

/** utime + stime of a process (all its threads), in ms. */
function processCpuMs(pid: number, ticks: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
}

/** bash's `times` second line (children's user and system time), in ms. */
function childrenCpuMs(times: string): number {
  const lines = times.trim().split("\n");
  const m = /(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? "");
  if (m === null) throw new Error(`cannot read bash's times: ${JSON.stringify(times)}`);
  return (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
}

interface LoopCpu {
  agentMs: number;
  libvirtdMs: number;
}

/** `runs` monitors in a row: the agents' CPU (bash's times) and libvirtd's (its /proc stat), per run. */
function cpuLoop(
  env: Env,
  v: Variant,
  action: string,
  extra: Env,
  runs: number,
  libvirtdPid: number,
  ticks: number,
): LoopCpu {
  const before = processCpuMs(libvirtdPid, ticks);
  const r = spawnSync(
    "bash",
    [
      "-c",
      `for i in $(seq ${runs}); do ${command(v, action, extra)} >/dev/null 2>&1 || exit 9; done; times`,
    ],
    {
      env,
      encoding: "utf8",
      timeout: 300_000,
    },
  );
  const after = processCpuMs(libvirtdPid, ticks);
  if (r.status !== 0) throw new Error(`${v.label} ${action} loop: exit ${r.status ?? r.signal}`);
  return { agentMs: childrenCpuMs(r.stdout) / runs, libvirtdMs: (after - before) / runs };
}

/**
 * What monitoring costs a dense host: CPU seconds per hour for 100 guests monitored every 10 s
 * (36,000 monitors an hour), the agent's CPU and libvirtd's for it.
 */
export function density(rows: readonly [string, LoopCpu][]): string {
  const perHour = 100 * (3600 / 10);
  const lines = [
    "Density: 100 guests monitored every 10 s (36,000 monitors an hour), CPU per monitor from the loops above:",
    "",
    "| agent | agent CPU per monitor | libvirtd CPU per monitor | CPU s per hour | of one core |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  for (const [label, cpu] of rows) {
    const seconds = ((cpu.agentMs + cpu.libvirtdMs) * perHour) / 1000;
    lines.push(
      `| ${label} | ${cpu.agentMs.toFixed(1)} ms | ${cpu.libvirtdMs.toFixed(1)} ms | **${seconds.toFixed(0)} s** | ${((seconds / 3600) * 100).toFixed(1)}% |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

// --- statistics ---

function meanSd(xs: readonly number[]): string {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd =
    xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return `${mean.toFixed(0)} ± ${sd.toFixed(0)} ms`;
}
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

function versions(): string {
  const pkg = (p: string): string => {
    const r = spawnSync("dpkg-query", ["-W", "-f", "${Version}", p], { encoding: "utf8" });
    return r.status === 0 ? r.stdout.trim() : "?";
  };
  return `resource-agents ${pkg("resource-agents")}, libvirt ${pkg("libvirt-daemon")}, QEMU ${pkg("qemu-system-x86")}, pacemaker-cli-utils ${pkg("pacemaker-cli-utils")}`;
}

// --- one node: monitor, start, stop ---

async function singleNode(parts: ReadonlySet<Part>, dir: string, cib: string): Promise<string> {
  const ours = agentPath("VirtualDomain");
  const strace = requireExtra("strace", "strace");
  const virsh = requireProgram("virsh");
  const ticks = clockTicks();
  const lv = await startLibvirt();
  let out = "";
  try {
    const g = await defineGuest(lv, { name: INSTANCE, memoryMb: 128, define: false });
    const common: Env = {
      PATH: AGENT_PATH,
      LC_ALL: "C",
      HOME: dir,
      OCF_ROOT: "/usr/lib/ocf",
      OCF_RA_VERSION_MAJOR: "1",
      OCF_RA_VERSION_MINOR: "1",
      OCF_RESOURCE_INSTANCE: INSTANCE,
      OCF_RESOURCE_TYPE: "VirtualDomain",
      OCF_RESKEY_config: g.xmlFile,
      OCF_RESKEY_hypervisor: lv.uri,
    };
    const rsctmp = (who: string): string => {
      const d = path.join(dir, `rsctmp-${who}`);
      fs.mkdirSync(d, { recursive: true });
      return d;
    };
    const ref: Variant = {
      label: "heartbeat (defaults, CIB_file)",
      program: HEARTBEAT,
      env: { HA_RSCTMP: rsctmp("ref"), CIB_file: cib },
    };
    const refNoCib: Variant = {
      label: "heartbeat (defaults, no CIB)",
      program: HEARTBEAT,
      env: { HA_RSCTMP: rsctmp("ref") },
    };
    const refOff: Variant = {
      label: "heartbeat (utilization off)",
      program: HEARTBEAT,
      env: { HA_RSCTMP: rsctmp("ref"), ...UTILIZATION_OFF },
    };
    const mine: Variant = {
      label: "kvmha (CIB_file)",
      program: ours,
      env: { HA_RSCTMP: rsctmp("ours"), CIB_file: cib },
    };
    const mineNoCib: Variant = {
      label: "kvmha (no CIB)",
      program: ours,
      env: { HA_RSCTMP: rsctmp("ours-nocib") },
    };
    const monitorEnv: Env = {
      OCF_RESKEY_CRM_meta_timeout: "30000",
      OCF_RESKEY_CRM_meta_interval: "10000",
    };
    const opEnv: Env = { OCF_RESKEY_CRM_meta_timeout: "90000", OCF_RESKEY_CRM_meta_interval: "0" };
    const run = (v: Variant, action: string, extra: Env): { code: number | null; text: string } => {
      const r = spawnSync(v.program, [action], {
        env: { ...common, ...v.env, ...extra },
        encoding: "utf8",
        timeout: 120_000,
      });
      return { code: r.status, text: `${r.stdout}${r.stderr}` };
    };
    const mustRun = (v: Variant, action: string, extra: Env): void => {
      const r = run(v, action, extra);
      if (r.code !== 0) throw new Error(`${v.label} ${action}: exit ${r.code}: ${r.text}`);
    };

    // The guest runs (started by our agent); both agents must see it running before anything is timed.
    mustRun(mine, "start", opEnv);
    await g.waitForUptime(1, 60_000);
    for (const v of [ref, refNoCib, refOff, mine, mineNoCib]) mustRun(v, "monitor", monitorEnv);

    const virshCmd = `${virsh} -q -c ${shq(lv.uri)}`;
    if (parts.has("monitor")) {
      const monitors: BenchCase[] = [
        {
          name: "monitor: heartbeat defaults (utilization via CIB_file)",
          reference: command(ref, "monitor", monitorEnv),
          ours: command(mine, "monitor", monitorEnv),
          runs: 30,
        },
        {
          name: "monitor: heartbeat defaults, no CIB answering",
          reference: command(refNoCib, "monitor", monitorEnv),
          ours: command(mineNoCib, "monitor", monitorEnv),
          runs: 20,
        },
        {
          name: "monitor: heartbeat with utilization off",
          reference: command(refOff, "monitor", monitorEnv),
          ours: command(mine, "monitor", monitorEnv),
          runs: 30,
        },
      ];
      out += `${benchmark({ title: "VirtualDomain monitor, one running QEMU (TCG) guest", referenceName: "heartbeat", oursName: "kvmha", cases: monitors, env: common, cpu: true })}\n`;
      // Counted apart from the timing: strace slows what it traces.
      out +=
        "Processes spawned by one monitor, two monitors traced (strace -f: forks, vforks and clones that are not threads; successful execve other than the agent's own), the programs they ran, and CPU per monitor over a loop of 20 (bash's `times` for the agent and its children; libvirtd's /proc stat for the daemon):\n\n";
      out +=
        "| agent | processes (forks) | programs run (execve) | which | agent CPU | libvirtd CPU |\n| --- | ---: | ---: | --- | ---: | ---: |\n";
      const loops = new Map<Variant, LoopCpu>();
      for (const v of [ref, refNoCib, refOff, mine, mineNoCib]) {
        const [a, b] = [
          straceOnce(strace, dir, common, v, "monitor", monitorEnv),
          straceOnce(strace, dir, common, v, "monitor", monitorEnv),
        ];
        const n =
          a.processes === b.processes ? String(a.processes) : `${a.processes} / ${b.processes}`;
        const e =
          a.programs.length === b.programs.length
            ? String(a.programs.length)
            : `${a.programs.length} / ${b.programs.length}`;
        const cpu = cpuLoop(common, v, "monitor", monitorEnv, 20, lv.pid, ticks);
        loops.set(v, cpu);
        out += `| ${v.label} | ${n} | ${e} | ${summarize(a.programs)} | ${cpu.agentMs.toFixed(1)} ms | ${cpu.libvirtdMs.toFixed(1)} ms |\n`;
      }
      out += `\n${density([ref, refOff, mine].map((v) => [v.label, loops.get(v) as LoopCpu]))}`;
      // The pieces of our monitor, in CPU time (less noisy than wall time on a shared machine).
      const pieces: [string, Variant, string][] = [
        [
          "runtime alone (`kvmha --version`)",
          { label: "", program: path.join(path.dirname(ours), "kvmha"), env: {} },
          "--version",
        ],
        [
          "`VirtualDomain meta-data` (+ the agent's modules, not in the startup snapshot)",
          mine,
          "meta-data",
        ],
        [
          "`virsh domstate --reason` alone (what the monitor asks over libvirtd's socket instead)",
          { label: "", program: virsh, env: {} },
          `-q -c ${shq(lv.uri)} domstate --reason ${INSTANCE}`,
        ],
      ];
      out += "\nCPU of the pieces of a kvmha monitor (loop of 20): ";
      out += pieces
        .map(
          ([what, v, action]) =>
            `${what} ${cpuLoop(common, v, action, {}, 20, lv.pid, ticks).agentMs.toFixed(1)} ms`,
        )
        .join("; ");
      out += `\n\nWhere one kvmha monitor's time goes (strace -f -ttt, CIB_file): ${straceTimeline(strace, dir, common, mine, "monitor", monitorEnv)}.\n`;
      out += `The same for meta-data (no child): ${straceTimeline(strace, dir, common, mine, "meta-data", {})}; `;
      const runtime: Variant = {
        label: "kvmha --version",
        program: path.join(path.dirname(ours), "kvmha"),
        env: {},
      };
      out += `the runtime alone (\`kvmha --version\`): ${straceTimeline(strace, dir, common, runtime, "--version", {})}.\n\n`;
    }
    if (parts.has("startstop")) {
      // Untimed preparations with bounded waits: the guest gone, or created (and for a graceful
      // stop booted far enough that the ACPI power button is heard: its first uptime line comes
      // after acpid starts).
      const gone = `${virshCmd} destroy ${INSTANCE} >/dev/null 2>&1; timeout 30 sh -c ${shq(`while ${virshCmd} domstate ${INSTANCE} >/dev/null 2>&1; do sleep 0.1; done`)}`;
      const created = `${gone}; ${virshCmd} create ${shq(g.xmlFile)} >/dev/null`;
      const booted = `${created} && timeout 60 sh -c ${shq(`until grep -q '^kvmha-guest uptime' ${shq(g.consoleLog)}; do sleep 0.1; done`)}`;
      const force: Env = { ...opEnv, OCF_RESKEY_force_stop: "1" };
      const cases: BenchCase[] = [
        {
          name: "start",
          reference: command(ref, "start", opEnv),
          ours: command(mine, "start", opEnv),
          prepare: gone,
          runs: 5,
          warmup: 1,
        },
        {
          name: "stop (graceful, ACPI)",
          reference: command(ref, "stop", opEnv),
          ours: command(mine, "stop", opEnv),
          prepare: booted,
          runs: 3,
          warmup: 0,
        },
        {
          name: "stop (force_stop=1)",
          reference: command(ref, "stop", force),
          ours: command(mine, "stop", force),
          prepare: created,
          runs: 5,
          warmup: 0,
        },
      ];
      out += `${benchmark({ title: "VirtualDomain start and stop, one QEMU (TCG) guest (destroyed, or created and booted, before every run, untimed)", referenceName: "heartbeat", oursName: "kvmha", cases, env: common, cpu: true })}\n`;
    }
  } finally {
    await lv.stop();
  }
  return out;
}

// --- two nodes: live migration ---

interface Timed {
  code: number | null;
  ms: number;
  cpuMs: number;
  err: string;
}

/** The agent inside node `lv`'s namespaces, timed by bash there (wall and children's CPU). */
async function timedIn(lv: Libvirt, program: string, action: string, env: Env): Promise<Timed> {
  const script =
    't0=$EPOCHREALTIME; "$@" >&2; rc=$?; t1=$EPOCHREALTIME; echo "wall $t0 $t1"; times; exit $rc';
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const r = await lv.exec("bash", ["-c", script, "timed", "env", ...vars, program, action], {
    killAfterMs: 180_000,
  });
  const wall = /wall (\d+\.\d+) (\d+\.\d+)/.exec(r.stdout);
  if (wall === null)
    throw new Error(`${program} ${action}: no timing (exit ${r.code}): ${r.stdout}${r.stderr}`);
  return {
    code: r.code,
    ms: (Number(wall[2]) - Number(wall[1])) * 1000,
    cpuMs: childrenCpuMs(r.stdout.slice(r.stdout.indexOf("wall"))),
    err: r.stderr,
  };
}

async function migration(dir: string, cib: string): Promise<string> {
  const ours = agentPath("VirtualDomain");
  const ip = requireProgram("ip");
  const tag = process.pid;
  const nsA = `kvmha-vdb-${tag}-a`;
  const nsB = `kvmha-vdb-${tag}-b`;
  const devA = `vdb${tag}a`;
  const devB = `vdb${tag}b`;
  // Not the migrate test's 10.78.0.0/24 nor the lab test's 10.77: they may run meanwhile.
  const addr = { A: "10.79.0.1", B: "10.79.0.2" };
  const ipRun = (...args: string[]): void => {
    execFileSync(ip, args, { stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
  };
  const nodes: Libvirt[] = [];
  try {
    ipRun("netns", "add", nsA);
    ipRun("netns", "add", nsB);
    ipRun("link", "add", devA, "netns", nsA, "type", "veth", "peer", "name", devB, "netns", nsB);
    ipRun("-n", nsA, "addr", "add", `${addr.A}/24`, "dev", devA);
    ipRun("-n", nsB, "addr", "add", `${addr.B}/24`, "dev", devB);
    for (const [ns, dev] of [
      [nsA, devA],
      [nsB, devB],
    ] as const) {
      ipRun("-n", ns, "link", "set", "lo", "up");
      ipRun("-n", ns, "link", "set", dev, "up");
    }
    nodes.push(await startLibvirt({ netns: nsA, listenTcp: { address: addr.A } }));
    nodes.push(await startLibvirt({ netns: nsB, listenTcp: { address: addr.B } }));
    const [A, B] = nodes as [Libvirt, Libvirt];
    const g: Guest = await defineGuest(A, {
      name: `${INSTANCE}-mig`,
      memoryMb: 128,
      define: false,
    });
    // What Pacemaker gives either node (inside the node, qemu:///system is its own libvirtd).
    const base: Env = {
      PATH: AGENT_PATH,
      LC_ALL: "C",
      OCF_ROOT: "/usr/lib/ocf",
      OCF_RESOURCE_INSTANCE: INSTANCE,
      OCF_RESOURCE_TYPE: "VirtualDomain",
      OCF_RESKEY_config: g.xmlFile,
      OCF_RESKEY_hypervisor: "qemu:///system",
      OCF_RESKEY_migration_transport: "tcp",
      OCF_RESKEY_migrateuri: "tcp://%n",
    };
    const rsctmp = (node: string, who: string): string => {
      const d = path.join(dir, `mig-${node}-${who}`);
      fs.mkdirSync(d, { recursive: true });
      return d;
    };
    const agents = {
      heartbeat: {
        program: HEARTBEAT,
        extra: (node: string): Env => ({ HA_RSCTMP: rsctmp(node, "ref"), CIB_file: cib }),
      },
      kvmha: { program: ours, extra: (node: string): Env => ({ HA_RSCTMP: rsctmp(node, "ours") }) },
    };
    const start = await timedIn(A, ours, "start", {
      ...base,
      ...agents.kvmha.extra("A"),
      OCF_RESKEY_CRM_meta_timeout: "90000",
    });
    if (start.code !== 0) throw new Error(`start on A: exit ${start.code}: ${start.err}`);
    await g.waitForUptime(2, 60_000);

    type Who = keyof typeof agents;
    const samples: Record<
      Who,
      { to: number[]; toCpu: number[]; from: number[]; fromCpu: number[] }
    > = {
      heartbeat: { to: [], toCpu: [], from: [], fromCpu: [] },
      kvmha: { to: [], toCpu: [], from: [], fromCpu: [] },
    };
    let here: "A" | "B" = "A";
    const lab = { A, B };
    const migrate = async (who: Who): Promise<void> => {
      const there = here === "A" ? "B" : "A";
      const a = agents[who];
      const to = await timedIn(lab[here], a.program, "migrate_to", {
        ...base,
        ...a.extra(here),
        OCF_RESKEY_CRM_meta_timeout: "120000",
        OCF_RESKEY_CRM_meta_migrate_target: addr[there],
        OCF_RESKEY_CRM_meta_migrate_source: addr[here],
      });
      if (to.code !== 0)
        throw new Error(`${who} migrate_to ${here}→${there}: exit ${to.code}: ${to.err}`);
      const from = await timedIn(lab[there], a.program, "migrate_from", {
        ...base,
        ...a.extra(there),
        OCF_RESKEY_CRM_meta_timeout: "60000",
        OCF_RESKEY_CRM_meta_migrate_target: addr[there],
        OCF_RESKEY_CRM_meta_migrate_source: addr[here],
      });
      if (from.code !== 0)
        throw new Error(`${who} migrate_from ${here}→${there}: exit ${from.code}: ${from.err}`);
      samples[who].to.push(to.ms);
      samples[who].toCpu.push(to.cpuMs);
      samples[who].from.push(from.ms);
      samples[who].fromCpu.push(from.cpuMs);
      process.stderr.write(
        `bench: ${who} migration ${here}→${there}: migrate_to ${to.ms.toFixed(0)} ms, migrate_from ${from.ms.toFixed(0)} ms\n`,
      );
      here = there;
    };
    // Each agent there and back, twice; the order alternates so neither always goes first.
    for (const order of [
      ["heartbeat", "kvmha"],
      ["kvmha", "heartbeat"],
    ] as const) {
      for (const who of order) {
        await migrate(who);
        await migrate(who);
      }
    }
    const up = await g.uptime();
    const s = samples;
    const row = (name: string, key: "to" | "from", cpuKey: "toCpu" | "fromCpu"): string =>
      `| ${name} | ${meanSd(s.heartbeat[key])} | ${meanSd(s.kvmha[key])} | ${(mean(s.kvmha[key]) / mean(s.heartbeat[key])).toFixed(3)}× | ${mean(s.heartbeat[cpuKey]).toFixed(0)} ms | ${mean(s.kvmha[cpuKey]).toFixed(0)} ms |`;
    return (
      `Live migration of one 128 MiB TCG guest between two lab nodes (netns + veth, libvirtd on TCP), ${s.kvmha.to.length} migrations per agent (A→B and back, twice; timed by bash in the node's namespaces)\n\n` +
      "| operation | heartbeat (mean ± sd) | kvmha (mean ± sd) | ratio | CPU heartbeat | CPU kvmha |\n| --- | ---: | ---: | ---: | ---: | ---: |\n" +
      `${row("migrate_to (source)", "to", "toCpu")}\n${row("migrate_from (target)", "from", "fromCpu")}\n\n` +
      `The guest kept running throughout (uptime ${up ?? "?"} s at the end, never rebooted).\n`
    );
  } finally {
    for (const n of nodes) await n.stop();
    for (const ns of [nsA, nsB]) {
      try {
        ipRun("netns", "del", ns);
      } catch {
        // never created
      }
    }
  }
}

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  for (const a of asked)
    if (!(PARTS as readonly string[]).includes(a))
      throw new Error(`unknown part '${a}' (parts: ${PARTS.join(", ")})`);
  const parts = new Set<Part>(asked.length === 0 ? PARTS : (asked as Part[]));
  requireFile(HEARTBEAT, "resource-agents");
  requireExtra("crm_resource", "pacemaker-cli-utils");
  requireExtra("strace", "strace");
  agentPath("VirtualDomain");
  delete process.env.NODE_OPTIONS; // the agents get no Node options from the bench's runtime
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-bench-vd-"));
  try {
    const cib = path.join(dir, "cib.xml");
    writeCib(cib);
    let text = `VirtualDomain: kvmha vs heartbeat (${versions()}; ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)})\n\n`;
    if (parts.has("monitor") || parts.has("startstop")) text += await singleNode(parts, dir, cib);
    if (parts.has("migration")) text += await migration(dir, cib);
    // What heartbeat's monitors left in the CIB: written once, then only read.
    const recorded = [
      ...fs
        .readFileSync(cib, "utf8")
        .matchAll(/<nvpair id="[^"]*" name="([^"]*)" value="([^"]*)"/g),
    ].map((m) => `${m[1]}=${m[2]}`);
    text += `\nUtilization heartbeat recorded in its CIB_file: ${recorded.join(", ") || "none"}.\n`;
    saveResult("virtualdomain", text);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${messageOf(err)}\n`);
  process.exitCode = 1;
});
