/**
 * The cluster's policy: stickiness (does a returning node take everything back?), quorum (can an
 * even split stop every guest?), and secrets written into the CIB instead of referenced.
 */
import type { Primitive } from "../cib.js";
import { parseScore } from "../cib.js";
import { type CheckContext, metaOf } from "../context.js";
import { familyLabel, familyOf, isStonith } from "../devices.js";
import { type Finding, type Rule, cluster, deviceSubject, finding } from "../findings.js";
import { isGuest } from "./guests.js";

function stickinessOf(ctx: CheckContext, p: Primitive): number {
  return parseScore(metaOf(ctx.cib, p, "resource-stickiness")) ?? 0;
}

/**
 * Without stickiness Pacemaker spreads resources over the nodes it has: when a fenced node comes
 * back, guests move back to it (a live migration each, a restart for those that cannot migrate)
 * and fencing devices restart there, for nothing.
 */
export const stickiness: Rule = (ctx) => {
  const loose = ctx.cib.primitives.filter(
    (p) => (isGuest(p) || isStonith(p)) && stickinessOf(ctx, p) <= 0,
  );
  if (loose.length === 0) return [];
  const guests = loose.filter(isGuest).length;
  return [
    finding(
      "no-stickiness",
      cluster(),
      `${guests} guest(s) and ${loose.length - guests} fencing device(s) have no resource-stickiness (${loose.map((p) => p.id).join(", ")}): when a failed node returns, Pacemaker moves them back to it, each guest a live migration or a restart, for nothing`,
    ),
  ];
};

/** How a split into two equal halves ends: both lose quorum, and every guest stops. */
export const quorumTieBreaker: Rule = (ctx) => {
  const c = ctx.corosync;
  if (c === undefined) return [];
  const q = c.quorum;
  const voters = q.nodes ?? ctx.members.length;
  if (voters === 0 || voters % 2 === 1) return [];
  if (q.device !== undefined || q.autoTieBreaker || (voters === 2 && q.twoNode)) return [];
  const message =
    voters === 2
      ? `two nodes without two_node: 1, auto_tie_breaker or a quorum device in ${c.file}: when either node fails, the other loses quorum and stops every guest`
      : `${voters} voting nodes without auto_tie_breaker or a quorum device in ${c.file}: a network split into two halves of ${voters / 2} leaves neither quorate, and every guest stops`;
  return [finding("quorum-no-tie-breaker", cluster(), message, { file: c.file })];
};

/**
 * Secrets fence agents take as plain values, and the option that takes a command printing them
 * instead, where the agent has one (fence-agents' password_script and snmp_priv_passwd_script;
 * fence_pdu's community_script and fence_ipmi's hexadecimal_kg_script are kvmha's own).
 */
const SECRET_OPTIONS: readonly {
  readonly name: string;
  readonly script: (agent: string) => string | undefined;
}[] = [
  { name: "password", script: () => "password_script" },
  { name: "passwd", script: () => "password_script" },
  { name: "snmp_priv_passwd", script: () => "snmp_priv_passwd_script" },
  {
    name: "community",
    script: (agent) => (agent === "fence_pdu" ? "community_script" : undefined),
  },
  {
    name: "hexadecimal_kg",
    script: (agent) => (agent === "fence_ipmi" ? "hexadecimal_kg_script" : undefined),
  },
];

/**
 * The CIB is copied to every node, readable by the haclient group, and lands in crm_report and
 * sosreport archives: a password there is a password handed out. cibsecret's lrm:// values are
 * references, not secrets.
 */
export const secretsInCib: Rule = (ctx) => {
  const out: Finding[] = [];
  for (const d of ctx.devices) {
    for (const s of SECRET_OPTIONS) {
      const value = d.instance.get(s.name);
      if (value === undefined || value === "" || value.startsWith("lrm://")) continue;
      const script = s.script(d.type);
      out.push(
        finding(
          "secret-in-cib",
          deviceSubject(d.id),
          `${s.name} is written in the CIB${familyOf(d.type) === "other" ? "" : ` (a ${familyLabel(familyOf(d.type))} credential)`}: every node and every crm_report holds it, readable by the haclient group`,
          { device: d.id, option: s.name, script },
        ),
      );
    }
  }
  return out;
};
