/**
 * What an agent says about itself, generated from its declaration so the three never drift:
 * fence-agents XML metadata (read by Pacemaker, pcs, crmsh, stonith_admin), `--help` usage, and
 * a man page.
 */
import { xmlEscape } from "../xml.js";
import { type OptionSpec, longName, takesValue } from "./options.js";

export interface AgentDocs {
  readonly name: string;
  readonly shortdesc: string;
  readonly longdesc: string;
  readonly vendorUrl: string;
  readonly symlinks?: readonly { readonly name: string; readonly shortdesc: string }[];
}

/** One metadata/usage row: an option under its current name or one of its legacy aliases. */
interface Row {
  readonly key: string;
  readonly spec: OptionSpec;
  readonly alias: boolean;
}

function rows(specs: readonly OptionSpec[]): Row[] {
  const out: Row[] = [];
  for (const spec of specs) {
    if (spec.hidden === true) continue;
    out.push({ key: spec.name, spec, alias: false });
    for (const alias of spec.aliases ?? []) out.push({ key: alias, spec, alias: true });
  }
  return out.sort(
    (a, b) => a.spec.order - b.spec.order || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
}

export function getoptText(spec: OptionSpec): string {
  const long = `--${longName(spec)}${takesValue(spec) ? `=[${spec.value}]` : ""}`;
  return spec.short === undefined ? long : `-${spec.short}, ${long}`;
}

export function metadataXml(
  docs: AgentDocs,
  specs: readonly OptionSpec[],
  actions: readonly string[],
): string {
  const lines: string[] = [];
  lines.push('<?xml version="1.0" ?>');
  lines.push(
    `<resource-agent name="${xmlEscape(docs.name)}" shortdesc="${xmlEscape(docs.shortdesc)}" >`,
  );
  for (const link of docs.symlinks ?? [])
    lines.push(
      `<symlink name="${xmlEscape(link.name)}" shortdesc="${xmlEscape(link.shortdesc)}"/>`,
    );
  lines.push(`<longdesc>${xmlEscape(docs.longdesc)}</longdesc>`);
  lines.push(`<vendor-url>${xmlEscape(docs.vendorUrl)}</vendor-url>`);
  lines.push("<parameters>");
  for (const { key, spec, alias } of rows(specs)) {
    const extra = alias
      ? ' deprecated="1"'
      : spec.aliases !== undefined && spec.aliases.length > 0
        ? ` obsoletes="${xmlEscape(spec.aliases[0] as string)}"`
        : "";
    lines.push(
      `\t<parameter name="${xmlEscape(key)}" unique="0" required="${spec.required === true ? 1 : 0}"${extra}>`,
    );
    lines.push(`\t\t<getopt mixed="${xmlEscape(getoptText(spec))}" />`);
    const dflt = spec.default === undefined ? "" : ` default="${xmlEscape(spec.default)}"`;
    if (spec.type === "select") {
      lines.push(`\t\t<content type="select"${dflt} >`);
      for (const choice of spec.choices ?? [])
        lines.push(`\t\t\t<option value="${xmlEscape(choice)}" />`);
      lines.push("\t\t</content>");
    } else {
      lines.push(`\t\t<content type="${takesValue(spec) ? spec.type : "boolean"}"${dflt} />`);
    }
    lines.push(`\t\t<shortdesc lang="en">${xmlEscape(spec.shortdesc)}</shortdesc>`);
    lines.push("\t</parameter>");
  }
  lines.push("</parameters>");
  lines.push("<actions>");
  for (const action of actions) {
    lines.push(
      action === "on"
        ? '\t<action name="on" automatic="0"/>'
        : `\t<action name="${xmlEscape(action)}" />`,
    );
  }
  lines.push("</actions>");
  lines.push("</resource-agent>");
  return `${lines.join("\n")}\n`;
}

export function usageText(
  docs: AgentDocs,
  specs: readonly OptionSpec[],
  actions: readonly string[],
  defaultAction: string,
): string {
  const lines = ["Usage:", `\t${docs.name} [options]`, "Options:"];
  for (const { spec, alias } of rows(specs)) {
    if (alias) continue;
    let desc = spec.shortdesc;
    if (spec.name === "action")
      desc = `Action: ${actions.map((a) => (a === defaultAction ? `${a} (default)` : a)).join(", ")}`;
    else if (spec.choices !== undefined) desc += ` (${spec.choices.join(", ")})`;
    if (spec.default !== undefined && spec.name !== "action") desc += ` (default ${spec.default})`;
    lines.push(`   ${getoptText(spec).padEnd(31)}${desc}`);
  }
  return `${lines.join("\n")}\n`;
}

function roff(text: string): string {
  return text
    .replace(/\\/g, "\\\\")
    .replace(/^([.'])/gm, "\\&$1")
    .replace(/-/g, "\\-");
}

export function manPage(
  docs: AgentDocs,
  specs: readonly OptionSpec[],
  actions: readonly string[],
  version: string,
): string {
  const out: string[] = [];
  out.push(
    `.TH ${docs.name.toUpperCase()} 8 "" "kvmha ${roff(version)}" "System Manager's Manual"`,
  );
  out.push(".SH NAME", `${roff(docs.name)} \\- ${roff(docs.shortdesc)}`);
  out.push(
    ".SH SYNOPSIS",
    `.B ${roff(docs.name)}`,
    "[\\fIOPTIONS\\fR]",
    ".br",
    `.B ${roff(docs.name)}`,
    "< \\fIkey=value lines on stdin\\fR",
  );
  out.push(".SH DESCRIPTION", roff(docs.longdesc));
  out.push(".SH OPTIONS");
  for (const { spec, alias } of rows(specs)) {
    if (alias) continue;
    out.push(".TP", `.B ${roff(getoptText(spec))}`);
    let desc = spec.shortdesc;
    if (spec.choices !== undefined) desc += ` One of: ${spec.choices.join(", ")}.`;
    if (spec.default !== undefined) desc += ` Default: ${spec.default}.`;
    out.push(roff(desc));
  }
  out.push(".SH ACTIONS");
  for (const action of actions) out.push(".TP", `.B ${roff(action)}`);
  out.push(
    ".SH STDIN PARAMETERS",
    "With no arguments, options are read as key=value lines on stdin, as Pacemaker passes them.",
  );
  for (const { key, spec, alias } of rows(specs)) {
    out.push(
      ".TP",
      `.B ${roff(key)}`,
      roff(alias ? `Obsolete name of ${spec.name}.` : spec.shortdesc),
    );
  }
  out.push(".SH EXIT STATUS", "0 on success; 1 on failure; 2 for status when the target is off.");
  const names = (docs.symlinks ?? []).filter((l) => l.name !== docs.name);
  if (names.length > 0) {
    out.push(
      ".SH OTHER NAMES",
      "The same agent also answers to these names (package kvmha\\-fence\\-aliases):",
    );
    for (const l of names) out.push(".TP", `.B ${roff(l.name)}`, roff(l.shortdesc));
  }
  out.push(
    ".SH SEE ALSO",
    "\\fBkvmha\\fR(8), \\fBstonith_admin\\fR(8), \\fBpcs\\fR(8), \\fBcrm\\fR(8)",
  );
  return `${out.join("\n")}\n`;
}
