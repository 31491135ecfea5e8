/** The guests (VirtualDomain resources): live migration, monitors, stop and migrate timeouts. */
import type { Primitive } from "../cib.js";
import { type CheckContext, isTrue, metaOf } from "../context.js";
import { isStonith } from "../devices.js";
import { parseDurationMs, showSeconds } from "../duration.js";
import { type Finding, type Rule, deviceSubject, finding, resourceSubject } from "../findings.js";

export function isGuest(p: Primitive): boolean {
  return p.class === "ocf" && p.type === "VirtualDomain";
}

function opTimeoutMs(ctx: CheckContext, p: Primitive, name: string): number {
  const op = p.ops.find((o) => o.name === name && o.enabled);
  return op?.timeoutMs ?? parseDurationMs(ctx.cib.opDefaults.get("timeout")) ?? 20_000;
}

export const guests: Rule = (ctx) => {
  const out: Finding[] = [];
  for (const p of ctx.cib.primitives.filter(isGuest)) {
    const agent = `ocf:${p.provider ?? "?"}:VirtualDomain`;
    const migrate = metaOf(ctx.cib, p, "allow-migrate");
    if (!isTrue(migrate)) {
      out.push(
        finding(
          "guest-no-migrate",
          resourceSubject(p.id),
          `${agent} without allow-migrate=true: moving it (node maintenance, failback) shuts the guest down and boots it elsewhere instead of a live migration`,
          { resource: p.id },
        ),
      );
    }
    const monitors = p.ops.filter((o) => o.name === "monitor" && o.intervalMs > 0 && o.enabled);
    if (monitors.length === 0) {
      out.push(
        finding(
          "guest-no-monitor",
          resourceSubject(p.id),
          `${agent} without a recurring monitor: a crashed or killed guest is never noticed nor recovered`,
          { resource: p.id },
        ),
      );
    }
    const stop = opTimeoutMs(ctx, p, "stop");
    const reserve = p.provider === "kvmha" ? 15_000 : 5_000;
    if (stop <= reserve) {
      out.push(
        finding(
          "guest-stop-timeout",
          resourceSubject(p.id),
          p.provider === "kvmha"
            ? `stop timeout ${showSeconds(stop)} is within the agent's 15 s destroy reserve: every stop destroys the guest (a power cut) without a shutdown first`
            : `stop timeout ${showSeconds(stop)} leaves no time for a graceful shutdown: the guest is destroyed`,
          { resource: p.id },
        ),
      );
    }
    if (isTrue(migrate)) {
      const monitorTimeout =
        monitors.length > 0
          ? Math.max(...monitors.map((m) => m.timeoutMs ?? opTimeoutMs(ctx, p, "monitor")))
          : opTimeoutMs(ctx, p, "monitor");
      const migrateTo = opTimeoutMs(ctx, p, "migrate_to");
      if (migrateTo < monitorTimeout) {
        out.push(
          finding(
            "guest-migrate-timeout",
            resourceSubject(p.id),
            `migrate_to timeout ${showSeconds(migrateTo)} is shorter than the monitor's ${showSeconds(monitorTimeout)}: a live migration of a busy guest is aborted, and the guest stopped and started instead`,
            // VirtualDomain's advised 120 s, or the monitor's timeout when that is longer.
            { resource: p.id, seconds: Math.max(120, Math.ceil(monitorTimeout / 1000)) },
          ),
        );
      }
    }
  }
  return out;
};

/** Attribute sets with rules are not evaluated: say so where it could change a finding. */
export const ruledSets: Rule = (ctx) =>
  ctx.cib.primitives
    .filter((p) => p.ruledSets.length > 0 && (isStonith(p) || isGuest(p)))
    .map((p) =>
      finding(
        "rules-not-evaluated",
        isStonith(p) ? deviceSubject(p.id) : resourceSubject(p.id),
        `attribute set(s) ${p.ruledSets.map((r) => `'${r}'`).join(", ")} have rules, which kvmha check does not evaluate: what it says about this ${isStonith(p) ? "device" : "resource"} ignores them`,
      ),
    );
