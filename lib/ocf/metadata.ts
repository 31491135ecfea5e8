/**
 * An agent's meta-data XML and usage line, generated from its declaration so they never drift from
 * what the agent does. The XML is valid against resource-agents' ra-api-1.dtd (OCF 1.0) unless the
 * agent implements `reload-agent` and the caller speaks OCF 1.1: that XML says
 * `<version>1.1</version>`, lists reload-agent and marks the reloadable parameters, which the 1.0
 * DTD does not know (pcs's ocf-1.1.rng does).
 */
import { xmlEscape } from "../xml.js";
import type { OcfActionName, OcfAgent } from "./agent.js";

/** Metadata order: the usual life cycle first, whatever order the declaration uses. */
const ACTION_ORDER: readonly OcfActionName[] = [
  "start",
  "stop",
  "monitor",
  "status",
  "promote",
  "demote",
  "notify",
  "migrate_to",
  "migrate_from",
  "reload",
  "reload-agent",
];

export function agentActionNames(agent: OcfAgent): OcfActionName[] {
  return ACTION_ORDER.filter((a) => agent.actions[a] !== undefined);
}

/** The actions the agent answers to, framework ones included, for usage text. */
export function allActionNames(agent: OcfAgent): string[] {
  return [...agentActionNames(agent), "meta-data", "validate-all"];
}

/** `usage: NAME {start|stop|…}`, as the shell agents print it, wrapped at 80 columns. */
export function usageLine(agent: OcfAgent): string {
  const head = `usage: ${agent.name} `;
  const lines: string[] = [];
  let line = head;
  for (const [i, action] of allActionNames(agent).entries()) {
    const piece = `${i === 0 ? "{" : ""}${action}${i === allActionNames(agent).length - 1 ? "}" : "|"}`;
    if (line.length + piece.length > 80 && line.trim() !== "") {
      lines.push(line);
      line = " ".repeat(head.length + 1);
    }
    line += piece;
  }
  lines.push(line);
  return `${lines.join("\n")}\n`;
}

export function isOcf11(agent: OcfAgent): boolean {
  return agent.actions["reload-agent"] !== undefined;
}

/**
 * The meta-data. `ocf11` (default: the agent implements reload-agent) chooses the OCF 1.1 form;
 * false gives the 1.0 form, without reload-agent and reloadable.
 */
export function metadataXml(agent: OcfAgent, opts: { ocf11?: boolean } = {}): string {
  const ocf11 = isOcf11(agent) && (opts.ocf11 ?? true);
  const out: string[] = [];
  out.push('<?xml version="1.0"?>');
  out.push('<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">');
  out.push(
    `<resource-agent name="${xmlEscape(agent.name)}" version="${xmlEscape(agent.version)}">`,
  );
  out.push(`<version>${ocf11 ? "1.1" : "1.0"}</version>`);
  out.push("");
  out.push(`<longdesc lang="en">\n${xmlEscape(agent.longdesc.trim())}\n</longdesc>`);
  out.push(`<shortdesc lang="en">${xmlEscape(agent.shortdesc)}</shortdesc>`);
  out.push("");
  out.push("<parameters>");
  for (const p of agent.parameters) {
    const reload = ocf11 && p.reloadable === true ? ' reloadable="1"' : "";
    out.push(
      `<parameter name="${xmlEscape(p.name)}" unique="${p.unique === true ? 1 : 0}" required="${p.required === true ? 1 : 0}"${reload}>`,
    );
    out.push(`<longdesc lang="en">\n${xmlEscape(p.longdesc.trim())}\n</longdesc>`);
    out.push(`<shortdesc lang="en">${xmlEscape(p.shortdesc)}</shortdesc>`);
    // A secret's default is shown like any other (it is in the agent for all to read anyway).
    const dflt = p.default === undefined ? "" : ` default="${xmlEscape(p.default)}"`;
    out.push(`<content type="${p.type}"${dflt} />`);
    out.push("</parameter>");
  }
  out.push("</parameters>");
  out.push("");
  out.push("<actions>");
  for (const name of agentActionNames(agent)) {
    if (name === "reload-agent" && !ocf11) continue;
    const a = agent.actions[name];
    if (a === undefined) continue;
    let attrs = `name="${name}" timeout="${xmlEscape(a.timeout)}"`;
    if (a.interval !== undefined) attrs += ` interval="${xmlEscape(a.interval)}"`;
    if (a.depth !== undefined) attrs += ` depth="${a.depth}"`;
    if (a.role !== undefined) attrs += ` role="${xmlEscape(a.role)}"`;
    out.push(`<action ${attrs} />`);
  }
  out.push('<action name="meta-data" timeout="5s" />');
  out.push(`<action name="validate-all" timeout="${xmlEscape(agent.validateTimeout ?? "20s")}" />`);
  out.push("</actions>");
  out.push("</resource-agent>");
  return `${out.join("\n")}\n`;
}

/**
 * Does the caller speak OCF 1.1? Pacemaker (2.1 and later) exports OCF_RA_VERSION_MAJOR=1 and
 * OCF_RA_VERSION_MINOR=1 to every action, meta-data included; ocf-tester and a shell export
 * nothing and get the 1.0 form that ra-api-1.dtd validates.
 */
export function callerSpeaksOcf11(env: Readonly<Record<string, string | undefined>>): boolean {
  const major = Number.parseInt(env.OCF_RA_VERSION_MAJOR ?? "", 10);
  const minor = Number.parseInt(env.OCF_RA_VERSION_MINOR ?? "", 10);
  if (!Number.isFinite(major)) return false;
  return major > 1 || (major === 1 && Number.isFinite(minor) && minor >= 1);
}
