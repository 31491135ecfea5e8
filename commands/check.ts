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
import { probeGuestDefinitions } from "../topology/check/libvirt-probe.js";
import { runRules } from "../topology/check/rules.js";
import { applyWaivers } from "../topology/check/waivers.js";
import {
  type CliCommand,
  EXIT_USAGE,
  helpText,
  parseCommandLine,
  writeStdout,
} from "../lib/cli/args.js";
import { VERSION } from "../lib/cli/version.js";
import { Deadline } from "../lib/deadline.js";
import { KvmhaError, UsageError, readFailure } from "../lib/errors.js";
import { printable } from "../lib/log.js";
import { runProgram } from "../lib/program.js";

export { EXIT_USAGE };

export const checkCommand: CliCommand = {
  name: "check",
  summary: "check a CIB's fencing and guest resources (and, with --probe, the devices)",
  synopsis: "[--cib FILE | --live] [--json] [--strict] [--probe] [options]",
  description:
    "Reads a CIB (a file, or the live one through cibadmin -Q) and reports every fencing and guest-resource mistake it can see, one finding a line (or one JSON document); --probe also asks every fencing device, read-only, through kvmha's agents.",
  options: [
    { name: "cib", value: "FILE", help: "read the CIB from FILE ('-' for stdin)" },
    { name: "live", help: "read the live CIB with cibadmin -Q (the default without --cib)" },
    { name: "timeout", value: "S", help: "seconds cibadmin may take (default 30)" },
    { name: "json", help: "one JSON document on stdout instead of lines (docs/check.md)" },
    { name: "strict", help: "exit 1 on warnings too" },
    { name: "probe", help: "also ask every fencing device, read-only, through kvmha's agents" },
    {
      name: "run-scripts",
      help: "with --cib FILE and --probe: run the file's password_script (and other _script) commands and give its devices this node's cibsecrets; without it such devices are not probed (the live CIB's are always used)",
    },
    { name: "probe-timeout", value: "S", help: "seconds one agent run may take (default 30)" },
    {
      name: "libvirt-uri",
      value: "PATTERN",
      help: "with --probe: also ask each node's libvirt, read-only, whether it has a cluster guest defined or marked autostart (a second copy could start there); %n is the node's name: qemu+ssh://%n/system, or qemu:///system for this node's",
    },
    { name: "probe-jobs", value: "N", help: "agent runs at once (default 4)" },
    {
      name: "agent-dir",
      value: "DIR",
      help: "where fence_ipmi and fence_pdu are (default: beside this kvmha, else /usr/sbin)",
    },
    {
      name: "corosync-conf",
      value: "FILE",
      help: `read the quorum settings from FILE (default with the live CIB: ${COROSYNC_CONF})`,
    },
  ],
  positionals: { min: 0, max: 0, name: "argument" },
  exitCodes: [
    [0, "no problem found (warnings alone too, unless --strict)"],
    [1, "problems found (or warnings, with --strict)"],
    [2, "the check could not run: a usage error, an unreadable or invalid CIB, cibadmin failed"],
  ],
};

/** The check could not run (bad arguments, unreadable or invalid CIB, cibadmin failed): exit 2. */
class CheckInputError extends KvmhaError {
  readonly exitCode = EXIT_USAGE;
}

interface Args {
  cib: string | undefined;
  json: boolean;
  strict: boolean;
  probe: boolean;
  runScripts: boolean;
  timeoutS: number;
  probeTimeoutS: number;
  probeJobs: number;
  agentDir: string | undefined;
  corosyncConf: string | undefined;
  libvirtUri: string | undefined;
  help: boolean;
  version: boolean;
}

function positiveNumber(
  name: string,
  value: string | undefined,
  fallback: number,
  integer = false,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(
      `${name} needs a positive ${integer ? "integer" : "number"}, got '${printable(value)}'`,
      EXIT_USAGE,
    );
  }
  return n;
}

export function parseArgs(args: readonly string[]): Args {
  const parsed = parseCommandLine(checkCommand, args);
  const none = {
    cib: undefined,
    json: false,
    strict: false,
    probe: false,
    runScripts: false,
    timeoutS: 30,
    probeTimeoutS: 30,
    probeJobs: 4,
    agentDir: undefined,
    corosyncConf: undefined,
    libvirtUri: undefined,
  };
  if (parsed.kind === "help") return { ...none, help: true, version: false };
  if (parsed.kind === "version") return { ...none, help: false, version: true };
  const v = parsed.values;
  const str = (name: string): string | undefined =>
    typeof v[name] === "string" ? v[name] : undefined;
  if (v.live === true && str("cib") !== undefined)
    throw new UsageError("--live and --cib exclude each other", EXIT_USAGE);
  if (v["run-scripts"] === true && v.probe !== true)
    throw new UsageError("--run-scripts is for --probe (kvmha check --help)", EXIT_USAGE);
  if (str("libvirt-uri") !== undefined && v.probe !== true)
    throw new UsageError("--libvirt-uri is for --probe (kvmha check --help)", EXIT_USAGE);
  return {
    cib: str("cib"),
    json: v.json === true,
    strict: v.strict === true,
    probe: v.probe === true,
    runScripts: v["run-scripts"] === true,
    timeoutS: positiveNumber("--timeout", str("timeout"), 30),
    probeTimeoutS: positiveNumber("--probe-timeout", str("probe-timeout"), 30),
    probeJobs: positiveNumber("--probe-jobs", str("probe-jobs"), 4, true),
    agentDir: str("agent-dir"),
    corosyncConf: str("corosync-conf"),
    libvirtUri: str("libvirt-uri"),
    help: false,
    version: false,
  };
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
    await writeStdout(helpText(checkCommand));
    return 0;
  }
  if (parsed.version) {
    await writeStdout(`kvmha ${VERSION}\n`);
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
      // The live CIB's commands are the cluster's own (it runs them whenever it fences); a file's
      // are whoever wrote it: run only when the admin says so.
      runScripts: source.kind === "live" || parsed.runScripts,
    };
    const result = await probeDevices(ctx, options);
    findings.push(...result.findings);
    probe = result.outcomes;
    if (parsed.libvirtUri !== undefined)
      findings.push(
        ...(await probeGuestDefinitions(ctx, {
          uriPattern: parsed.libvirtUri,
          timeoutMs: options.timeoutMs,
        })),
      );
  }
  const { findings: counted, waived } = applyWaivers(ctx, findings);
  const report: Report = { source, ctx, findings: counted, probe, strict: parsed.strict, waived };
  await writeStdout(parsed.json ? formatJson(report) : formatText(report));
  return exitCodeOf(counted, parsed.strict);
}
