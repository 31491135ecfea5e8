/**
 * Side-by-side timing with hyperfine: each case runs the reference agent and ours in one
 * hyperfine invocation, and becomes a table row with both means and the ratio.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
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

interface HyperfineResult {
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

/** Runs every case and returns the markdown table. */
export function benchmark(table: BenchTable): string {
  const hyperfine = requireProgram("hyperfine");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-bench-"));
  const cpuHead = table.cpu === true ? ` CPU ${table.referenceName} | CPU ${table.oursName} |` : "";
  const rows = [
    `| operation | ${table.referenceName} (mean ± σ) | ${table.oursName} (mean ± σ) | ratio ours/reference |${cpuHead}`,
    `| --- | ---: | ---: | ---: |${table.cpu === true ? " ---: | ---: |" : ""}`,
  ];
  try {
    for (const c of table.cases) {
      const json = path.join(dir, "result.json");
      const args = [
        "--style",
        "basic",
        "--warmup",
        String(c.warmup ?? 3),
        "--runs",
        String(c.runs),
        "--export-json",
        json,
      ];
      if (c.prepare !== undefined) args.push("--prepare", c.prepare);
      args.push("-n", table.referenceName, c.reference, "-n", table.oursName, c.ours);
      process.stderr.write(`bench: ${table.oursName} ${c.name}\n`);
      execFileSync(hyperfine, args, {
        stdio: ["ignore", "inherit", "inherit"],
        env: { ...process.env, LC_ALL: "C", ...table.env },
      });
      const [ref, mine] = (
        JSON.parse(fs.readFileSync(json, "utf8")) as { results: HyperfineResult[] }
      ).results as [HyperfineResult, HyperfineResult];
      const ms = (r: HyperfineResult): string =>
        `${(r.mean * 1000).toFixed(1)} ± ${(r.stddev * 1000).toFixed(1)} ms`;
      const cpu = (r: HyperfineResult): string => `${((r.user + r.system) * 1000).toFixed(1)} ms`;
      rows.push(
        `| ${c.name} | ${ms(ref)} | ${ms(mine)} | ${(mine.mean / ref.mean).toFixed(3)}× |${table.cpu === true ? ` ${cpu(ref)} | ${cpu(mine)} |` : ""}`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const header = `${table.title} (${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)}, hyperfine)\n\n`;
  return `${header}${rows.join("\n")}\n`;
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
