/**
 * kvmha check's two output formats: lines for people (one per finding, sorted by what it is
 * about, a summary line last) and one JSON document for automation (docs/check.md describes its
 * shape; `format` changes only when the shape does).
 */
import type { CheckContext } from "./context.js";
import type { Finding, Subject } from "./findings.js";
import { claimOf, familyOf } from "./devices.js";
import type { WaivedFinding } from "./waivers.js";

export const JSON_FORMAT_VERSION = 1;

export type Source =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "live"; readonly command: string };

/** What one device's probe came to. */
export interface ProbeOutcome {
  readonly device: string;
  readonly agent: string;
  /** ok: every question answered as it should; problem: at least one finding; skipped: not probed. */
  readonly result: "ok" | "problem" | "skipped";
  readonly detail: string;
}

export interface Report {
  readonly source: Source;
  readonly ctx: CheckContext;
  readonly findings: readonly Finding[];
  readonly probe: readonly ProbeOutcome[] | undefined;
  readonly strict: boolean;
  /** Warnings a kvmha-waive accepts: shown, never counted. */
  readonly waived?: readonly WaivedFinding[];
}

const SUBJECT_ORDER: readonly Subject["kind"][] = [
  "cluster",
  "node",
  "device",
  "level",
  "resource",
];

export function sortFindings<T extends Finding>(findings: readonly T[]): T[] {
  return [...findings]
    .map((f, i) => ({ f, i }))
    .sort((a, b) => {
      const k = SUBJECT_ORDER.indexOf(a.f.subject.kind) - SUBJECT_ORDER.indexOf(b.f.subject.kind);
      if (k !== 0) return k;
      if (a.f.subject.id !== b.f.subject.id) return a.f.subject.id < b.f.subject.id ? -1 : 1;
      return a.i - b.i;
    })
    .map((x) => x.f);
}

export function counts(findings: readonly Finding[]): { errors: number; warnings: number } {
  const errors = findings.filter((f) => f.severity === "error").length;
  return { errors, warnings: findings.length - errors };
}

/** 0 clean (warnings alone too, unless strict), 1 when anything is wrong. */
export function exitCodeOf(findings: readonly Finding[], strict: boolean): number {
  const { errors, warnings } = counts(findings);
  return errors > 0 || (strict && warnings > 0) ? 1 : 0;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function guests(ctx: CheckContext): string[] {
  return ctx.cib.primitives
    .filter((p) => p.class === "ocf" && p.type === "VirtualDomain")
    .map((p) => p.id);
}

function describeSource(source: Source): string {
  return source.kind === "file" ? source.path : `the live cluster (${source.command})`;
}

/** The report for people. */
export function formatText(report: Report): string {
  const { ctx } = report;
  const lines: string[] = [];
  lines.push(
    `kvmha check: ${describeSource(report.source)}: ${plural(ctx.nodes.length, "node")}${ctx.nodesFrom === "host-lists" && ctx.nodes.length > 0 ? " (from host lists: no <nodes> in the CIB)" : ""}, ` +
      `${plural(ctx.devices.length, "fencing device")}, ${plural(ctx.cib.levels.length, "fencing level")}, ${plural(guests(ctx).length, "guest")}`,
  );
  const sorted = sortFindings(report.findings);
  const width = Math.max(0, ...sorted.map((f) => `${f.subject.kind} ${f.subject.id}`.length));
  for (const f of sorted) {
    const subject = `${f.subject.kind} ${f.subject.id}`.padEnd(width);
    lines.push(
      `${f.severity === "error" ? "ERROR  " : "WARNING"} ${subject}  ${f.id}: ${f.message}`,
    );
    lines.push(`${" ".repeat(8 + width)}  fix: ${f.hint}`);
  }
  for (const f of sortFindings(report.waived ?? []))
    lines.push(
      `WAIVED  ${f.subject.kind} ${f.subject.id}  ${f.id}: ${f.message} (accepted by ${f.waivedBy})`,
    );
  if (report.probe !== undefined) {
    const probed = report.probe.filter((p) => p.result !== "skipped");
    const ok = probed.filter((p) => p.result === "ok").length;
    const skipped = report.probe.filter((p) => p.result === "skipped");
    lines.push(
      `probe: ${ok} of ${plural(probed.length, "device")} answered as expected` +
        (skipped.length > 0
          ? `; not probed: ${skipped.map((s) => `${s.device} (${s.detail})`).join(", ")}`
          : ""),
    );
  }
  const { errors, warnings } = counts(report.findings);
  const code = exitCodeOf(report.findings, report.strict);
  const waived = report.waived?.length ?? 0;
  lines.push(
    (errors === 0 && warnings === 0
      ? "OK: no problem found"
      : `${code === 0 ? "OK with warnings" : "FAILED"}: ${plural(errors, "error")}, ${plural(warnings, "warning")}`) +
      (waived > 0 ? ` (${waived} waived)` : ""),
  );
  return `${lines.join("\n")}\n`;
}

/** The report for automation: one JSON document (docs/check.md). */
export function formatJson(report: Report): string {
  const { ctx } = report;
  const { errors, warnings } = counts(report.findings);
  const code = exitCodeOf(report.findings, report.strict);
  const doc = {
    format: JSON_FORMAT_VERSION,
    source:
      report.source.kind === "file"
        ? { kind: "file", path: report.source.path }
        : { kind: "live", command: report.source.command },
    ok: code === 0,
    exit_code: code,
    summary: { errors, warnings, waived: report.waived?.length ?? 0 },
    checked: {
      pacemaker: ctx.pacemaker.major ?? null,
      pacemaker_from: ctx.pacemaker.from,
      corosync: ctx.corosync?.file ?? null,
      nodes: ctx.nodes,
      remote_nodes: ctx.nodes.filter((n) => !ctx.members.includes(n)),
      nodes_from: ctx.nodesFrom,
      devices: ctx.devices.map((d) => ({
        id: d.id,
        agent: d.type,
        family: familyOf(d.type),
        host_check: claimOf(d).kind,
      })),
      levels: ctx.cib.levels.map((l) => ({
        id: l.id,
        index: l.index,
        target: l.target,
        devices: l.devices,
      })),
      guests: guests(ctx),
    },
    findings: sortFindings(report.findings).map((f) => ({
      id: f.id,
      severity: f.severity,
      subject: { kind: f.subject.kind, id: f.subject.id },
      message: f.message,
      hint: f.hint,
      commands: f.commands ?? null,
    })),
    waived: sortFindings(report.waived ?? []).map((f) => ({
      id: f.id,
      severity: f.severity,
      subject: { kind: f.subject.kind, id: f.subject.id },
      message: f.message,
      waived_by: f.waivedBy,
    })),
    probe:
      report.probe === undefined
        ? null
        : report.probe.map((p) => ({
            device: p.device,
            agent: p.agent,
            result: p.result,
            detail: p.detail,
          })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
