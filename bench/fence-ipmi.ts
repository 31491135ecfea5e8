/**
 * fence_ipmi against fence_ipmilan (--lanplus --cipher=3) on the same simulated BMC, in one run,
 * with hyperfine: start-up (metadata), status, off (verified) and reboot. Prints a table of the
 * mean wall times and the ratios, and writes it to bench/results/fence-ipmi.md.
 *
 * Both agents get their options as key=value lines on stdin, as under Pacemaker.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { agentPath } from "../test/lab/agents.js";
import { requireProgram } from "../test/lab/bins.js";
import { ADMIN_USER, startBmc } from "../test/lab/ipmi-bmc.js";

interface HyperfineResult {
  command: string;
  mean: number;
  stddev: number;
  min: number;
  max: number;
}

const runs = { metadata: 20, status: 10, off: 5, reboot: 3 } as const;

async function main(): Promise<void> {
  const hyperfine = requireProgram("hyperfine");
  const reference = requireProgram("fence_ipmilan");
  const ours = agentPath("fence_ipmi");
  const bmc = await startBmc();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-bench-"));
  const rows: string[] = [];
  try {
    const input = (action: string, extra: string): string => {
      const file = path.join(dir, `${action}-${extra ? "ref" : "ours"}.in`);
      const lines = [`ip=${bmc.host}`, `ipport=${bmc.port}`, `username=${ADMIN_USER.name}`, `password=${ADMIN_USER.password}`, `action=${action}`, extra];
      fs.writeFileSync(file, `${lines.filter(Boolean).join("\n")}\n`, { mode: 0o600 });
      return file;
    };
    // Put the chassis back on before each timed run, so that off and reboot always have work to do.
    const powerOn = `printf 1 > ${bmc.powerFile}`;
    const cases: { name: string; ours: string; reference: string; prepare?: string; n: number }[] = [
      { name: "start-up (-o metadata)", ours: `${ours} -o metadata`, reference: `${reference} -o metadata`, n: runs.metadata },
      { name: "status", ours: `${ours} < ${input("status", "")}`, reference: `${reference} < ${input("status", "lanplus=1\ncipher=3")}`, prepare: powerOn, n: runs.status },
      { name: "off (verified)", ours: `${ours} < ${input("off", "")}`, reference: `${reference} < ${input("off", "lanplus=1\ncipher=3")}`, prepare: powerOn, n: runs.off },
      { name: "reboot", ours: `${ours} < ${input("reboot", "")}`, reference: `${reference} < ${input("reboot", "lanplus=1\ncipher=3")}`, prepare: powerOn, n: runs.reboot },
    ];
    rows.push("| operation | fence_ipmilan (mean ± σ) | fence_ipmi (mean ± σ) | ratio ours/reference |", "| --- | ---: | ---: | ---: |");
    for (const c of cases) {
      const json = path.join(dir, "result.json");
      const args = ["--style", "basic", "--warmup", "1", "--runs", String(c.n), "--export-json", json];
      if (c.prepare !== undefined) args.push("--prepare", c.prepare);
      args.push("-n", "fence_ipmilan", c.reference, "-n", "fence_ipmi", c.ours);
      process.stderr.write(`bench: ${c.name}\n`);
      execFileSync(hyperfine, args, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, LC_ALL: "C" } });
      const results = (JSON.parse(fs.readFileSync(json, "utf8")) as { results: HyperfineResult[] }).results;
      const [ref, mine] = results as [HyperfineResult, HyperfineResult];
      const ms = (r: HyperfineResult): string => `${(r.mean * 1000).toFixed(1)} ± ${(r.stddev * 1000).toFixed(1)} ms`;
      rows.push(`| ${c.name} | ${ms(ref)} | ${ms(mine)} | ${(mine.mean / ref.mean).toFixed(3)}× |`);
    }
  } finally {
    await bmc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const header = `fence_ipmi vs fence_ipmilan on one ipmi_sim BMC (${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)}, hyperfine)\n\n`;
  const table = `${header}${rows.join("\n")}\n`;
  process.stdout.write(`\n${table}`);
  fs.mkdirSync("bench/results", { recursive: true });
  fs.writeFileSync("bench/results/fence-ipmi.md", table);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
