/**
 * VirtualDomain's utilization attributes (Pacemaker's placement by cpu and memory): which of
 * `cpu`, `hv_memory`, `host_memory` to set or delete, from the domain XML and the agent's
 * autoset_utilization_* / unset_utilization_* flags, against what this node last wrote. Pure: the
 * agent reads the record and runs crm_resource. The names and units are the reference agent's:
 * cpu = vCPUs (dominfo's CPU(s)), both memories = maximum memory in whole MiB (KiB / 1024, rounded
 * down, as its awk printf "%d").
 */

export const UTILIZATION_ATTRS = ["cpu", "hv_memory", "host_memory"] as const;
export type UtilizationAttr = (typeof UTILIZATION_ATTRS)[number];

export interface UtilizationFlags {
  /** autoset_utilization_<attr> */
  readonly autoset: Readonly<Record<UtilizationAttr, boolean>>;
  /** unset_utilization_<attr> (used only when autoset is off, as in the reference) */
  readonly unset: Readonly<Record<UtilizationAttr, boolean>>;
}

/**
 * What this node last wrote: a value, `null` for deleted, absent for never written (or unknown).
 * `retryAfter` (ms since the epoch) holds writes back after a failed crm_resource.
 */
export interface UtilizationRecord {
  readonly values: Partial<Record<UtilizationAttr, string | null>>;
  readonly retryAfter?: number;
}

export type UtilizationOp =
  | { readonly attr: UtilizationAttr; readonly op: "set"; readonly value: string }
  | { readonly attr: UtilizationAttr; readonly op: "delete" };

/** The values the domain XML gives: undefined where it says nothing (the attribute is then left alone). */
export function utilizationValues(
  vcpus: number | undefined,
  memoryKib: number | undefined,
): Partial<Record<UtilizationAttr, string>> {
  const mib = memoryKib === undefined ? undefined : String(Math.floor(memoryKib / 1024));
  return {
    ...(vcpus === undefined ? {} : { cpu: String(vcpus) }),
    ...(mib === undefined ? {} : { hv_memory: mib, host_memory: mib }),
  };
}

/** The crm_resource calls needed now: none when the record already holds what is wanted. */
export function utilizationOps(
  flags: UtilizationFlags,
  values: Partial<Record<UtilizationAttr, string>>,
  record: UtilizationRecord,
): UtilizationOp[] {
  const ops: UtilizationOp[] = [];
  for (const attr of UTILIZATION_ATTRS) {
    const had = record.values[attr];
    if (flags.autoset[attr]) {
      const want = values[attr];
      if (want !== undefined && had !== want) ops.push({ attr, op: "set", value: want });
    } else if (flags.unset[attr] && had !== null) {
      ops.push({ attr, op: "delete" });
    }
  }
  return ops;
}

/** crm_resource's arguments for one operation on resource `instance`. */
export function crmResourceArgs(instance: string, op: UtilizationOp): string[] {
  return op.op === "set"
    ? [
        "--resource",
        instance,
        "--utilization",
        "--set-parameter",
        op.attr,
        "--parameter-value",
        op.value,
      ]
    : ["--resource", instance, "--utilization", "--delete-parameter", op.attr];
}

/** The record after `op` succeeded. */
export function recordAfter(record: UtilizationRecord, op: UtilizationOp): UtilizationRecord {
  return { values: { ...record.values, [op.attr]: op.op === "set" ? op.value : null } };
}

/** A record file's text, or an empty record when it is missing or not ours. */
export function parseUtilizationRecord(text: string | undefined): UtilizationRecord {
  if (text === undefined) return { values: {} };
  try {
    const data = JSON.parse(text) as { values?: unknown; retryAfter?: unknown };
    const values: Partial<Record<UtilizationAttr, string | null>> = {};
    const v = (data.values ?? {}) as Record<string, unknown>;
    for (const attr of UTILIZATION_ATTRS) {
      const x = v[attr];
      if (typeof x === "string" || x === null) values[attr] = x;
    }
    return typeof data.retryAfter === "number"
      ? { values, retryAfter: data.retryAfter }
      : { values };
  } catch {
    return { values: {} };
  }
}
