/**
 * The plan as people read it (a table, then what Pacemaker would do, then a summary line) and as
 * one JSON document (docs/cli.md#kvmha-plan describes its shape; `format` changes only when the
 * shape does). Pure.
 */
import { printable } from "../../lib/log.js";
import type { Change } from "./diff.js";
import type { Transition } from "./simulate.js";

export const PLAN_FORMAT_VERSION = 1;

export interface PlanReport {
  /** Where the CIB was read: `cibadmin --query` or the file's path. */
  readonly source: string;
  readonly pacemaker: number;
  readonly changes: readonly Change[];
  /** Pacemaker's actions on kvmha's resources after the plan; undefined: not simulated. */
  readonly transition: readonly Transition[] | undefined;
  /** apply only: whether the patch was pushed. */
  readonly applied?: boolean;
}

/** The actions that concern the resources the plan touches or owns. */
export function relevantTransition(
  all: readonly Transition[],
  resources: ReadonlySet<string>,
): Transition[] {
  return all.filter((t) => resources.has(t.resource));
}

export function summary(changes: readonly Change[]): string {
  const n = (a: Change["action"]) => changes.filter((c) => c.action === a).length;
  if (changes.length === 0) return "no changes: the cluster is as the inventory says";
  return `${n("add")} to add, ${n("change")} to change, ${n("remove")} to remove`;
}

export function planText(r: PlanReport): string {
  const lines: string[] = [];
  if (r.changes.length > 0) {
    const rows = r.changes.map((c) => [
      c.action,
      c.kind,
      printable(c.id),
      c.details.map(printable).join("; "),
    ]);
    const head = ["ACTION", "KIND", "ID", "DETAILS"];
    const width = [0, 1, 2].map((i) => Math.max(head[i]!.length, ...rows.map((x) => x[i]!.length)));
    const line = (x: readonly string[]) =>
      x
        .map((cell, i) => (i < 3 ? cell.padEnd(width[i]!) : cell))
        .join("  ")
        .trimEnd();
    lines.push(line(head), ...rows.map(line));
  }
  if (r.transition !== undefined && r.changes.length > 0) {
    lines.push("", "Pacemaker would then:");
    if (r.transition.length === 0) lines.push("  nothing: no guest starts, stops or moves");
    for (const t of r.transition)
      lines.push(
        `  ${t.action.padEnd(8)} ${printable(t.resource)} ${printable(t.detail)}`.trimEnd(),
      );
  }
  if (lines.length > 0) lines.push("");
  const verb = r.applied === undefined ? "plan" : r.applied ? "applied" : "nothing applied";
  lines.push(r.changes.length === 0 ? summary(r.changes) : `${verb}: ${summary(r.changes)}`);
  return `${lines.join("\n")}\n`;
}

export function planJson(r: PlanReport): string {
  return `${JSON.stringify(
    {
      format: PLAN_FORMAT_VERSION,
      source: r.source,
      pacemaker: r.pacemaker,
      changes: r.changes,
      transition: r.transition ?? null,
      ...(r.applied === undefined ? {} : { applied: r.applied }),
    },
    null,
    2,
  )}\n`;
}
