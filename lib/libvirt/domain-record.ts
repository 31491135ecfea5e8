/**
 * VirtualDomain's record in HA_RSCTMP (`VirtualDomain-<instance>.domain`): the domain's name, UUID
 * and type as start found them, so that a stop or probe whose config file has gone still asks
 * libvirt; and the config file's identity (device, inode, size, mtime, ctime, to the nanosecond)
 * with what the XML parser read from it, so that a monitor re-parses the file only when it changed.
 * Any change to the file (an edit in place, a rename over it, even a touch) changes its ctime,
 * which no one can set back; but file times come from a coarse clock (a few ms), so a file changed
 * moments before it was read could change again with the same times: such a read is not cached
 * (STABLE_MS). Pure: text and stat values in, values out.
 */
import type { DomainXmlInfo } from "./domain-xml.js";

/** What identifies one version of a file, as decimal strings (stat with bigint: exact). */
export interface FileIdentity {
  readonly dev: string;
  readonly ino: string;
  readonly size: string;
  readonly mtimeNs: string;
  readonly ctimeNs: string;
}

export interface DomainRecord {
  readonly name: string;
  readonly uuid: string | undefined;
  readonly type: string | undefined;
  /** The config parameter the record was written for. */
  readonly config: string | undefined;
  /** The config file's identity when `xml` was read from it; both or neither. */
  readonly file?: FileIdentity;
  readonly xml?: DomainXmlInfo;
}

/** The fields of node:fs's BigIntStats the identity is made of. */
export interface BigIntStatLike {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

export function fileIdentity(st: BigIntStatLike): FileIdentity {
  return {
    dev: String(st.dev),
    ino: String(st.ino),
    size: String(st.size),
    mtimeNs: String(st.mtimeNs),
    ctimeNs: String(st.ctimeNs),
  };
}

/** How long a file must have been unchanged when it was read for its identity to be trusted. */
export const STABLE_MS = 2000;

/** The identity to keep with what was read from a file at `nowMs`, or undefined if it changed too recently. */
export function stableIdentity(st: BigIntStatLike, nowMs: number): FileIdentity | undefined {
  return BigInt(Math.floor(nowMs)) * 1_000_000n - st.ctimeNs >= BigInt(STABLE_MS) * 1_000_000n
    ? fileIdentity(st)
    : undefined;
}

export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return (
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs
  );
}

export function encodeDomainRecord(r: DomainRecord): string {
  const withXml = r.file !== undefined && r.xml !== undefined;
  return `${JSON.stringify({ name: r.name, uuid: r.uuid, type: r.type, config: r.config, ...(withXml ? { file: r.file, xml: r.xml } : {}) })}\n`;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  v !== null && typeof v === "object" && !Array.isArray(v);
const optString = (v: unknown): v is string | undefined => v === undefined || typeof v === "string";
const optCount = (v: unknown): v is number | undefined =>
  v === undefined || (typeof v === "number" && Number.isSafeInteger(v) && v > 0);
const strings = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === "string");
const DECIMAL = /^\d+$/;

function identityFrom(v: unknown): FileIdentity | undefined {
  if (!isObject(v)) return undefined;
  const { dev, ino, size, mtimeNs, ctimeNs } = v;
  for (const x of [dev, ino, size, mtimeNs, ctimeNs])
    if (typeof x !== "string" || !DECIMAL.test(x)) return undefined;
  return {
    dev: dev as string,
    ino: ino as string,
    size: size as string,
    mtimeNs: mtimeNs as string,
    ctimeNs: ctimeNs as string,
  };
}

function xmlFrom(v: unknown): DomainXmlInfo | undefined {
  if (!isObject(v)) return undefined;
  const { name, uuid, type, emulator, vcpus, memoryKib, pools, networks } = v;
  if (typeof name !== "string" || name === "" || typeof type !== "string" || type === "")
    return undefined;
  if (
    !optString(uuid) ||
    !optString(emulator) ||
    !optCount(vcpus) ||
    !optCount(memoryKib) ||
    !strings(pools) ||
    !strings(networks)
  )
    return undefined;
  return { name, uuid, type, emulator, vcpus, memoryKib, pools, networks };
}

/**
 * The record, or undefined when the text is not one (missing name). A parsed config that does not
 * check out in every field is dropped (the file is then parsed again), never half used.
 */
export function decodeDomainRecord(text: string): DomainRecord | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(data) || typeof data.name !== "string" || data.name === "") return undefined;
  const base = {
    name: data.name,
    uuid: typeof data.uuid === "string" ? data.uuid : undefined,
    type: typeof data.type === "string" ? data.type : undefined,
    config: typeof data.config === "string" ? data.config : undefined,
  };
  const file = identityFrom(data.file);
  const xml = xmlFrom(data.xml);
  if (
    file === undefined ||
    xml === undefined ||
    xml.name !== base.name ||
    xml.uuid !== base.uuid ||
    xml.type !== base.type
  )
    return base;
  return { ...base, file, xml };
}

/** The parsed config the record holds for `config` at `now` (its identity), or undefined. */
export function cachedConfig(
  record: DomainRecord | undefined,
  config: string,
  now: FileIdentity,
): DomainXmlInfo | undefined {
  if (record?.file === undefined || record.xml === undefined || record.config !== config)
    return undefined;
  return sameFile(record.file, now) ? record.xml : undefined;
}
