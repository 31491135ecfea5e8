/**
 * `kvmha check`: reads a CIB (a file, or the live one through `cibadmin -Q`), reports every
 * fencing and guest-resource mistake it can see, and with `--probe` asks every device, read-only,
 * through kvmha's agents. The logic is in topology/check; this is the command line and the I/O.
 */
import fs from "node:fs";
import path from "node:path";
import { CibError, XmlError, parseCib } from "../topology/check/cib.js";
import { type ProbeOptions, probeDevices } from "../topology/check/probe.js";
import {
  type Report,
  type Source,
  exitCodeOf,
  formatJson,
  formatText,
} from "../topology/check/report.js";
import { contextOf } from "../topology/check/context.js";
import { COROSYNC_CONF, CorosyncConfError, readCorosyncConf } from "../topology/check/corosync.js";
import { runRules } from "../topology/check/rules.js";
import { applyWaivers } from "../topology/check/waivers.js";
import { Deadline } from "../lib/deadline.js";
import { KvmhaError, UsageError, readFailure } from "../lib/errors.js";
import { runProgram } from "../lib/program.js";

/** Exit codes: 0 clean (or warnings only), 1 findings, 2 the check could not run. */
export const EXIT_USAGE = 2;

const USAGE = `usage: kvmha check [--cib FILE | --live] [--json] [--strict] [--probe] [options]
  --cib FILE           read the CIB from FILE ('-' for stdin); default: the live CIB (cibadmin -Q)
  --live               read the live CIB (the default when no --cib is given)
  --timeout S          seconds cibadmin may take (default 30)
  --json               one JSON document on stdout instead of lines (docs/check.md)
  --strict             exit 1 on warnings too
  --probe              also ask every fencing device, read-only, through kvmha's agents
  --probe-timeout S    seconds one agent run may take (default 30)
  --probe-jobs N       agent runs at once (default 4)
  --agent-dir DIR      where fence_ipmi and fence_pdu are (default: beside this kvmha, else /usr/sbin)
  --corosync-conf FILE read the quorum settings from FILE (default with the live CIB: ${COROSYNC_CONF})
exit status: 0 no problem (warnings alone too, unless --strict), 1 problems found, 2 the check could not run
`;

/** The check could not run (bad arguments, unreadable or invalid CIB, cibadmin failed): exit 2. */
class CheckInputError extends KvmhaError {
  readonly exitCode = EXIT_USAGE;
}

interface Args {
  cib: string | undefined;
  json: boolean;
  strict: boolean;
  probe: boolean;
  timeoutS: number;
  probeTimeoutS: number;
  probeJobs: number;
  agentDir: string | undefined;
  corosyncConf: string | undefined;
  help: boolean;
}

function positiveNumber(name: string, value: string | undefined, integer = false): number {
  const n = Number(value);
  if (
    value === undefined ||
    value.trim() === "" ||
    !Number.isFinite(n) ||
    n <= 0 ||
    (integer && !Number.isInteger(n))
  ) {
    throw new UsageError(
      `${name} needs a positive ${integer ? "integer" : "number"}, got '${value ?? ""}'`,
      EXIT_USAGE,
    );
  }
  return n;
}

export function parseArgs(args: readonly string[]): Args {
  const out: Args = {
    cib: undefined,
    json: false,
    strict: false,
    probe: false,
    timeoutS: 30,
    probeTimeoutS: 30,
    probeJobs: 4,
    agentDir: undefined,
    corosyncConf: undefined,
    help: false,
  };
  let live = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const value = (): string => {
      if (eq !== -1) return arg.slice(eq + 1);
      const next = args[i + 1];
      if (next === undefined) throw new UsageError(`${name} needs a value`, EXIT_USAGE);
      i++;
      return next;
    };
    const flag = (): true => {
      if (eq !== -1) throw new UsageError(`${name} takes no value`, EXIT_USAGE);
      return true;
    };
    switch (name) {
      case "--cib":
        out.cib = value();
        if (out.cib === "") throw new UsageError("--cib needs a file name", EXIT_USAGE);
        break;
      case "--live":
        live = flag();
        break;
      case "--json":
        out.json = flag();
        break;
      case "--strict":
        out.strict = flag();
        break;
      case "--probe":
        out.probe = flag();
        break;
      case "--timeout":
        out.timeoutS = positiveNumber(name, value());
        break;
      case "--probe-timeout":
        out.probeTimeoutS = positiveNumber(name, value());
        break;
      case "--probe-jobs":
        out.probeJobs = positiveNumber(name, value(), true);
        break;
      case "--agent-dir":
        out.agentDir = value();
        break;
      case "--corosync-conf":
        out.corosyncConf = value();
        break;
      case "-h":
      case "--help":
        out.help = true;
        break;
      default:
        throw new UsageError(
          arg.startsWith("-")
            ? `unknown option ${name} (kvmha check --help)`
            : `unexpected argument '${arg}' (kvmha check --help)`,
          EXIT_USAGE,
        );
    }
  }
  if (live && out.cib !== undefined)
    throw new UsageError("--live and --cib exclude each other", EXIT_USAGE);
  return out;
}

function findProgram(name: string): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? "").split(path.delimiter).filter((d) => d !== ""),
    "/usr/sbin",
    "/sbin",
    "/usr/bin",
  ];
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function readFile(file: string): string {
  try {
    return fs.readFileSync(file === "-" ? 0 : file, "utf8");
  } catch (err) {
    throw new CheckInputError(`cannot read ${file === "-" ? "stdin" : file}: ${readFailure(err)}`);
  }
}

/** The live CIB through `cibadmin -Q`, bounded. */
async function readLive(timeoutS: number): Promise<string> {
  const cibadmin = findProgram("cibadmin");
  if (cibadmin === undefined)
    throw new CheckInputError(
      "cibadmin not found (Debian package pacemaker-cli-utils); give a file with --cib FILE",
    );
  const r = await runProgram(cibadmin, ["-Q"], Deadline.in(timeoutS * 1000), {
    maxOutput: 256 << 20,
  });
  if (r.code === 0) return r.stdout;
  const first = r.stderr
    .split("\n")
    .find((l) => l.trim() !== "")
    ?.trim();
  const why = r.timedOut
    ? `did not answer within ${timeoutS} s`
    : r.spawnError !== undefined
      ? `cannot run (${r.spawnError})`
      : `failed${first !== undefined ? `: ${first}` : ` (exit status ${String(r.code ?? r.signal)})`}`;
  throw new CheckInputError(`cibadmin -Q ${why}`);
}

/** Where our agents are: --agent-dir, beside the running kvmha executable, else /usr/sbin. */
function agentDir(given: string | undefined): string {
  if (given !== undefined) return given;
  const beside = path.dirname(process.execPath);
  if (fs.existsSync(path.join(beside, "fence_ipmi"))) return beside;
  return "/usr/sbin";
}

export async function main(args: readonly string[]): Promise<number> {
  let parsed: Args;
  try {
    parsed = parseArgs(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`kvmha check: ERROR: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (parsed.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const source: Source =
    parsed.cib !== undefined
      ? { kind: "file", path: parsed.cib }
      : { kind: "live", command: "cibadmin -Q" };
  const xml = parsed.cib !== undefined ? readFile(parsed.cib) : await readLive(parsed.timeoutS);
  let cib;
  try {
    cib = parseCib(xml);
  } catch (err) {
    const where =
      source.kind === "live" ? "the live CIB" : source.path === "-" ? "stdin" : source.path;
    if (err instanceof XmlError || err instanceof CibError)
      throw new CheckInputError(`${where}: ${err.message}`);
    throw err;
  }
  // Quorum lives in corosync.conf: the given one, or this node's when the CIB is the live one.
  let corosync;
  try {
    corosync =
      parsed.corosyncConf !== undefined
        ? readCorosyncConf(parsed.corosyncConf, true, (f) => fs.readFileSync(f, "utf8"))
        : source.kind === "live"
          ? readCorosyncConf(COROSYNC_CONF, false, (f) => fs.readFileSync(f, "utf8"))
          : undefined;
  } catch (err) {
    if (err instanceof CorosyncConfError) throw new CheckInputError(err.message);
    throw err;
  }
  const ctx = contextOf(cib, { corosync });
  const findings = runRules(ctx);
  let probe: Report["probe"];
  if (parsed.probe) {
    const dir = agentDir(parsed.agentDir);
    for (const agent of ["fence_ipmi", "fence_pdu"]) {
      if (!fs.existsSync(path.join(dir, agent)))
        throw new CheckInputError(
          `--probe needs kvmha's ${agent}, not found in ${dir} (npm run build, npm run install-agents, or --agent-dir DIR)`,
        );
    }
    const options: ProbeOptions = {
      agentDir: dir,
      timeoutMs: Math.round(parsed.probeTimeoutS * 1000),
      jobs: parsed.probeJobs,
    };
    const result = await probeDevices(ctx, options);
    findings.push(...result.findings);
    probe = result.outcomes;
  }
  const { findings: counted, waived } = applyWaivers(ctx, findings);
  const report: Report = { source, ctx, findings: counted, probe, strict: parsed.strict, waived };
  process.stdout.write(parsed.json ? formatJson(report) : formatText(report));
  return exitCodeOf(counted, parsed.strict);
}
