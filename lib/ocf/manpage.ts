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
  out.push(".SH SUPPORTED PARAMETERS");
  for (const p of doc.parameters) {
    out.push(".TP", `\\fB${roff(p.name)}\\fR`);
    const facts = [p.required ? "required" : "optional", p.type];
    if (p.unique) facts.push("unique");
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
