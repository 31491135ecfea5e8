/** The fencing topology: levels that can work, and every node covered (its PDUs together). */
import type { FencingLevel, Primitive } from "../cib.js";
import { type CheckContext, levelName, levelNodes, levelsFor } from "../context.js";
import { claimOf, claims, familyOf, isBmc, selfListing } from "../devices.js";
import {
  type Finding,
  type NumberedLevel,
  type Rule,
  finding,
  levelSubject,
  nodeSubject,
} from "../findings.js";

export const levelDevices: Rule = (ctx) => {
  const out: Finding[] = [];
  for (const level of ctx.cib.levels) {
    const targets = levelNodes(ctx, level);
    if (targets.length === 0) {
      out.push(
        finding(
          "level-unknown-target",
          levelSubject(level),
          `${levelName(level)} matches no node of this cluster`,
        ),
      );
    }
    for (const name of level.devices) {
      const device = ctx.deviceById.get(name);
      if (device === undefined) {
        const other = ctx.cib.primitives.find((p) => p.id === name);
        out.push(
          finding(
            "level-unknown-device",
            levelSubject(level),
            other === undefined
              ? `${levelName(level)} names device '${name}', which does not exist: the level always fails`
              : `${levelName(level)} names '${name}', which is not a fencing device (${other.class}:${other.type})`,
            { level, missing: name, existing: level.devices.filter((d) => ctx.deviceById.has(d)) },
          ),
        );
        continue;
      }
      for (const node of targets) {
        const { claimed } = claims(device, node);
        if (claimed === "no") {
          out.push(
            finding(
              "level-device-not-for-node",
              levelSubject(level),
              `${levelName(level)} uses ${device.id}, whose host list does not include ${node}: the fencer refuses to use it for ${node}, so the level fails`,
              { node, device: device.id },
            ),
          );
        }
      }
    }
  }
  return out;
};

/**
 * The levels kvmha gives a node with these devices: its BMC first (each BMC device a level),
 * then every PDU in one level (all supplies off before any on), then the rest, one level each.
 */
function kvmhaLevels(devices: readonly Primitive[]): string[][] {
  const of = (f: string) => devices.filter((d) => familyOf(d.type) === f).map((d) => d.id);
  const pdus = of("pdu");
  return [
    ...devices.filter((d) => isBmc(familyOf(d.type))).map((d) => [d.id]),
    ...(pdus.length > 0 ? [pdus] : []),
    ...of("other").map((id) => [id]),
  ];
}

/**
 * The node's levels that hold some of its PDU devices, replaced by one level with all of them (at
 * the first one's index, keeping that level's other devices; the others keep what is not a PDU).
 * Undefined when one of those levels is not the node's own (a pattern or an attribute target).
 */
function pduLevelsFix(
  levels: readonly FencingLevel[],
  pdus: readonly Primitive[],
): { remove: number[]; add: NumberedLevel[] } | undefined {
  const isPdu = (id: string): boolean => pdus.some((p) => p.id === id);
  const holding = levels.filter((l) => l.devices.some(isPdu));
  if (holding.some((l) => l.target.kind !== "node")) return undefined;
  const first = Math.min(...holding.map((l) => l.index));
  const add: NumberedLevel[] = holding.map((l) =>
    l.index === first
      ? {
          index: l.index,
          devices: [...l.devices, ...pdus.map((p) => p.id).filter((id) => !l.devices.includes(id))],
        }
      : { index: l.index, devices: l.devices.filter((id) => !isPdu(id)) },
  );
  return { remove: holding.map((l) => l.index), add: add.filter((l) => l.devices.length > 0) };
}

/** The PDU devices that claim a node statically. */
function pduDevicesFor(ctx: CheckContext, node: string): Primitive[] {
  return ctx.devices.filter(
    (d) =>
      familyOf(d.type) === "pdu" &&
      claimOf(d).kind === "static" &&
      claims(d, node).claimed === "yes",
  );
}

export const nodeCoverage: Rule = (ctx) => {
  const out: Finding[] = [];
  for (const node of ctx.nodes) {
    const levels = levelsFor(ctx, node);
    const pdus = pduDevicesFor(ctx, node);
    if (levels.length === 0) {
      const staticDevices = ctx.devices.filter(
        (d) =>
          (claimOf(d).kind === "static" && claims(d, node).claimed === "yes") ||
          (selfListing(d) && claimOf(d).kind !== "static"),
      );
      const anyDevices = ctx.devices.filter((d) => claimOf(d).kind !== "static" && !selfListing(d));
      if (staticDevices.length === 0 && anyDevices.length === 0) {
        if (ctx.devices.length === 0) continue; // no-fencing-devices says it once, unless watchdog SBD fences
        out.push(
          finding(
            "node-unfenceable",
            nodeSubject(node),
            `no fencing level and no device able to fence ${node}: when it fails, its guests stay blocked (or, with fencing off, start twice)`,
            { node },
          ),
        );
      } else if (staticDevices.length === 0) {
        out.push(
          finding(
            "node-fenced-by-unlisted-device",
            nodeSubject(node),
            `only devices without a host list (${anyDevices.map((d) => d.id).join(", ")}) may fence ${node}: whether one can is found out during the outage`,
            { node },
          ),
        );
      } else if (pdus.length >= 2) {
        out.push(
          finding(
            "pdu-level-incomplete",
            nodeSubject(node),
            `${node} has no fencing level, and ${pdus.length} PDU devices (${pdus.map((d) => d.id).join(", ")}) feed it: without a level listing them together the fencer uses one, cuts one supply and reports success while the node still runs`,
            {
              node,
              levels: {
                remove: [],
                add: kvmhaLevels(staticDevices).map((devices, i) => ({ index: i + 1, devices })),
              },
            },
          ),
        );
      } else if (staticDevices.length >= 2) {
        out.push(
          finding(
            "node-without-level",
            nodeSubject(node),
            `${node} has no fencing level: the fencer tries its devices (${staticDevices.map((d) => d.id).join(", ")}) in no order you chose`,
            { node, levels: kvmhaLevels(staticDevices) },
          ),
        );
      }
      continue;
    }
    // With a topology the fencer uses only the levels' devices.
    const inLevels = new Set(levels.flatMap((l) => l.devices));
    for (const level of levels) {
      const levelPdus = level.devices
        .map((id) => ctx.deviceById.get(id))
        .filter((d): d is Primitive => d !== undefined && familyOf(d.type) === "pdu");
      if (levelPdus.length === 0) continue;
      const missing = pdus.filter((p) => !level.devices.includes(p.id));
      if (missing.length > 0) {
        out.push(
          finding(
            "pdu-level-incomplete",
            nodeSubject(node),
            `${levelName(level)} switches ${levelPdus.map((d) => d.id).join(", ")} but not ${missing.map((d) => d.id).join(", ")}, which also feeds ${node}: the level reports success while the other supply keeps the node running`,
            { node, levels: pduLevelsFix(levels, pdus) },
          ),
        );
      }
    }
    const unused = pdus.filter((p) => !inLevels.has(p.id));
    if (unused.length > 0 && unused.length === pdus.length) {
      out.push(
        finding(
          "pdu-not-in-topology",
          nodeSubject(node),
          `PDU devices ${unused.map((d) => d.id).join(", ")} feed ${node} but are in none of its fencing levels: when its BMC is dead (power lost) nothing else can fence it`,
          {
            index: Math.max(...levels.map((l) => l.index)) + 1,
            node,
            devices: unused.map((d) => d.id),
          },
        ),
      );
    }
  }
  return out;
};
