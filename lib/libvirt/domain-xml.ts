/**
 * Reading a libvirt domain XML file (VirtualDomain's `config`): the domain's name, UUID and type,
 * with a real XML parser (xml2js), not a line match. Only what the agent needs is read; libvirt
 * itself validates the rest when the domain is created.
 */
import { Parser } from "xml2js";

export interface DomainXmlInfo {
  /** `<name>`, trimmed. */
  readonly name: string;
  /** `<uuid>`, lower case, when given (libvirt generates one otherwise). */
  readonly uuid: string | undefined;
  /** The `type` attribute of `<domain>`: `kvm`, `qemu`, `xen`, `lxc`, `test`, … */
  readonly type: string;
  /** `<devices><emulator>`, when given. */
  readonly emulator: string | undefined;
}

/** A domain XML that cannot be read: the message says why, in one line. */
export class DomainXmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DomainXmlError";
  }
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

interface XmlNode {
  $?: Record<string, string>;
  _?: string;
  [child: string]: unknown;
}

function text(node: unknown): string | undefined {
  if (typeof node === "string") return node;
  if (node !== null && typeof node === "object" && typeof (node as XmlNode)._ === "string") return (node as XmlNode)._;
  if (node !== null && typeof node === "object") return "";
  return undefined;
}

function only(parent: XmlNode, name: string, where: string): unknown {
  const list = parent[name];
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) return list;
  if (list.length > 1) throw new DomainXmlError(`${where} has ${list.length} <${name}> elements`);
  return list[0];
}

/** Parses a domain XML document; throws DomainXmlError with a one-line reason. */
export function parseDomainXml(xml: string): DomainXmlInfo {
  let doc: Record<string, unknown> | null = null;
  // xml2js parses synchronously unless `async` is set; the callback has run when parseString returns.
  const parser = new Parser({ explicitArray: true, explicitRoot: true, trim: false, normalize: false, strict: true });
  let failure: unknown;
  parser.parseString(xml, (err: unknown, result: unknown) => {
    if (err) failure = err;
    else doc = (result ?? null) as Record<string, unknown> | null;
  });
  if (failure !== undefined) {
    const message = failure instanceof Error ? failure.message : String(failure);
    throw new DomainXmlError(`not well-formed XML: ${message.split("\n").join(" ").trim()}`);
  }
  if (doc === null) throw new DomainXmlError("empty document");
  const roots = Object.keys(doc);
  const domain = (doc as Record<string, unknown>).domain as XmlNode | string | undefined;
  if (domain === undefined) throw new DomainXmlError(`the root element is <${roots[0] ?? "?"}>, not <domain>`);
  if (typeof domain === "string") throw new DomainXmlError("<domain> has no <name>");
  const type = domain.$?.type?.trim() ?? "";
  if (type === "") throw new DomainXmlError("<domain> has no type attribute");
  const name = text(only(domain, "name", "<domain>"))?.trim() ?? "";
  if (name === "") throw new DomainXmlError("<domain> has no <name> (or an empty one)");
  const uuidText = text(only(domain, "uuid", "<domain>"))?.trim();
  if (uuidText !== undefined && !UUID.test(uuidText)) throw new DomainXmlError(`<uuid> '${uuidText}' is not a UUID`);
  const devices = only(domain, "devices", "<domain>");
  const emulator = devices !== undefined && typeof devices === "object" ? text(only(devices as XmlNode, "emulator", "<devices>"))?.trim() : undefined;
  return { name, uuid: uuidText === undefined || uuidText === "" ? undefined : normalizeUuid(uuidText), type, emulator: emulator === "" ? undefined : emulator };
}

/** A UUID as libvirt prints it: lower case, with dashes. */
export function normalizeUuid(uuid: string): string {
  const hex = uuid.replace(/-/g, "").toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
