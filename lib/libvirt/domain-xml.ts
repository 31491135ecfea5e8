import { XmlSyntaxError, parseXmlWith } from "../xml.js";
import type * as Xml2jsModule from "xml2js";
/**
 * Reading a libvirt domain XML file (VirtualDomain's `config`): the domain's name, UUID and type,
 * with a real XML parser (xml2js), not a line match. Only what the agent needs is read; libvirt
 * itself validates the rest when the domain is created.
 *
 * xml2js is loaded on first parse, not with this module: VirtualDomain is in the executable's
 * startup snapshot, and an initialized xml2js there would be deserialized at every start of every
 * agent, fence agents included (docs/build.md). In the bundle this import() of a bundled module
 * is a lazy require, not a real import(), which the build refuses.
 */
type Xml2js = typeof Xml2jsModule;
let xml2js: Promise<Xml2js> | undefined;

export interface DomainXmlInfo {
  /** `<name>`, trimmed. */
  readonly name: string;
  /** `<uuid>`, lower case, when given (libvirt generates one otherwise). */
  readonly uuid: string | undefined;
  /** The `type` attribute of `<domain>`: `kvm`, `qemu`, `xen`, `lxc`, `test`, … */
  readonly type: string;
  /** `<devices><emulator>`, when given. */
  readonly emulator: string | undefined;
  /** vCPUs the domain starts with: `<vcpu current='N'>` else `<vcpu>`'s count (what `virsh dominfo` shows as CPU(s)). */
  readonly vcpus: number | undefined;
  /** `<memory>` (the maximum memory, `virsh dominfo`'s "Max memory") in KiB. */
  readonly memoryKib: number | undefined;
  /** Storage pools the disks use (`<source pool='…'>`), sorted, each once. */
  readonly pools: readonly string[];
  /** Virtual networks the interfaces use (`<source network='…'>`), sorted, each once. */
  readonly networks: readonly string[];
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
  if (node !== null && typeof node === "object" && typeof (node as XmlNode)._ === "string")
    return (node as XmlNode)._;
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

/** Parses a domain XML document; rejects with DomainXmlError with a one-line reason. */
export async function parseDomainXml(xml: string): Promise<DomainXmlInfo> {
  xml2js ??= import("xml2js");
  const { Parser } = await xml2js;
  let doc: Record<string, unknown> | null;
  try {
    doc = (parseXmlWith(
      Parser,
      { explicitArray: true, explicitRoot: true, trim: false, normalize: false, strict: true },
      xml,
    ) ?? null) as Record<string, unknown> | null;
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw new DomainXmlError(err.message);
    throw err;
  }
  if (doc === null) throw new DomainXmlError("empty document");
  const roots = Object.keys(doc);
  const domain = doc.domain as XmlNode | string | undefined;
  if (domain === undefined)
    throw new DomainXmlError(`the root element is <${roots[0] ?? "?"}>, not <domain>`);
  if (typeof domain === "string") throw new DomainXmlError("<domain> has no <name>");
  const type = domain.$?.type?.trim() ?? "";
  if (type === "") throw new DomainXmlError("<domain> has no type attribute");
  const name = text(only(domain, "name", "<domain>"))?.trim() ?? "";
  if (name === "") throw new DomainXmlError("<domain> has no <name> (or an empty one)");
  const uuidText = text(only(domain, "uuid", "<domain>"))?.trim();
  if (uuidText !== undefined && !UUID.test(uuidText))
    throw new DomainXmlError(`<uuid> '${uuidText}' is not a UUID`);
  const devices = only(domain, "devices", "<domain>");
  const emulator =
    devices !== undefined && typeof devices === "object"
      ? text(only(devices as XmlNode, "emulator", "<devices>"))?.trim()
      : undefined;
  const vcpu = only(domain, "vcpu", "<domain>");
  const vcpus = positiveInt((vcpu as XmlNode | undefined)?.$?.current) ?? positiveInt(text(vcpu));
  if (vcpu !== undefined && vcpus === undefined)
    throw new DomainXmlError(`<vcpu> '${text(vcpu)?.trim() ?? ""}' is not a vCPU count`);
  const memory = only(domain, "memory", "<domain>");
  const memoryKib =
    memory === undefined ? undefined : toKib(text(memory) ?? "", (memory as XmlNode).$?.unit);
  const pools = new Set<string>();
  const networks = new Set<string>();
  if (devices !== undefined && typeof devices === "object") {
    for (const [kind, attr, into] of [
      ["disk", "pool", pools],
      ["interface", "network", networks],
    ] as const) {
      const list = (devices as XmlNode)[kind];
      for (const dev of Array.isArray(list) ? list : []) {
        const sources = (dev as XmlNode).source;
        for (const src of Array.isArray(sources) ? sources : []) {
          const v = (src as XmlNode).$?.[attr]?.trim();
          if (v !== undefined && v !== "") into.add(v);
        }
      }
    }
  }
  return {
    name,
    uuid: uuidText === undefined || uuidText === "" ? undefined : normalizeUuid(uuidText),
    type,
    emulator: emulator === "" ? undefined : emulator,
    vcpus,
    memoryKib,
    pools: [...pools].sort(),
    networks: [...networks].sort(),
  };
}

function positiveInt(v: string | undefined): number | undefined {
  const t = v?.trim() ?? "";
  return /^\d+$/.test(t) && Number.parseInt(t, 10) > 0 ? Number.parseInt(t, 10) : undefined;
}

/** libvirt's memory units (docs: formatdomain, "Memory Allocation"); no unit is KiB. */
const UNIT_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  bytes: 1,
  kb: 1e3,
  k: 1024,
  kib: 1024,
  mb: 1e6,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1e9,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  tb: 1e12,
  t: 1024 ** 4,
  tib: 1024 ** 4,
};

/** A `<memory unit=U>N</memory>` value in KiB (rounded up, as libvirt does), or a DomainXmlError. */
export function toKib(value: string, unit: string | undefined): number {
  const v = value.trim();
  const u = (unit ?? "KiB").trim().toLowerCase();
  const factor = UNIT_BYTES[u];
  if (!/^\d+$/.test(v)) throw new DomainXmlError(`<memory> '${v}' is not a number`);
  if (factor === undefined)
    throw new DomainXmlError(`<memory> unit '${unit ?? ""}' is not one libvirt knows`);
  return Math.ceil((Number.parseInt(v, 10) * factor) / 1024);
}

/** A UUID as libvirt prints it: lower case, with dashes. */
export function normalizeUuid(uuid: string): string {
  const hex = uuid.replace(/-/g, "").toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A dumped domain XML without the running domain's `id` attribute on `<domain>` (some drivers print
 * it even with --migratable): a config file must not carry one run's id.
 */
export function withoutRuntimeId(xml: string): string {
  return xml.replace(/^(\s*<domain\b[^>]*?)\s+id=(['"])-?\d+\2/, "$1");
}
