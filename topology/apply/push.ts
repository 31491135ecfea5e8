/**
 * `kvmha plan` / `kvmha apply` against a cluster: the CIB read (cibadmin, or a file), what
 * Pacemaker would do (crm_simulate), and the one verified push: crm_verify on the planned CIB,
 * then crm_diff against the CIB that was read and cibadmin --patch. The patch carries the version
 * it was made from, so a CIB that changed meanwhile refuses it: a change of the configuration is
 * an error (plan again), a change of the status only (num_updates) is retried on a fresh read.
 * Guests the plan removes are stopped first (target-role Stopped, waited for, bounded). Every
 * program through lib/program.ts, every wait bounded.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Deadline } from "../../lib/deadline.js";
import { sleep } from "../../lib/deadline.js";
import { readFailure } from "../../lib/errors.js";
import { printable } from "../../lib/log.js";
import { type ProgramResult, runProgram, whyFailed } from "../../lib/program.js";
import { ApplyError, type CibPlan, planCib } from "./diff.js";
import { type Transition, parseTransition } from "./simulate.js";
import { serialize } from "./tree.js";

/** Pacemaker's programs are in sbin, which a user's PATH may lack. */
const SBIN = "/usr/sbin:/usr/bin:/sbin:/bin";
/** One program's budget (cibadmin on a busy cluster, crm_simulate on a large CIB). */
const STEP_MS = 60_000;
/** A patch refused for a status change only (num_updates) is made again this many times. */
const ATTEMPTS = 3;
/** cibadmin's exit for a patch made from another version (pcmk_err_old_data, …diff_failed). */
const VERSION_CODES = new Set([103, 104, 105]);

/** Where the CIB is: the running cluster, or a file (CIB_file for Pacemaker's tools). */
export type CibSource =
  { readonly kind: "live" } | { readonly kind: "file"; readonly path: string };

function env(source: CibSource): Record<string, string | undefined> {
  const e: Record<string, string | undefined> = {
    ...process.env,
    PATH: `${process.env.PATH ?? ""}:${SBIN}`,
  };
  if (source.kind === "file") e.CIB_file = path.resolve(source.path);
  else delete e.CIB_file;
  delete e.CIB_shadow;
  return e;
}

async function run(
  source: CibSource,
  program: string,
  args: readonly string[],
  deadline: Deadline,
): Promise<ProgramResult> {
  return runProgram(program, args, deadline.within(STEP_MS), {
    env: env(source),
    maxOutput: 256 << 20,
  });
}

export async function readCib(source: CibSource, deadline: Deadline): Promise<string> {
  if (source.kind === "file") {
    try {
      return fs.readFileSync(source.path, "utf8");
    } catch (err) {
      throw new ApplyError(`cannot read ${printable(source.path)}: ${readFailure(err)}`);
    }
  }
  const r = await run(source, "cibadmin", ["--query"], deadline);
  const why = whyFailed(r);
  if (why !== undefined) throw new ApplyError(`cibadmin --query: ${why}`);
  return r.stdout;
}

/** A private directory for the documents the tools read, removed after `body`. */
async function withScratch<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kvmha-apply-"));
  try {
    return await body(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text, { mode: 0o600, flag: "wx" });
  return file;
}

/** crm_verify on the planned CIB (its warnings returned); ApplyError when it refuses it. */
export async function verifyPlan(plan: CibPlan, deadline: Deadline): Promise<string[]> {
  return withScratch((dir) => verify(dir, plan, deadline));
}

/** What Pacemaker would do with the planned CIB (crm_simulate --run: nothing is executed). */
export async function simulate(plan: CibPlan, deadline: Deadline): Promise<Transition[]> {
  return withScratch(async (dir) => {
    const file = write(dir, "planned.xml", serialize(plan.planned));
    const r = await runProgram(
      "crm_simulate",
      ["--xml-file", file, "--run"],
      deadline.within(STEP_MS),
      {
        env: env({ kind: "live" }),
        maxOutput: 256 << 20,
      },
    );
    const why = whyFailed(r);
    if (why !== undefined) throw new ApplyError(`crm_simulate on the planned CIB: ${why}`);
    return parseTransition(r.stdout);
  });
}

/**
 * crm_verify on the planned CIB: errors refuse it; warnings alone (exit 78 with "Warnings found",
 * no "Errors found": an orphan's history, say) do not, and are returned to be shown.
 */
async function verify(dir: string, plan: CibPlan, deadline: Deadline): Promise<string[]> {
  const file = write(dir, "verify.xml", serialize(plan.planned));
  const r = await runProgram("crm_verify", ["--xml-file", file, "-V"], deadline.within(STEP_MS), {
    env: env({ kind: "live" }),
  });
  const text = `${r.stderr}\n${r.stdout}`;
  const warnings = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /\bwarning: /i.test(l))
    .map((l) => l.replace(/^.*?\bwarning: /i, ""));
  if (r.code === 0) return warnings;
  if (r.code === 78 && /Warnings found/.test(text) && !/Errors found|error ?: /i.test(text))
    return warnings;
  const errors = [
    ...new Set(
      text
        .split("\n")
        .map((l) => l.trim().replace(/^\S*\.xml:\d+: /, ""))
        .filter((l) => /error ?: /i.test(l)),
    ),
  ];
  const why = errors.length > 0 ? errors.slice(0, 3).join("; ") : (whyFailed(r) ?? "");
  throw new ApplyError(`crm_verify refuses the planned CIB, nothing pushed: ${why}`);
}

/** The patch from the CIB read to the planned one, pushed; false when a newer CIB refused it. */
async function patch(
  source: CibSource,
  dir: string,
  plan: CibPlan,
  deadline: Deadline,
): Promise<boolean> {
  const original = write(dir, "original.xml", serialize(plan.original));
  const planned = write(dir, "planned.xml", serialize(plan.planned));
  const d = await runProgram(
    "crm_diff",
    ["--original", original, "--new", planned],
    deadline.within(STEP_MS),
    { env: env({ kind: "live" }), maxOutput: 256 << 20 },
  );
  // crm_diff: 0 no difference, 1 a patch on stdout.
  if (d.code === 0) return true;
  if (d.code !== 1 || !d.stdout.includes("<diff"))
    throw new ApplyError(`crm_diff, nothing pushed: ${whyFailed(d) ?? "no patch"}`);
  const file = write(dir, "patch.xml", d.stdout);
  const r = await run(source, "cibadmin", ["--patch", "--xml-file", file], deadline);
  if (r.code === 0) return true;
  if (r.code !== undefined && VERSION_CODES.has(r.code)) return false;
  throw new ApplyError(`cibadmin --patch, nothing pushed: ${whyFailed(r) ?? ""}`);
}

/** Is `guest` running anywhere? crm_resource --locate says where. */
async function running(source: CibSource, guest: string, deadline: Deadline): Promise<boolean> {
  const r = await run(source, "crm_resource", ["--locate", "--resource", guest], deadline);
  return r.code === 0 && /is running on/.test(r.stdout) && !/NOT running/.test(r.stdout);
}

/**
 * Removed guests stopped before they are deleted: target-role Stopped, then waited for until
 * crm_resource --locate finds them nowhere (bounded by `deadline`). A CIB file has nothing running.
 */
async function stopGuests(
  source: CibSource,
  guests: readonly string[],
  deadline: Deadline,
): Promise<void> {
  for (const g of guests) {
    const args = ["--resource", g, "--meta", "--set-parameter", "target-role"];
    const r = await run(
      source,
      "crm_resource",
      [...args, "--parameter-value", "Stopped"],
      deadline,
    );
    const why = whyFailed(r);
    if (why !== undefined) throw new ApplyError(`stopping the removed guest ${g}: ${why}`);
  }
  if (source.kind === "file") return;
  for (const g of guests) {
    while (await running(source, g, deadline)) {
      if (deadline.expired())
        throw new ApplyError(
          `the removed guest ${g} is still running at the deadline (--timeout): its target-role is Stopped, nothing else pushed; apply again once it stopped`,
        );
      await sleep(1000, deadline);
    }
  }
}

const versionOf = (cib: string): string => {
  const head = /<cib\b[^>]*>/.exec(cib)?.[0] ?? "";
  const attr = (n: string) => new RegExp(`\\b${n}="([^"]*)"`).exec(head)?.[1] ?? "?";
  return `${attr("admin_epoch")}.${attr("epoch")}`;
};

export interface Applied {
  /** The plan that was pushed (empty: nothing to do). */
  readonly plan: CibPlan;
  readonly pushed: boolean;
  /** crm_verify's warnings about the planned CIB (not a reason to refuse it). */
  readonly warnings: readonly string[];
}

/**
 * Applies `desired` (render's cib.xml) to the CIB: plans against the CIB read, verifies, stops
 * removed guests, pushes one patch. `first` is the plan shown to the admin: a CIB whose
 * configuration changed since then is an error, nothing pushed.
 */
export async function applyPlan(
  source: CibSource,
  desired: string,
  first: { readonly plan: CibPlan; readonly cib: string },
  deadline: Deadline,
): Promise<Applied> {
  let cib = first.cib;
  let plan = first.plan;
  let stopped = false;
  let warnings: string[] = [];
  return withScratch(async (dir) => {
    for (let attempt = 1; ; attempt += 1) {
      if (plan.changes.length === 0) return { plan, pushed: false, warnings };
      const step = fs.mkdtempSync(path.join(dir, "step-"));
      warnings = await verify(step, plan, deadline);
      if (!stopped && plan.removedGuests.length > 0) {
        await stopGuests(source, plan.removedGuests, deadline);
        stopped = true;
        cib = await readCib(source, deadline);
        plan = planCib(cib, desired);
        continue;
      }
      if (await patch(source, step, plan, deadline)) return { plan, pushed: true, warnings };
      const now = await readCib(source, deadline);
      if (versionOf(now) !== versionOf(cib) || attempt >= ATTEMPTS)
        throw new ApplyError(
          `the CIB changed since it was read (configuration ${versionOf(cib)} → ${versionOf(now)}), nothing pushed: run kvmha plan again`,
        );
      cib = now;
      plan = planCib(cib, desired);
    }
  });
}
