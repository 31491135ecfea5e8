/**
 * A man page for an OCF resource agent, rendered from the meta-data XML the agent itself prints
 * (so it says what the installed agent says, and cannot drift from it). The page is named as
 * resource-agents names theirs: ocf_PROVIDER_AGENT(7).
 */
import { Parser } from "xml2js";
import { XmlSyntaxError, parseXmlWith } from "../xml.js";

interface XmlNode {
  readonly $?: Readonly<Record<string, string>>;
  readonly _?: string;
  readonly [child: string]: unknown;
}

export interface OcfParameterDoc {
  readonly name: string;
  readonly required: boolean;
  readonly unique: boolean;
  readonly type: string;
  readonly default: string | undefined;
  /** OCF 1.1: a change is applied by reload-agent, without a restart. */
  readonly reloadable: boolean;
  readonly shortdesc: string;
  readonly longdesc: string;
}

export interface OcfActionDoc {
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
}

export interface OcfAgentDoc {
  readonly name: string;
  readonly version: string;
  /** The OCF version the meta-data speaks (`<version>`): 1.1 lists reload-agent and reloadable. */
  readonly ocfVersion: string;
  readonly shortdesc: string;
  readonly longdesc: string;
  readonly parameters: readonly OcfParameterDoc[];
  readonly actions: readonly OcfActionDoc[];
}

function children(node: XmlNode | undefined, name: string): XmlNode[] {
  const c = node?.[name];
  return Array.isArray(c) ? (c as XmlNode[]) : [];
}

function text(node: XmlNode | undefined, name: string): string {
  const first = children(node, name)[0];
  if (first === undefined) return "";
  return (typeof first === "string" ? first : (first._ ?? "")).trim();
}

/** The agent's description as its meta-data gives it; throws on XML that is not OCF meta-data. */
export function parseOcfMetadata(xml: string): OcfAgentDoc {
  let root: XmlNode | undefined;
  try {
    const parsed = parseXmlWith(Parser, { explicitArray: true, trim: false }, xml) as
      { "resource-agent"?: XmlNode } | undefined;
    root = parsed?.["resource-agent"];
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw new Error(`meta-data is not XML: ${err.detail}`);
    throw err;
  }
  if (root?.$?.name === undefined) throw new Error("meta-data has no <resource-agent name=…>");
  const params = children(children(root, "parameters")[0], "parameter").map(
    (p): OcfParameterDoc => {
      const content = children(p, "content")[0];
      return {
        name: p.$?.name ?? "",
        required: p.$?.required === "1",
        unique: p.$?.unique === "1",
        type: content?.$?.type ?? "string",
        default: content?.$?.default,
        reloadable: p.$?.reloadable === "1" || p.$?.reloadable === "true",
        shortdesc: text(p, "shortdesc"),
        longdesc: text(p, "longdesc"),
      };
    },
  );
  const actions = children(children(root, "actions")[0], "action").map((a): OcfActionDoc => ({
    name: a.$?.name ?? "",
    attributes: a.$ ?? {},
  }));
  return {
    name: root.$.name,
    version: root.$.version ?? "",
    ocfVersion: text(root, "version"),
    shortdesc: text(root, "shortdesc"),
    longdesc: text(root, "longdesc"),
    parameters: params,
    actions,
  };
}

/** Text as roff: backslashes doubled, a leading dot or quote defused, hyphens as minus signs. */
function roff(s: string): string {
  return s
    .replace(/\\/g, "\\e")
    .replace(/-/g, "\\-")
    .split("\n")
    .map((line) => line.replace(/^([.'])/, "\\&$1"))
    .join("\n");
}

/** Paragraphs of a longdesc: blank lines separate them; single newlines are only wrapping. */
function paragraphs(s: string): string[] {
  return s
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s*\n\s*/g, " ").trim())
    .filter((p) => p !== "");
}

/** What each OCF return code means to an admin. */
const OCF_EXIT_DOCS: readonly (readonly [number, string])[] = [
  [0, "OCF_SUCCESS: done; monitor: the resource runs."],
  [1, "OCF_ERR_GENERIC: the action failed; the exit reason says why."],
  [2, "OCF_ERR_ARGS: wrong arguments (an unknown action, a parameter the action refuses)."],
  [3, "OCF_ERR_UNIMPLEMENTED: the agent has no such action."],
  [4, "OCF_ERR_PERM: not allowed (permissions)."],
  [
    5,
    "OCF_ERR_INSTALLED: something the agent needs is missing on this node (virsh, the config file).",
  ],
  [
    6,
    "OCF_ERR_CONFIGURED: the resource's parameters are wrong; Pacemaker will not try it anywhere.",
  ],
  [7, "OCF_NOT_RUNNING: monitor or status: the resource is cleanly stopped."],
];

/** `ocf_kvmha_VirtualDomain`, the page name resource-agents uses. */
export function ocfManPageName(provider: string, agent: string): string {
  return `ocf_${provider}_${agent}`;
}

export function ocfManPage(doc: OcfAgentDoc, provider: string, packageVersion: string): string {
  const page = ocfManPageName(provider, doc.name);
  const out: string[] = [];
  out.push(`.TH ${page.toUpperCase()} 7 "" "kvmha ${roff(packageVersion)}" "OCF resource agents"`);
  out.push(".SH NAME", `${roff(page)} \\- ${roff(doc.shortdesc)}`);
  const actionNames = [...new Set(doc.actions.map((a) => a.name))];
  out.push(".SH SYNOPSIS", `\\fB${roff(doc.name)}\\fR [${actionNames.map(roff).join(" | ")}]`);
  out.push(".SH DESCRIPTION");
  for (const [i, p] of paragraphs(doc.longdesc).entries()) {
    if (i > 0) out.push(".PP");
    out.push(roff(p));
  }
  out.push(
    ".PP",
    roff(
      `Pacemaker runs it as ocf:${provider}:${doc.name} (${`/usr/lib/ocf/resource.d/${provider}/${doc.name}`}); parameters come as OCF_RESKEY_name environment variables, the action as the one argument.`,
    ),
  );
  if (doc.actions.some((a) => a.name === "reload-agent")) {
    const reloadable = doc.parameters.filter((p) => p.reloadable).map((p) => p.name);
    out.push(
      ".PP",
      roff(
        `The agent speaks OCF ${doc.ocfVersion || "1.1"}: a change of a parameter marked reloadable (${reloadable.length > 0 ? reloadable.join(", ") : "none"}) is applied by the reload\u2011agent action, without restarting the resource; a change of any other parameter restarts it.`,
      ).replace(/\u2011/g, "\\-"),
    );
  }
  out.push(".SH SUPPORTED PARAMETERS");
  for (const p of doc.parameters) {
    out.push(".TP", `\\fB${roff(p.name)}\\fR`);
    const facts = [p.required ? "required" : "optional", p.type];
    if (p.unique) facts.push("unique");
    if (p.reloadable) facts.push("reloadable");
    if (p.default !== undefined && p.default !== "") facts.push(`default "${p.default}"`);
    out.push(`${roff(p.shortdesc)} (${roff(facts.join(", "))})`);
    for (const para of paragraphs(p.longdesc)) out.push(".br", roff(para));
  }
  out.push(".SH SUPPORTED ACTIONS", "Advised timeouts and intervals, as the meta-data gives them.");
  for (const a of doc.actions) {
    const attrs = Object.entries(a.attributes)
      .filter(([k]) => k !== "name")
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    out.push(
      ".TP",
      `\\fB${roff(a.name)}\\fR`,
      roff(attrs === "" ? "-" : attrs).replace(/^\\-$/, "\\(em"),
    );
  }
  out.push(
    ".SH EXIT STATUS",
    roff(
      "The OCF return codes (resource-agents' ocf-returncodes); a failure also prints one ocf-exit-reason: line on stderr, which Pacemaker shows.",
    ),
  );
  for (const [code, meaning] of OCF_EXIT_DOCS) out.push(".TP", `.B ${code}`, roff(meaning));
  const required = doc.parameters.filter((p) => p.required).map((p) => `${p.name}=…`);
  const ops = doc.actions
    .filter(
      (a) => ["start", "stop", "monitor"].includes(a.name) && (a.attributes.depth ?? "0") === "0",
    )
    .map(
      (a) =>
        `${a.name}${a.attributes.timeout ? ` timeout=${a.attributes.timeout}` : ""}${a.attributes.interval ? ` interval=${a.attributes.interval}` : ""}`,
    );
  const pcs = [
    `pcs resource create RESOURCE ocf:${provider}:${doc.name} ${required.join(" ")}`.trimEnd(),
    ...(ops.length > 0 ? [`    op ${ops.join(" ")}`] : []),
  ];
  out.push(".SH EXAMPLE PCS", ".nf", roff(pcs.join(" \\\n")), ".fi");
  const crm = [
    `primitive RESOURCE ocf:${provider}:${doc.name}`,
    ...(required.length > 0 ? [`    params ${required.join(" ")}`] : []),
    ...ops.map((o) => `    op ${o}`),
  ];
  out.push(".SH EXAMPLE CRM SHELL", ".nf", roff(crm.join(" \\\n")), ".fi");
  out.push(
    ".SH SEE ALSO",
    "\\fBkvmha\\fR(8), \\fBpcs\\fR(8), \\fBcrm\\fR(8), \\fBcrm_resource\\fR(8)",
  );
  return `${out.join("\n")}\n`;
}
