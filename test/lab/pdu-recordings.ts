// The corpus of recorded PDUs (test/fixtures/pdu-recordings): its manifest, and the recordings
// read as records snmpsim serves. Recordings come as snmpsim's .snmprec ("oid|tag|value", some
// with the contributor's variation modules) or as net-snmp walk text (.snmpwalk), read here the
// way snmpsim's own walk grammar reads it. Pure: no processes, no sockets.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const RECORDINGS_DIR = fileURLToPath(
  new URL("../fixtures/pdu-recordings/", import.meta.url),
);

export type OutletState = "on" | "off";

export interface Recording {
  /** Short name; the community the lab serves it under. */
  readonly id: string;
  readonly device: string;
  /** Key into the manifest's sources (repository, licence). */
  readonly source: string;
  /** Path and commit in the source repository. */
  readonly path: string;
  readonly commit: string;
  /** Path under RECORDINGS_DIR. */
  readonly file: string;
  readonly sysObjectId: string;
  /** The profile the sysObjectID picks (null: no profile claims it). */
  readonly recognisedAs: string | null;
  /** The profile whose outlet table answers: what fence_pdu must end up using. */
  readonly profile?: string;
  /** Every outlet as fence_pdu lists it: plug, name, state. */
  readonly outlets?: readonly (readonly [string, string, OutletState])[];
  /** Why there is no outlet to read (metered only, a UPS, …): fence_pdu must fail, never list nothing. */
  readonly noOutlets?: string;
}

export interface Manifest {
  readonly sources: Readonly<
    Record<string, { repository: string; url: string; licence: string; licenceFile: string }>
  >;
  readonly recordings: readonly Recording[];
}

export function loadManifest(): Manifest {
  return JSON.parse(
    fs.readFileSync(path.join(RECORDINGS_DIR, "recordings.json"), "utf8"),
  ) as Manifest;
}

/** One snmprec record: `tag` may carry a variation module (`2:numeric`), `value` its arguments. */
export interface SnmprecRecord {
  readonly oid: string;
  readonly tag: string;
  readonly value: string;
}

/** A recording's records, in its file's order. */
export function readRecording(file: string): SnmprecRecord[] {
  const text = fs.readFileSync(path.resolve(RECORDINGS_DIR, file), "utf8");
  return file.endsWith(".snmpwalk") ? parseWalk(text) : parseSnmprec(text);
}

export function parseSnmprec(text: string): SnmprecRecord[] {
  const records: SnmprecRecord[] = [];
  for (const [n, line] of text.split("\n").entries()) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const m = /^\.?(\d+(?:\.\d+)*)\|([^|]+)\|(.*)$/.exec(line);
    if (m === null) throw new Error(`snmprec line ${n + 1}: not oid|tag|value: ${line}`);
    records.push({ oid: m[1]!, tag: m[2]!, value: m[3]! });
  }
  return records;
}

const PRINTABLE = /^[\x20-\x7e]*$/;

function octets(bytes: Buffer): { tag: string; value: string } {
  const text = bytes.toString("latin1");
  return PRINTABLE.test(text)
    ? { tag: "4", value: text }
    : { tag: "4x", value: bytes.toString("hex") };
}

/** The leading number of "on(1)"-style or "60 seconds"-style values, as snmpsim reads them. */
function leadingNumber(value: string): string {
  return /\((-?\d+)\)/.exec(value)?.[1] ?? /^(-?\d+)/.exec(value)?.[1] ?? value;
}

/** snmprec tags of the walk's number types. */
const NUMBER_TAGS: Readonly<Record<string, string>> = {
  INTEGER: "2",
  COUNTER32: "65",
  GAUGE32: "66",
  TIMETICKS: "67",
  COUNTER64: "70",
};

/**
 * net-snmp walk text (`.1.3.6… = TYPE: value`, numeric OIDs) as snmprec records. A value with no
 * type is a TimeTicks, as in snmpsim's walk grammar; a trailing "End of MIB" (printed on the last
 * line by some snmpwalk runs) is not part of the value.
 */
export function parseWalk(text: string): SnmprecRecord[] {
  const records: SnmprecRecord[] = [];
  for (const [n, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const m = /^\.?(\d+(?:\.\d+)*) = (?:([A-Za-z0-9-]+): ?)?(.*)$/.exec(line);
    if (m === null) throw new Error(`walk line ${n + 1}: not 'OID = TYPE: value': ${line}`);
    const oid = m[1]!;
    const type = (m[2] ?? "Timeticks").toUpperCase();
    const raw = m[3]!.replace(/ ?End of MIB$/, "");
    switch (type) {
      case "STRING": {
        const quoted = /^"(.*)"$/.exec(raw);
        records.push({ oid, ...octets(Buffer.from(quoted ? quoted[1]! : raw, "latin1")) });
        break;
      }
      case "HEX-STRING":
        records.push({ oid, ...octets(Buffer.from(raw.replace(/\s+/g, ""), "hex")) });
        break;
      case "OID":
        records.push({ oid, tag: "6", value: raw.replace(/^\./, "") });
        break;
      case "IPADDRESS":
        records.push({ oid, tag: "64", value: raw });
        break;
      default: {
        const tag = NUMBER_TAGS[type];
        if (tag === undefined)
          throw new Error(`walk line ${n + 1}: type ${type} is not read here: ${line}`);
        records.push({ oid, tag, value: leadingNumber(raw) });
      }
    }
  }
  return records;
}

/**
 * The value a record serves when snmpsim's variation modules are set aside: its own value, a
 * `writecache` record's `value=`, a `numeric` record's `initial=` (the contributor's stand-in for
 * a live reading). Undefined for other variations.
 */
export function staticValue(record: SnmprecRecord): { tag: string; value: string } | undefined {
  const [tag, module] = record.tag.split(":") as [string, string | undefined];
  if (module === undefined) return { tag, value: record.value };
  const setting = module === "writecache" ? "value" : module === "numeric" ? "initial" : undefined;
  if (setting === undefined) return undefined;
  for (const part of record.value.split(","))
    if (part.startsWith(`${setting}=`)) return { tag, value: part.slice(setting.length + 1) };
  return undefined;
}

/** OIDs in numeric order, arc by arc (snmpsim finds records by binary search over this order). */
export function compareOids(a: string, b: string): number {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]! - y[i]!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}
