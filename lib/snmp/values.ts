/**
 * Pure helpers over SNMP values: OIDs compared arc by arc, and varbinds turned into typed values,
 * so that "No Such Instance" can never be mistaken for a number (fence_apc_snmp once read it as
 * "off").
 */

export type SnmpValue =
  | { readonly kind: "integer"; readonly value: number }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "oid"; readonly value: string }
  /** The agent has no such object or instance, or the walk ran off the end of its MIB. */
  | {
      readonly kind: "missing";
      readonly reason: "noSuchObject" | "noSuchInstance" | "endOfMibView";
    }
  | { readonly kind: "other"; readonly type: number };

/** The wire types, as numbered by SNMP's ASN.1 (and by the net-snmp package). */
export const SnmpType = {
  Integer: 2,
  OctetString: 4,
  Null: 5,
  OID: 6,
  Counter: 65,
  Gauge: 66,
  TimeTicks: 67,
  NoSuchObject: 128,
  NoSuchInstance: 129,
  EndOfMibView: 130,
} as const;

export function toSnmpValue(type: number, value: unknown): SnmpValue {
  switch (type) {
    case SnmpType.Integer:
    case SnmpType.Counter:
    case SnmpType.Gauge:
    case SnmpType.TimeTicks:
      return typeof value === "number" && Number.isInteger(value)
        ? { kind: "integer", value }
        : { kind: "other", type };
    case SnmpType.OctetString:
      if (Buffer.isBuffer(value)) return { kind: "string", value: value.toString("utf8") };
      return typeof value === "string" ? { kind: "string", value } : { kind: "other", type };
    case SnmpType.OID:
      return typeof value === "string" ? { kind: "oid", value } : { kind: "other", type };
    case SnmpType.NoSuchObject:
      return { kind: "missing", reason: "noSuchObject" };
    case SnmpType.NoSuchInstance:
      return { kind: "missing", reason: "noSuchInstance" };
    case SnmpType.EndOfMibView:
      return { kind: "missing", reason: "endOfMibView" };
    default:
      return { kind: "other", type };
  }
}

export function describeValue(v: SnmpValue): string {
  switch (v.kind) {
    case "integer":
      return String(v.value);
    case "string":
      return JSON.stringify(v.value);
    case "oid":
      return v.value;
    case "missing":
      return v.reason;
    case "other":
      return `a value of ASN.1 type ${v.type}`;
  }
}

const OID = /^\d+(\.\d+)*$/;

export function isOid(text: string): boolean {
  return OID.test(text);
}

/** Numeric comparison arc by arc: "1.3.6.1.10" comes after "1.3.6.1.9". */
export function compareOids(a: string, b: string): number {
  const x = a.split(".");
  const y = b.split(".");
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Is `oid` strictly below `base` (whole arcs)? */
export function isUnder(oid: string, base: string): boolean {
  return oid.startsWith(`${base}.`);
}

/** The index part of a column instance: "1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.7" under its column → "7". */
export function indexOf(oid: string, column: string): string | undefined {
  return isUnder(oid, column) ? oid.slice(column.length + 1) : undefined;
}
