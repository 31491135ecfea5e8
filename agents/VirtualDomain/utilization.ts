/**
 * The utilization attributes (cpu, hv_memory, host_memory) from the domain XML, written with
 * crm_resource only when they differ from what this node last wrote (lib/libvirt/utilization.ts
 * decides; the record is a state file in HA_RSCTMP): a steady-state monitor runs no crm_resource.
 */
import { secs } from "../../lib/deadline.js";
import { messageOf } from "../../lib/errors.js";
import {
  UTILIZATION_ATTRS,
  type UtilizationRecord,
  crmResourceArgs,
  parseUtilizationRecord,
  recordAfter,
  utilizationOps,
  utilizationValues,
} from "../../lib/libvirt/utilization.js";
import type { OcfContext } from "../../lib/ocf/agent.js";
import {
  readStateFile,
  runTool,
  stateFile,
  stepDeadline,
  writeStateFile,
} from "../../lib/ocf/toolbox.js";
import type { Domain } from "./domain.js";

/** After a failed crm_resource (no CIB here, cluster down), writes wait this long. */
export const UTILIZATION_RETRY_MS = 60_000;
/** The most one crm_resource call may take. */
const CRM_RESOURCE_MS = 10_000;
/** The record's suffix: HA_RSCTMP/VirtualDomain-<instance>.utilization. */
const RECORD = "utilization";

/**
 * Sets (or deletes) the cpu/hv_memory/host_memory utilization attributes from the config file's
 * XML, and only those that differ from what this node last wrote. `afresh` (start, migrate_from)
 * writes all. A failure is a warning, never the monitor's.
 */
export async function updateUtilization(ctx: OcfContext, d: Domain, afresh = false): Promise<void> {
  if (d.xml === undefined) return;
  const flag = (prefix: string) =>
    Object.fromEntries(
      UTILIZATION_ATTRS.map((a) => [a, ctx.params.flag(`${prefix}_${a}`)]),
    ) as Record<(typeof UTILIZATION_ATTRS)[number], boolean>;
  const flags = { autoset: flag("autoset_utilization"), unset: flag("unset_utilization") };
  // start and migrate_from write every value again: a value changed by hand in the CIB since is
  // set right at the next start here, monitors then only write changes.
  let record: UtilizationRecord = afresh
    ? { values: {} }
    : parseUtilizationRecord(readStateFile(ctx, RECORD));
  const ops = utilizationOps(flags, utilizationValues(d.xml.vcpus, d.xml.memoryKib), record);
  if (ops.length === 0) return;
  if (record.retryAfter !== undefined && Date.now() < record.retryAfter) {
    ctx.log.debug(
      `utilization of ${ctx.instance}: ${ops.length} change(s) held back after a failed crm_resource`,
    );
    return;
  }
  const before = JSON.stringify(record);
  for (const op of ops) {
    const deadline = stepDeadline(ctx, CRM_RESOURCE_MS);
    if (deadline.remainingMs() < 500) break;
    const r = await runTool(ctx, "crm_resource", crmResourceArgs(ctx.instance, op), deadline);
    if (r.why !== undefined) {
      ctx.log.warning(
        `crm_resource failed to ${op.op === "set" ? `set utilization attribute ${op.attr} to ${op.value}` : `delete utilization attribute ${op.attr}`}: ${r.why}; retrying in ${secs(UTILIZATION_RETRY_MS)}`,
      );
      record = { values: record.values, retryAfter: Date.now() + UTILIZATION_RETRY_MS };
      break;
    }
    ctx.log.info(
      op.op === "set"
        ? `utilization ${op.attr}=${op.value} set for ${ctx.instance}`
        : `utilization ${op.attr} deleted for ${ctx.instance}`,
    );
    record = recordAfter(record, op);
  }
  if (JSON.stringify(record) === before) return;
  try {
    await writeStateFile(ctx, RECORD, `${JSON.stringify(record)}\n`);
  } catch (err) {
    ctx.log.warning(
      `cannot record the utilization in ${stateFile(ctx, RECORD)}: ${messageOf(err)}`,
    );
  }
}
