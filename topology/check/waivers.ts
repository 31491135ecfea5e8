/**
 * Waivers: a warning accepted on purpose (a guest that must not live-migrate, a cluster that wants
 * failback) is declared in the CIB, where the configuration is, two ways:
 *
 * - a tag named kvmha-waive-<finding id> listing the resources it is accepted for (what kvmha
 *   render writes: pcs, crmsh and the CIB all know tags); for a finding about the cluster, a node
 *   or a level, the tag itself is the waiver, whatever it lists;
 * - the meta attribute kvmha-waive (finding ids, separated by commas or spaces) on a resource, its
 *   group or clone, or in rsc_defaults for the whole cluster (a one-liner with pcs; crmsh warns
 *   about a meta attribute it does not know).
 *
 * A waived finding is still reported, as waived, and counts for no exit status, --strict included.
 * Errors are never waived: each is an outage waiting to happen. Pure.
 */
import type { Primitive } from "./cib.js";
import { type CheckContext, metaOf } from "./context.js";
import type { Finding } from "./findings.js";

/** The meta attribute (docs/check.md). */
export const WAIVE_META = "kvmha-waive";
/** The tags' prefix: kvmha-waive-<finding id>. */
export const WAIVE_TAG = `${WAIVE_META}-`;

export interface WaivedFinding extends Finding {
  /** Where the waiver was declared: "tag kvmha-waive-guest-no-migrate", "meta kvmha-waive of db1". */
  readonly waivedBy: string;
}

function parseWaivers(value: string | undefined): string[] {
  return (value ?? "")
    .split(/[\s,;]+/)
    .map((w) => w.trim())
    .filter((w) => w !== "");
}

/** Where `finding` is waived for resource `p` (its tag, or a meta attribute), if it is. */
function resourceWaiver(ctx: CheckContext, p: Primitive, finding: string): string | undefined {
  const tag = `${WAIVE_TAG}${finding}`;
  const ids = [p.id, ...p.parents.map((x) => x.id)];
  if (ctx.cib.tags.get(tag)?.some((id) => ids.includes(id))) return `tag ${tag}`;
  if (!parseWaivers(metaOf(ctx.cib, p, WAIVE_META)).includes(finding)) return undefined;
  if (p.meta.has(WAIVE_META)) return `meta ${WAIVE_META} of ${p.id}`;
  for (const parent of p.parents)
    if (ctx.cib.containers.find((c) => c.id === parent.id)?.meta.has(WAIVE_META))
      return `meta ${WAIVE_META} of ${parent.id}`;
  return `rsc_defaults ${WAIVE_META}`;
}

/** Where `finding` is waived for the whole cluster, if it is. */
function clusterWaiver(ctx: CheckContext, finding: string): string | undefined {
  const tag = `${WAIVE_TAG}${finding}`;
  if (ctx.cib.tags.has(tag)) return `tag ${tag}`;
  if (parseWaivers(ctx.cib.rscDefaults.get(WAIVE_META)).includes(finding))
    return `rsc_defaults ${WAIVE_META}`;
  return undefined;
}

/** The findings split into those that count and those a waiver accepts. */
export function applyWaivers(
  ctx: CheckContext,
  findings: readonly Finding[],
): { findings: Finding[]; waived: WaivedFinding[] } {
  const out: Finding[] = [];
  const waived: WaivedFinding[] = [];
  for (const f of findings) {
    const resource =
      f.subject.kind === "device" || f.subject.kind === "resource"
        ? ctx.cib.primitives.find((p) => p.id === f.subject.id)
        : undefined;
    const by =
      f.severity === "error"
        ? undefined
        : resource === undefined
          ? clusterWaiver(ctx, f.id)
          : resourceWaiver(ctx, resource, f.id);
    if (by === undefined) out.push(f);
    else waived.push({ ...f, waivedBy: by });
  }
  return { findings: out, waived };
}
