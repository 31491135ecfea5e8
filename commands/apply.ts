/**
 * `kvmha apply INVENTORY` (and `kvmha plan INVENTORY`, commands/plan.ts): the inventory rendered
 * as a CIB for the cluster's Pacemaker, compared with the CIB the cluster has (or a file), the
 * plan printed, and applied as one verified push. The logic is in topology/apply; this is the
 * command line and the output.
 */
import {
  type CliCommand,
  type CommandIo,
  EXIT_USAGE,
  parseCommandLine,
  processIo,
  startCommand,
} from "../lib/cli/args.js";
import { VERSION } from "../lib/cli/version.js";
import { Deadline } from "../lib/deadline.js";
import { KvmhaError, UsageError } from "../lib/errors.js";
import { printable } from "../lib/log.js";
import { InventoryError } from "../topology/inventory/load.js";
import { type CibPlan, managedResources, planCib } from "../topology/apply/diff.js";
import {
  type CibSource,
  applyPlan,
  readCib,
  simulate,
  verifyPlan,
} from "../topology/apply/push.js";
import { planJson, planText, relevantTransition } from "../topology/apply/report.js";
import { detectGeneration, generationOfCib } from "../topology/render/detect.js";
import { describeGeneration, type Generation } from "../topology/render/generation.js";
import { loadForRender, renderFormat } from "../topology/render/render.js";

const options: CliCommand["options"] = [
  {
    name: "cib",
    value: "FILE",
    help: "a CIB file instead of the running cluster's (cibadmin --query); apply patches the file",
  },
  { name: "json", help: "one JSON document on stdout instead of the table (docs/cli.md)" },
  {
    name: "pacemaker",
    value: "2|3",
    help: "render for Pacemaker 2 or 3; default: the inventory's cluster.pacemaker, else the cluster's",
  },
  {
    name: "timeout",
    value: "S",
    help: "seconds the whole run may take, waiting for removed guests to stop included (default 300)",
  },
];

export const planCommand: CliCommand = {
  name: "plan",
  summary: "show what kvmha apply would change in the cluster, and what Pacemaker would do then",
  synopsis: "INVENTORY [--cib FILE] [--json] [--pacemaker 2|3]",
  description:
    "Renders INVENTORY as a CIB, compares the objects kvmha owns (the resources the tag kvmha-managed lists, their constraints and levels, the options the inventory sets) with the cluster's CIB, and prints what is to add, change and remove, and what Pacemaker would then do with the guests (crm_simulate). Changes nothing.",
  options,
  positionals: { min: 1, max: 1, name: "inventory" },
  exitCodes: [
    [0, "planned (an empty plan too)"],
    [1, "the inventory has errors, the CIB cannot be read, or the plan cannot be made"],
    [2, "usage error"],
  ],
};

export const applyCommand: CliCommand = {
  name: "apply",
  summary: "make the cluster's kvmha objects what the inventory says, in one verified push",
  synopsis: "INVENTORY [--cib FILE] [--json] [--pacemaker 2|3] [options]",
  description:
    "Plans as kvmha plan does, then checks the planned CIB with crm_verify, stops the guests it removes (target-role Stopped, waited for), and pushes one patch against the CIB it read: a CIB changed meanwhile refuses it, and nothing is pushed on any error. Objects kvmha did not create are left alone; applying twice changes nothing.",
  options,
  positionals: { min: 1, max: 1, name: "inventory" },
  exitCodes: [
    [0, "applied, or nothing to change"],
    [
      1,
      "nothing pushed: the inventory has errors, crm_verify refused, the CIB changed meanwhile, or a tool failed (one line says which)",
    ],
    [2, "usage error"],
  ],
};

interface Args {
  inventory: string;
  cib: string | undefined;
  json: boolean;
  pacemaker: Generation | undefined;
  timeoutS: number;
}

function parse(command: CliCommand, args: readonly string[]): Args | "help" | "version" {
  const parsed = parseCommandLine(command, args);
  if (parsed.kind !== "run") return parsed.kind;
  const str = (name: string): string | undefined => {
    const v = parsed.values[name];
    return typeof v === "string" ? v : undefined;
  };
  const hint = `(kvmha ${command.name} --help)`;
  const pacemaker = str("pacemaker");
  if (pacemaker !== undefined && pacemaker !== "2" && pacemaker !== "3")
    throw new UsageError(`--pacemaker '${printable(pacemaker)}' is not 2 or 3 ${hint}`, EXIT_USAGE);
  const timeout = str("timeout");
  const timeoutS = timeout === undefined ? 300 : Number(timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0 || timeout?.trim() === "")
    throw new UsageError(
      `--timeout needs a positive number of seconds, got '${printable(timeout ?? "")}' ${hint}`,
      EXIT_USAGE,
    );
  return {
    inventory: parsed.positionals[0] as string,
    cib: str("cib"),
    json: parsed.values.json === true,
    pacemaker: pacemaker === undefined ? undefined : pacemaker === "3" ? 3 : 2,
    timeoutS,
  };
}

export type ApplyIo = CommandIo;

/** The resources a plan's simulation is about: the ones it touches, and kvmha's. */
function concerned(plan: CibPlan): Set<string> {
  return new Set([...plan.changes.map((c) => c.id), ...managedResources(plan.planned)]);
}

/** `kvmha plan` (apply false) and `kvmha apply` (apply true). */
export async function runPlan(
  command: CliCommand,
  apply: boolean,
  args: readonly string[],
  io: ApplyIo = processIo,
): Promise<number> {
  const prefix = `kvmha ${command.name}`;
  const started = await startCommand(command, () => parse(command, args), io, VERSION);
  if ("exit" in started) return started.exit;
  const parsed = started.args;
  const deadline = Deadline.inSeconds(parsed.timeoutS);
  const source: CibSource =
    parsed.cib === undefined ? { kind: "live" } : { kind: "file", path: parsed.cib };
  try {
    const loaded = await loadForRender(parsed.inventory);
    for (const w of loaded.warnings) io.err(`${w}\n`);
    const cib = await readCib(source, deadline);
    let pacemaker = parsed.pacemaker ?? loaded.inventory.cluster.pacemaker;
    if (pacemaker === undefined) {
      // A CIB file says its own generation; the live cluster's is what detection asks first.
      const detected =
        (source.kind === "file" ? generationOfCib(cib, source.path) : undefined) ??
        (await detectGeneration());
      pacemaker = detected.pacemaker;
      io.err(`${prefix}: for ${describeGeneration(pacemaker)}, from ${detected.how}\n`);
    }
    // The built-in templates: an adapted copy may leave out what apply compares.
    const [rendered] = await renderFormat(loaded.inventory, "cib", undefined, parsed.inventory, {
      pacemaker,
    });
    const desired = rendered?.text ?? "";
    const plan = planCib(cib, desired);
    // crm_verify first: a planned CIB it refuses is said as such, before crm_simulate trips on it.
    if (plan.changes.length > 0)
      for (const w of await verifyPlan(plan, deadline)) io.err(`${prefix}: crm_verify: ${w}\n`);
    const transition =
      plan.changes.length === 0
        ? []
        : relevantTransition(await simulate(plan, deadline), concerned(plan));
    const report = {
      source: source.kind === "file" ? source.path : "cibadmin --query",
      pacemaker,
      changes: plan.changes,
      transition,
    };
    if (!apply) {
      await io.out(parsed.json ? planJson(report) : planText(report));
      return 0;
    }
    const done = await applyPlan(source, desired, { plan, cib }, deadline);
    const final = { ...report, changes: done.plan.changes, applied: done.pushed };
    await io.out(parsed.json ? planJson(final) : planText(final));
    return 0;
  } catch (err) {
    if (err instanceof InventoryError) {
      io.err(err.lines.map((l) => `${l}\n`).join(""));
      io.err(`${prefix}: ${parsed.inventory}: the inventory has errors, nothing done\n`);
      return err.exitCode;
    }
    if (err instanceof KvmhaError) {
      io.err(`${prefix}: ERROR: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

export async function main(args: readonly string[], io?: ApplyIo): Promise<number> {
  return runPlan(applyCommand, true, args, io);
}
