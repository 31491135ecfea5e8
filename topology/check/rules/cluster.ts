/** Cluster-wide fencing: is it on, is there anything to fence with, and the two-node shoot-out. */
import { type Cib, type FencingLevel, type Primitive, parseScore } from "../cib.js";
import { type CheckContext, isFalse, levelsFor, metaOf } from "../context.js";
import { claims, delayOf } from "../devices.js";
import { parseDurationMs } from "../duration.js";
import { type Rule, cluster, finding } from "../findings.js";

export const fencingEnabled: Rule = (ctx) => {
  const v = ctx.cib.properties.get("stonith-enabled");
  if (!isFalse(v)) return [];
  return [
    finding(
      "stonith-disabled",
      cluster(),
      `stonith-enabled=${v ?? ""}: the cluster never fences a failed node`,
    ),
  ];
};

function watchdogFencing(cib: Cib): boolean {
  const v = cib.properties.get("stonith-watchdog-timeout")?.trim();
  return v !== undefined && v !== "" && (v.startsWith("-") || (parseDurationMs(v) ?? 0) > 0);
}

export const fencingPresent: Rule = (ctx) => {
  if (ctx.devices.length > 0 || watchdogFencing(ctx.cib)) return [];
  return [
    finding(
      "no-fencing-devices",
      cluster(),
      "no fencing device is configured: a failed node can never be fenced, so its guests are never recovered safely",
    ),
  ];
};

/** The devices the fencer tries first for a node: its lowest level, else every device claiming it. */
function firstDevicesFor(ctx: CheckContext, node: string): Primitive[] {
  const levels = levelsFor(ctx, node);
  if (levels.length > 0) {
    return (levels[0] as FencingLevel).devices
      .map((id) => ctx.deviceById.get(id))
      .filter((d): d is Primitive => d !== undefined);
  }
  return ctx.devices.filter((d) => claims(d, node).claimed !== "no");
}

export const twoNodeDelay: Rule = (ctx) => {
  if (ctx.members.length !== 2 || ctx.devices.length === 0) return [];
  // priority-fencing-delay delays fencing the node whose resources have the higher priority: with
  // no resource priority at all, both nodes are equal and neither waits.
  const priorityDelay = parseDurationMs(ctx.cib.properties.get("priority-fencing-delay")) ?? 0;
  const prioritized = ctx.cib.primitives.some(
    (p) => (parseScore(metaOf(ctx.cib, p, "priority")) ?? 0) > 0,
  );
  if (priorityDelay > 0 && prioritized) return [];
  const [a, b] = ctx.members as [string, string];
  const delayFor = (node: string): { base: number; random: boolean } => {
    const devices = firstDevicesFor(ctx, node);
    let base = 0;
    let random = false;
    for (const d of devices) {
      const x = delayOf(d, node);
      base = Math.max(base, x.pcmkBaseSeconds + x.agentSeconds);
      random ||= x.randomMaxSeconds > 0;
    }
    return { base, random };
  };
  const da = delayFor(a);
  const db = delayFor(b);
  if (da.random || db.random || da.base !== db.base) return [];
  return [
    finding(
      "two-node-no-delay",
      cluster(),
      (da.base === 0
        ? `two-node cluster without a fencing delay: when the link between ${a} and ${b} fails, each fences the other at once and both go down`
        : `two-node cluster with the same fencing delay (${da.base} s) for ${a} and ${b}: both still fence each other at once`) +
        (priorityDelay > 0
          ? " (priority-fencing-delay is set, but no resource has a priority, so neither node's fencing waits)"
          : ""),
      {
        node: a,
        other: b,
        // Render's default delay (15 s) above what both have now.
        seconds: da.base + 15,
        // A device the fencer also uses first for the other node needs a per-node delay.
        devices: firstDevicesFor(ctx, a).map((d) => ({
          id: d.id,
          shared: claims(d, b).claimed !== "no" || firstDevicesFor(ctx, b).includes(d),
        })),
      },
    ),
  ];
};
