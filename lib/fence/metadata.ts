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

/** Text column of `--help` (fence-agents': options padded to 31 after 3 spaces). */
const HELP_TEXT_COLUMN = 34;
/** Where wrapped help text goes on (fence-agents' indent). */
const HELP_WRAP_INDENT = 40;
export const HELP_WIDTH = 80;

/**
 * Words wrapped to `width` columns, the first line starting at `firstColumn`, the others at
 * `indent`. A word longer than a line stays whole, except a list of choices (`a|b|c`), which
 * breaks after a bar. A no-break space holds words together ("(default 0)") and prints as a space.
 */
export function wrapWords(
  text: string,
  firstColumn: number,
  indent: number,
  width: number,
): string[] {
  const pieces = text
    .split(/[ \t\r\n]+/)
    .filter((w) => w !== "")
    .flatMap((w) =>
      w.length > width - indent
        ? (w.match(/[^|]+\|?|\|/g) ?? [w]).map((p, i) => ({ text: p, glued: i > 0 }))
        : [{ text: w, glued: false }],
    );
  const lines: string[] = [];
  let line = "";
  let column = firstColumn;
  for (const { text: piece, glued } of pieces) {
    const sep = line === "" || glued ? "" : " ";
    if (line !== "" && column + sep.length + piece.length > width) {
      lines.push(line);
      line = piece;
      column = indent + piece.length;
      continue;
    }
    line += sep + piece;
    column += sep.length + piece.length;
  }
  if (line !== "") lines.push(line);
  return lines.map((l) => l.replace(/\u00a0/g, " "));
}

/** One option of `--help`: `   -x, --long=[value]` then its text, wrapped at 80 columns. */
export function helpEntry(option: string, text: string): string {
  const head = `   ${option}`;
  const first = head.length + 1 <= HELP_TEXT_COLUMN ? head.padEnd(HELP_TEXT_COLUMN) : `${head}   `;
  const [line0, ...rest] = wrapWords(text, first.length, HELP_WRAP_INDENT, HELP_WIDTH);
  if (first.length + (line0?.length ?? 0) > HELP_WIDTH) {
    // The option itself leaves no room: its text starts on the next line.
    const all = wrapWords(text, HELP_WRAP_INDENT, HELP_WRAP_INDENT, HELP_WIDTH);
    return [head, ...all.map((l) => `${" ".repeat(HELP_WRAP_INDENT)}${l}`)].join("\n");
  }
  return [
    `${first}${line0 ?? ""}`.trimEnd(),
    ...rest.map((l) => `${" ".repeat(HELP_WRAP_INDENT)}${l}`),
  ].join("\n");
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
    else if (spec.choices !== undefined) desc += ` (${spec.choices.join("|")})`;
    if (spec.default !== undefined && spec.name !== "action")
      desc += ` (default\u00a0${spec.default})`;
    lines.push(helpEntry(getoptText(spec), desc));
  }
  return `${lines.join("\n")}\n`;
}

function roff(text: string): string {
  return text
    .replace(/\\/g, "\\\\")
    .replace(/^([.'])/gm, "\\&$1")
    .replace(/-/g, "\\-");
}

/** What each action does, for the man page (fence-agents' pages describe every action). */
const ACTION_DOCS: Readonly<Record<string, string>> = {
  on: "Power the target on, then read its state back until it is on (power_timeout).",
  off: "Power the target off, then read its state back: success only once off is read back.",
  reboot:
    "Power off and read off back, then power on. Fencing rests on the off: when power on fails afterwards the error is logged and the reboot still succeeds. With method=cycle (IPMI), the device's own power cycle, which is not verified.",
  status:
    "Print the power state, Status: ON or Status: OFF; exit 0 when on, 2 when off, 1 when it cannot be read or is neither.",
  list: "Print each plug (outlet) and its name, one per line: plug,name.",
  "list-status": "Print each plug, its name and its power state: plug,name,ON|OFF.",
  monitor:
    "Check that the device answers and accepts the login (for PDUs: that its outlets can be listed); no power state is changed.",
  metadata: "Print the XML metadata that Pacemaker, pcs and crmsh read.",
  manpage: "Print this manual page (roff).",
  "validate-all": "Check the options without contacting the device; exit 0 when they are valid.",
  diag: "Pulse a diagnostic interrupt (NMI) to the processors, for a crash dump; the power state is not read back.",
};

/** A sentence's end: the text as is when it already has one, else with a full stop. */
function sentence(text: string): string {
  return /[.!?)]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`;
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
  out.push(
    ".PP",
    roff(
      `${docs.name} takes its options on the command line, or, given no arguments, as key=value lines on stdin, which is how Pacemaker's fencer runs it. Success is reported only for a power state read back from the device.`,
    ),
  );
  out.push(".SH OPTIONS");
  for (const { spec, alias } of rows(specs)) {
    if (alias) continue;
    out.push(".TP", `.B ${roff(getoptText(spec))}`);
    let desc = sentence(spec.shortdesc);
    if (spec.choices !== undefined) desc += ` One of: ${spec.choices.join(", ")}.`;
    if (spec.default !== undefined) desc += ` Default: ${spec.default}.`;
    if (spec.aliases !== undefined && spec.aliases.length > 0)
      desc += ` On stdin: ${spec.name} (or ${spec.aliases.join(", ")}).`;
    out.push(roff(desc));
  }
  out.push(".SH ACTIONS");
  for (const action of actions)
    out.push(".TP", `.B ${roff(action)}`, roff(ACTION_DOCS[action] ?? "(not documented)"));
  out.push(
    ".SH STDIN PARAMETERS",
    roff(
      "With no arguments, options are read as key=value lines on stdin, as Pacemaker passes them. Keys may use - or _; lines starting with # are comments; the last of duplicate keys wins; unknown keys are warned about (by name only) and ignored; booleans are 1/yes/on/true and 0/no/off/false.",
    ),
  );
  for (const { key, spec, alias } of rows(specs)) {
    out.push(
      ".TP",
      `.B ${roff(key)}`,
      roff(alias ? `Obsolete name of ${spec.name}.` : sentence(spec.shortdesc)),
    );
  }
  out.push(
    ".SH EXIT STATUS",
    ".TP",
    ".B 0",
    roff("Success: the action was done and its power state read back; status: the target is on."),
    ".TP",
    ".B 1",
    roff(
      "Failure: a usage error (unknown option, bad value), the device could not be reached or refused the login or the command, or the state never came; one line on stderr says why.",
    ),
    ".TP",
    ".B 2",
    roff("status only: the target is off."),
  );
  out.push(
    ".SH LOGGING",
    roff(
      "Errors and warnings go to stderr (which Pacemaker's fencer records in its log) and to syslog: facility user, identifier the agent's name, each line naming the action and the device, an error also the step that failed (journalctl -t NAME). -q (quiet=1) silences stderr only. -v (verbose=1 on stdin) adds each step, timestamped: connect, login, status read, command, read-back; -vv adds the protocol trace. -D FILE (debug_file) writes every line to FILE. Secrets print as [hidden].",
    ),
  );
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
    "\\fBkvmha\\fR(8), \\fBstonith_admin\\fR(8), \\fBpcs\\fR(8), \\fBcrm\\fR(8), \\fBjournalctl\\fR(1)",
  );
  return `${out.join("\n")}\n`;
}
