/** The devices: which nodes each claims, where it may run, and hardware two of them share. */
import type { Primitive } from "../cib.js";
import { type CheckContext, allowedOn, locationScore, metaOf } from "../context.js";
import {
  claimOf,
  endpointOf,
  familyOf,
  isBmc,
  outletsOf,
  sameNode,
  selfListing,
} from "../devices.js";
import { type Allowance, type Finding, type Rule, deviceSubject, finding } from "../findings.js";

/**
 * What lets device `d` run on one of `nodes` (the first where it works): its plain bans there
 * removed (a -INFINITY location of the device itself on that node), and a preference added in an
 * opt-in cluster. Undefined when a ban comes from elsewhere (a rule, a pattern, a parent).
 */
function allowance(
  ctx: CheckContext,
  d: Primitive,
  nodes: readonly string[],
): Allowance | undefined {
  for (const node of nodes) {
    const bans = ctx.cib.locations.filter(
      (c) =>
        c.rsc === d.id &&
        c.node !== undefined &&
        sameNode(c.node, node) &&
        c.score === -Infinity &&
        c.rules.length === 0,
    );
    const without = {
      ...ctx,
      cib: { ...ctx.cib, locations: ctx.cib.locations.filter((c) => !bans.includes(c)) },
    };
    const remove = bans.map((c) => c.id);
    if (allowedOn(without, d, node)) return { node, remove, prefer: false };
    if (locationScore(without, d, node).score !== -Infinity) return { node, remove, prefer: true };
  }
  return undefined;
}

export const deviceClaims: Rule = (ctx) => {
  const out: Finding[] = [];
  for (const d of ctx.devices) {
    const c = claimOf(d);
    if (selfListing(d)) {
      // its list is the disk's slots: nothing to warn about
    } else if (c.kind === "all") {
      out.push(
        finding(
          "device-claims-every-node",
          deviceSubject(d.id),
          `${d.type} device claims every node (${c.why}): the fencer may use it to fence a node it cannot power off, and power off the wrong machine`,
          { device: d.id },
        ),
      );
    } else if (c.kind === "dynamic") {
      out.push(
        finding(
          "device-claims-unknown",
          deviceSubject(d.id),
          `${d.type} device has no static host list (${c.why}): which nodes it fences is decided by asking the device during the outage`,
        ),
      );
    } else {
      for (const t of c.targets.keys()) {
        if (ctx.nodesFrom === "cib" && !ctx.nodes.some((n) => sameNode(n, t))) {
          out.push(
            finding(
              "device-unknown-node",
              deviceSubject(d.id),
              `host list names '${t}', which is not a node of this cluster`,
            ),
          );
        }
      }
    }
    if (metaOf(ctx.cib, d, "target-role")?.toLowerCase() === "stopped") {
      out.push(
        finding(
          "device-disabled",
          deviceSubject(d.id),
          "the device is disabled (target-role=Stopped): the fencer does not use a disabled device",
          { device: d.id },
        ),
      );
    }
  }
  return out;
};

/** The members a device may well run on: for a node's own IPMI device, the others. */
function othersThan(ctx: CheckContext, d: Primitive): string[] {
  const c = claimOf(d);
  if (c.kind !== "static" || !isBmc(familyOf(d.type))) return [...ctx.members];
  return ctx.members.filter((n) => ![...c.targets.keys()].some((t) => sameNode(t, n)));
}

/** Where devices run: cluster members only (never Pacemaker Remote nodes). */
export const deviceOnOwnTarget: Rule = (ctx) => {
  const out: Finding[] = [];
  if (ctx.members.length < 2) return out;
  for (const d of ctx.devices) {
    if (!ctx.members.some((n) => allowedOn(ctx, d, n))) {
      out.push(
        finding(
          "device-runs-nowhere",
          deviceSubject(d.id),
          "no node may run it (location constraints, or an opt-in cluster without a positive location): the fencer cannot use it",
          { device: d.id, allow: allowance(ctx, d, othersThan(ctx, d)) },
        ),
      );
      continue;
    }
    const c = claimOf(d);
    // Only a node's own BMC device is kept off that node: a PDU device fences several nodes.
    if (c.kind !== "static" || !isBmc(familyOf(d.type))) continue;
    const targets = ctx.members.filter((n) => [...c.targets.keys()].some((t) => sameNode(t, n)));
    for (const target of targets) {
      const others = ctx.members.filter((n) => !sameNode(n, target));
      if (others.length > 0 && !others.some((n) => allowedOn(ctx, d, n))) {
        out.push(
          finding(
            "device-only-on-target",
            deviceSubject(d.id),
            `may run only on ${target}, the node it fences: no other node can use it when ${target} fails`,
            { device: d.id, target, allow: allowance(ctx, d, others) },
          ),
        );
        continue;
      }
      const { score } = locationScore(ctx, d, target);
      if (score === -Infinity) continue;
      out.push(
        finding(
          "device-on-own-target",
          deviceSubject(d.id),
          score > 0
            ? `prefers ${target}, the node it fences (location score ${score === Infinity ? "INFINITY" : score}): its monitor runs on the node it must kill`
            : `is not kept off ${target}, the node it fences (no -INFINITY location): the node may end up running the device meant to fence it`,
          { device: d.id, target },
        ),
      );
    }
  }
  return out;
};

/** PDU outlets and BMCs shared between nodes: fencing one node powers off another. */
export const sharedHardware: Rule = (ctx) => {
  const out: Finding[] = [];
  const outletOwners = new Map<string, { node: string; device: string }[]>();
  const bmcOwners = new Map<string, { node: string; device: string }[]>();
  for (const d of ctx.devices) {
    const c = claimOf(d);
    if (c.kind !== "static") continue;
    const family = familyOf(d.type);
    const endpoint = endpointOf(d) ?? `device ${d.id}`;
    for (const [node, plug] of c.targets) {
      if (family === "pdu") {
        for (const outlet of outletsOf(plug, d)) {
          const key = `${endpoint} outlet ${outlet}`;
          outletOwners.set(key, [...(outletOwners.get(key) ?? []), { node, device: d.id }]);
        }
      } else if (isBmc(family) && endpointOf(d) !== undefined) {
        bmcOwners.set(endpoint, [...(bmcOwners.get(endpoint) ?? []), { node, device: d.id }]);
      }
    }
  }
  for (const [key, owners] of outletOwners) {
    const nodes = [...new Set(owners.map((o) => o.node.toLowerCase()))];
    if (nodes.length < 2) continue;
    const devices = [...new Set(owners.map((o) => o.device))];
    out.push(
      finding(
        "duplicate-outlet",
        deviceSubject(devices[0] as string),
        `PDU ${key} is mapped to ${owners.map((o) => `${o.node} (${o.device})`).join(" and ")}: fencing one of them cuts the other's power`,
      ),
    );
  }
  for (const [endpoint, owners] of bmcOwners) {
    const nodes = [...new Set(owners.map((o) => o.node.toLowerCase()))];
    if (nodes.length < 2) continue;
    out.push(
      finding(
        "duplicate-bmc",
        deviceSubject(owners[0]?.device as string),
        `BMC ${endpoint} is used to fence ${owners.map((o) => `${o.node} (${o.device})`).join(" and ")}: a BMC powers one machine`,
      ),
    );
  }
  return out;
};
